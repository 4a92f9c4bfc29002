/** The playground plugin's routes, through Fastify's inject: page, assets, config, faces, history. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import Fastify from "fastify";
import { ENDPOINTS } from "../../src/api/endpoints.js";
import { InputError } from "../../src/errors.js";
import type { Face } from "../../src/face/types.js";
import { bindPeople } from "../../src/pipeline/conversation.js";
import { DEFAULT_ROUTES, playgroundRequestOf, previewPeople, registerPlayground, type PlaygroundDeps, type PlaygroundRequest } from "../../src/web/plugin.js";

const PLAYGROUND = { "x-mouthpiece-playground": "1" };

async function appWith(deps: Partial<PlaygroundDeps> = {}) {
  const app = Fastify({ logger: false });
  await registerPlayground(app, {
    detectFaces: async () => ({ width: 0, height: 0, faces: [] }),
    listRequests: async () => [],
    ...deps,
  });
  await app.ready();
  return app;
}

describe("playground page and assets", () => {
  it("serves the page at / and at each endpoint's page, and 404s unknown endpoints", async () => {
    const app = await appWith();
    const home = await app.inject({ url: "/" });
    assert.equal(home.statusCode, 200);
    assert.match(home.headers["content-type"] as string, /^text\/html/);
    assert.match(home.body, /<script type="module" src="\/playground\/assets\/app\.js">/);
    for (const e of ENDPOINTS) {
      const page = await app.inject({ url: `/playground/${e.id}` });
      assert.equal(page.statusCode, 200, e.id);
      assert.equal(page.body, home.body);
    }
    const unknown = await app.inject({ url: "/playground/fal-ai/nope" });
    assert.equal(unknown.statusCode, 404);
    assert.match(unknown.json().detail, /No endpoint fal-ai\/nope/);
    await app.close();
  });

  it("serves the browser modules with their types, the vendored SSE parser, and answers 304 to a known ETag", async () => {
    const app = await appWith();
    for (const [file, type] of [
      ["app.js", /^text\/javascript/],
      ["form.js", /^text\/javascript/],
      ["style.css", /^text\/css/],
      ["icon.svg", /^image\/svg\+xml/],
      ["vendor/eventsource-parser.js", /^text\/javascript/],
    ] as const) {
      const res = await app.inject({ url: `/playground/assets/${file}` });
      assert.equal(res.statusCode, 200, file);
      assert.match(res.headers["content-type"] as string, type, file);
      assert.ok(res.body.length > 100, file);
      const again = await app.inject({ url: `/playground/assets/${file}`, headers: { "if-none-match": res.headers.etag as string } });
      assert.equal(again.statusCode, 304, file);
    }
    const parser = await app.inject({ url: "/playground/assets/vendor/eventsource-parser.js" });
    assert.match(parser.body, /export\s*\{[^}]*createParser/);
    // Only page files: no type declarations, nothing outside the folder.
    assert.equal((await app.inject({ url: "/playground/assets/schema.d.ts" })).statusCode, 404);
    assert.equal((await app.inject({ url: "/playground/assets/../plugin.ts" })).statusCode, 404);
    assert.equal((await app.inject({ url: "/playground/assets/%2e%2e/plugin.ts" })).statusCode, 404);
    await app.close();
  });

  it("every module the page imports is served (no broken import in the browser)", async () => {
    const app = await appWith();
    const seen = new Set<string>();
    const queue = ["app.js"];
    while (queue.length) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const res = await app.inject({ url: `/playground/assets/${file}` });
      assert.equal(res.statusCode, 200, `${file} is imported but not served`);
      for (const m of res.body.matchAll(/^import[^"]*"\.\/([^"]+)"/gm)) queue.push(m[1]);
    }
    assert.deepEqual([...seen].sort(), ["api.js", "app.js", "dom.js", "form.js", "progress.js", "schema.js", "snippets.js", "vendor/eventsource-parser.js"]);
    await app.close();
  });

  it("gives the page every endpoint's JSON Schema and the routes it calls", async () => {
    const app = await appWith({ routes: { queue: "/q" } });
    const res = await app.inject({ url: "/api/playground/config" });
    assert.equal(res.statusCode, 200);
    const config = res.json();
    assert.equal(config.fps, 25);
    assert.deepEqual(config.routes, { ...DEFAULT_ROUTES, queue: "/q" });
    assert.deepEqual(config.endpoints.map((e: { id: string }) => e.id), ENDPOINTS.map((e) => e.id));
    const avatar = config.endpoints[0];
    assert.deepEqual(avatar.fileFields, ["image_url", "audio_url"]);
    assert.deepEqual(avatar.schema.properties.num_frames, {
      default: 145,
      description: "Number of frames to generate, at 25 frames per second (41..241). Default value: 145",
      type: "integer",
      minimum: 41,
      maximum: 241,
    });
    assert.deepEqual(avatar.schema.required, ["image_url", "audio_url", "prompt"]);
    await app.close();
  });
});

describe("POST /api/playground/faces", () => {
  it("detects faces in the image URL, lists them from the left, and says who speaks", async () => {
    const calls: string[] = [];
    const app = await appWith({
      detectFaces: async (url) => {
        calls.push(url);
        return { width: 640, height: 480, faces: [{ box: [400.04, 100, 80, 90] }, { box: [100, 120.26, 70, 80] }] };
      },
    });
    const res = await app.inject({ method: "POST", url: "/api/playground/faces", headers: PLAYGROUND, payload: { image_url: "http://x/face.png" } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      width: 640, height: 480,
      faces: [{ box: [100, 120.3, 70, 80], person: 1, largest: false }, { box: [400, 100, 80, 90], person: 2, largest: true }],
    });
    assert.deepEqual(calls, ["http://x/face.png"]);
    await app.close();
  });

  it("numbers people by the pipeline's rule: the two largest faces, person 1 on the left", () => {
    // Three faces: a small one on the far left stays still; the two large ones are the people.
    const boxes: [number, number, number, number][] = [[500, 50, 120, 130], [10, 10, 40, 40], [200, 60, 100, 110]];
    const preview = previewPeople(boxes);
    assert.deepEqual(preview.map((f) => f.box[0]), [10, 200, 500], "left to right");
    assert.deepEqual(preview.map((f) => f.person), [null, 1, 2]);
    assert.deepEqual(preview.map((f) => f.largest), [false, false, true]);
    // The same faces through the pipeline's bindPeople pick the same boxes as person 1 and person 2.
    const faces: Face[] = boxes.map(([x, y, width, height]) => ({ box: { x, y, width, height }, score: 1, mesh: new Float32Array(0), pose: { yaw: 0, pitch: 0, roll: 0 } }));
    const bound = bindPeople(faces, {});
    assert.deepEqual([boxes[bound.person1], boxes[bound.person2]], [preview[1].box, preview[2].box]);
    // One face speaks both tracks; none is no one.
    assert.deepEqual(previewPeople([[5, 5, 50, 50]]), [{ box: [5, 5, 50, 50], person: 1, largest: true }]);
    assert.deepEqual(previewPeople([]), []);
  });

  it("asks for a key without the playground session, and says which field is wrong", async () => {
    const app = await appWith({
      detectFaces: async () => {
        throw InputError.field("image_url", "The picture could not be decoded: send a PNG, JPEG or WebP.");
      },
    });
    const noKey = await app.inject({ method: "POST", url: "/api/playground/faces", payload: { image_url: "http://x/a.png" } });
    assert.equal(noKey.statusCode, 401);
    assert.match(noKey.json().detail, /Authorization: Key/);
    const missing = await app.inject({ method: "POST", url: "/api/playground/faces", headers: PLAYGROUND, payload: {} });
    assert.equal(missing.statusCode, 422);
    assert.deepEqual(missing.json().detail[0].loc, ["body", "image_url"]);
    const bad = await app.inject({ method: "POST", url: "/api/playground/faces", headers: PLAYGROUND, payload: { image_url: "http://x/a.txt" } });
    assert.equal(bad.statusCode, 422);
    assert.deepEqual(bad.json(), { detail: [{ loc: ["body", "image_url"], msg: "The picture could not be decoded: send a PNG, JPEG or WebP.", type: "value_error" }] });
    await app.close();
  });

  it("does not serve the playground session to non-loopback callers, and answers 500 without details on a crash", async () => {
    const app = await appWith({
      detectFaces: async () => {
        throw new Error("secret internals");
      },
    });
    const remote = await app.inject({ method: "POST", url: "/api/playground/faces", headers: PLAYGROUND, payload: { image_url: "x" }, remoteAddress: "203.0.113.9" });
    assert.equal(remote.statusCode, 401);
    const crash = await app.inject({ method: "POST", url: "/api/playground/faces", headers: PLAYGROUND, payload: { image_url: "x" } });
    assert.equal(crash.statusCode, 500);
    assert.doesNotMatch(crash.body, /secret/);
    await app.close();
  });
});

describe("GET /api/playground/requests", () => {
  const req = (id: string, created_at: string): PlaygroundRequest => ({
    request_id: id,
    endpoint_id: "fal-ai/ai-avatar",
    status: "COMPLETED",
    created_at,
    input: { image_url: "http://x/a.png" },
  });

  it("lists the caller's requests, newest first, up to the limit", async () => {
    const owners: string[] = [];
    const app = await appWith({
      listRequests: async (owner) => {
        owners.push(owner);
        return [req("a", "2026-01-01T10:00:00Z"), req("c", "2026-01-03T10:00:00Z"), req("b", "2026-01-02T10:00:00Z")];
      },
    });
    const all = await app.inject({ url: "/api/playground/requests", headers: PLAYGROUND });
    assert.equal(all.statusCode, 200);
    assert.deepEqual(all.json().requests.map((r: PlaygroundRequest) => r.request_id), ["c", "b", "a"]);
    const two = await app.inject({ url: "/api/playground/requests?limit=2", headers: PLAYGROUND });
    assert.deepEqual(two.json().requests.map((r: PlaygroundRequest) => r.request_id), ["c", "b"]);
    assert.deepEqual(owners, ["local", "local"]);
    const badLimit = await app.inject({ url: "/api/playground/requests?limit=0", headers: PLAYGROUND });
    assert.equal(badLimit.statusCode, 422);
    assert.deepEqual(badLimit.json().detail[0].loc, ["query", "limit"]);
    await app.close();
  });

  it("uses the injected identity: a key holder sees their own requests, nobody else gets in", async () => {
    const app = await appWith({
      ownerOf: (r) => (r.headers.authorization === "Key good" ? "key:1" : undefined),
      listRequests: async (owner) => (owner === "key:1" ? [req("mine", "2026-01-01T00:00:00Z")] : []),
    });
    const mine = await app.inject({ url: "/api/playground/requests", headers: { authorization: "Key good" } });
    assert.deepEqual(mine.json().requests.map((r: PlaygroundRequest) => r.request_id), ["mine"]);
    const other = await app.inject({ url: "/api/playground/requests", headers: { authorization: "Key bad" } });
    assert.equal(other.statusCode, 401);
    await app.close();
  });

  it("takes the owner the server's auth hook set on the request", async () => {
    const app = Fastify({ logger: false });
    app.decorateRequest("principal", null);
    app.addHook("onRequest", async (request) => {
      (request as unknown as { principal: { owner: string } }).principal = { owner: "key:42" };
    });
    const owners: string[] = [];
    await registerPlayground(app, {
      detectFaces: async () => ({ width: 0, height: 0, faces: [] }),
      listRequests: async (owner) => (owners.push(owner), []),
    });
    const res = await app.inject({ url: "/api/playground/requests", headers: { authorization: "Key whatever" } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(owners, ["key:42"]);
    await app.close();
  });
});

describe("playgroundRequestOf", () => {
  const job = { id: "r1", endpointId: "fal-ai/ai-avatar", input: { image_url: "u" }, createdAt: "2026-01-01T00:00:00Z" };
  it("maps queue jobs to history entries, naming failed and cancelled ones", () => {
    const video = { video: { url: "http://h/files/v.mp4" }, seed: 42 };
    assert.deepEqual(playgroundRequestOf({ ...job, status: "COMPLETED", outcome: "OK", result: video }), {
      request_id: "r1", endpoint_id: "fal-ai/ai-avatar", status: "COMPLETED", created_at: "2026-01-01T00:00:00Z",
      input: { image_url: "u" }, output: video, error: null,
    });
    const failed = playgroundRequestOf({ ...job, status: "COMPLETED", outcome: "ERROR", failure: { message: "No face found" } });
    assert.deepEqual([failed.status, failed.error, failed.output], ["FAILED", "No face found", null]);
    assert.equal(playgroundRequestOf({ ...job, status: "COMPLETED", outcome: "CANCELLED", failure: { message: "cancelled" } }).status, "CANCELLED");
    assert.equal(playgroundRequestOf({ ...job, status: "IN_PROGRESS" }).status, "IN_PROGRESS");
  });
});
