/** The page's pure browser modules, run in Node: schema -> form fields -> request body, progress, snippets. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { ENDPOINTS, findEndpoint, VOICES } from "../../src/api/endpoints.js";
import { buildInput, describeFields, framesFor, framesLabel, initialValue, type Field } from "../../src/web/public/schema.js";
import { describeStatus, mergeLogs, progressOf, type LogLine } from "../../src/web/public/progress.js";
import { curlSnippet, jsSnippet, pretty, shellQuote } from "../../src/web/public/snippets.js";

const schemaOf = (id: string) => z.toJSONSchema(findEndpoint(id)!.input, { io: "input" });
const fieldsOf = (id: string) => describeFields(schemaOf(id), findEndpoint(id)!.fileFields);
const byName = (fields: Field[]) => Object.fromEntries(fields.map((f) => [f.name, f]));
const initial = (fields: Field[]) => Object.fromEntries(fields.map((f) => [f.name, initialValue(f)]));

describe("form fields from the JSON Schema", () => {
  it("fal-ai/ai-avatar: files, a prompt, a frames slider, pickers, a seed box", () => {
    const f = byName(fieldsOf("fal-ai/ai-avatar"));
    assert.deepEqual(Object.keys(f), ["image_url", "audio_url", "prompt", "num_frames", "resolution", "seed", "acceleration"]);
    assert.equal(f.image_url.kind, "file");
    assert.equal(f.image_url.media, "image");
    assert.equal(f.audio_url.media, "audio");
    assert.equal(f.prompt.kind, "text");
    assert.deepEqual([f.num_frames.kind, f.num_frames.min, f.num_frames.max, f.num_frames.default, f.num_frames.frames], ["range", 41, 241, 145, true]);
    assert.deepEqual([f.resolution.kind, f.resolution.options, f.resolution.default], ["enum", ["480p", "720p"], "480p"]);
    assert.equal(f.seed.kind, "number"); // 0..2^32-1 is no slider
    assert.equal(f.seed.advanced, true);
    assert.equal(f.acceleration.advanced, true);
    assert.equal(f.image_url.required, true);
    assert.equal(f.num_frames.required, false);
  });

  it("every endpoint: every schema property gets a field with a label; voices are voice pickers", () => {
    for (const e of ENDPOINTS) {
      const fields = fieldsOf(e.id);
      assert.deepEqual(fields.map((x) => x.name), Object.keys(e.input.shape), e.id);
      for (const x of fields) assert.ok(x.label.length > 1 && !x.label.includes("_"), `${e.id} ${x.name}: ${x.label}`);
    }
    const multi = byName(fieldsOf("fal-ai/ai-avatar/multi-text"));
    assert.equal(multi.voice1.kind, "voice");
    assert.deepEqual(multi.voice1.options, [...VOICES]);
    assert.equal(multi.first_text_input.kind, "textarea");
    assert.equal(multi.first_text_input.maxLength, 5000);
    assert.equal(multi.person1_box.kind, "box");
    assert.equal(byName(fieldsOf("fal-ai/infinitalk/video-to-video")).video_url.media, "video");
    assert.equal(byName(fieldsOf("fal-ai/infinitalk")).num_frames.max, 721);
    assert.equal(byName(fieldsOf("fal-ai/ai-avatar/multi")).use_only_first_audio.kind, "boolean");
  });

  it("a required voice without a default starts on the first voice; defaults start as themselves", () => {
    const f = byName(fieldsOf("fal-ai/ai-avatar/single-text"));
    assert.equal(initialValue(f.voice), VOICES[0]);
    assert.equal(initialValue(f.num_frames), 136);
    assert.equal(initialValue(f.image_url), "");
    const m = byName(fieldsOf("fal-ai/ai-avatar/multi-text"));
    assert.equal(initialValue(m.voice2), "Roger");
    assert.equal(initialValue(m.person1_box), null);
  });

  it("seconds at 25 fps", () => {
    assert.equal(framesLabel(145, 25), "145 frames = 5.8 s at 25 fps");
    assert.equal(framesLabel("50", 25), "50 frames = 2.0 s at 25 fps");
    const nf = byName(fieldsOf("fal-ai/ai-avatar")).num_frames;
    assert.equal(framesFor(4.2, nf, 25), 105);
    assert.equal(framesFor(0.5, nf, 25), 41); // clamped to the range
    assert.equal(framesFor(60, nf, 25), 241);
  });
});

describe("request body from the form", () => {
  it("leaves out defaults, keeps what changed and what is required, and the server's schema accepts it", () => {
    const fields = fieldsOf("fal-ai/ai-avatar");
    const values = { ...initial(fields), image_url: " http://h/files/a.png ", audio_url: "http://h/files/b.wav", num_frames: "50" };
    const { input, errors } = buildInput(fields, values);
    assert.deepEqual(errors, []);
    assert.deepEqual(input, { image_url: "http://h/files/a.png", audio_url: "http://h/files/b.wav", prompt: "", num_frames: 50 });
    const parsed = findEndpoint("fal-ai/ai-avatar")!.input.parse(input);
    assert.equal(parsed.num_frames, 50);
  });

  it("the seed starts empty (random) and is sent whenever one is typed, even the schema's default", () => {
    const fields = fieldsOf("fal-ai/ai-avatar");
    const seed = byName(fields).seed;
    assert.equal(initialValue(seed), "");
    const base = { ...initial(fields), image_url: "http://h/a.png", audio_url: "http://h/b.wav" };
    assert.equal("seed" in buildInput(fields, base).input, false);
    assert.equal(buildInput(fields, { ...base, seed: "42" }).input.seed, 42);
    assert.equal(buildInput(fields, { ...base, seed: "7" }).input.seed, 7);
  });

  it("every endpoint's filled-in initial form passes the endpoint's own schema", () => {
    for (const e of ENDPOINTS) {
      const fields = fieldsOf(e.id);
      const values = initial(fields);
      for (const f of fields) {
        if (f.kind === "file" && f.required) values[f.name] = `http://h/files/${f.name}`;
        if (f.kind === "textarea" && f.required) values[f.name] = "Hello there.";
      }
      const { input, errors } = buildInput(fields, values);
      assert.deepEqual(errors, [], e.id);
      assert.doesNotThrow(() => e.input.parse(input), e.id);
    }
  });

  it("says which fields must change", () => {
    const fields = fieldsOf("fal-ai/ai-avatar/single-text");
    const values = { ...initial(fields), num_frames: "300", seed: "1.5", text_input: "x".repeat(5001) };
    const { errors } = buildInput(fields, values);
    assert.deepEqual(errors.map((e) => e.field), ["image_url", "text_input", "num_frames", "seed"]);
    assert.match(errors[0].msg, /Add an image/);
    assert.match(errors[1].msg, /5001 characters; the most is 5000/);
    assert.match(errors[2].msg, /between 41 and 241/);
    assert.match(errors[3].msg, /whole number/);
  });

  it("booleans and face boxes", () => {
    const fields = fieldsOf("fal-ai/ai-avatar/multi");
    const base = { ...initial(fields), image_url: "http://h/i.png", first_audio_url: "http://h/1.wav" };
    assert.equal("use_only_first_audio" in buildInput(fields, base).input, false);
    const { input } = buildInput(fields, { ...base, use_only_first_audio: true, person2_box: [10, 20, 30, 40] });
    assert.equal(input.use_only_first_audio, true);
    assert.deepEqual(input.person2_box, [10, 20, 30, 40]);
    assert.equal("person1_box" in input, false);
    assert.doesNotThrow(() => findEndpoint("fal-ai/ai-avatar/multi")!.input.parse(input));
  });
});

describe("progress from statuses", () => {
  const line = (message: string, timestamp = "t"): LogLine => ({ message, timestamp, level: "INFO" });

  it("reads the last 'rendered N/M frames' line of the logs", () => {
    const logs = [line("decoding audio", "1"), line("rendered 50/145 frames", "2"), line("rendered 75/145 frames", "3"), line("encoding", "4")];
    assert.deepEqual(progressOf({ status: "IN_PROGRESS", logs }), { done: 75, total: 145 });
    assert.equal(progressOf({ status: "IN_PROGRESS", logs: [line("decoding audio")] }), null);
    assert.equal(progressOf({ status: "IN_QUEUE" }), null);
  });

  it("prefers a progress field the server sends", () => {
    assert.deepEqual(progressOf({ progress: { done: 10, total: 145 }, logs: [line("rendered 5/145 frames")] }), { done: 10, total: 145 });
    assert.deepEqual(progressOf({ progress: 0.25 }), { fraction: 0.25 });
    assert.deepEqual(progressOf({ progress: { done: 200, total: 145 } }), { done: 145, total: 145 });
  });

  it("keeps each log line once, whether the stream sends new lines or all of them", () => {
    const seen: LogLine[] = [];
    assert.equal(mergeLogs(seen, { logs: [line("a", "1")] }), true);
    assert.equal(mergeLogs(seen, { logs: [line("a", "1"), line("b", "2")] }), true);
    assert.equal(mergeLogs(seen, { logs: [line("b", "2")] }), false);
    assert.equal(mergeLogs(seen, { status: "IN_QUEUE" }), false);
    assert.deepEqual(seen.map((l) => l.message), ["a", "b"]);
    // The same message at another time is another line.
    assert.equal(mergeLogs(seen, { logs: [line("a", "3")] }), true);
    assert.equal(seen.length, 3);
  });

  it("says the status in words", () => {
    assert.equal(describeStatus({ status: "IN_QUEUE", queue_position: 2 }), "Waiting in the queue (2 ahead)");
    assert.equal(describeStatus({ status: "IN_QUEUE", queue_position: 0 }), "Waiting in the queue");
    assert.equal(describeStatus({ status: "IN_PROGRESS" }), "Rendering");
    assert.equal(describeStatus({ status: "COMPLETED" }), "Finished");
  });
});

describe("code snippets", () => {
  const o = {
    origin: "http://127.0.0.1:8000",
    endpointId: "fal-ai/ai-avatar/multi",
    input: { image_url: "http://127.0.0.1:8000/files/a.png", prompt: "it's fine", person1_box: [1, 2.5, 3, 4] },
    routes: { queue: "/queue", falProxy: "/api/fal/proxy" },
  };

  it("JavaScript: the official client through this server's proxy, always (Node too)", () => {
    const js = jsSnippet(o);
    assert.match(js, /^import \{ fal \} from "@fal-ai\/client";/);
    assert.match(js, /proxyUrl: \{ url: "http:\/\/127\.0\.0\.1:8000\/api\/fal\/proxy", when: "always" \}/);
    assert.match(js, /fal\.subscribe\("fal-ai\/ai-avatar\/multi", \{/);
    assert.match(js, /"person1_box": \[1, 2\.5, 3, 4\]/);
    assert.match(js, /"x-mouthpiece-playground": "1"/);
    assert.doesNotMatch(js, /^\s*credentials:/m);
    const keyed = jsSnippet({ ...o, key: "k_123" });
    assert.match(keyed, /credentials: "k_123",/);
    assert.doesNotMatch(keyed, /x-mouthpiece-playground/);
    // The input part is a valid JS object literal equal to the input.
    const literal = /input: (\{[\s\S]*?\n  \}),/.exec(js)![1];
    assert.deepEqual(JSON.parse(literal), o.input);
  });

  it("cURL: submit to the queue, follow the status stream, fetch the result; quotes survive the shell", () => {
    const sh = curlSnippet(o);
    assert.match(sh, /curl -sS -X POST 'http:\/\/127\.0\.0\.1:8000\/queue\/fal-ai\/ai-avatar\/multi'/);
    assert.match(sh, /-H 'x-mouthpiece-playground: 1'/);
    assert.match(sh, /"prompt": "it'\\''s fine"/);
    assert.match(sh, /curl -sSN "\$STATUS_URL\/stream\?logs=1"/);
    assert.match(sh, /curl -sS "\$RESPONSE_URL"/);
    assert.match(curlSnippet({ ...o, key: "k_1" }), /-H 'Authorization: Key k_1'/);
    assert.equal(shellQuote("a'b"), `'a'\\''b'`);
    assert.equal(pretty({ a: [1, 2] }), '{\n  "a": [1, 2]\n}');
  });
});
