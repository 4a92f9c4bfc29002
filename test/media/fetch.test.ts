import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { CancelledError, InputError } from "../../src/errors.js";
import { decodeDataUri, fetchInput, FetchFailure, guessExtension, type FetchOptions } from "../../src/media/fetch.js";
import { FolderStorage, tempDir } from "../support/media-fixtures.js";

const PNG_BYTES = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");

let dir: string;
let cleanup: () => Promise<void>;
let server: Server;
let base: string;

before(async () => {
  ({ dir, cleanup } = await tempDir());
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/ok.png") {
      res.writeHead(200, { "content-type": "image/png", "content-length": PNG_BYTES.length });
      res.end(PNG_BYTES);
    } else if (url.pathname === "/redirect") {
      res.writeHead(302, { location: "/ok.png" });
      res.end();
    } else if (url.pathname === "/big-declared") {
      res.writeHead(200, { "content-length": 5000 });
      res.end(Buffer.alloc(5000));
    } else if (url.pathname === "/big-chunked") {
      res.writeHead(200); // no content-length: the cap must apply while streaming
      let sent = 0;
      const push = () => {
        if (sent >= 5000) return void res.end();
        sent += 500;
        res.write(Buffer.alloc(500), () => setTimeout(push, 1));
      };
      push();
    } else if (url.pathname === "/slow") {
      res.writeHead(200);
      res.write("x");
      // never ends
    } else {
      res.writeHead(404, "Not Found");
      res.end("nope");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await cleanup();
});

// The test servers listen on 127.0.0.1: allowed explicitly (test/hardening checks the refusals).
const opts = (over: Partial<FetchOptions> = {}): FetchOptions => ({ field: "image_url", dir, maxBytes: 1000, timeoutMs: 2000, allowPrivateUrls: true, ...over });

function inputError(field: string, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    assert.deepEqual(e.detail[0].loc, ["body", field]);
    assert.match(e.detail[0].msg, pattern);
    return true;
  };
}

describe("decodeDataUri", () => {
  it("decodes base64 and percent-encoded payloads with their type", () => {
    const b64 = decodeDataUri(`data:image/png;base64,${PNG_BYTES.toString("base64")}`, 1000);
    assert.equal(b64.contentType, "image/png");
    assert.deepEqual(b64.bytes, PNG_BYTES);
    const text = decodeDataUri("data:,hello%20world", 1000);
    assert.equal(text.contentType, undefined);
    assert.equal(text.bytes.toString(), "hello world");
  });

  it("refuses oversized payloads before decoding, and malformed ones", () => {
    assert.throws(() => decodeDataUri(`data:audio/wav;base64,${"A".repeat(4000)}`, 1000), (e: unknown) =>
      e instanceof FetchFailure && /over the .* limit/.test(e.reason));
    assert.throws(() => decodeDataUri("data:image/png;base64", 1000), FetchFailure);
    assert.throws(() => decodeDataUri("data:image/png;base64,@@@@", 1000), /base64 alphabet/);
    assert.throws(() => decodeDataUri("data:image/png;base64,", 1000), /empty/);
  });
});

describe("guessExtension", () => {
  it("prefers the declared type, then the URL path", () => {
    assert.equal(guessExtension("https://x/y/a.MP3?sig=1"), ".mp3");
    assert.equal(guessExtension("https://x/y/a", "image/jpeg; charset=x"), ".jpg");
    assert.equal(guessExtension("https://x/y/a.toolongext"), "");
    assert.equal(guessExtension("data:,abc"), "");
  });
});

describe("fetchInput", () => {
  it("writes a data URI to the job dir", async () => {
    const f = await fetchInput(`data:image/png;base64,${PNG_BYTES.toString("base64")}`, opts());
    assert.equal(f.source, "data");
    assert.equal(path.dirname(f.path), dir);
    assert.equal(path.basename(f.path), "image_url.png");
    assert.deepEqual(await readFile(f.path), PNG_BYTES);
  });

  it("reads this server's own URLs from storage, not over HTTP", async () => {
    const storage = new FolderStorage(path.join(dir, "storage"));
    const stored = await storage.put({ body: PNG_BYTES, contentType: "image/png", fileName: "face.png" });
    const f = await fetchInput(stored.url, opts({
      storage,
      httpFetch: async () => assert.fail("must not download a storage URL over HTTP"),
    }));
    assert.equal(f.source, "storage");
    assert.deepEqual(await readFile(f.path), PNG_BYTES);
    await assert.rejects(fetchInput(`${FolderStorage.BASE}missing/face.png`, opts({ storage })),
      inputError("image_url", /could not fetch .*no stored file at that URL.*upload the file again/));
  });

  it("downloads http URLs, following redirects", async () => {
    for (const p of ["/ok.png", "/redirect"]) {
      const f = await fetchInput(`${base}${p}`, opts({ field: `f${p.length}` }));
      assert.equal(f.source, "http");
      assert.equal(f.contentType, "image/png");
      assert.deepEqual(await readFile(f.path), PNG_BYTES);
    }
  });

  it("turns HTTP errors, size caps and timeouts into InputErrors naming the field", async () => {
    await assert.rejects(fetchInput(`${base}/missing.wav`, opts({ field: "audio_url" })), inputError("audio_url", /HTTP 404 Not Found; check that the URL/));
    await assert.rejects(fetchInput(`${base}/big-declared`, opts()), inputError("image_url", /over the .* limit/));
    await assert.rejects(fetchInput(`${base}/big-chunked`, opts()), inputError("image_url", /larger than the .* limit/));
    const t0 = Date.now();
    await assert.rejects(fetchInput(`${base}/slow`, opts({ timeoutMs: 300 })), inputError("image_url", /did not finish within/));
    assert.ok(Date.now() - t0 < 2000);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await assert.rejects(fetchInput(`http://127.0.0.1:${closedPort}/x.png`, opts()), inputError("image_url", /the request failed \(ECONNREFUSED\)/));
  });

  it("rejects other schemes, non-URLs, and local paths unless allowed", async () => {
    await assert.rejects(fetchInput("ftp://example.com/a.png", opts()), inputError("image_url", /scheme ftp: is not supported/));
    await assert.rejects(fetchInput("not a url", opts()), inputError("image_url", /it is not a URL/));
    const local = path.join(dir, "local.bin");
    await writeFile(local, PNG_BYTES);
    await assert.rejects(fetchInput(local, opts()), InputError);
    await assert.rejects(fetchInput(`file://${local}`, opts()), inputError("image_url", /scheme file: is not supported/));
    const f = await fetchInput(`file://${local}`, opts({ allowLocalFiles: true }));
    assert.deepEqual({ path: f.path, size: f.size, source: f.source }, { path: local, size: PNG_BYTES.length, source: "local" });
  });

  it("stops with CancelledError when the job is cancelled", async () => {
    const ac = new AbortController();
    const p = fetchInput(`${base}/slow`, opts({ signal: ac.signal, timeoutMs: 10_000 }));
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(p, CancelledError);
  });
});
