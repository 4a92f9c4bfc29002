import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { isValidKey, LocalStorage, safeFileName } from "../../src/storage/local.js";

const collect = async (r: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

describe("LocalStorage", () => {
  let dir: string;
  let storage: LocalStorage;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-storage-"));
    storage = new LocalStorage({ dataDir: dir, baseUrl: "http://127.0.0.1:8000", aliasOrigins: ["http://localhost:8000"] });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("stores a buffer under files/<year>/<random>/<name> and serves it back", async () => {
    const stored = await storage.put({ body: Buffer.from("hello"), contentType: "text/plain", fileName: "greeting.txt" });
    assert.match(stored.key, /^files\/\d{4}\/[A-Za-z0-9_-]{22}\/greeting\.txt$/);
    assert.equal(stored.url, `http://127.0.0.1:8000/${stored.key}`);
    assert.equal(stored.size, 5);
    const stat = await storage.stat(stored.key);
    assert.deepEqual(stat, { key: stored.key, url: stored.url, contentType: "text/plain", fileName: "greeting.txt", size: 5 });
    assert.equal((await collect(await storage.read(stored.key))).toString(), "hello");
    assert.equal((await collect(await storage.read(stored.key, { start: 1, end: 3 }))).toString(), "ell");
  });

  it("stores a stream and a file on disk, leaving the source file in place", async () => {
    const fromStream = await storage.put({ body: Readable.from([Buffer.from("ab"), Buffer.from("cd")]), contentType: "application/octet-stream", fileName: "x.bin" });
    assert.equal((await collect(await storage.read(fromStream.key))).toString(), "abcd");
    const src = path.join(dir, "source.mp4");
    await writeFile(src, Buffer.alloc(1000, 7));
    const fromFile = await storage.putFile({ path: src, contentType: "video/mp4", fileName: "video.mp4" });
    assert.equal(fromFile.size, 1000);
    assert.equal((await readFile(src)).length, 1000);
    assert.equal((await storage.stat(fromFile.key))?.contentType, "video/mp4");
  });

  it("uses a key chosen in advance, and nothing exists there before the bytes arrive", async () => {
    const key = storage.newKey("clip.wav");
    assert.equal(await storage.stat(key), undefined);
    const stored = await storage.put({ body: Buffer.from("RIFF"), contentType: "audio/wav", fileName: "clip.wav", key });
    assert.equal(stored.key, key);
    assert.equal(stored.url, storage.urlFor(key));
  });

  it("never leaves a partial file visible: a failing stream stores nothing", async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1024));
        this.destroy(new Error("connection reset"));
      },
    });
    const key = storage.newKey("broken.bin");
    await assert.rejects(storage.put({ body: failing, contentType: "application/octet-stream", fileName: "broken.bin", key }), /connection reset/);
    assert.equal(await storage.stat(key), undefined);
    assert.deepEqual(await readdir(path.join(dir, "tmp")), []);
  });

  it("recognises its own URLs (base and alias origins) and nothing else", async () => {
    const stored = await storage.put({ body: Buffer.from("x"), contentType: "text/plain", fileName: "a b.txt" });
    assert.equal(stored.fileName, "a_b.txt");
    assert.equal(storage.keyFromUrl(stored.url), stored.key);
    assert.equal(storage.keyFromUrl(stored.url.replace("127.0.0.1", "localhost")), stored.key);
    assert.equal(storage.keyFromUrl(stored.url.replace("127.0.0.1:8000", "evil.example")), undefined);
    assert.equal(storage.keyFromUrl("http://127.0.0.1:8000/files/2026/abc/../../../etc/passwd"), undefined);
    assert.equal(storage.keyFromUrl("not a url"), undefined);
    assert.equal(storage.keyFromUrl(`http://127.0.0.1:8000/${path.dirname(stored.key)}/.meta.json`), undefined);
  });

  it("rejects keys that escape the folder or name metadata", async () => {
    assert.equal(isValidKey("files/2026/AAAAAAAAAAAAAAAAAAAAAA/video.mp4"), true);
    assert.equal(isValidKey("files/2026/AAAAAAAAAAAAAAAAAAAAAA/.meta.json"), false);
    assert.equal(isValidKey("files/2026/../../x/y"), false);
    assert.equal(await storage.stat("files/../../etc/passwd"), undefined);
    await assert.rejects(storage.read("../secret"), /Not a storage key/);
  });

  it("keeps file names safe", () => {
    assert.equal(safeFileName("../../etc/passwd"), "passwd");
    assert.equal(safeFileName("C:\\Users\\me\\photo 1.PNG"), "photo_1.PNG");
    assert.equal(safeFileName("..."), "file");
  });

  it("builds URLs under a base with a path prefix", () => {
    const prefixed = new LocalStorage({ dataDir: dir, baseUrl: "https://example.com/mp/" });
    const key = prefixed.newKey("v.mp4");
    const url = prefixed.urlFor(key);
    assert.equal(url, `https://example.com/mp/${key}`);
    assert.equal(prefixed.keyFromUrl(url), key);
    assert.equal(prefixed.keyFromUrl(`https://example.com/${key}`), undefined);
  });
});
