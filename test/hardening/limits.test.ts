/**
 * Per-key limits on the HTTP API: the rate limit answers 429 (fal's {detail} shape, Retry-After) per key,
 * not per server; the cap on unfinished requests answers 429 naming the setting; keys are only stored hashed.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { KeyStore } from "../../src/api/keys.js";
import { buildServer } from "../../src/api/server.js";
import { loadConfig } from "../../src/config.js";
import { SqliteJobQueue } from "../../src/queue/sqlite.js";
import { LocalStorage } from "../../src/storage/local.js";

const closers: (() => unknown)[] = [];
after(async () => {
  for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => undefined);
});

async function server(over: { rateLimitPerMinute?: number; maxQueuedPerKey?: number }) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-limits-"));
  const config = loadConfig({}, { dataDir, logLevel: "silent", ...over });
  const file = path.join(dataDir, "mouthpiece.db");
  const queue = SqliteJobQueue.open({ file });
  const keys = KeyStore.open({ file });
  const app = await buildServer({ config, queue, storage: new LocalStorage({ dataDir, baseUrl: "http://127.0.0.1:8000" }), keys, logger: pino({ level: "silent" }) });
  closers.push(() => rm(dataDir, { recursive: true, force: true }), () => queue.close(), () => keys.close(), () => app.close());
  return { app, keys, queue, file, a: `Key ${keys.create("a").key}`, b: `Key ${keys.create("b").key}` };
}

const INPUT = { image_url: "data:image/png;base64,iVBORw0KGgo=", audio_url: "data:audio/wav;base64,UklGRg==", prompt: "hi" };
const status = (app: FastifyInstance, auth: string) =>
  app.inject({ method: "GET", url: "/queue/fal-ai/ai-avatar/requests/00000000-0000-4000-8000-000000000000/status", headers: { authorization: auth } });

describe("rate limit", () => {
  it("answers 429 once a key used its requests per minute; other keys go on", async () => {
    const { app, a, b } = await server({ rateLimitPerMinute: 5 });
    for (let i = 0; i < 5; i++) assert.equal((await status(app, a)).statusCode, 404, `request ${i + 1} is within the limit`);
    const limited = await status(app, a);
    assert.equal(limited.statusCode, 429);
    const body = limited.json() as { detail: string };
    assert.match(body.detail, /at most 5 requests per minute per API key/);
    assert.ok(Number(limited.headers["retry-after"]) > 0, "Retry-After tells when to come back");
    assert.equal(limited.headers["x-ratelimit-limit"], "5");
    assert.equal((await status(app, b)).statusCode, 404, "another key has its own budget");
    assert.equal((await app.inject({ method: "GET", url: "/healthz" })).statusCode, 200, "public routes are not counted");
  });

  it("counts upload initiations too (each makes a session on the server), not the byte routes", async () => {
    const { app, a } = await server({ rateLimitPerMinute: 3 });
    const initiate = () => app.inject({ method: "POST", url: "/storage/upload/initiate", payload: { content_type: "image/png", file_name: "a.png" }, headers: { authorization: a } });
    const first = await initiate();
    assert.equal(first.statusCode, 200, first.body);
    assert.equal((await initiate()).statusCode, 200);
    assert.equal((await status(app, a)).statusCode, 404);
    assert.equal((await initiate()).statusCode, 429, "the key's 4th request in the minute");
    // The bytes still go to the session made within the limit (its id is the authority; no key is sent).
    const uploadPath = new URL((first.json() as { upload_url: string }).upload_url).pathname;
    const put = await app.inject({ method: "PUT", url: uploadPath, payload: Buffer.from("png bytes"), headers: { "content-type": "image/png" } });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal((await app.inject({ method: "POST", url: "/storage/upload/initiate", payload: {} })).statusCode, 401, "initiating still needs a key");
  });

  it("is off at 0", async () => {
    const { app, a } = await server({ rateLimitPerMinute: 0 });
    for (let i = 0; i < 30; i++) assert.equal((await status(app, a)).statusCode, 404);
  });
});

describe("queued requests per key", () => {
  it("answers 429 past the cap of unfinished requests, per key, and admits again once one finishes", async () => {
    const { app, a, b, queue } = await server({ maxQueuedPerKey: 2 });
    const submit = (auth: string) => app.inject({ method: "POST", url: "/queue/fal-ai/ai-avatar", headers: { authorization: auth }, payload: INPUT });
    const first = await submit(a);
    assert.equal(first.statusCode, 200);
    assert.equal((await submit(a)).statusCode, 200);
    const third = await submit(a);
    assert.equal(third.statusCode, 429);
    assert.match((third.json() as { detail: string }).detail, /already has 2 queued or running \(MOUTHPIECE_MAX_QUEUED_PER_KEY\)/);
    assert.equal((await submit(b)).statusCode, 200, "another key is not affected");
    await queue.cancel((first.json() as { request_id: string }).request_id);
    assert.equal((await submit(a)).statusCode, 200, "a finished (cancelled) request frees a place");
  });
});

describe("API keys", () => {
  it("are stored only as hashes", async () => {
    const { keys, file, a } = await server({});
    keys.close();
    const bytes = Buffer.concat([await readFile(file), await readFile(`${file}-wal`).catch(() => Buffer.alloc(0))]);
    const key = a.slice("Key ".length);
    assert.ok(bytes.includes(createHash("sha256").update(key).digest()), "the hash is there (the check looks in the right place)");
    assert.equal(bytes.includes(Buffer.from(key.split(":")[1])), false, "the secret is not");
  });
});
