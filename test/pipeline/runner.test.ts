import assert from "node:assert/strict";
import { mkdir, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { findEndpoint, type EndpointDef } from "../../src/api/endpoints.js";
import { loadConfig } from "../../src/config.js";
import { CancelledError, InputError } from "../../src/errors.js";
import type { Face } from "../../src/face/types.js";
import { stillFrameStream } from "../../src/media/encode.js";
import { probeMedia } from "../../src/media/probe.js";
import type { RawImage } from "../../src/media/types.js";
import type { Engine, EngineJob } from "../../src/pipeline/engine.js";
import { createPipelineRunner, StillEngine, UnsupportedKindError, type FaceDetector } from "../../src/pipeline/index.js";
import { bins, FolderStorage, makeJunk, makePicture, makeTone, memoryLogger, recordingContext, tempDir } from "../support/media-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
let tmpRoot: string;
let storage: FolderStorage;
const config = loadConfig({}, { dataDir: "/tmp/mouthpiece-test-unused" });
const aiAvatar = findEndpoint("fal-ai/ai-avatar") as EndpointDef;
const infinitalk = findEndpoint("fal-ai/infinitalk") as EndpointDef;

/** Skin-coloured (#e0ac8a) pixels' bounding box: a real, if simple, detector for the synthetic portraits. */
const blobDetector = (seen: RawImage[]): FaceDetector => ({
  async detect(image) {
    seen.push(image);
    let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const i = (y * image.width + x) * image.channels;
        if (Math.abs(image.data[i] - 0xe0) < 12 && Math.abs(image.data[i + 1] - 0xac) < 12 && Math.abs(image.data[i + 2] - 0x8a) < 12) {
          x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
        }
      }
    }
    if (x1 < 0) return [];
    const mesh = new Float32Array(478 * 3);
    for (let k = 0; k < 478; k++) mesh.set([(x0 + x1) / 2, (y0 + y1) / 2, 0], k * 3);
    const face: Face = { box: { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 }, score: 0.9, mesh, pose: { yaw: 0, pitch: 0, roll: 0 } };
    return [face];
  },
});

/** Wraps an engine and keeps the job it was given. */
class CapturingEngine implements Engine {
  readonly name = "capture";
  jobs: EngineJob[] = [];
  constructor(private readonly delayMs = 0) {}
  async start(job: EngineJob, ctx: Parameters<Engine["start"]>[1]) {
    this.jobs.push(job);
    const inner = stillFrameStream(job.image, job.numFrames, ctx.signal);
    const delay = this.delayMs;
    return {
      ...inner,
      async *frames() {
        for await (const f of inner.frames()) {
          if (delay) await new Promise((r) => setTimeout(r, delay));
          yield f;
        }
      },
    };
  }
}

async function dataUri(file: string, type: string) {
  return `data:${type};base64,${(await readFile(file)).toString("base64")}`;
}

before(async () => {
  ({ dir, cleanup } = await tempDir());
  tmpRoot = path.join(dir, "tmp");
  await mkdir(tmpRoot);
  storage = new FolderStorage(path.join(dir, "storage"));
});
after(() => cleanup());

async function assertNoJobDirs() {
  assert.deepEqual(await readdir(tmpRoot), [], "job temp dirs removed");
}

describe("createPipelineRunner: single-audio", () => {
  it("ai-avatar 480p: stored MP4 with exactly num_frames frames, 25 fps, 854x480, AAC of the same length", async () => {
    const pic = path.join(dir, "p16x9.png");
    await makePicture(pic, 1280, 720);
    const uploaded = await storage.putFile({ path: pic, contentType: "image/png", fileName: "p16x9.png" });
    const wav = path.join(dir, "speech.wav");
    await makeTone(wav, 1, { rate: 44100, channels: 2 });
    const logger = memoryLogger();
    const run = createPipelineRunner({ config, storage, logger, limits: { tmpRoot } });
    const ctx = recordingContext();
    const out = await run({ requestId: "req-480", endpoint: aiAvatar, input: {
      image_url: uploaded.url, audio_url: await dataUri(wav, "audio/wav"), prompt: "a person talking",
      num_frames: 41, resolution: "480p", seed: 7, acceleration: "high",
    } }, ctx);

    assert.equal(out.seed, 7);
    assert.equal(out.video.content_type, "video/mp4");
    assert.equal(out.video.file_name, "req-480.mp4");
    const key = storage.keyFromUrl(out.video.url) as string;
    assert.ok(key);
    const info = await probeMedia(storage.pathOf(key), bins, { countFrames: true });
    assert.equal(out.video.file_size, (await readFile(storage.pathOf(key))).length);
    assert.deepEqual([info.video?.width, info.video?.height, info.video?.fps, info.video?.frames], [854, 480, 25, 41]);
    assert.equal(info.audio?.codec, "aac");
    assert.equal(info.audio?.channels, 2);
    assert.ok(Math.abs((info.audio?.durationSec ?? 0) - 41 / 25) <= 1024 / 48000 + 1e-6, `audio ${info.audio?.durationSec}`);
    assert.deepEqual(ctx.progressCalls.at(-1), [41, 41]);
    assert.ok(ctx.progressCalls.every(([d, t], i, a) => t === 41 && d <= 41 && (i === 0 || d >= a[i - 1][0])), "progress grows to the end");
    for (const stage of ["fetch image_url", "fetch audio_url", "decode image", "detect faces", "decode audio_url", "render + encode 41 frames", "store video"]) {
      assert.ok(ctx.logs.some((l) => l.message.startsWith(`${stage}:`)), `logged ${stage}`);
    }
    assert.ok(logger.entries.some((e) => e.msg === "job started") && !logger.entries.some((e) => e.level === "error"));
    await assertNoJobDirs();
  });

  it("infinitalk 720p: 1280x720, and a random 32-bit seed when none is given", async () => {
    const pic = path.join(dir, "p720.jpg");
    await makePicture(pic, 1920, 1080);
    const wav = path.join(dir, "t.mp3");
    await makeTone(wav, 3);
    const run = createPipelineRunner({ config, storage, logger: pino({ level: "silent" }), limits: { tmpRoot } });
    const out = await run({ requestId: "req-720", endpoint: infinitalk, input: {
      image_url: await dataUri(pic, "image/jpeg"), audio_url: await dataUri(wav, "audio/mpeg"), prompt: "",
      num_frames: 41, resolution: "720p", acceleration: "high",
    } }, recordingContext());
    assert.ok(Number.isInteger(out.seed) && out.seed >= 0 && out.seed <= 0xffffffff);
    const info = await probeMedia(storage.pathOf(storage.keyFromUrl(out.video.url) as string), bins, { countFrames: true });
    assert.deepEqual([info.video?.width, info.video?.height, info.video?.frames], [1280, 720, 41]);
    assert.equal(info.audio?.channels, 1);
    await assertNoJobDirs();
  });

  it("detects faces at frame scale, shifts the crop to keep the face, and hands the engine frame coordinates", async () => {
    // 2:1 picture → 16:9 bucket: 960x480 after scaling, 106 px to crop; the face sits at the far right.
    const pic = path.join(dir, "wide.png");
    await makePicture(pic, 2000, 1000, { x: 1800, y: 350, width: 180, height: 240 });
    const wav = path.join(dir, "w.wav");
    await makeTone(wav, 0.5);
    const seen: RawImage[] = [];
    const engine = new CapturingEngine();
    const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine, faceDetector: blobDetector(seen), limits: { tmpRoot } });
    await run({ requestId: "req-face", endpoint: aiAvatar, input: {
      image_url: await dataUri(pic, "image/png"), audio_url: await dataUri(wav, "audio/wav"), prompt: "p",
      num_frames: 41, resolution: "480p", seed: 1, acceleration: "regular",
    } }, recordingContext());
    assert.deepEqual([seen[0].width, seen[0].height], [960, 480], "the detector saw the whole picture at frame scale");
    const job = engine.jobs[0];
    assert.deepEqual([job.image.width, job.image.height, job.numFrames, job.fps, job.seed, job.prompt, job.acceleration],
      [854, 480, 41, 25, 1, "p", "regular"]);
    assert.equal(job.faces.length, 1);
    assert.equal(job.tracks.length, 1);
    assert.equal(job.tracks[0].faceIndex, 0);
    assert.equal(job.tracks[0].pcm.samples.length, 41 / 25 * 16000);
    const b = job.faces[0].box;
    assert.ok(b.x >= 0 && b.x + b.width <= 854 && b.y >= 0 && b.y + b.height <= 480, `face inside the frame: ${JSON.stringify(b)}`);
    // Centered, the crop would have cut the face (it reaches x = 950 of 960 while a centered window ends at 907).
    assert.ok(b.x + b.width > 800);
    // The face is where the engine is told it is: skin colour at its centre, and the mesh moved with it.
    const cx = Math.round(b.x + b.width / 2), cy = Math.round(b.y + b.height / 2);
    const i = (cy * 854 + cx) * 3;
    assert.ok(Math.abs(job.image.data[i] - 0xe0) < 12 && Math.abs(job.image.data[i + 1] - 0xac) < 12 && Math.abs(job.image.data[i + 2] - 0x8a) < 12);
    assert.ok(Math.abs(job.faces[0].mesh[0] - (b.x + b.width / 2)) < 1);
    await assertNoJobDirs();
  });

  it("rejects corrupt inputs with InputErrors naming every bad field", async () => {
    const zip = path.join(dir, "x.zip");
    await makeJunk(zip, "zip");
    const pic = path.join(dir, "ok.png");
    await makePicture(pic, 640, 480);
    const wav = path.join(dir, "ok.wav");
    await makeTone(wav, 0.5);
    const run = createPipelineRunner({ config, storage, logger: memoryLogger(), limits: { tmpRoot } });
    const input = { prompt: "", num_frames: 41, resolution: "480p", seed: 1, acceleration: "high" };

    const both = await run({ requestId: "bad-both", endpoint: aiAvatar, input: {
      ...input, image_url: await dataUri(zip, "image/png"), audio_url: await dataUri(pic, "audio/wav"),
    } }, recordingContext()).then(() => assert.fail("should fail"), (e: unknown) => e);
    assert.ok(both instanceof InputError);
    assert.deepEqual(both.detail.map((d) => d.loc.join(".")).sort(), ["body.audio_url", "body.image_url"]);
    assert.match(both.message, /image_url: the file is not a decodable image \(found: zip archive\)/);
    assert.match(both.message, /audio_url: the file has no audio track \(found: PNG image\)/);

    await assert.rejects(run({ requestId: "bad-audio", endpoint: aiAvatar, input: {
      ...input, image_url: await dataUri(pic, "image/png"), audio_url: await dataUri(zip, "audio/wav"),
    } }, recordingContext()), (e: unknown) => e instanceof InputError && e.detail.length === 1 && e.detail[0].loc[1] === "audio_url");

    await assert.rejects(run({ requestId: "bad-url", endpoint: aiAvatar, input: {
      ...input, image_url: `${FolderStorage.BASE}nope/x.png`, audio_url: await dataUri(wav, "audio/wav"),
    } }, recordingContext()), /image_url: could not fetch .*no stored file/);
    await assertNoJobDirs();
  });

  it("stops within 1 s of a cancel mid-encode and leaves no temp files", async () => {
    const pic = path.join(dir, "c.png");
    await makePicture(pic, 640, 480);
    const wav = path.join(dir, "c.wav");
    await makeTone(wav, 1);
    const engine = new CapturingEngine(15);
    const logger = memoryLogger();
    const run = createPipelineRunner({ config, storage, logger, engine, limits: { tmpRoot } });
    const ctx = recordingContext();
    const stored = storage.stored.length;
    let abortedAt = 0;
    const p = run({ requestId: "req-cancel", endpoint: infinitalk, input: {
      image_url: await dataUri(pic, "image/png"), audio_url: await dataUri(wav, "audio/wav"), prompt: "",
      num_frames: 400, resolution: "480p", seed: 3, acceleration: "high",
    } }, ctx);
    const timer = setInterval(() => {
      // Cancel once encoding is under way.
      if (!abortedAt && ctx.progressCalls.length > 0) {
        abortedAt = Date.now();
        ctx.controller.abort();
      }
    }, 20);
    try {
      await assert.rejects(p, CancelledError);
    } finally {
      clearInterval(timer);
    }
    assert.ok(abortedAt > 0, "cancelled mid-encode");
    assert.ok(Date.now() - abortedAt < 1000, `stopped in ${Date.now() - abortedAt} ms`);
    assert.ok((ctx.progressCalls.at(-1)?.[0] ?? 0) < 400);
    assert.equal(storage.stored.length, stored, "nothing stored");
    assert.ok(logger.entries.some((e) => e.msg === "job cancelled"));
    await assertNoJobDirs();
  });

  it("refuses endpoint kinds it has no runner for, clearly (every real kind has one)", async () => {
    const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine: new StillEngine(), limits: { tmpRoot } });
    const real = findEndpoint("fal-ai/infinitalk/video-to-video") as EndpointDef;
    const endpoint = { ...real, id: "fal-ai/not-built", kind: "not-built" } as unknown as EndpointDef;
    await assert.rejects(run({ requestId: "u", endpoint, input: {} }, recordingContext()), (e: unknown) =>
      e instanceof UnsupportedKindError && e.message === "fal-ai/not-built (not-built) is not available on this server yet");
    await assertNoJobDirs();
  });
});
