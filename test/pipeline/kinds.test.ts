/**
 * The text and conversation endpoint kinds through createPipelineRunner, with real ffmpeg and real (offline) speech,
 * a detector that reports where the test drew its faces, and an engine that keeps the job it is given. The
 * real face analyzer, renderer and the lip-sync judge are in test/conversation.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { findEndpoint, VOICES, type EndpointDef } from "../../src/api/endpoints.js";
import { loadConfig } from "../../src/config.js";
import { InputError } from "../../src/errors.js";
import type { Box, Face } from "../../src/face/types.js";
import { stillFrameStream } from "../../src/media/encode.js";
import { decodePcm } from "../../src/media/audio.js";
import { probeMedia } from "../../src/media/probe.js";
import type { Pcm, RawImage } from "../../src/media/types.js";
import type { Engine, EngineJob } from "../../src/pipeline/engine.js";
import { createPipelineRunner, type FaceDetector } from "../../src/pipeline/index.js";
import { createSpeechSynthesizer, SILENCE, type Synthesizer } from "../../src/speech/index.js";
import { bins, FolderStorage, makeTone, memoryLogger, recordingContext, tempDir, type RecordingContext } from "../support/media-fixtures.js";

const config = loadConfig({}, { dataDir: "/tmp/mouthpiece-test-unused" });
const endpoint = (id: string) => findEndpoint(id) as EndpointDef;
const MULTI = endpoint("fal-ai/ai-avatar/multi");
const MULTI_TEXT = endpoint("fal-ai/ai-avatar/multi-text");
const SINGLE_TEXT = endpoint("fal-ai/ai-avatar/single-text");
const INFINITALK_TEXT = endpoint("fal-ai/infinitalk/single-text");

let dir: string;
let cleanup: () => Promise<void>;
let storage: FolderStorage;
let speech: Synthesizer;

before(async () => {
  ({ dir, cleanup } = await tempDir());
  storage = new FolderStorage(path.join(dir, "storage"));
  speech = await createSpeechSynthesizer();
});
after(async () => {
  await speech.close();
  await cleanup();
});

/** Skin-coloured ellipses ("faces") on a gradient, written as PNG. */
async function picture(file: string, width: number, height: number, faces: Box[]): Promise<void> {
  const ellipses = faces.map((f) =>
    `<ellipse cx="${f.x + f.width / 2}" cy="${f.y + f.height / 2}" rx="${f.width / 2}" ry="${f.height / 2}" fill="#e0ac8a"/>`).join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="#3a6ea5"/>${ellipses}</svg>`;
  await sharp(Buffer.from(svg)).removeAlpha().png().toFile(file);
}

/** Reports the faces the test drew (source boxes), scaled to the picture it is shown; records what it saw. */
function drawnFaces(source: Box[], sourceWidth: number): FaceDetector & { seen: RawImage[] } {
  const seen: RawImage[] = [];
  return {
    seen,
    async detect(image) {
      seen.push(image);
      const s = image.width / sourceWidth;
      return source.map((b): Face => {
        const box = { x: b.x * s, y: b.y * s, width: b.width * s, height: b.height * s };
        const mesh = new Float32Array(478 * 3);
        for (let k = 0; k < 478; k++) mesh.set([box.x + box.width / 2, box.y + box.height / 2, 0], k * 3);
        return { box, score: 0.9, mesh, pose: { yaw: 0, pitch: 0, roll: 0 } };
      });
    },
  };
}

/** Keeps the job, renders the still picture. */
class CapturingEngine implements Engine {
  readonly name = "capture";
  jobs: EngineJob[] = [];
  async start(job: EngineJob, ctx: Parameters<Engine["start"]>[1]) {
    this.jobs.push(job);
    return stillFrameStream(job.image, job.numFrames, ctx.signal);
  }
}

async function dataUri(file: string, type: string) {
  return `data:${type};base64,${(await readFile(file)).toString("base64")}`;
}

function rms(pcm: Pcm, from: number, to: number): number {
  const a = Math.round(from * pcm.sampleRate);
  const b = Math.min(pcm.samples.length, Math.round(to * pcm.sampleRate));
  let s = 0;
  for (let i = a; i < b; i++) s += pcm.samples[i] ** 2;
  return Math.sqrt(s / Math.max(1, b - a));
}

async function outputAudio(url: string): Promise<Pcm> {
  return decodePcm(storage.pathOf(storage.keyFromUrl(url) as string), bins);
}

function logged(ctx: RecordingContext, pattern: RegExp, level?: string) {
  return ctx.logs.find((l) => pattern.test(l.message) && (!level || l.level === level));
}

// Two faces: the right one is larger (so it comes first in the detector's list), the left one is person 1.
const LEFT: Box = { x: 150, y: 200, width: 200, height: 260 };
const RIGHT: Box = { x: 850, y: 180, width: 240, height: 300 };

describe("fal-ai/ai-avatar/multi", () => {
  let pic: string;
  let first: string;
  let second: string;
  before(async () => {
    pic = path.join(dir, "two.png");
    await picture(pic, 1280, 720, [LEFT, RIGHT]);
    first = path.join(dir, "first.wav");
    second = path.join(dir, "second.mp3");
    await makeTone(first, 1, { freq: 300 });
    await makeTone(second, 1.2, { freq: 900, channels: 2 });
  });

  const base = { prompt: "two people", num_frames: 75, resolution: "480p", seed: 81, acceleration: "high", use_only_first_audio: false };

  it("person 1 = the left face, person 2 = the right one; person 2 starts 0.4 s after person 1's voice ends; tracks span the video; the sound is the mix", async () => {
    const engine = new CapturingEngine();
    const detector = drawnFaces([LEFT, RIGHT], 1280);
    const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine, faceDetector: detector, speech });
    const ctx = recordingContext();
    const out = await run({ requestId: "multi-1", endpoint: MULTI, input: {
      ...base, image_url: await dataUri(pic, "image/png"), first_audio_url: await dataUri(first, "audio/wav"),
      second_audio_url: await dataUri(second, "audio/mpeg"),
    } }, ctx);
    assert.equal(out.seed, 81);
    const job = engine.jobs[0];
    assert.equal(job.faces.length, 2);
    const leftIndex = job.faces.findIndex((f) => f.box.x < 300);
    assert.ok(leftIndex >= 0 && job.faces[1 - leftIndex].box.x > 400);
    assert.equal(job.tracks.length, 2);
    assert.equal(job.tracks[0].faceIndex, leftIndex, "track 1 drives the left face");
    assert.equal(job.tracks[1].faceIndex, 1 - leftIndex, "track 2 drives the right face");

    // Every track spans the whole video at 16 kHz, silent outside its turn.
    const [t1, t2] = job.tracks.map((t) => t.pcm);
    for (const t of [t1, t2]) assert.deepEqual([t.sampleRate, t.samples.length], [16000, 3 * 16000]);
    assert.ok(rms(t1, 0.05, 0.95) > 0.05 && rms(t1, 1.02, 3) === 0, "track 1: 0-1 s");
    assert.ok(rms(t2, 0, 1.39) === 0 && rms(t2, 1.42, 2.58) > 0.05 && rms(t2, 2.62, 3) === 0, "track 2: 1.4-2.6 s");

    const msg = logged(ctx, /^turns: /)?.message ?? "";
    assert.match(msg, /^turns: person 1 speaks 0\.00-1\.00 s, person 2 speaks 1\.40-2\.60 s of 3\.00 s$/);
    // Which face got which track, in input-image pixels (the drawn boxes, give or take rounding).
    const people = logged(ctx, /^people \(two largest, left to right\): person 1 \(track 1\) is the face at \[(\d+), (\d+), (\d+), (\d+)\], person 2 \(track 2\) is the face at \[(\d+), (\d+), (\d+), (\d+)\]/);
    assert.ok(people, JSON.stringify(ctx.logs));
    const boxes = [...people.message.matchAll(/\[(\d+), (\d+), (\d+), (\d+)\]/g)].map((m) => m.slice(1).map(Number));
    for (const [got, want] of [[boxes[0], LEFT], [boxes[1], RIGHT]] as const) {
      [want.x, want.y, want.width, want.height].forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= 2, `${got} vs ${JSON.stringify(want)}`));
    }

    // The video's sound: tone 1, the gap, tone 2, silence; stereo (the mix); exact length.
    const info = await probeMedia(storage.pathOf(storage.keyFromUrl(out.video.url) as string), bins, { countFrames: true });
    assert.deepEqual([info.video?.frames, info.audio?.channels], [75, 2]);
    const sound = await outputAudio(out.video.url);
    assert.ok(rms(sound, 0.1, 0.9) > 0.05, "person 1 heard");
    assert.ok(rms(sound, 1.08, 1.32) < 0.003, "the gap is silent");
    assert.ok(rms(sound, 1.5, 2.5) > 0.05, "person 2 heard");
    assert.ok(rms(sound, 2.7, 2.95) < 0.003, "then silence");
  });

  it("use_only_first_audio (second_audio_url not even fetched) or no second_audio_url: person 1 speaks, person 2 listens", async () => {
    for (const extra of [{ use_only_first_audio: true, second_audio_url: "http://mouthpiece.test/files/none/x.wav" }, {}]) {
      const engine = new CapturingEngine();
      const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine, faceDetector: drawnFaces([LEFT, RIGHT], 1280), speech });
      const ctx = recordingContext();
      const out = await run({ requestId: "multi-one", endpoint: MULTI, input: {
        ...base, image_url: await dataUri(pic, "image/png"), first_audio_url: await dataUri(first, "audio/wav"), ...extra,
      } }, ctx);
      const job = engine.jobs[0];
      assert.equal(job.tracks.length, 1);
      assert.ok(job.faces[job.tracks[0].faceIndex!].box.x < 300, "the left face speaks");
      assert.equal(job.faces.length, 2, "the right face is still there (it listens)");
      assert.ok(logged(ctx, /person 2 \(track 2\) is the face at .* \(listens: there is no second track\)/), JSON.stringify(ctx.logs));
      assert.equal(Boolean(logged(ctx, /^use_only_first_audio: second_audio_url is not used$/)), "use_only_first_audio" in extra);
      assert.ok(!logged(ctx, /fetch second_audio_url/));
      const sound = await outputAudio(out.video.url);
      assert.ok(rms(sound, 0.1, 0.9) > 0.05 && rms(sound, 1.05, 3) < 0.003);
    }
  });

  it("one face: both tracks drive it (one track, both turns), with a warning", async () => {
    const engine = new CapturingEngine();
    const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine, faceDetector: drawnFaces([RIGHT], 1280), speech });
    const ctx = recordingContext();
    await run({ requestId: "multi-solo", endpoint: MULTI, input: {
      ...base, image_url: await dataUri(pic, "image/png"), first_audio_url: await dataUri(first, "audio/wav"),
      second_audio_url: await dataUri(second, "audio/mpeg"),
    } }, ctx);
    const job = engine.jobs[0];
    assert.equal(job.tracks.length, 1);
    assert.equal(job.tracks[0].faceIndex, 0);
    const pcm = job.tracks[0].pcm;
    assert.ok(rms(pcm, 0.1, 0.9) > 0.05 && rms(pcm, 1.05, 1.35) === 0 && rms(pcm, 1.5, 2.5) > 0.05, "both turns, in sequence");
    assert.ok(logged(ctx, /^only one face was found: it speaks both tracks/, "warn"), JSON.stringify(ctx.logs));
  });

  it("no face: a 422 on image_url that says so", async () => {
    const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine: new CapturingEngine(), faceDetector: drawnFaces([], 1280), speech });
    await assert.rejects(run({ requestId: "multi-none", endpoint: MULTI, input: {
      ...base, image_url: await dataUri(pic, "image/png"), first_audio_url: await dataUri(first, "audio/wav"),
    } }, recordingContext()), (e: unknown) => e instanceof InputError && e.detail[0].loc.join(".") === "body.image_url" && /no face was found/.test(e.message));
  });

  it("person boxes: swapped, track 1 goes to the right face; a third face is bound to nobody; both chosen faces stay in the crop", async () => {
    // 2400x1000 → 1152x480 before the 854x480 crop: the three faces do not fit in one frame. The largest face is
    // at the far right; the person boxes choose the other two.
    const A: Box = { x: 40, y: 300, width: 200, height: 260 };
    const C: Box = { x: 1000, y: 300, width: 220, height: 280 };
    const B: Box = { x: 2140, y: 250, width: 250, height: 320 };
    const wide = path.join(dir, "three.png");
    await picture(wide, 2400, 1000, [A, C, B]);
    const engine = new CapturingEngine();
    const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine, faceDetector: drawnFaces([A, C, B], 2400), speech });
    const ctx = recordingContext();
    await run({ requestId: "multi-boxes", endpoint: MULTI, input: {
      ...base, image_url: await dataUri(wide, "image/png"), first_audio_url: await dataUri(first, "audio/wav"),
      second_audio_url: await dataUri(second, "audio/mpeg"),
      person1_box: [C.x - 10, C.y - 20, C.width + 20, C.height + 30], person2_box: [A.x, A.y, A.width - 30, A.height],
    } }, ctx);
    const job = engine.jobs[0];
    const [f1, f2] = job.tracks.map((t) => job.faces[t.faceIndex!].box);
    assert.ok(f1.x > f2.x, "person 1 (track 1) is the face on the right");
    for (const b of [f1, f2]) assert.ok(b.x >= 0 && b.x + b.width <= 854 && b.y >= 0 && b.y + b.height <= 480, `inside the frame: ${JSON.stringify(b)}`);
    assert.ok(logged(ctx, /^people \(person boxes\): /));
    // The third face (largest, cut by the crop) drives nothing.
    const bound = new Set(job.tracks.map((t) => t.faceIndex));
    assert.ok(job.faces.every((f, i) => bound.has(i) || f.box.x > f1.x));
    // A box over no face: a 422 naming the field and where the faces are.
    await assert.rejects(run({ requestId: "multi-nobox", endpoint: MULTI, input: {
      ...base, image_url: await dataUri(wide, "image/png"), first_audio_url: await dataUri(first, "audio/wav"),
      person1_box: [500, 0, 100, 100],
    } }, recordingContext()), (e: unknown) => e instanceof InputError && e.detail[0].loc.join(".") === "body.person1_box"
      && /overlaps none of the faces found; faces were found at \[/.test(e.message));
  });

  it("a conversation longer than num_frames is cut, and the log says which num_frames would fit it", async () => {
    const engine = new CapturingEngine();
    const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine, faceDetector: drawnFaces([LEFT, RIGHT], 1280), speech });
    const ctx = recordingContext();
    await run({ requestId: "multi-short", endpoint: MULTI, input: {
      ...base, num_frames: 50, image_url: await dataUri(pic, "image/png"), first_audio_url: await dataUri(first, "audio/wav"),
      second_audio_url: await dataUri(second, "audio/mpeg"),
    } }, ctx);
    assert.ok(logged(ctx, /^the conversation lasts 2\.60 s, but num_frames 50 makes 2\.00 s: the end is cut; num_frames 65 would fit it$/, "warn"), JSON.stringify(ctx.logs));
    assert.equal(engine.jobs[0].tracks[1].pcm.samples.length, 2 * 16000);
  });
});

describe("fal-ai/ai-avatar/multi-text", () => {
  it("speaks both texts with voice1 and voice2 in turns; phoneme timings follow each turn and tile the video", async () => {
    const pic = path.join(dir, "two-text.png");
    await picture(pic, 1280, 720, [LEFT, RIGHT]);
    const engine = new CapturingEngine();
    const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine, faceDetector: drawnFaces([LEFT, RIGHT], 1280), speech });
    const ctx = recordingContext();
    const input = MULTI_TEXT.input.parse({
      image_url: await dataUri(pic, "image/png"), first_text_input: "Hello there.", second_text_input: "Hi! How are you?",
      prompt: "", num_frames: 100, acceleration: "high",
    }) as Record<string, unknown>;
    assert.deepEqual([input.voice1, input.voice2], ["Sarah", "Roger"], "the schema's defaults");
    const out = await run({ requestId: "mt", endpoint: MULTI_TEXT, input }, ctx);
    assert.equal(out.seed, 81);
    assert.ok(logged(ctx, /^speak first_text_input: \d+ ms \(Sarah \(flite\)/) && logged(ctx, /^speak second_text_input: \d+ ms \(Roger \(flite\)/));
    const job = engine.jobs[0];
    const [t1, t2] = job.tracks;
    assert.ok(job.faces[t1.faceIndex!].box.x < job.faces[t2.faceIndex!].box.x);
    for (const t of [t1, t2]) {
      assert.ok(t.phonemes && t.phonemes.length > 3);
      assert.equal(t.phonemes[0].start, 0);
      assert.equal(t.phonemes.at(-1)!.end, 4);
      for (let i = 1; i < t.phonemes.length; i++) assert.ok(Math.abs(t.phonemes[i].start - t.phonemes[i - 1].end) < 1e-9, "contiguous");
    }
    const voiced = (t: typeof t1) => t.phonemes!.filter((p) => p.phoneme !== SILENCE);
    const end1 = voiced(t1).at(-1)!.end;
    const start2 = voiced(t2)[0].start;
    assert.ok(Math.abs(start2 - end1 - 0.4) < 0.002, `gap ${start2 - end1}`);
    // The phonemes sit where the sound is: track 2 is silent before its first phoneme, loud during its voiced run.
    assert.ok(rms(t2.pcm, 0, start2 - 0.02) < 0.002);
    assert.ok(rms(t2.pcm, start2, voiced(t2).at(-1)!.end) > 0.02);
    assert.ok(rms(t1.pcm, end1 + 0.05, 4) < 0.002);
    const sound = await outputAudio(out.video.url);
    assert.ok(rms(sound, 0, end1) > 0.02 && rms(sound, start2, voiced(t2).at(-1)!.end) > 0.02 && rms(sound, end1 + 0.08, start2 - 0.08) < 0.005);
  });

  it("an unknown voice or an empty text is a 422 on that field", async () => {
    const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine: new CapturingEngine(), faceDetector: drawnFaces([LEFT, RIGHT], 1280), speech });
    const pic = path.join(dir, "v.png");
    await picture(pic, 640, 360, [{ x: 100, y: 100, width: 100, height: 120 }]);
    const input = { image_url: await dataUri(pic, "image/png"), first_text_input: "Hi.", second_text_input: "Hello.", prompt: "", num_frames: 41 };
    await assert.rejects(run({ requestId: "bad-voice", endpoint: MULTI_TEXT, input: { ...input, voice2: "Nobody" } }, recordingContext()),
      (e: unknown) => e instanceof InputError && e.detail[0].loc.join(".") === "body.voice2" && e.message.includes(VOICES.join(", ")));
    await assert.rejects(run({ requestId: "bad-text", endpoint: MULTI_TEXT, input: { ...input, second_text_input: " ... " } }, recordingContext()),
      (e: unknown) => e instanceof InputError && e.detail[0].loc.join(".") === "body.second_text_input");
  });
});

describe("single-text (fal-ai/ai-avatar/single-text, fal-ai/infinitalk/single-text)", () => {
  it("the video's sound is the spoken text; phonemes drive the face; a text too long for num_frames is logged with the num_frames that fits", async () => {
    const pic = path.join(dir, "one.png");
    await picture(pic, 1280, 720, [RIGHT]);
    const text = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.";
    for (const ep of [SINGLE_TEXT, INFINITALK_TEXT]) {
      const engine = new CapturingEngine();
      const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine, faceDetector: drawnFaces([RIGHT], 1280), speech });
      const ctx = recordingContext();
      const out = await run({ requestId: "st", endpoint: ep, input: {
        image_url: await dataUri(pic, "image/png"), text_input: text, voice: "Brian", prompt: "", num_frames: 60, seed: 5, acceleration: "high",
      } }, ctx);
      const job = engine.jobs[0];
      assert.equal(job.tracks.length, 1);
      assert.equal(job.tracks[0].faceIndex, 0);
      assert.equal(job.tracks[0].pcm.samples.length, 60 / 25 * 16000);
      assert.equal(job.tracks[0].phonemes!.at(-1)!.end, 2.4);
      const said = await speech.speak({ text, voice: "Brian" });
      const sec = said.pcm.samples.length / said.pcm.sampleRate;
      const need = Math.ceil(sec * 25);
      const warn = logged(ctx, /^the speech of text_input lasts /, "warn")?.message ?? "";
      assert.equal(warn, `the speech of text_input lasts ${sec.toFixed(2)} s, but num_frames 60 makes 2.40 s: the end is cut; num_frames ${need} would fit it`);
      // The muxed sound follows the speech: loudness envelopes (40 ms frames) correlate.
      const sound = await outputAudio(out.video.url);
      const env = (p: Pcm) => Array.from({ length: 55 }, (_, i) => rms(p, i * 0.04, (i + 1) * 0.04));
      const a = env(sound);
      const b = env(said.pcm);
      const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
      const ma = mean(a), mb = mean(b);
      const r = a.reduce((s, x, i) => s + (x - ma) * (b[i] - mb), 0) / Math.sqrt(a.reduce((s, x) => s + (x - ma) ** 2, 0) * b.reduce((s, x) => s + (x - mb) ** 2, 0));
      assert.ok(r > 0.95, `sound vs speech r = ${r}`);
    }
  });

  it("a text far longer than the video is spoken only as far as the video reaches, and the log estimates the num_frames it would need", async () => {
    const pic = path.join(dir, "one-c.png");
    await picture(pic, 1280, 720, [RIGHT]);
    const sentence = "The birch canoe slid on the smooth planks, and we glued the sheet to the dark blue background. ";
    const text = sentence.repeat(Math.floor(5000 / sentence.length));
    const engine = new CapturingEngine();
    const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine, faceDetector: drawnFaces([RIGHT], 1280), speech });
    const ctx = recordingContext();
    const started = Date.now();
    await run({ requestId: "st-long", endpoint: SINGLE_TEXT, input: {
      image_url: await dataUri(pic, "image/png"), text_input: text, voice: "Brian", prompt: "", num_frames: 50, seed: 5, acceleration: "high",
    } }, ctx);
    const tookSec = (Date.now() - started) / 1000;
    const warn = logged(ctx, /^the speech of text_input lasts /, "warn")?.message ?? "";
    const m = /lasts (\d+\.\d+) s, but num_frames 50 makes 2\.00 s: the end is cut; it needs (\d+) frames, more than this endpoint's limit of 241 .*: shorten text_input$/.exec(warn);
    assert.ok(m, warn || JSON.stringify(ctx.logs));
    // ~5,000 characters at ~14 characters a second: several minutes of speech, of which 2 s are used.
    assert.ok(Number(m[1]) > 200 && Number(m[2]) > 5000, `estimate ${m[1]} s, ${m[2]} frames`);
    assert.ok(logged(ctx, /stopped there; the whole text would last about \d+ s/), "the speak step says it stopped early");
    assert.ok(tookSec < 15, `took ${tookSec.toFixed(1)} s: the whole text was not synthesized`);
  });

  it("a short text is padded with silence; the default synthesizer is made on first use and released by close()", async () => {
    const pic = path.join(dir, "one-b.png");
    await picture(pic, 640, 360, [{ x: 250, y: 80, width: 140, height: 180 }]);
    const engine = new CapturingEngine();
    const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine, faceDetector: drawnFaces([{ x: 250, y: 80, width: 140, height: 180 }], 640) });
    const ctx = recordingContext();
    const out = await run({ requestId: "st-short", endpoint: SINGLE_TEXT, input: {
      image_url: await dataUri(pic, "image/png"), text_input: "Yes.", voice: "Aria", prompt: "", num_frames: 75, seed: 1, acceleration: "high",
    } }, ctx);
    await run.close();
    assert.ok(!logged(ctx, /lasts/));
    const ph = engine.jobs[0].tracks[0].phonemes!;
    assert.equal(ph.at(-1)!.phoneme, SILENCE);
    assert.equal(ph.at(-1)!.end, 3);
    const sound = await outputAudio(out.video.url);
    assert.ok(rms(sound, 0, 0.8) > 0.02 && rms(sound, 1.5, 3) < 0.002);
    const info = await probeMedia(storage.pathOf(storage.keyFromUrl(out.video.url) as string), bins, { countFrames: true });
    assert.deepEqual([info.video?.width, info.video?.height, info.video?.frames, info.audio?.channels], [854, 480, 75, 1]);
  });
});
