import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { AVATAR_INPUT, makeApp, type TestApp } from "./helpers.js";

/** Parses an SSE body into its data events and comment lines. */
function parseSse(body: string): { events: Record<string, unknown>[]; comments: string[] } {
  const events: Record<string, unknown>[] = [];
  const comments: string[] = [];
  for (const block of body.split("\n\n")) {
    for (const line of block.split("\n")) {
      if (line.startsWith("data: ")) events.push(JSON.parse(line.slice(6)) as Record<string, unknown>);
      else if (line.startsWith(":")) comments.push(line);
    }
  }
  return { events, comments };
}

describe("queue API over HTTP", { timeout: 120_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await makeApp({ sseKeepAliveMs: 100 });
  });
  after(() => t.close());

  const submit = async (input: Record<string, unknown> = AVATAR_INPUT, endpoint = "fal-ai/ai-avatar", headers: Record<string, string> = t.auth) => {
    const res = await t.app.inject({ method: "POST", url: `/queue/${endpoint}`, payload: input, headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { request_id: string; status_url: string; response_url: string; cancel_url: string; queue_position: number; status: string };
  };
  const get = (url: string, headers: Record<string, string> = t.auth) => t.app.inject({ method: "GET", url, headers });

  it("submit → status (202 then 200, with logs and metrics) → result, with fal's URLs", async () => {
    const { audio_url, ...rest } = AVATAR_INPUT;
    const sub = await submit({ ...rest, first_audio_url: audio_url, prompt: "hold" }, "fal-ai/ai-avatar/multi");
    assert.equal(sub.status, "IN_QUEUE");
    assert.equal(sub.queue_position, 0);
    const base = `http://localhost:80/queue/fal-ai/ai-avatar/requests/${sub.request_id}`;
    assert.deepEqual([sub.response_url, sub.status_url, sub.cancel_url], [base, `${base}/status`, `${base}/cancel`]);
    // Not done yet: 202 and the result route says so.
    let status = await get(`/queue/fal-ai/ai-avatar/requests/${sub.request_id}/status?logs=1`);
    assert.equal(status.statusCode, 202);
    assert.ok(["IN_QUEUE", "IN_PROGRESS"].includes(status.json().status));
    assert.equal(status.headers["x-fal-request-id"], sub.request_id);
    const early = await get(`/queue/fal-ai/ai-avatar/requests/${sub.request_id}`);
    assert.equal(early.statusCode, 400);
    assert.match(early.json().detail, /still in progress/);
    t.holds.release();
    await t.waitDone(sub.request_id);
    status = await get(`/queue/fal-ai/ai-avatar/requests/${sub.request_id}/status?logs=1`);
    assert.equal(status.statusCode, 200);
    const body = status.json();
    assert.equal(body.status, "COMPLETED");
    assert.equal(typeof body.metrics.inference_time, "number");
    assert.ok(body.logs.some((l: { message: string }) => l.message === "rendered 41/41 frames"));
    assert.deepEqual(Object.keys(body.logs[0]).sort(), ["level", "message", "source", "timestamp"]);
    assert.equal(body.logs[0].source, "USER");
    assert.equal((await get(`/queue/fal-ai/ai-avatar/requests/${sub.request_id}/status`)).json().logs, null);
    // The full endpoint id addresses it too; another app does not.
    assert.equal((await get(`/queue/fal-ai/ai-avatar/multi/requests/${sub.request_id}/status`)).statusCode, 200);
    assert.equal((await get(`/queue/fal-ai/infinitalk/requests/${sub.request_id}/status`)).statusCode, 404);

    const result = await get(`/queue/fal-ai/ai-avatar/requests/${sub.request_id}`);
    assert.equal(result.statusCode, 200);
    const out = result.json();
    assert.equal(out.video.content_type, "video/mp4");
    assert.ok(out.video.file_size > 1000);
    assert.equal(typeof out.seed, "number");
    // File URLs are rebased onto the caller's host, and the file is served with Range support.
    assert.match(out.video.url, /^http:\/\/localhost:80\/files\/\d{4}\/[A-Za-z0-9_-]+\/video\.mp4$/);
    const path = new URL(out.video.url).pathname;
    const file = await get(path, {});
    assert.equal(file.statusCode, 200);
    assert.equal(file.headers["content-type"], "video/mp4");
    assert.equal(Number(file.headers["content-length"]), out.video.file_size);
    assert.equal(file.rawPayload.subarray(4, 8).toString(), "ftyp");
    const part = await t.app.inject({ method: "GET", url: path, headers: { range: "bytes=4-7" } });
    assert.equal(part.statusCode, 206);
    assert.equal(part.headers["content-range"], `bytes 4-7/${out.video.file_size}`);
    assert.equal(part.rawPayload.toString(), "ftyp");
    const tail = await t.app.inject({ method: "GET", url: path, headers: { range: "bytes=-10" } });
    assert.equal(tail.statusCode, 206);
    assert.equal(tail.rawPayload.length, 10);
    const beyond = await t.app.inject({ method: "GET", url: path, headers: { range: `bytes=${out.video.file_size + 5}-` } });
    assert.equal(beyond.statusCode, 416);
    assert.equal(beyond.headers["content-range"], `bytes */${out.video.file_size}`);
    assert.equal((await t.app.inject({ method: "HEAD", url: path })).headers["content-length"], String(out.video.file_size));
  });

  it("keeps the seed the caller sent, and the pipeline picks one when absent", async () => {
    const a = await submit({ ...AVATAR_INPUT, seed: 1234 });
    const b = await submit({ ...AVATAR_INPUT });
    assert.equal((await t.queue.get(a.request_id))?.input.seed, 1234);
    assert.equal((await t.queue.get(b.request_id))?.input.seed, undefined);
    assert.equal((await t.queue.get(b.request_id))?.input.resolution, "480p", "other defaults are filled in");
    await t.waitDone(a.request_id);
    await t.waitDone(b.request_id);
    assert.equal((await get(`/queue/fal-ai/ai-avatar/requests/${a.request_id}`)).json().seed, 1234);
  });

  it("reports exact queue positions and cancels: queued 202, finished 400, unknown 404", async () => {
    // b and c wait behind a (held); c is cancelled while queued.
    const a = await submit({ ...AVATAR_INPUT, prompt: "hold" });
    const b = await submit({ ...AVATAR_INPUT });
    const c = await submit({ ...AVATAR_INPUT });
    for (let i = 0; i < 500 && (await t.queue.get(a.request_id))?.status !== "IN_PROGRESS"; i++) await new Promise((r) => setTimeout(r, 10));
    const positions = await Promise.all([b, c].map(async (s) => (await get(`/queue/fal-ai/ai-avatar/requests/${s.request_id}/status`)).json().queue_position));
    assert.deepEqual(positions, [0, 1]);
    const cancel = await t.app.inject({ method: "PUT", url: `/queue/fal-ai/ai-avatar/requests/${c.request_id}/cancel`, headers: { ...t.auth, "content-type": "application/json" } });
    assert.equal(cancel.statusCode, 202);
    assert.deepEqual(cancel.json(), { status: "CANCELLATION_REQUESTED" });
    const cancelled = await get(`/queue/fal-ai/ai-avatar/requests/${c.request_id}`);
    assert.equal(cancelled.statusCode, 499);
    assert.equal(cancelled.json().error_type, "client_cancelled");
    assert.equal(cancelled.headers["x-fal-error-type"], "client_cancelled");
    const status = (await get(`/queue/fal-ai/ai-avatar/requests/${c.request_id}/status`)).json();
    assert.equal(status.status, "COMPLETED");
    assert.equal(status.error_type, "client_cancelled");
    assert.equal(status.metrics.inference_time, null);
    t.holds.release();
    await t.waitDone(a.request_id);
    await t.waitDone(b.request_id);
    const again = await t.app.inject({ method: "PUT", url: `/queue/fal-ai/ai-avatar/requests/${a.request_id}/cancel`, headers: t.auth });
    assert.equal(again.statusCode, 400);
    assert.deepEqual(again.json(), { status: "ALREADY_COMPLETED" });
    const unknown = await t.app.inject({ method: "PUT", url: `/queue/fal-ai/ai-avatar/requests/00000000-0000-0000-0000-000000000000/cancel`, headers: t.auth });
    assert.equal(unknown.statusCode, 404);
    assert.deepEqual(unknown.json(), { status: "NOT_FOUND" });
  });

  it("cancels a running request (202) and the result says so", async () => {
    const s = await submit({ ...AVATAR_INPUT, prompt: "hold" }, "fal-ai/infinitalk");
    for (let i = 0; i < 500; i++) {
      if ((await t.queue.get(s.request_id))?.status === "IN_PROGRESS") break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal((await get(`/queue/fal-ai/infinitalk/requests/${s.request_id}/status`)).json().status, "IN_PROGRESS");
    const cancel = await t.app.inject({ method: "PUT", url: `/queue/fal-ai/infinitalk/requests/${s.request_id}/cancel`, headers: t.auth });
    assert.equal(cancel.statusCode, 202);
    const done = await t.waitDone(s.request_id);
    assert.equal(done.outcome, "CANCELLED");
    assert.equal(done.attempts, 1);
    assert.equal((await get(`/queue/fal-ai/infinitalk/requests/${s.request_id}`)).statusCode, 499);
    const messages = (await t.queue.logs(s.request_id)).map((l) => l.message);
    assert.ok(messages.includes("Cancellation requested."));
    assert.ok(messages.some((m) => m.startsWith("Cancelled after")));
  });

  it("passes a failed request's status and body through the result route", async () => {
    const bad = await submit({ ...AVATAR_INPUT, prompt: "fail:input" });
    const crash = await submit({ ...AVATAR_INPUT, prompt: "fail:crash" });
    await t.waitDone(bad.request_id);
    await t.waitDone(crash.request_id);
    const r1 = await get(`/queue/fal-ai/ai-avatar/requests/${bad.request_id}`);
    assert.equal(r1.statusCode, 422);
    assert.deepEqual(r1.json(), { detail: [{ loc: ["body", "image_url"], msg: "No face found in the image; use a photo where one face is clearly visible.", type: "value_error" }] });
    const r2 = await get(`/queue/fal-ai/ai-avatar/requests/${crash.request_id}`);
    assert.equal(r2.statusCode, 500);
    assert.match(r2.json().detail, /crashed on purpose/);
    const st = (await get(`/queue/fal-ai/ai-avatar/requests/${crash.request_id}/status?logs=1`)).json();
    assert.equal(st.status, "COMPLETED");
    assert.match(st.error, /crashed on purpose/);
    assert.ok(st.logs.some((l: { level: string }) => l.level === "ERROR"));
  });

  it("shows a key only its own requests", async () => {
    const mine = await submit();
    const other = t.keys.create("other").key;
    const h = { authorization: `Key ${other}` };
    assert.equal((await get(`/queue/fal-ai/ai-avatar/requests/${mine.request_id}/status`, h)).statusCode, 404);
    assert.equal((await get(`/queue/fal-ai/ai-avatar/requests/${mine.request_id}`, h)).statusCode, 404);
    const c = await t.app.inject({ method: "PUT", url: `/queue/fal-ai/ai-avatar/requests/${mine.request_id}/cancel`, headers: h });
    assert.equal(c.statusCode, 404);
    assert.deepEqual(c.json(), { status: "NOT_FOUND" });
    assert.equal((await get(`/queue/fal-ai/ai-avatar/requests/${mine.request_id}/status`, { "x-mouthpiece-playground": "1" })).statusCode, 404);
    await t.waitDone(mine.request_id);
  });

  it("streams status as SSE until COMPLETED, each log line once, with keep-alive comments", async () => {
    const s = await submit({ ...AVATAR_INPUT, num_frames: 60 });
    const res = await get(`/queue/fal-ai/ai-avatar/requests/${s.request_id}/status/stream?logs=1`);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
    const { events } = parseSse(res.body);
    assert.ok(events.length >= 2);
    assert.equal(events.at(-1)!.status, "COMPLETED");
    assert.ok(events.slice(0, -1).every((e) => e.status !== "COMPLETED"));
    const all = events.flatMap((e) => (e.logs as { message: string; timestamp: string }[]) ?? []);
    const stored = await t.queue.logs(s.request_id);
    assert.deepEqual(all.map((l) => l.message), stored.map((l) => l.message), "every line exactly once, in order");
    assert.ok(all.some((l) => l.message === "rendered 60/60 frames"));
    // A finished request streams one COMPLETED event and closes.
    const again = parseSse((await get(`/queue/fal-ai/ai-avatar/requests/${s.request_id}/status/stream`)).body);
    assert.equal(again.events.length, 1);
    assert.equal(again.events[0].status, "COMPLETED");
    assert.equal(again.events[0].logs, null);
    // Keep-alive comments while waiting (every 100 ms in this app).
    const held = await submit({ ...AVATAR_INPUT, prompt: "hold" });
    const streaming = get(`/queue/fal-ai/ai-avatar/requests/${held.request_id}/status/stream`);
    setTimeout(() => t.holds.release(), 350);
    const slow = parseSse((await streaming).body);
    assert.ok(slow.comments.filter((c) => c === ": keep-alive").length >= 2, "keep-alive comments");
    assert.equal(slow.events.at(-1)!.status, "COMPLETED");
  });

  it("runs synchronously on POST /{endpoint_id} (fal.run) and answers the output or the failure", async () => {
    const ok = await t.app.inject({ method: "POST", url: "/fal-ai/infinitalk", payload: { ...AVATAR_INPUT, seed: 9 }, headers: t.auth });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().seed, 9);
    assert.match(ok.json().video.url, /^http:\/\/localhost:80\/files\//);
    assert.ok(ok.headers["x-fal-request-id"]);
    const bad = await t.app.inject({ method: "POST", url: "/fal-ai/infinitalk", payload: { ...AVATAR_INPUT, prompt: "fail:input" }, headers: t.auth });
    assert.equal(bad.statusCode, 422);
    assert.equal(bad.json().detail[0].loc[1], "image_url");
  });

  it("stores webhook URLs with the request", async () => {
    const s = await submit(AVATAR_INPUT, "fal-ai/ai-avatar?fal_webhook=http%3A%2F%2Fhooks.example.com%3A9%2Fhook");
    assert.equal((await t.queue.get(s.request_id))?.webhookUrl, "http://hooks.example.com:9/hook");
    await t.waitDone(s.request_id);
  });
});

describe("request logs at LOG_LEVEL=info", () => {
  it("status polls (both path forms) and /healthz write no per-request lines; a submit does; polls answer fal's status objects", async () => {
    const lines: { msg: string; req?: { url: string }; res?: { statusCode: number } }[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const t = await makeApp({ logger });
    try {
      const sub = await t.app.inject({ method: "POST", url: "/queue/fal-ai/ai-avatar/single-text", payload: { text_input: "Hello there.", voice: "Aria", prompt: "p", num_frames: 41, image_url: AVATAR_INPUT.image_url }, headers: t.auth });
      assert.equal(sub.statusCode, 200, sub.body);
      const id = (sub.json() as { request_id: string }).request_id;
      assert.ok(lines.some((l) => l.msg === "incoming request" && l.req?.url === "/queue/fal-ai/ai-avatar/single-text"), "the submit is logged");
      const before = lines.filter((l) => l.msg === "incoming request" || l.msg === "request completed").length;
      for (const url of [`/queue/fal-ai/ai-avatar/requests/${id}/status`, `/queue/fal-ai/ai-avatar/single-text/requests/${id}/status?logs=1`]) {
        const res = await t.app.inject({ method: "GET", url, headers: t.auth });
        assert.ok(res.statusCode === 200 || res.statusCode === 202, res.body);
        const body = res.json() as Record<string, unknown>;
        assert.equal(body.request_id, id);
        assert.equal(body.status_url, `http://localhost:80/queue/fal-ai/ai-avatar/requests/${id}/status`);
        assert.ok(body.logs === null || Array.isArray(body.logs));
        assert.equal(res.headers["x-fal-request-id"], id);
      }
      const missing = await t.app.inject({ method: "GET", url: "/queue/fal-ai/ai-avatar/requests/nope/status", headers: t.auth });
      assert.equal(missing.statusCode, 404);
      assert.deepEqual(missing.json(), { detail: "Request nope not found." });
      assert.equal((await t.app.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
      assert.equal(lines.filter((l) => l.msg === "incoming request" || l.msg === "request completed").length, before, "no lines for the polls");
    } finally {
      await t.close();
    }
  });
});
