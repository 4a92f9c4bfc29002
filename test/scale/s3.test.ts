/**
 * S3Storage against a real S3-protocol server (s3rver): stores, stats, reads ranges, multipart for large
 * streams, presigned PUT URLs, and the API's upload and /files routes on top of it.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { startServe, type RunningServer } from "../../src/cli/serve.js";
import { openStorage } from "../../src/cli/services.js";
import { loadConfig } from "../../src/config.js";
import { parseS3Url, S3Storage } from "../../src/storage/s3.js";
import { createRunner } from "../support/test-runner.js";
import { startS3, type S3Server } from "./servers.js";

const text = async (r: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
};

describe("S3Storage on s3rver", { timeout: 60_000 }, () => {
  let s3: S3Server;
  let storage: S3Storage;
  before(async () => {
    s3 = await startS3();
    storage = (await openStorage(loadConfig({ ...s3.env, MOUTHPIECE_STORAGE: s3.storageUrl }, { port: 8123 }))) as S3Storage;
  });
  after(async () => {
    storage.close();
    await s3.stop();
  });

  it("parses s3:// URLs and names what is wrong", () => {
    assert.deepEqual(parseS3Url("s3://media/prod?region=eu-west-1&endpoint=http://minio:9000&forcePathStyle=true"), {
      bucket: "media", keyPrefix: "prod/", region: "eu-west-1", endpoint: "http://minio:9000", forcePathStyle: true, presign: true,
    });
    assert.equal(parseS3Url("s3://b?presign=false").presign, false);
    assert.equal(parseS3Url("s3://b").forcePathStyle, false);
    assert.throws(() => parseS3Url("s3://b?endpont=x"), /unknown parameter 'endpont'/);
    assert.throws(() => parseS3Url("s3://b?endpoint=minio:9000"), /http\(s\) URL/);
    assert.throws(() => parseS3Url("file:///tmp"), /s3:\/\/bucket/);
  });

  it("stores a buffer and a file; stat, whole and ranged reads; this server's file URLs", async () => {
    const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 256));
    const a = await storage.put({ body: bytes, contentType: "audio/wav", fileName: "my voice.wav" });
    assert.match(a.key, /^files\/\d{4}\/[A-Za-z0-9_-]{22}\/my_voice\.wav$/);
    assert.equal(a.url, `http://127.0.0.1:8123/${a.key}`);
    assert.equal(storage.keyFromUrl(a.url), a.key);
    assert.equal(storage.keyFromUrl(`http://localhost:8123/${a.key}`), a.key);
    assert.equal(storage.keyFromUrl(`http://elsewhere:8123/${a.key}`), undefined);
    assert.deepEqual({ ...(await storage.stat(a.key)) }, { key: a.key, url: a.url, contentType: "audio/wav", fileName: "my_voice.wav", size: 5000 });
    assert.deepEqual(await text(await storage.read(a.key)), bytes);
    assert.deepEqual(await text(await storage.read(a.key, { start: 10, end: 19 })), bytes.subarray(10, 20));
    assert.equal(await storage.stat(storage.newKey("missing.mp4")), undefined);
    assert.equal(await storage.stat("../etc/passwd"), undefined);
    const dir = await mkdtemp(path.join(os.tmpdir(), "mp-s3file-"));
    try {
      await writeFile(path.join(dir, "v.mp4"), bytes.subarray(0, 100));
      const b = await storage.putFile({ path: path.join(dir, "v.mp4"), contentType: "video/mp4", fileName: "video.mp4" });
      assert.equal((await storage.stat(b.key))?.size, 100);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a 12 MB stream of unknown length goes up as a multipart upload and reads back whole", async () => {
    const size = 12 * 1024 * 1024 + 7;
    const big = Buffer.alloc(size);
    for (let i = 0; i < size; i += 1024) big[i] = (i / 1024) % 256;
    const stored = await storage.put({ body: Readable.from([big.subarray(0, 3_000_000), big.subarray(3_000_000)]), contentType: "video/mp4", fileName: "big.mp4" });
    assert.equal(stored.size, size);
    const tail = await text(await storage.read(stored.key, { start: size - 5000, end: size - 1 }));
    assert.deepEqual(tail, big.subarray(size - 5000));
  });

  it("a presigned PUT URL takes the bytes straight into the bucket", async () => {
    const key = storage.newKey("face.png");
    const url = await storage.presignPut(key, { contentType: "image/png", fileName: "face.png" });
    assert.ok(url?.startsWith(`${s3.endpoint}/${s3.bucket}/${key}?`), url);
    const put = await fetch(url!, { method: "PUT", body: new Uint8Array([1, 2, 3]), headers: { "content-type": "image/png" } });
    assert.equal(put.status, 200, await put.text());
    assert.deepEqual({ ...(await storage.stat(key)) }, { key, url: storage.urlFor(key), contentType: "image/png", fileName: "face.png", size: 3 });
    const query = new URL(url!).searchParams;
    assert.equal(query.get("X-Amz-Expires"), "3600");
    assert.match(query.get("X-Amz-SignedHeaders") ?? "", /content-type/, "the Content-Type is part of the signature");
    assert.match(query.get("X-Amz-Signature") ?? "", /^[0-9a-f]{64}$/);
  });
});

describe("the API on S3 storage (upload routes and /files)", { timeout: 60_000 }, () => {
  let s3: S3Server;
  let server: RunningServer;
  let dataDir: string;
  const headers = { "content-type": "application/json", "x-mouthpiece-playground": "1" };
  before(async () => {
    s3 = await startS3();
    dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-s3api-"));
    const config = loadConfig({ ...s3.env, MOUTHPIECE_STORAGE: s3.storageUrl }, { dataDir, port: 0, logLevel: "silent" });
    server = await startServe({ config, logger: pino({ level: "silent" }), createRunner, worker: false });
  });
  after(async () => {
    await server.close();
    await s3.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("initiate answers a presigned bucket URL; the file is then served with Range support", async () => {
    const init = await fetch(`${server.url}/storage/upload/initiate`, {
      method: "POST", headers, body: JSON.stringify({ content_type: "audio/wav", file_name: "a.wav" }),
    });
    assert.equal(init.status, 200);
    const { upload_url, file_url } = (await init.json()) as { upload_url: string; file_url: string };
    assert.ok(upload_url.startsWith(s3.endpoint), upload_url);
    assert.ok(file_url.startsWith(`${server.url}/files/`), file_url);
    assert.equal((await fetch(file_url)).status, 404, "not there before its bytes");
    const bytes = new Uint8Array(3000).map((_, i) => (i * 7) % 256);
    assert.equal((await fetch(upload_url, { method: "PUT", body: bytes, headers: { "content-type": "audio/wav" } })).status, 200);
    const whole = await fetch(file_url);
    assert.equal(whole.headers.get("content-type"), "audio/wav");
    assert.deepEqual(new Uint8Array(await whole.arrayBuffer()), bytes);
    const part = await fetch(file_url, { headers: { range: "bytes=100-199" } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), "bytes 100-199/3000");
    assert.deepEqual(new Uint8Array(await part.arrayBuffer()), bytes.subarray(100, 200));
    assert.equal((await fetch(file_url, { headers: { range: "bytes=5000-" } })).status, 416);
  });

  it("multipart uploads go part by part into the bucket, through any API node", async () => {
    // A second API node on its own data dir: the upload's state is in the bucket, not on a node.
    const otherDir = await mkdtemp(path.join(os.tmpdir(), "mp-s3api2-"));
    const other = await startServe({
      config: loadConfig({ ...s3.env, MOUTHPIECE_STORAGE: s3.storageUrl }, { dataDir: otherDir, port: 0, logLevel: "silent" }),
      logger: pino({ level: "silent" }), createRunner, worker: false,
    });
    try {
      const init = await fetch(`${server.url}/storage/upload/initiate-multipart`, {
        method: "POST", headers, body: JSON.stringify({ content_type: "video/mp4", file_name: "m.mp4" }),
      });
      const { upload_url, file_url } = (await init.json()) as { upload_url: string; file_url: string };
      assert.ok(upload_url.startsWith(`${server.url}/storage/upload/data/store.`), upload_url);
      const chunks = [Buffer.alloc(5 * 1024 * 1024, 1), Buffer.alloc(500, 2)];
      const parts = [];
      for (const [i, chunk] of chunks.entries()) {
        const base = i === 0 ? upload_url : upload_url.replace(server.url, other.url);
        const r = await fetch(`${base}/${i + 1}`, { method: "PUT", body: new Uint8Array(chunk) });
        assert.equal(r.status, 200);
        parts.push((await r.json()) as { partNumber: number; etag: string });
      }
      assert.match(parts[0].etag, /^[0-9a-f]{32}$/);
      const bad = await fetch(`${upload_url.replace(server.url, other.url)}/complete`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ parts: [{ partNumber: 1, etag: "nope" }] }),
      });
      assert.equal(bad.status, 422);
      const done = await fetch(`${upload_url.replace(server.url, other.url)}/complete`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ parts }) });
      assert.equal(done.status, 200, await done.clone().text());
      const res = await fetch(file_url, { headers: { range: `bytes=${5 * 1024 * 1024 - 2}-` } });
      assert.equal(res.status, 206);
      assert.equal(res.headers.get("content-type"), "video/mp4");
      assert.deepEqual([...new Uint8Array(await res.arrayBuffer())], [1, 1, ...Array(500).fill(2)]);
      const forged = await fetch(`${server.url}/storage/upload/data/store.${Buffer.from("{}").toString("base64url")}/1`, { method: "PUT", body: "x" });
      assert.equal(forged.status, 404);
    } finally {
      await other.close();
      await rm(otherDir, { recursive: true, force: true });
    }
  });
});
