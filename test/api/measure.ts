/**
 * Manual figures for the server (not a test): request latency of the queue routes, submit-to-start delay,
 * cancel latency of a running request, upload throughput, through a real socket with a no-op-ish runner.
 *   node --import tsx test/api/measure.ts
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { startServe } from "../../src/cli/serve.js";
import { loadConfig } from "../../src/config.js";
import { CancelledError } from "../../src/errors.js";
import type { JobRunner } from "../../src/pipeline/types.js";

const OUTPUT = { video: { url: "http://127.0.0.1/files/2026/x/video.mp4", content_type: "video/mp4", file_name: "video.mp4", file_size: 1 }, seed: 1 };
let started = 0;
const runner: JobRunner = async ({ input }, ctx) => {
  started = performance.now();
  const frames = Number(input.num_frames);
  for (let i = 1; i <= frames; i++) {
    if (ctx.signal.aborted) throw new CancelledError();
    await new Promise((r) => setTimeout(r, 20));
    ctx.progress(i, frames);
  }
  return OUTPUT;
};

const dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-measure-"));
const config = loadConfig({}, { dataDir, port: 0, logLevel: "silent" });
const server = await startServe({ config, logger: pino({ level: "silent" }), createRunner: () => runner });
const key = server.keys.create("measure").key;
const headers = { authorization: `Key ${key}`, "content-type": "application/json" };
const input = { image_url: "data:image/png;base64,AA==", audio_url: "data:audio/wav;base64,AA==", prompt: "p", num_frames: 41 };
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)].toFixed(2);

// 1. Submit latency and submit → runner start.
const submitMs: number[] = [];
const startMs: number[] = [];
let last = "";
for (let i = 0; i < 20; i++) {
  const t0 = performance.now();
  const res = await fetch(`${server.url}/queue/fal-ai/ai-avatar`, { method: "POST", headers, body: JSON.stringify({ ...input, num_frames: 41 }) });
  last = ((await res.json()) as { request_id: string }).request_id;
  submitMs.push(performance.now() - t0);
  while ((await server.queue.get(last))?.status !== "IN_PROGRESS") await new Promise((r) => setTimeout(r, 1));
  startMs.push(started - t0);
  await fetch(`${server.url}/queue/fal-ai/ai-avatar/requests/${last}/cancel`, { method: "PUT", headers: { authorization: headers.authorization } });
  while ((await server.queue.get(last))?.status !== "COMPLETED") await new Promise((r) => setTimeout(r, 1));
}
console.log(`submit: p50 ${pct(submitMs, 0.5)} ms, p95 ${pct(submitMs, 0.95)} ms; submit → runner start: p50 ${pct(startMs, 0.5)} ms`);

// 2. Status polling latency (with logs).
const statusMs: number[] = [];
for (let i = 0; i < 500; i++) {
  const t0 = performance.now();
  await (await fetch(`${server.url}/queue/fal-ai/ai-avatar/requests/${last}/status?logs=1`, { headers })).text();
  statusMs.push(performance.now() - t0);
}
console.log(`status?logs=1: p50 ${pct(statusMs, 0.5)} ms, p95 ${pct(statusMs, 0.95)} ms (${(500 / (statusMs.reduce((a, b) => a + b) / 1000)).toFixed(0)} req/s sequential)`);

// 3. Cancel latency of a running request (PUT → COMPLETED/CANCELLED).
const cancelMs: number[] = [];
for (let i = 0; i < 10; i++) {
  const res = await fetch(`${server.url}/queue/fal-ai/ai-avatar`, { method: "POST", headers, body: JSON.stringify({ ...input, num_frames: 241 }) });
  const id = ((await res.json()) as { request_id: string }).request_id;
  while (((await server.queue.get(id))?.progress?.done ?? 0) < 3) await new Promise((r) => setTimeout(r, 2));
  const t0 = performance.now();
  await fetch(`${server.url}/queue/fal-ai/ai-avatar/requests/${id}/cancel`, { method: "PUT", headers: { authorization: headers.authorization } });
  while ((await server.queue.get(id))?.status !== "COMPLETED") await new Promise((r) => setTimeout(r, 1));
  cancelMs.push(performance.now() - t0);
}
console.log(`cancel running → COMPLETED: p50 ${pct(cancelMs, 0.5)} ms, max ${Math.max(...cancelMs).toFixed(2)} ms`);

// 4. Upload throughput (single PUT, 50 MB).
const body = new Uint8Array(50 * 1024 * 1024);
const init = (await (await fetch(`${server.url}/storage/upload/initiate`, { method: "POST", headers, body: JSON.stringify({ content_type: "video/mp4", file_name: "x.mp4" }) })).json()) as { upload_url: string; file_url: string };
const t0 = performance.now();
await fetch(init.upload_url, { method: "PUT", body });
const upMs = performance.now() - t0;
const t1 = performance.now();
const got = await (await fetch(init.file_url)).arrayBuffer();
const downMs = performance.now() - t1;
console.log(`upload 50 MB: ${(50 / (upMs / 1000)).toFixed(0)} MB/s; download: ${(got.byteLength / 1048576 / (downMs / 1000)).toFixed(0)} MB/s`);

await server.close();
await rm(dataDir, { recursive: true, force: true });
