/**
 * Several API nodes on one Redis + S3: a request submitted on node A is followed on node B (SSE status stream
 * with logs and progress, every line once), its result and video are served by either node, and a cancel sent
 * to node A reaches the worker on node C that runs the request. Nodes run in this process (startServe) with
 * the server tests' runner; each has its own data dir.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { startServe, type RunningServer } from "../../src/cli/serve.js";
import { loadConfig } from "../../src/config.js";
import { createTestRunner } from "../support/test-runner.js";
import { REDIS_SERVER, freePort, startRedis, startS3, type RedisServer, type S3Server } from "./servers.js";

const INPUT = {
  image_url: "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  audio_url: "data:audio/wav;base64,UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=",
  prompt: "p",
};

if (!REDIS_SERVER) {
  describe("API nodes on Redis", () => it("needs redis-server", (t) => t.skip("redis-server not installed")));
} else {
  describe("two API nodes and a worker node on Redis + S3", { timeout: 60_000 }, () => {
    let redis: RedisServer;
    let s3: S3Server;
    const nodes: RunningServer[] = [];
    const dirs: string[] = [];
    let publicUrl: string;
    const key = "nodeskey:0123456789abcdef";
    const headers = { authorization: `Key ${key}`, "content-type": "application/json" };

    before(async () => {
      redis = await startRedis();
      s3 = await startS3();
      publicUrl = `http://127.0.0.1:${await freePort()}`; // the "load balancer" address every node builds URLs on
      for (const worker of [false, false, true]) {
        const dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-nodes-"));
        dirs.push(dataDir);
        const config = loadConfig(
          { ...s3.env, MOUTHPIECE_QUEUE: `${redis.url}?prefix=nodes`, MOUTHPIECE_STORAGE: s3.storageUrl, MOUTHPIECE_API_KEYS: key, MOUTHPIECE_PUBLIC_URL: publicUrl },
          { dataDir, port: 0, logLevel: "silent" },
        );
        nodes.push(await startServe({
          config, logger: pino({ level: "silent" }), worker,
          createRunner: ({ storage }) => createTestRunner({ storage, msPerFrame: 15 }),
        }));
      }
    });
    after(async () => {
      for (const n of nodes) await n.close();
      await s3?.stop();
      await redis?.stop();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    });

    it("submitted on A, streamed on B (every log line once), result and video from both", async () => {
      const [a, b] = nodes;
      const sub = await fetch(`${a.url}/queue/fal-ai/ai-avatar`, { method: "POST", headers, body: JSON.stringify({ ...INPUT, num_frames: 81 }) });
      const { request_id: id } = (await sub.json()) as { request_id: string };
      const stream = await fetch(`${b.url}/queue/fal-ai/ai-avatar/requests/${id}/status/stream?logs=1`, { headers });
      assert.equal(stream.status, 200);
      const events = (await stream.text()).split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => JSON.parse(e.slice(6)) as { status: string; logs?: { message: string }[] });
      assert.equal(events.at(-1)!.status, "COMPLETED");
      assert.ok(events.some((e) => e.status === "IN_PROGRESS"), "B saw it running");
      const streamed = events.flatMap((e) => e.logs ?? []).map((l) => l.message);
      const stored = (await a.queue.logs(id)).map((l) => l.message);
      assert.deepEqual(streamed, stored, "every line once, in order");
      assert.ok(streamed.includes("rendered 41/81 frames") || streamed.some((m) => /^rendered \d+\/81 frames$/.test(m) && m !== "rendered 81/81 frames"), "progress lines while it ran");
      for (const node of [a, b]) {
        const out = (await (await fetch(`${node.url}/queue/fal-ai/ai-avatar/requests/${id}`, { headers })).json()) as { video: { url: string; file_size: number } };
        assert.ok(out.video.url.startsWith(`${publicUrl}/files/`), `URLs are built on MOUTHPIECE_PUBLIC_URL (${out.video.url})`);
        const local = out.video.url.replace(publicUrl, node.url); // what the load balancer would do
        const video = await fetch(local);
        assert.equal(video.status, 200);
        assert.equal((await video.arrayBuffer()).byteLength, out.video.file_size);
      }
    });

    it("a cancel sent to A reaches the worker on C mid-render", async () => {
      const [a, b, c] = nodes;
      const sub = await fetch(`${b.url}/queue/fal-ai/infinitalk`, { method: "POST", headers, body: JSON.stringify({ ...INPUT, num_frames: 721 }) });
      const { request_id: id } = (await sub.json()) as { request_id: string };
      for (let i = 0; i < 200 && ((await c.queue.get(id))?.progress?.done ?? 0) < 20; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal((await c.queue.get(id))?.status, "IN_PROGRESS");
      const t0 = Date.now();
      const cancel = await fetch(`${a.url}/queue/fal-ai/infinitalk/requests/${id}/cancel`, { method: "PUT", headers });
      assert.equal(cancel.status, 202);
      let job = await a.queue.get(id);
      for (let i = 0; i < 200 && job?.status !== "COMPLETED"; i++) {
        await new Promise((r) => setTimeout(r, 25));
        job = await a.queue.get(id);
      }
      assert.equal(job?.outcome, "CANCELLED");
      assert.ok(Date.now() - t0 < 2000, `the worker stopped ${Date.now() - t0} ms after the cancel`);
      assert.ok((job?.progress?.done ?? 721) < 721);
    });
  });
}
