/**
 * Scale-out throughput: Redis (redis-server) + S3 (s3rver) + one API process + W `mouthpiece worker`
 * processes on the real pipeline (face analyzer + classical engine), each worker warmed up with one request.
 * Then N requests of fal-ai/ai-avatar (one 1920x1280 photo with 3 faces, 480p, F frames, a speech-like tone)
 * go through the queue API; we measure the wall time until all are COMPLETED and the CPU seconds the workers
 * (with their ffmpeg children) spent: seconds of video per wall second, and per CPU second (= per core).
 *
 *   npm run bench -- scale
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import { freePort, speechLikeWav, startCluster, waitUp, type Proc } from "../../test/scale/cluster.js";

const PICTURE = "node_modules/@vladmandic/face-api/demo/sample1.jpg";
const FRAMES = 121;
const REQUESTS = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds of a process and its waited-for children (ffmpeg), from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = [11, 12, 13, 14].map((i) => Number(fields[i])).reduce((a, b) => a + b, 0);
  return ticks / 100;
}

async function measure(workerCount: number): Promise<{ wall: number; cpu: number; video: number; perRequest: number[] }> {
  const cluster = await startCluster();
  try {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Key ${cluster.key}`, "content-type": "application/json" };
    const api = await cluster.spawnApi(port);
    const workers: Proc[] = Array.from({ length: workerCount }, () => cluster.spawnWorker({ env: { LOG_LEVEL: "warn" } }));
    await waitUp(url, api);
    const upload = async (body: Buffer, type: string, name: string) => {
      const init = (await (await fetch(`${url}/storage/upload/initiate`, { method: "POST", headers, body: JSON.stringify({ content_type: type, file_name: name }) })).json()) as { upload_url: string; file_url: string };
      await fetch(init.upload_url, { method: "PUT", body: new Uint8Array(body), headers: { "content-type": type } });
      return init.file_url;
    };
    const input = {
      image_url: await upload(await readFile(PICTURE), "image/jpeg", "people.jpg"),
      audio_url: await upload(speechLikeWav(FRAMES / 25), "audio/wav", "speech.wav"),
      prompt: "a person talking",
    };
    const submit = async (frames: number) =>
      ((await (await fetch(`${url}/queue/fal-ai/ai-avatar`, { method: "POST", headers, body: JSON.stringify({ ...input, num_frames: frames }) })).json()) as { request_id: string }).request_id;
    const waitAll = async (ids: string[]) => {
      const done = new Map<string, number>();
      while (done.size < ids.length) {
        for (const id of ids) {
          if (done.has(id)) continue;
          const s = (await (await fetch(`${url}/queue/fal-ai/ai-avatar/requests/${id}/status`, { headers })).json()) as { status: string };
          if (s.status === "COMPLETED") done.set(id, performance.now());
        }
        await sleep(100);
      }
      return done;
    };
    // Warm-up: one request per worker (loads the face models), then wait until the workers are idle.
    await waitAll(await Promise.all(workers.map(() => submit(41))));
    const cpuBefore = workers.reduce((s, w) => s + cpuSeconds(w.child.pid!), 0);
    const t0 = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < REQUESTS; i++) ids.push(await submit(FRAMES));
    const done = await waitAll(ids);
    const wall = (performance.now() - t0) / 1000;
    const cpu = workers.reduce((s, w) => s + cpuSeconds(w.child.pid!), 0) - cpuBefore;
    return { wall, cpu, video: (REQUESTS * FRAMES) / 25, perRequest: ids.map((id) => (done.get(id)! - t0) / 1000) };
  } finally {
    await cluster.stop();
  }
}

export async function run(): Promise<string> {
  const rows: string[] = [];
  const load = os.loadavg()[0];
  for (const w of [1, 2]) {
    const m = await measure(w);
    rows.push(
      `| ${w} | ${REQUESTS} × ${FRAMES} frames (${m.video.toFixed(1)} s of video) | ${m.wall.toFixed(1)} s | ${(m.video / m.wall).toFixed(2)} | ${m.cpu.toFixed(1)} s | ${(m.video / m.cpu).toFixed(2)} |`,
    );
  }
  return [
    `Redis + s3rver + 1 API process + W worker processes (real pipeline: face analyzer, classical engine, x264), ` +
      `fal-ai/ai-avatar at 480p with a 1920×1280 photo of 3 faces; workers warmed up first. ` +
      `Load average when it started: ${load.toFixed(1)} (figures taken while other work loads the cores are low).`,
    "",
    "| workers | requests | wall time | video s per wall s | worker CPU (incl. ffmpeg) | video s per CPU s (per core) |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}
