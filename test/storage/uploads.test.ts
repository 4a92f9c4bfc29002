import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { NotFoundError, TooLargeError, InputError } from "../../src/errors.js";
import { LocalStorage } from "../../src/storage/local.js";
import { UploadSessions } from "../../src/storage/uploads.js";

const collect = async (r: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

describe("UploadSessions", () => {
  let dir: string;
  let storage: LocalStorage;
  let uploads: UploadSessions;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-uploads-"));
    storage = new LocalStorage({ dataDir: dir, baseUrl: "http://127.0.0.1:8000" });
    uploads = new UploadSessions({ dataDir: dir, storage, maxBytes: 4096 });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("stores a whole upload at the key announced up front, once", async () => {
    const s = await uploads.create({ contentType: "image/png", fileName: "face.png", owner: "local" });
    assert.match(s.id, /^[A-Za-z0-9_-]{32}$/);
    assert.equal(await storage.stat(s.key), undefined);
    const stored = await uploads.putWhole(s.id, Readable.from([Buffer.from("png-bytes")]));
    assert.equal(stored.key, s.key);
    assert.equal((await storage.stat(s.key))?.contentType, "image/png");
    await assert.rejects(uploads.putWhole(s.id, Readable.from([Buffer.from("again")])), NotFoundError);
  });

  it("refuses bodies over the limit and stores nothing", async () => {
    const s = await uploads.create({ contentType: "application/octet-stream", fileName: "big.bin", owner: "local" });
    await assert.rejects(uploads.putWhole(s.id, Readable.from([Buffer.alloc(3000), Buffer.alloc(3000)])), TooLargeError);
    assert.equal(await storage.stat(s.key), undefined);
  });

  it("joins multipart parts in part order, checking etags", async () => {
    const s = await uploads.create({ contentType: "video/mp4", fileName: "clip.mp4", owner: "local", multipart: true });
    const a = Buffer.alloc(1000, 1);
    const b = Buffer.alloc(500, 2);
    const p2 = await uploads.putPart(s.id, 2, Readable.from([b]));
    const p1 = await uploads.putPart(s.id, 1, Readable.from([a]));
    assert.equal(p1.etag, createHash("md5").update(a).digest("hex"));
    await assert.rejects(uploads.complete(s.id, [p1, { partNumber: 2, etag: "0".repeat(32) }]), InputError);
    // A retried part replaces the first attempt.
    const p2again = await uploads.putPart(s.id, 2, Readable.from([b]));
    assert.equal(p2again.etag, p2.etag);
    const stored = await uploads.complete(s.id, [p2, p1]);
    assert.equal(stored.size, 1500);
    assert.deepEqual(await collect(await storage.read(stored.key)), Buffer.concat([a, b]));
    await assert.rejects(uploads.putPart(s.id, 3, Readable.from([a])), NotFoundError);
  });

  it("rejects unknown, malformed and expired sessions", async () => {
    await assert.rejects(uploads.get("nope"), NotFoundError);
    await assert.rejects(uploads.get("A".repeat(32)), NotFoundError);
    const expiring = new UploadSessions({ dataDir: dir, storage, maxBytes: 10, ttlMs: -1 });
    const s = await expiring.create({ contentType: "text/plain", fileName: "t.txt", owner: "local" });
    await assert.rejects(expiring.putWhole(s.id, Readable.from([Buffer.from("x")])), /expired/);
  });

  it("rejects part numbers out of range", async () => {
    const s = await uploads.create({ contentType: "text/plain", fileName: "t.txt", owner: "local", multipart: true });
    await assert.rejects(uploads.putPart(s.id, 0, Readable.from([Buffer.from("x")])), InputError);
    await assert.rejects(uploads.putPart(s.id, 10_001, Readable.from([Buffer.from("x")])), InputError);
  });
});
