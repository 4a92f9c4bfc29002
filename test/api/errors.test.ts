import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { zodToDetail, toHttpError } from "../../src/api/errors.js";
import { ENDPOINTS, findEndpoint } from "../../src/api/endpoints.js";
import { AVATAR_INPUT, makeApp, type TestApp } from "./helpers.js";

describe("auth, validation and error shapes", () => {
  let t: TestApp;
  before(async () => {
    t = await makeApp({ worker: false, config: { bodyLimit: 8192, envKeys: ["env-secret-key-123"] } });
  });
  after(() => t.close());

  const post = (url: string, payload: unknown, headers: Record<string, string> = t.auth) =>
    t.app.inject({ method: "POST", url, payload: payload as object, headers });

  it("answers 401 without a key, with a malformed header, and with an unknown or revoked key", async () => {
    for (const headers of [{}, { authorization: "Bearer abc" }, { authorization: "Key nope:nope" }, { authorization: "Key " }] as Record<string, string>[]) {
      const res = await post("/queue/fal-ai/ai-avatar", AVATAR_INPUT, headers);
      assert.equal(res.statusCode, 401, JSON.stringify(headers));
      assert.equal(typeof res.json().detail, "string");
    }
    const { key, info } = t.keys.create("short-lived");
    assert.equal((await post("/queue/fal-ai/ai-avatar", AVATAR_INPUT, { authorization: `Key ${key}` })).statusCode, 200);
    assert.equal(t.keys.revoke(info.id), true);
    assert.equal((await post("/queue/fal-ai/ai-avatar", AVATAR_INPUT, { authorization: `Key ${key}` })).statusCode, 401);
  });

  it("accepts keys from MOUTHPIECE_API_KEYS", async () => {
    const res = await post("/queue/fal-ai/ai-avatar", AVATAR_INPUT, { authorization: "Key env-secret-key-123" });
    assert.equal(res.statusCode, 200);
  });

  it("serves the loopback playground session without a key only with its header", async () => {
    const playground = { "x-mouthpiece-playground": "1" };
    assert.equal((await post("/queue/fal-ai/ai-avatar", AVATAR_INPUT, playground)).statusCode, 200);
    const remote = await t.app.inject({ method: "POST", url: "/queue/fal-ai/ai-avatar", payload: AVATAR_INPUT, headers: playground, remoteAddress: "203.0.113.9" });
    assert.equal(remote.statusCode, 401);
    // A wrong key is never overridden by the playground header.
    assert.equal((await post("/queue/fal-ai/ai-avatar", AVATAR_INPUT, { ...playground, authorization: "Key bad:bad" })).statusCode, 401);
  });

  it("answers 404 in fal's shape for unknown endpoints and routes", async () => {
    for (const url of ["/fal-ai/flux/dev", "/queue/fal-ai/flux/dev"]) {
      const res = await post(url, AVATAR_INPUT);
      assert.equal(res.statusCode, 404);
      assert.match(res.json().detail, /Endpoint 'fal-ai\/flux\/dev' not found/);
    }
    const res = await t.app.inject({ method: "GET", url: "/nothing/here", headers: t.auth });
    assert.equal(res.statusCode, 404);
    assert.match(res.json().detail, /Not found: GET \/nothing\/here/);
  });

  it("answers 422 {detail:[{loc,msg,type}]} like FastAPI for a bad enum and num_frames=5", async () => {
    const res = await post("/queue/fal-ai/ai-avatar", { ...AVATAR_INPUT, resolution: "1080p", num_frames: 5 });
    assert.equal(res.statusCode, 422);
    assert.deepEqual(res.json(), {
      detail: [
        { loc: ["body", "num_frames"], msg: "Input should be greater than or equal to 41", type: "greater_than_equal" },
        { loc: ["body", "resolution"], msg: "Input should be '480p' or '720p'", type: "enum" },
      ],
    });
  });

  it("reports missing fields, wrong types, fractional ints, long texts and ranges per field", async () => {
    const res = await post("/queue/fal-ai/ai-avatar/multi-text", {
      image_url: 5, first_text_input: "x".repeat(5001), voice1: "Bob", prompt: "p", num_frames: 300, seed: 1.5,
    });
    assert.equal(res.statusCode, 422);
    assert.deepEqual(res.json().detail, [
      { loc: ["body", "image_url"], msg: "Input should be a valid string", type: "string_type" },
      { loc: ["body", "first_text_input"], msg: "String should have at most 5000 characters", type: "string_too_long" },
      { loc: ["body", "second_text_input"], msg: "Field required", type: "missing" },
      { loc: ["body", "voice1"], msg: `Input should be ${["Aria", "Roger", "Sarah", "Laura", "Charlie", "George", "Callum", "River", "Liam", "Charlotte", "Alice", "Matilda", "Will", "Jessica", "Eric", "Chris", "Brian", "Daniel", "Lily"].map((v) => `'${v}'`).join(", ")} or 'Bill'`, type: "enum" },
      { loc: ["body", "num_frames"], msg: "Input should be less than or equal to 241", type: "less_than_equal" },
      { loc: ["body", "seed"], msg: "Input should be a valid integer, got a number with a fractional part", type: "int_from_float" },
    ]);
  });

  it("answers 422 for a body that is not JSON, empty, or not an object", async () => {
    const bad = await t.app.inject({ method: "POST", url: "/queue/fal-ai/ai-avatar", payload: "{nope", headers: { ...t.auth, "content-type": "application/json" } });
    assert.equal(bad.statusCode, 422);
    assert.equal(bad.json().detail[0].type, "json_invalid");
    const empty = await t.app.inject({ method: "POST", url: "/queue/fal-ai/ai-avatar", payload: "", headers: { ...t.auth, "content-type": "application/json" } });
    assert.equal(empty.statusCode, 422);
    assert.deepEqual(empty.json().detail[0].loc, ["body"]);
    const array = await post("/queue/fal-ai/ai-avatar", [1, 2]);
    assert.equal(array.statusCode, 422);
    assert.deepEqual(array.json().detail, [{ loc: ["body"], msg: "Input should be a valid dictionary or object to extract fields from", type: "model_attributes_type" }]);
  });

  it("answers 413 for bodies over the limit and 415 for bodies that are not JSON", async () => {
    const big = await post("/queue/fal-ai/ai-avatar", { ...AVATAR_INPUT, image_url: `data:image/png;base64,${"A".repeat(10000)}` });
    assert.equal(big.statusCode, 413);
    assert.match(big.json().detail, /too large/);
    const xml = await t.app.inject({ method: "POST", url: "/queue/fal-ai/ai-avatar", payload: "<a/>", headers: { ...t.auth, "content-type": "application/xml" } });
    assert.equal(xml.statusCode, 415);
    assert.match(xml.json().detail, /application\/json/);
  });

  it("rejects a fal_webhook that is not an http(s) URL", async () => {
    const res = await post("/queue/fal-ai/ai-avatar?fal_webhook=ftp://x", AVATAR_INPUT);
    assert.equal(res.statusCode, 422);
    assert.deepEqual(res.json().detail[0].loc, ["query", "fal_webhook"]);
  });

  it("refuses at submit a fal_webhook on a loopback, private or metadata address, or a localhost name", async () => {
    const refused = ["http://127.0.0.1:9/hook", "http://169.254.169.254/latest", "http://[::1]/h", "http://[::ffff:10.0.0.1]/h", "http://10.1.2.3/h", "http://localhost:8080/h", "https://api.localhost/h", "http://0.0.0.0/h"];
    for (const hook of refused) {
      const res = await post(`/queue/fal-ai/ai-avatar?fal_webhook=${encodeURIComponent(hook)}`, AVATAR_INPUT);
      assert.equal(res.statusCode, 422, hook);
      const [detail] = res.json().detail;
      assert.deepEqual(detail.loc, ["query", "fal_webhook"]);
      assert.match(detail.msg, /MOUTHPIECE_ALLOW_PRIVATE_URLS/, hook);
    }
    const ok = await post(`/queue/fal-ai/ai-avatar?fal_webhook=${encodeURIComponent("https://hooks.example.com/fal")}`, AVATAR_INPUT);
    assert.equal(ok.statusCode, 200, ok.body);
    const open = await makeApp({ worker: false, config: { allowPrivateUrls: true } });
    try {
      const res = await open.app.inject({ method: "POST", url: `/queue/fal-ai/ai-avatar?fal_webhook=${encodeURIComponent("http://127.0.0.1:9/hook")}`, payload: AVATAR_INPUT, headers: open.auth });
      assert.equal(res.statusCode, 200, "MOUTHPIECE_ALLOW_PRIVATE_URLS admits private receivers");
    } finally {
      await open.close();
    }
  });

  it("serves OpenAPI 3 for all endpoints or one, generated from the schemas", async () => {
    const all = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json();
    assert.equal(all.openapi, "3.0.3");
    for (const e of ENDPOINTS) {
      assert.ok(all.paths[`/${e.id}`]?.post, e.id);
      assert.ok(all.paths[`/queue/${e.id}`]?.post, e.id);
    }
    assert.ok(all.paths["/queue/fal-ai/ai-avatar/requests/{request_id}/status"]);
    const one = (await t.app.inject({ method: "GET", url: "/openapi.json?endpoint_id=fal-ai/infinitalk/video-to-video" })).json();
    assert.deepEqual(Object.keys(one.paths).filter((p) => !p.includes("{request_id}")), ["/fal-ai/infinitalk/video-to-video", "/queue/fal-ai/infinitalk/video-to-video"]);
    const input = one.components.schemas.InfinitalkVideoToVideoInput;
    assert.deepEqual(input.required, ["video_url", "audio_url", "prompt"]);
    assert.equal(input.properties.num_frames.maximum, 721);
    assert.equal(input.properties.num_frames.default, 145);
    assert.deepEqual(input.properties.resolution.enum, ["480p", "720p"]);
    const missing = await t.app.inject({ method: "GET", url: "/openapi.json?endpoint_id=fal-ai/nope" });
    assert.equal(missing.statusCode, 404);
  });

  it("maps errors in one place", () => {
    const parsed = findEndpoint("fal-ai/ai-avatar")!.input.safeParse({});
    assert.equal(parsed.success, false);
    if (!parsed.success) assert.equal(zodToDetail(parsed.error)[0].type, "missing");
    assert.equal(toHttpError(new Error("secret path /x")).status, 500);
    assert.deepEqual(toHttpError(new Error("secret path /x")).body, { detail: "Internal Server Error", error_type: "internal_error" });
    assert.equal(toHttpError(new z.ZodError([])).status, 422);
  });
});
