import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { makeApp, type TestApp } from "./helpers.js";

describe("storage routes", () => {
  let t: TestApp;
  before(async () => {
    t = await makeApp({ worker: false, config: { uploadLimit: 64 * 1024 } });
  });
  after(() => t.close());

  const initiate = async (body: object, kind = "initiate") => {
    const res = await t.app.inject({ method: "POST", url: `/storage/upload/${kind}?storage_type=fal-cdn-v3`, payload: body, headers: t.auth });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { upload_url: string; file_url: string };
  };
  const path = (url: string) => new URL(url).pathname;

  it("initiate needs a key", async () => {
    const res = await t.app.inject({ method: "POST", url: "/storage/upload/initiate", payload: { content_type: "image/png", file_name: "a.png" } });
    assert.equal(res.statusCode, 401);
  });

  it("initiate → PUT (no key, any content type) → the file is served at file_url", async () => {
    const { upload_url, file_url } = await initiate({ content_type: "image/png", file_name: "face.png" });
    assert.match(upload_url, /^http:\/\/localhost:80\/storage\/upload\/data\/[A-Za-z0-9_-]{32}$/);
    assert.match(file_url, /^http:\/\/localhost:80\/files\/\d{4}\/[A-Za-z0-9_-]+\/face\.png$/);
    assert.equal((await t.app.inject({ method: "GET", url: path(file_url) })).statusCode, 404, "nothing before the bytes");
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const put = await t.app.inject({ method: "PUT", url: path(upload_url), payload: bytes, headers: { "content-type": "image/png" } });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.json().file_url, file_url);
    const got = await t.app.inject({ method: "GET", url: path(file_url) });
    assert.equal(got.statusCode, 200);
    assert.equal(got.headers["content-type"], "image/png");
    assert.deepEqual(got.rawPayload, bytes);
    // The upload URL is single-use.
    assert.equal((await t.app.inject({ method: "PUT", url: path(upload_url), payload: bytes })).statusCode, 404);
  });

  it("accepts a PUT without Content-Type and defaults the type", async () => {
    const { upload_url, file_url } = await initiate({});
    const put = await t.app.inject({ method: "PUT", url: path(upload_url), payload: Buffer.from("raw") });
    assert.equal(put.statusCode, 200, put.body);
    const got = await t.app.inject({ method: "GET", url: path(file_url) });
    assert.equal(got.headers["content-type"], "application/octet-stream");
    assert.equal(got.body, "raw");
  });

  it("multipart: numbered parts answer {partNumber, etag}; complete joins them", async () => {
    const { upload_url, file_url } = await initiate({ content_type: "video/mp4", file_name: "big.mp4" }, "initiate-multipart");
    const parts = [Buffer.alloc(30_000, 1), Buffer.alloc(20_000, 2)];
    const answers = [];
    for (const [i, part] of parts.entries()) {
      const res = await t.app.inject({ method: "PUT", url: `${path(upload_url)}/${i + 1}`, payload: part });
      assert.equal(res.statusCode, 200, res.body);
      answers.push(res.json() as { partNumber: number; etag: string });
    }
    assert.equal(answers[1].partNumber, 2);
    const done = await t.app.inject({ method: "POST", url: `${path(upload_url)}/complete`, payload: { parts: answers } });
    assert.equal(done.statusCode, 200, done.body);
    assert.equal(done.json().file_url, file_url);
    const got = await t.app.inject({ method: "GET", url: path(file_url) });
    assert.deepEqual(got.rawPayload, Buffer.concat(parts));
    assert.equal(got.headers["content-type"], "video/mp4");
  });

  it("answers 413 for an upload over the limit, 404 for unknown uploads, 422 for bad parts", async () => {
    const { upload_url } = await initiate({ content_type: "application/octet-stream", file_name: "x.bin" });
    const big = await t.app.inject({ method: "PUT", url: path(upload_url), payload: Buffer.alloc(70 * 1024) });
    assert.equal(big.statusCode, 413);
    assert.match(big.json().detail, /upload limit/);
    const unknown = await t.app.inject({ method: "PUT", url: "/storage/upload/data/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", payload: Buffer.from("x") });
    assert.equal(unknown.statusCode, 404);
    const m = await initiate({}, "initiate-multipart");
    assert.equal((await t.app.inject({ method: "PUT", url: `${path(m.upload_url)}/0`, payload: Buffer.from("x") })).statusCode, 422);
    const complete = await t.app.inject({ method: "POST", url: `${path(m.upload_url)}/complete`, payload: { parts: [] } });
    assert.equal(complete.statusCode, 422);
  });
});
