/**
 * Signed webhooks end to end: a real server (JWKS route), a real worker delivering through the SSRF-safe
 * client (loopback explicitly allowed), and a receiver that verifies each delivery's signature with the
 * key it fetched from /.well-known/jwks.json. The receiver fails the first attempt; the worker is then
 * stopped and a new one started on the reopened store (a restart): the retry is delivered.
 */
import assert from "node:assert/strict";
import { createHash, createPublicKey, generateKeyPairSync, verify, type JsonWebKey } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { KeyStore } from "../../src/api/keys.js";
import { buildServer } from "../../src/api/server.js";
import { loadSigningKey, SIGNING_KEY_FILE } from "../../src/api/signing-key.js";
import { loadConfig } from "../../src/config.js";
import type { JobRunner } from "../../src/pipeline/types.js";
import { SqliteJobQueue } from "../../src/queue/sqlite.js";
import type { Job } from "../../src/queue/types.js";
import { webhookBody } from "../../src/queue/webhook.js";
import { startWorker } from "../../src/queue/worker.js";
import { LocalStorage } from "../../src/storage/local.js";

const logger = pino({ level: "silent" });
const dirs: string[] = [];
/** Closed after the tests whatever happened (a failed assertion must not leave servers holding the process). */
const closers: (() => unknown)[] = [];
after(async () => {
  for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => undefined);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const OUTPUT = { video: { url: "http://127.0.0.1:8000/files/x/video.mp4", content_type: "video/mp4", file_name: "video.mp4", file_size: 10 }, seed: 7 };

interface Delivery {
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  verified: boolean;
  tamperedVerified: boolean;
}

/** fal's documented check: ED25519 over request_id \n user_id \n timestamp \n sha256_hex(body), key from the JWKS. */
function verifyDelivery(jwks: { keys: JsonWebKey[] }, headers: http.IncomingHttpHeaders, raw: Buffer): boolean {
  const message = Buffer.from([
    headers["x-fal-webhook-request-id"], headers["x-fal-webhook-user-id"], headers["x-fal-webhook-timestamp"],
    createHash("sha256").update(raw).digest("hex"),
  ].join("\n"));
  const signature = Buffer.from(String(headers["x-fal-webhook-signature"]), "hex");
  return jwks.keys.some((jwk) => verify(null, message, createPublicKey({ key: jwk, format: "jwk" }), signature));
}

describe("webhooks", () => {
  it("are signed (verified with the served JWKS), retried after a failure, and survive a restart", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-hook-"));
    dirs.push(dataDir);
    const config = loadConfig({}, { dataDir, logLevel: "silent", allowPrivateUrls: true });
    const dbFile = path.join(dataDir, "mouthpiece.db");
    const queue1 = SqliteJobQueue.open({ file: dbFile });
    const keys = KeyStore.open({ file: dbFile });
    const storage = new LocalStorage({ dataDir, baseUrl: "http://127.0.0.1:8000" });
    const app = await buildServer({ config, queue: queue1, storage, keys, logger });
    closers.push(() => queue1.close(), () => keys.close(), () => app.close());
    await app.listen({ host: "127.0.0.1", port: 0 });
    const serverUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    // The key is generated on first start, kept in the data dir (0600), and the same on the next load.
    const keyFile = path.join(dataDir, SIGNING_KEY_FILE);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    const signingKey = await loadSigningKey(dataDir);
    const pemBefore = await readFile(keyFile, "utf8");

    const deliveries: Delivery[] = [];
    let failNext = 1;
    const receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", async () => {
        const raw = Buffer.concat(chunks);
        const jwks = (await (await fetch(`${serverUrl}/.well-known/jwks.json`)).json()) as { keys: JsonWebKey[] };
        const tampered = Buffer.from(raw.toString().replace('"OK"', '"ERROR"'));
        deliveries.push({ headers: req.headers, raw, verified: verifyDelivery(jwks, req.headers, raw), tamperedVerified: verifyDelivery(jwks, req.headers, tampered) });
        if (failNext > 0) {
          failNext--;
          res.writeHead(503).end("not now");
        } else {
          res.writeHead(200).end("ok");
        }
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    closers.push(() => receiver.close());
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

    const runner: JobRunner = async () => OUTPUT;
    const webhooks = { sender: { signingKey: signingKey.privateKey, allowPrivateUrls: true }, retryDelaysMs: [400, 400], pollMs: 50 };
    const worker1 = startWorker({ queue: queue1, runner, concurrency: 1, logger, pollMs: 50, webhooks });
    closers.push(() => worker1.stop());
    const { key } = keys.create("hooks");
    const res = await app.inject({
      method: "POST", url: `/queue/fal-ai/ai-avatar?fal_webhook=${encodeURIComponent(hookUrl)}`,
      headers: { authorization: `Key ${key}` },
      payload: { image_url: "data:image/png;base64,iVBORw0KGgo=", audio_url: "data:audio/wav;base64,UklGRg==", prompt: "hello" },
    });
    assert.equal(res.statusCode, 200, `submit answered ${res.statusCode}: ${res.body}`);
    const id = (res.json() as { request_id: string }).request_id;

    // First attempt: the receiver answers 503; the delivery stays pending with a retry time.
    for (let i = 0; i < 200 && deliveries.length < 1; i++) await sleep(20);
    await sleep(50);
    await worker1.stop();
    const pending = (await queue1.get(id))!;
    assert.equal(pending.webhookState, undefined);
    assert.equal(pending.webhookAttempts, 1);
    assert.match(pending.webhookError ?? "", /HTTP 503/);
    assert.ok(pending.webhookNextAttemptAt);
    await app.close();
    await queue1.close();

    // Restart: a new process's queue on the same file, a new worker: the retry goes out and succeeds.
    const queue2 = SqliteJobQueue.open({ file: dbFile });
    assert.equal((await loadSigningKey(dataDir)).jwk.kid, signingKey.jwk.kid);
    assert.equal(await readFile(keyFile, "utf8"), pemBefore, "the key is not regenerated");
    const app2 = await buildServer({ config, queue: queue2, storage, keys, logger });
    closers.push(() => queue2.close(), () => app2.close());
    await app2.listen({ host: "127.0.0.1", port: Number(new URL(serverUrl).port) });
    const worker2 = startWorker({ queue: queue2, runner, concurrency: 1, logger, pollMs: 50, webhooks });
    closers.push(() => worker2.stop());
    let done: Job | undefined;
    for (let i = 0; i < 250; i++) {
      done = await queue2.get(id);
      if (done?.webhookState) break;
      await sleep(20);
    }
    await worker2.stop();
    assert.equal(done?.webhookState, "sent");
    assert.equal(done?.webhookAttempts, 2);
    assert.equal(deliveries.length, 2);

    for (const d of deliveries) {
      assert.ok(d.verified, "the signature verifies with the served JWKS");
      assert.equal(d.tamperedVerified, false, "a changed body does not verify");
      assert.equal(d.headers["x-fal-webhook-request-id"], id);
      assert.match(String(d.headers["x-fal-webhook-user-id"]), /^key:[0-9a-f]{12}$/);
      assert.ok(Math.abs(Number(d.headers["x-fal-webhook-timestamp"]) - Date.now() / 1000) < 60);
      assert.match(String(d.headers["x-fal-webhook-signature"]), /^[0-9a-f]{128}$/);
      assert.deepEqual(JSON.parse(d.raw.toString()), { request_id: id, gateway_request_id: id, status: "OK", payload: OUTPUT, error: null });
    }
    const jwks = (await (await fetch(`${serverUrl}/.well-known/jwks.json`)).json()) as { keys: Record<string, string>[] };
    assert.deepEqual(Object.keys(jwks.keys[0]).sort(), ["alg", "crv", "kid", "kty", "use", "x"]);
    assert.equal(jwks.keys[0].crv, "Ed25519");
    // A key that is not the server's does not verify.
    const other = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
    assert.equal(verifyDelivery({ keys: [other] }, deliveries[0].headers, deliveries[0].raw), false);

    await app2.close();
    await queue2.close();
    keys.close();
    receiver.close();
  });

  it("sign with MOUTHPIECE_WEBHOOK_SIGNING_KEY when it is set, on every node alike, and say what is wrong with a bad one", async () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    const pem = privateKey.export({ format: "pem", type: "pkcs8" }) as string;
    const kids = new Set<string>();
    for (const node of ["a", "b"]) {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), `mp-sigkey-${node}-`));
      closers.push(() => rm(dataDir, { recursive: true, force: true }));
      // One line in the environment, as a secret store or a unit file gives it.
      const config = loadConfig({ MOUTHPIECE_WEBHOOK_SIGNING_KEY: pem.trim().replace(/\n/g, "\\n") }, { dataDir, logLevel: "silent" });
      const queue = SqliteJobQueue.open({ file: ":memory:" });
      const keys = KeyStore.open({ file: ":memory:" });
      const app = await buildServer({ config, queue, storage: new LocalStorage({ dataDir, baseUrl: "http://127.0.0.1:8000" }), keys, logger: pino({ level: "silent" }) });
      closers.push(() => queue.close(), () => keys.close(), () => app.close());
      const served = (await app.inject({ method: "GET", url: "/.well-known/jwks.json" })).json() as { keys: (JsonWebKey & { kid: string })[] };
      assert.equal(served.keys.length, 1);
      assert.equal(createPublicKey({ key: served.keys[0], format: "jwk" }).export({ format: "der", type: "spki" }).toString("hex"),
        createPublicKey(privateKey).export({ format: "der", type: "spki" }).toString("hex"), "the JWKS serves the configured key's public half");
      kids.add(served.keys[0].kid);
      await assert.rejects(stat(path.join(dataDir, SIGNING_KEY_FILE)), "no key file is generated when one is configured");
    }
    assert.equal(kids.size, 1, "both nodes serve the same key");
    await assert.rejects(loadSigningKey(os.tmpdir(), "not a pem"), /MOUTHPIECE_WEBHOOK_SIGNING_KEY is not a usable key.*ED25519/);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "pem", type: "pkcs8" }) as string;
    await assert.rejects(loadSigningKey(os.tmpdir(), rsa), /not ed25519/);
  });

  it("gives up after the last retry", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "mp-hook-"));
    dirs.push(dir);
    const queue = SqliteJobQueue.open({ file: path.join(dir, "q.db") });
    let hits = 0;
    const receiver = http.createServer((_req, res) => {
      hits++;
      res.writeHead(500).end();
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    closers.push(() => receiver.close());
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/h`;
    const { privateKey } = generateKeyPairSync("ed25519");
    const worker = startWorker({
      queue, runner: async () => OUTPUT, concurrency: 1, logger, pollMs: 50,
      webhooks: { sender: { signingKey: privateKey, allowPrivateUrls: true }, retryDelaysMs: [50, 50], pollMs: 25 },
    });
    const job = await queue.submit({ endpointId: "fal-ai/ai-avatar", owner: "local", input: {}, webhookUrl: hook });
    let j: Job | undefined;
    for (let i = 0; i < 200; i++) {
      j = await queue.get(job.id);
      if (j?.webhookState) break;
      await sleep(20);
    }
    await worker.stop();
    receiver.close();
    await queue.close();
    assert.equal(j?.webhookState, "failed");
    assert.equal(j?.webhookAttempts, 3, "1 + 2 retries");
    assert.equal(hits, 3);
    assert.match(j?.webhookError ?? "", /HTTP 500/);
  });

  it("sends payload null with payload_error when the payload is too large to send", () => {
    const job = {
      id: "r1", endpointId: "fal-ai/ai-avatar", owner: "local", input: {}, status: "COMPLETED", outcome: "OK",
      result: { big: "x".repeat(2000) }, cancelRequested: false, attempts: 1, createdAt: new Date().toISOString(), logCount: 0, webhookAttempts: 0,
    } satisfies Job;
    const body = JSON.parse(webhookBody(job, 1000)) as Record<string, unknown>;
    assert.equal(body.payload, null);
    assert.equal(body.status, "OK");
    assert.match(String(body.payload_error), /over the 1000-byte webhook limit/);
    const small = JSON.parse(webhookBody(job)) as Record<string, unknown>;
    assert.deepEqual(small.payload, job.result);
    assert.equal("payload_error" in small, false);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad = JSON.parse(webhookBody({ ...job, result: cyclic })) as Record<string, unknown>;
    assert.equal(bad.payload, null);
    assert.match(String(bad.payload_error), /could not be serialized/);
  });
});
