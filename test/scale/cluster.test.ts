/**
 * The scale-out bars with real servers and real processes: Redis (redis-server), S3 (s3rver), one API process
 * (`mouthpiece serve --no-worker`) and two worker processes (`mouthpiece worker`) running the real pipeline
 * (face analyzer + classical engine), each on its own data dir.
 * - 12 requests: each completes exactly once (one "request completed" across both workers' logs, one
 *   "Completed in" status log line), its video readable from S3 through the API's file URL; both workers work.
 * - The API process is killed (-9) and started again while they run: nothing is lost, statuses continue.
 * - `kill -9` of the worker in the middle of a render: the request completes on the other worker.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { REDIS_SERVER } from "./servers.js";
import { freePort, speechLikeWav, startCluster, waitUp, type Cluster, type Proc } from "./cluster.js";

/** A real photo (npm fixture) cut to one person's head and shoulders: one face to find and animate. */
const PICTURE = "node_modules/@vladmandic/face-api/demo/sample1.jpg";
const portrait = () => sharp(PICTURE).extract({ left: 690, top: 240, width: 570, height: 750 }).jpeg().toBuffer();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Status = { status: string; logs?: { message: string; level: string }[]; queue_position?: number };

if (!REDIS_SERVER) {
  describe("cluster", () => it("needs redis-server (apt-get install redis-server)", (t) => t.skip("redis-server not installed")));
} else {
  describe("cluster: Redis + S3 + one API process + two worker processes (real pipeline)", { timeout: 150_000 }, () => {
    let cluster: Cluster;
    let api: Proc;
    let workers: Proc[];
    let url: string;
    let port: number;
    let auth: Record<string, string>;
    let inputs: { image_url: string; audio_url: string };

    const upload = async (body: Buffer, contentType: string, fileName: string) => {
      const init = await fetch(`${url}/storage/upload/initiate`, {
        method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ content_type: contentType, file_name: fileName }),
      });
      assert.equal(init.status, 200);
      const { upload_url, file_url } = (await init.json()) as { upload_url: string; file_url: string };
      assert.ok(upload_url.startsWith(cluster.s3.endpoint), "uploads go straight to the bucket");
      const put = await fetch(upload_url, { method: "PUT", body: new Uint8Array(body), headers: { "content-type": contentType } });
      assert.equal(put.status, 200);
      return file_url;
    };
    const submit = async (input: Record<string, unknown>, endpoint = "fal-ai/ai-avatar") => {
      const res = await fetch(`${url}/queue/${endpoint}`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(input) });
      assert.equal(res.status, 200, await res.clone().text());
      return ((await res.json()) as { request_id: string }).request_id;
    };
    const status = async (id: string, endpoint = "fal-ai/ai-avatar"): Promise<Status> => {
      const res = await fetch(`${url}/queue/${endpoint}/requests/${id}/status?logs=1`, { headers: auth });
      assert.equal(res.status === 200 || res.status === 202, true, `status ${res.status} ${await res.clone().text()} ${JSON.stringify(api.lines.slice(-8))}`);
      return (await res.json()) as Status;
    };
    const linesAbout = (proc: Proc, id: string, msg: string) => proc.lines.filter((l) => l.requestId === id && l.msg === msg).length;

    before(async () => {
      cluster = await startCluster();
      port = await freePort();
      url = `http://127.0.0.1:${port}`;
      auth = { authorization: `Key ${cluster.key}` };
      api = await cluster.spawnApi(port);
      workers = [cluster.spawnWorker(), cluster.spawnWorker()];
      await waitUp(url, api);
      inputs = {
        image_url: await upload(await portrait(), "image/jpeg", "portrait.jpg"),
        audio_url: await upload(speechLikeWav(2), "audio/wav", "speech.wav"),
      };
    });
    after(async () => {
      await cluster?.stop();
    });

    it("12 requests complete exactly once each, videos readable through the API; an API restart loses nothing", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push(await submit({ ...inputs, prompt: "a person talking", num_frames: 41, seed: i }));
      assert.equal(new Set(ids).size, 12);
      const first = await status(ids[11]);
      assert.equal(first.status, "IN_QUEUE");
      assert.ok((first.queue_position ?? -1) >= 1, `the last of 12 waits behind others (position ${first.queue_position})`);

      // Restart the API process (kill -9) while the workers render.
      api.child.kill("SIGKILL");
      await api.exited;
      api = await cluster.spawnApi(port);
      await waitUp(url, api);

      const started = Date.now();
      const until = started + 100_000;
      let statuses: Status[] = [];
      for (;;) {
        statuses = await Promise.all(ids.map((id) => status(id)));
        if (statuses.every((s) => s.status === "COMPLETED") || Date.now() > until) break;
        await sleep(500);
      }
      assert.deepEqual(statuses.map((s) => s.status), ids.map(() => "COMPLETED"), workers.map((w) => w.stderr).join("\n"));
      console.log(`# 12 requests done ${((Date.now() - started) / 1000).toFixed(1)} s after the API restart`);

      for (const [i, id] of ids.entries()) {
        const res = await fetch(`${url}/queue/fal-ai/ai-avatar/requests/${id}`, { headers: auth });
        assert.equal(res.status, 200);
        const out = (await res.json()) as { video: { url: string; file_size: number; content_type: string }; seed: number };
        assert.equal(out.seed, i);
        assert.ok(out.video.url.startsWith(`${url}/files/`), out.video.url);
        const video = await fetch(out.video.url);
        assert.equal(video.status, 200);
        assert.equal(video.headers.get("content-type"), "video/mp4");
        const bytes = Buffer.from(await video.arrayBuffer());
        assert.equal(bytes.length, out.video.file_size);
        assert.equal(bytes.subarray(4, 8).toString("latin1"), "ftyp");
        const completedLines = statuses[i].logs!.filter((l) => l.message.startsWith("Completed in"));
        assert.equal(completedLines.length, 1, `request ${i}: ${JSON.stringify(statuses[i].logs)}`);
        assert.equal(workers.reduce((n, w) => n + linesAbout(w, id, "request completed"), 0), 1, `request ${i} completed exactly once`);
      }
      const perWorker = workers.map((w) => ids.filter((id) => linesAbout(w, id, "request completed") === 1).length);
      assert.ok(perWorker.every((n) => n >= 1), `both workers rendered (${perWorker.join(" + ")})`);
    });

    it("kill -9 of the worker in the middle of a render: the request completes on the other worker", async () => {
      const long = "fal-ai/infinitalk";
      const id = await submit({ ...inputs, prompt: "a long one", num_frames: 241 }, long);
      let runner: Proc | undefined;
      const until = Date.now() + 60_000;
      for (;;) {
        const s = await status(id, long);
        const rendering = s.logs?.some((l) => /^rendered \d+\/241 frames$/.test(l.message) && l.message !== "rendered 241/241 frames");
        runner = workers.find((w) => linesAbout(w, id, "request started") === 1);
        if ((s.status === "IN_PROGRESS" && rendering && runner) || Date.now() > until) break;
        await sleep(100);
      }
      assert.ok(runner, `a worker started it: ${workers.map((w) => w.stderr.slice(-1500) + JSON.stringify(w.lines.slice(-5))).join("\n")}`);
      const other = workers.find((w) => w !== runner)!;
      runner.child.kill("SIGKILL");
      await runner.exited;
      const killedAt = Date.now();

      let s: Status;
      for (;;) {
        s = await status(id, long);
        if (s.status === "COMPLETED" || Date.now() > killedAt + 60_000) break;
        await sleep(250);
      }
      assert.equal(s.status, "COMPLETED");
      const res = await fetch(`${url}/queue/${long}/requests/${id}`, { headers: auth });
      assert.equal(res.status, 200, await res.clone().text());
      const out = (await res.json()) as { video: { url: string; file_size: number } };
      const video = await fetch(out.video.url);
      assert.equal(video.status, 200);
      assert.equal((await video.arrayBuffer()).byteLength, out.video.file_size);
      const messages = s.logs!.map((l) => l.message);
      assert.ok(messages.includes("The worker running this request stopped; it is queued again."), JSON.stringify(messages));
      assert.ok(messages.includes("Started again (attempt 2)."), JSON.stringify(messages));
      assert.equal(linesAbout(other, id, "request completed"), 1, "the other worker completed it");
      console.log(`# recovered and re-rendered 241 frames ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    });
  });
}
