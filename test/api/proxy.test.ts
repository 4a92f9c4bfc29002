import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { localPathFor } from "../../src/api/routes/proxy.js";
import { AVATAR_INPUT, makeApp, type TestApp } from "./helpers.js";

describe("fal proxy route", () => {
  let t: TestApp;
  before(async () => {
    t = await makeApp({ worker: false });
  });
  after(() => t.close());

  const proxy = (method: "GET" | "POST" | "PUT", target: string | undefined, payload?: object) =>
    t.app.inject({
      method, url: "/api/fal/proxy", payload,
      headers: { ...t.auth, ...(target ? { "x-fal-target-url": target } : {}), ...(payload ? { "content-type": "application/json" } : {}) },
    });

  it("maps fal's hosts onto local routes", () => {
    assert.equal(localPathFor("https://fal.run/fal-ai/ai-avatar"), "/fal-ai/ai-avatar");
    assert.equal(localPathFor("https://queue.fal.run/fal-ai/ai-avatar/multi?fal_webhook=x"), "/queue/fal-ai/ai-avatar/multi?fal_webhook=x");
    assert.equal(localPathFor("https://queue.fal.run/fal-ai/ai-avatar/requests/abc/status?logs=1"), "/queue/fal-ai/ai-avatar/requests/abc/status?logs=1");
    assert.equal(localPathFor("https://rest.fal.ai/storage/upload/initiate?storage_type=fal-cdn-v3"), "/storage/upload/initiate?storage_type=fal-cdn-v3");
    assert.equal(localPathFor("https://rest.fal.ai/tokens/"), "/api/fal/proxy/unsupported");
    assert.equal(localPathFor("https://example.com/fal-ai/ai-avatar"), undefined);
    assert.equal(localPathFor("https://fal.run.evil.com/x"), undefined);
    assert.equal(localPathFor("nonsense"), undefined);
  });

  it("submits through the proxy and answers fal's own URLs, which work through the proxy again", async () => {
    const res = await proxy("POST", "https://queue.fal.run/fal-ai/ai-avatar/single-text", {
      image_url: AVATAR_INPUT.image_url, text_input: "Hello there", voice: "Aria", prompt: "p", num_frames: 41,
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.status_url, `https://queue.fal.run/fal-ai/ai-avatar/requests/${body.request_id}/status`);
    const status = await proxy("GET", `${body.status_url}?logs=1`);
    assert.equal(status.statusCode, 202);
    assert.equal(status.json().status, "IN_QUEUE");
    assert.equal(status.json().queue_position, 0);
    const cancel = await proxy("PUT", body.cancel_url);
    assert.equal(cancel.statusCode, 202);
    assert.equal((await proxy("GET", body.response_url)).statusCode, 499);
  });

  it("keeps auth: a proxied call without a key is 401", async () => {
    const res = await t.app.inject({ method: "POST", url: "/api/fal/proxy", payload: AVATAR_INPUT, headers: { "x-fal-target-url": "https://queue.fal.run/fal-ai/ai-avatar" } });
    assert.equal(res.statusCode, 401);
  });

  it("answers 400 without x-fal-target-url, 412 for other hosts, 404 for unsupported fal routes", async () => {
    assert.equal((await proxy("POST", undefined, {})).statusCode, 400);
    const other = await proxy("GET", "https://example.com/x");
    assert.equal(other.statusCode, 412);
    assert.match(other.json().detail, /x-fal-target-url/);
    assert.equal((await proxy("POST", "https://rest.fal.ai/tokens/", {})).statusCode, 404);
  });
});
