/** Random requests never crash the server: every answer is a fal-shaped client error or success, never a 5xx. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { makeApp, type TestApp } from "./helpers.js";

const SEGMENTS = ["queue", "fal-ai", "ai-avatar", "infinitalk", "multi", "requests", "status", "cancel", "files", "2026",
  "storage", "upload", "initiate", "initiate-multipart", "data", "complete", "api", "fal", "proxy", "openapi.json", "..", "%2e%2e",
  "%ZZ", "%E0%A4%A", "00000000-0000-0000-0000-000000000000", "", "a b", "é", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "1"];

describe("fuzz: random requests", { timeout: 120_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await makeApp({ worker: false, config: { bodyLimit: 100_000, uploadLimit: 100_000 } });
  });
  after(() => t.close());

  it("never answer 5xx or hang", async () => {
    const path = fc.array(fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 8 }).map(encodeURIComponent)), { maxLength: 7 })
      .map((segs) => `/${segs.join("/")}`);
    const query = fc.option(fc.constantFrom("?logs=1", "?logs=0", "?endpoint_id=fal-ai/ai-avatar", "?endpoint_id=", "?fal_webhook=http://x", "?fal_webhook=%ZZ", "?a=1&a=2"), { nil: "" });
    // Bodies never carry "prompt" (required by every endpoint), so no request becomes a real job that a sync call would wait for.
    const json = fc.dictionary(fc.constantFrom("image_url", "audio_url", "num_frames", "resolution", "seed", "parts", "content_type", "file_name", "x"),
      fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 })));
    const body = fc.oneof(json.map((o) => JSON.stringify(o)), fc.string({ maxLength: 50 }), fc.constant(""), fc.constant("[1,2]"), fc.constant("{\"__proto__\":{\"x\":1}}"));
    const headers = fc.record({
      auth: fc.constantFrom("key", "none", "bad", "playground"),
      contentType: fc.constantFrom("application/json", "text/plain", "application/octet-stream", "multipart/form-data", undefined),
      range: fc.option(fc.constantFrom("bytes=0-1", "bytes=-1", "bytes=5-2", "bytes=abc", "items=1-2"), { nil: undefined }),
      target: fc.option(fc.constantFrom("https://queue.fal.run/fal-ai/ai-avatar", "https://fal.run/x", "https://rest.fal.ai/storage/upload/initiate", "https://evil.com/", "::", "https://queue.fal.run/"), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS" as const), path, query, body, headers, async (method, p, q, b, h) => {
        if (/\/status\/stream/.test(p)) return; // SSE waits for completion by design
        const hdrs: Record<string, string> = {};
        if (h.auth === "key") hdrs.authorization = t.auth.authorization;
        if (h.auth === "bad") hdrs.authorization = "Key x:y";
        if (h.auth === "playground") hdrs["x-mouthpiece-playground"] = "1";
        if (h.contentType) hdrs["content-type"] = h.contentType;
        if (h.range) hdrs.range = h.range;
        if (h.target) hdrs["x-fal-target-url"] = h.target;
        const hasBody = method === "POST" || method === "PUT";
        const res = await Promise.race([
          t.app.inject({ method, url: p + q, headers: hdrs, ...(hasBody ? { payload: b } : {}) }),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`hung: ${method} ${p}${q}`)), 5000)),
        ]);
        assert.ok(res.statusCode < 500, `${method} ${p}${q} ${JSON.stringify(hdrs)} ${b.slice(0, 80)} → ${res.statusCode} ${res.body.slice(0, 200)}`);
        if (res.statusCode >= 400 && method !== "HEAD") assert.ok("detail" in res.json() || "status" in res.json(), res.body);
      }),
      { numRuns: 400, seed: 20261122 },
    );
  });
});
