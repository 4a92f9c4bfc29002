import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { CancelledError, InputError } from "../../src/errors.js";
import type { JobRunner } from "../../src/pipeline/types.js";
import { SqliteJobQueue } from "../../src/queue/sqlite.js";
import type { Job, JobQueue } from "../../src/queue/types.js";
import { startWorker } from "../../src/queue/worker.js";

const logger = pino({ level: "silent" });
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function freshQueue(): Promise<SqliteJobQueue> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mp-worker-"));
  dirs.push(dir);
  return SqliteJobQueue.open({ file: path.join(dir, "q.db") });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const OUTPUT = { video: { url: "http://127.0.0.1:8000/files/2026/x/video.mp4", content_type: "video/mp4", file_name: "video.mp4", file_size: 10 }, seed: 7 };

/** Counts frames with a sleep each, reporting progress and stopping on abort. */
function framesRunner(ms: number, probe?: { active: number; max: number }): JobRunner {
  return async ({ input }, ctx) => {
    if (probe) probe.max = Math.max(probe.max, ++probe.active);
    try {
      const n = Number(input.num_frames ?? 20);
      for (let i = 1; i <= n; i++) {
        if (ctx.signal.aborted) throw new CancelledError();
        await sleep(ms);
        ctx.progress(i, n);
      }
      return OUTPUT;
    } finally {
      if (probe) probe.active--;
    }
  };
}

async function waitFor(queue: JobQueue, id: string, pred: (j: Job) => boolean, timeoutMs = 10_000): Promise<Job> {
  const t0 = Date.now();
  for (;;) {
    const job = await queue.get(id);
    if (job && pred(job)) return job;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out; job is ${JSON.stringify(job?.status)}`);
    await sleep(10);
  }
}

const submit = (q: JobQueue, input: Record<string, unknown> = { num_frames: 20 }, webhookUrl?: string) =>
  q.submit({ endpointId: "fal-ai/ai-avatar", owner: "local", input, webhookUrl });

describe("worker", () => {
  it("runs a job to completion, with progress in the logs every 10 %", async () => {
    const queue = await freshQueue();
    const worker = startWorker({ queue, runner: framesRunner(1), concurrency: 1, logger });
    const job = await submit(queue, { num_frames: 145 });
    const done = await waitFor(queue, job.id, (j) => j.status === "COMPLETED");
    assert.equal(done.outcome, "OK");
    assert.deepEqual(done.result, OUTPUT);
    assert.ok((done.inferenceTime ?? 0) > 0);
    const messages = (await queue.logs(job.id)).map((l) => l.message);
    assert.equal(messages[0], "Started.");
    assert.match(messages.at(-1)!, /^Completed in \d+\.\d s\.$/);
    const progress = messages.filter((m) => m.startsWith("rendered "));
    assert.deepEqual(progress, ["rendered 1/145 frames", "rendered 15/145 frames", "rendered 29/145 frames", "rendered 44/145 frames",
      "rendered 58/145 frames", "rendered 73/145 frames", "rendered 87/145 frames", "rendered 102/145 frames", "rendered 116/145 frames",
      "rendered 131/145 frames", "rendered 145/145 frames"]);
    assert.deepEqual(done.progress, { done: 145, total: 145 });
    await worker.stop();
    await queue.close();
  });

  it("cancels a running job within a second", async () => {
    const queue = await freshQueue();
    const worker = startWorker({ queue, runner: framesRunner(20), concurrency: 1, logger });
    const job = await submit(queue, { num_frames: 1000 });
    await waitFor(queue, job.id, (j) => (j.progress?.done ?? 0) >= 3);
    const t0 = Date.now();
    assert.equal(await queue.cancel(job.id), "CANCELLATION_REQUESTED");
    const done = await waitFor(queue, job.id, (j) => j.status === "COMPLETED");
    const ms = Date.now() - t0;
    assert.ok(ms < 1000, `took ${ms} ms`);
    assert.equal(done.outcome, "CANCELLED");
    assert.equal(done.failure?.status, 499);
    assert.ok((done.progress?.done ?? 0) < 1000);
    await worker.stop();
    await queue.close();
  });

  it("turns runner errors into failures: InputError → 422 detail, anything else → 500", async () => {
    const queue = await freshQueue();
    const runner: JobRunner = async ({ input }) => {
      if (input.kind === "input") throw InputError.field("image_url", "No face found; use a photo with a visible face.");
      if (input.kind === "bad-output") return { nope: true } as never;
      throw new Error("disk full");
    };
    const worker = startWorker({ queue, runner, concurrency: 1, logger });
    const a = await submit(queue, { kind: "input" });
    const b = await submit(queue, { kind: "crash" });
    const c = await submit(queue, { kind: "bad-output" });
    const fa = await waitFor(queue, a.id, (j) => j.status === "COMPLETED");
    assert.equal(fa.outcome, "ERROR");
    assert.deepEqual(fa.failure?.body, { detail: [{ loc: ["body", "image_url"], msg: "No face found; use a photo with a visible face.", type: "value_error" }] });
    assert.equal(fa.failure?.status, 422);
    const fb = await waitFor(queue, b.id, (j) => j.status === "COMPLETED");
    assert.equal(fb.failure?.status, 500);
    assert.match(fb.failure!.message, /disk full/);
    assert.equal(fb.failure?.errorType, "runner_server_error");
    const fc = await waitFor(queue, c.id, (j) => j.status === "COMPLETED");
    assert.equal(fc.failure?.status, 500);
    assert.match(fc.failure!.message, /invalid output/);
    assert.ok((await queue.logs(b.id)).some((l) => l.level === "ERROR" && /disk full/.test(l.message)));
    await worker.stop();
    await queue.close();
  });

  it("runs `concurrency` jobs at once, never more", async () => {
    const queue = await freshQueue();
    const probe = { active: 0, max: 0 };
    const worker = startWorker({ queue, runner: framesRunner(5, probe), concurrency: 2, logger });
    const jobs = await Promise.all([1, 2, 3, 4].map(() => submit(queue, { num_frames: 10 })));
    for (const j of jobs) await waitFor(queue, j.id, (x) => x.status === "COMPLETED");
    assert.equal(probe.max, 2);
    await worker.stop();
    await queue.close();
  });

  it("stop() gives running jobs back to the queue; the next worker runs them", async () => {
    const queue = await freshQueue();
    const w1 = startWorker({ queue, runner: framesRunner(20), concurrency: 1, logger });
    const job = await submit(queue, { num_frames: 1000 });
    await waitFor(queue, job.id, (j) => j.status === "IN_PROGRESS");
    await w1.stop();
    const back = await queue.get(job.id);
    assert.equal(back?.status, "IN_QUEUE");
    assert.equal(await queue.position(job.id), 0);
    const w2 = startWorker({ queue, runner: framesRunner(0), concurrency: 1, logger });
    const done = await waitFor(queue, job.id, (j) => j.status === "COMPLETED");
    assert.equal(done.outcome, "OK");
    assert.equal(done.attempts, 2);
    assert.ok((await queue.logs(job.id)).some((l) => l.message === "Started again (attempt 2)."));
    await w2.stop();
    await queue.close();
  });

  it("POSTs the webhook once per completion, OK and ERROR", async () => {
    const received: { body: Record<string, unknown>; headers: http.IncomingHttpHeaders }[] = [];
    const server = http.createServer((req, res) => {
      let data = "";
      req.on("data", (c) => (data += c));
      req.on("end", () => {
        received.push({ body: JSON.parse(data) as Record<string, unknown>, headers: req.headers });
        res.end("ok");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const queue = await freshQueue();
    const runner: JobRunner = async ({ input }) => {
      if (input.fail) throw InputError.field("audio_url", "Audio could not be decoded; send WAV, MP3 or M4A.");
      return OUTPUT;
    };
    const { privateKey: signingKey } = generateKeyPairSync("ed25519");
    const worker = startWorker({ queue, runner, concurrency: 1, logger, webhooks: { sender: { signingKey, allowPrivateUrls: true } } });
    const ok = await submit(queue, {}, hook);
    const bad = await submit(queue, { fail: true }, hook);
    await submit(queue, {}); // no webhook
    await waitFor(queue, bad.id, (j) => j.webhookState !== undefined);
    await waitFor(queue, ok.id, (j) => j.webhookState === "sent");
    await sleep(100);
    assert.equal(received.length, 2);
    const okBody = received.find((r) => r.body.request_id === ok.id)!.body;
    assert.deepEqual(okBody, { request_id: ok.id, gateway_request_id: ok.id, status: "OK", payload: OUTPUT, error: null });
    const badBody = received.find((r) => r.body.request_id === bad.id)!.body;
    assert.equal(badBody.status, "ERROR");
    assert.deepEqual(badBody.payload, { detail: [{ loc: ["body", "audio_url"], msg: "Audio could not be decoded; send WAV, MP3 or M4A.", type: "value_error" }] });
    assert.match(String(badBody.error), /Audio could not be decoded/);
    await worker.stop();
    await queue.close();
    server.close();
  });
});
