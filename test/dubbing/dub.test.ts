/**
 * Dubbing bars (issue 6), judged on the MP4s by the INDEPENDENT face-api judge (test/support/judge.ts). The source
 * comes from the real pipeline runner (real face analyzer, production ClassicalEngine); the dub is the
 * video-to-video kind runner with the real analyzer for the reference frames and the fast analyzer
 * (tiles: false, refine: false) as its tracker, as production should wire it (the default runner, through
 * createPipelineRunner, is exercised in decode.test.ts):
 *   - the source: our own engine animates a real photo (face-api's sample6) with speech A (Flite): its mouth
 *     follows A (checked, so that what follows means something);
 *   - dubbed with speech B (another text, another voice): the output mouth follows B (r >= 0.5 at the best lag
 *     within ±2 frames) and no longer follows A (r <= 0.2 at any lag within ±2);
 *   - outside the face region, the output equals the source frames: PSNR >= 40 dB (both decoded MP4s); so do the
 *     eyes and brows (the source's blinks and gaze are kept).
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { findEndpoint, type EndpointDef } from "../../src/api/endpoints.js";
import { loadConfig } from "../../src/config.js";
import { createFaceAnalyzer, type FaceAnalyzer } from "../../src/face/index.js";
import type { Pcm, RawImage } from "../../src/media/types.js";
import { resolveBinaries } from "../../src/media/ffmpeg.js";
import { createPipelineRunner } from "../../src/pipeline/index.js";
import { resolveLimits, withJobDir, type StepEnv } from "../../src/pipeline/steps.js";
import { createVideoToVideoRunner } from "../../src/pipeline/video.js";
import { ClassicalEngine } from "../../src/render/engine.js";
import { createSpeechSynthesizer, encodeWav, type Synthesizer } from "../../src/speech/index.js";
import { loadPortraitFixture } from "../support/face-fixtures.js";
import { bestLagCorrelation, createJudge, loudnessEnvelope, readVideoFrames, type Judge } from "../support/judge.js";
import { FolderStorage, memoryLogger, recordingContext, tempDir } from "../support/media-fixtures.js";

const config = loadConfig({}, { dataDir: "/tmp/mouthpiece-test-unused" });
/** Keep the videos (MOUTHPIECE_TEST_KEEP=dir). */
const keep = process.env.MOUTHPIECE_TEST_KEEP;
const NUM_FRAMES = 150;
const SAID_A = "The harbour was quiet this morning. Two boats came in. Then it rained, so I went home.";
const SAID_B = "Call me back. I have news about the garden. The old red car is sold. See you soon!";

function endpoint(id: string): EndpointDef {
  const e = findEndpoint(id);
  assert.ok(e, id);
  return e;
}

let dir: string;
let cleanup: () => Promise<void>;
let storage: FolderStorage;
let analyzer: FaceAnalyzer;
let speech: Synthesizer;
let judge: Judge;
let pcmA: Pcm;
let pcmB: Pcm;
let sourceVideo: string;
let dubbedVideo: string;
let dubLogs: string[];

const wavUrl = (pcm: Pcm) => `data:audio/wav;base64,${Buffer.from(encodeWav(pcm)).toString("base64")}`;

async function framesOf(video: string): Promise<RawImage[]> {
  const out: RawImage[] = [];
  for await (const f of readVideoFrames(video)) out.push(f);
  return out;
}

before(async () => {
  ({ dir, cleanup } = await tempDir("mp-dub-"));
  storage = new FolderStorage(path.join(dir, "storage"));
  judge = await createJudge();
  [analyzer, speech] = await Promise.all([createFaceAnalyzer(), createSpeechSynthesizer()]);
  const fast = await createFaceAnalyzer({ tiles: false, refine: false });
  const fx = await loadPortraitFixture({ width: 854, height: 480 });
  const [a, b] = await Promise.all([speech.speak({ text: SAID_A, voice: "Brian" }), speech.speak({ text: SAID_B, voice: "Aria" })]);
  pcmA = a.pcm;
  pcmB = b.pcm;
  const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine: new ClassicalEngine(), faceDetector: analyzer, speech });
  const base = { prompt: "a man talking", num_frames: NUM_FRAMES, resolution: "480p", seed: 3, acceleration: "regular" };
  const src = await run({ requestId: "source", endpoint: endpoint("fal-ai/infinitalk"), input: {
    ...base, image_url: `data:image/png;base64,${fx.png.toString("base64")}`, audio_url: wavUrl(pcmA),
  } }, recordingContext());
  sourceVideo = storage.pathOf(storage.keyFromUrl(src.video.url) as string);
  const ctx = recordingContext();
  const env: StepEnv = {
    config, storage, logger: memoryLogger(), engine: new ClassicalEngine(), faceDetector: analyzer,
    bins: resolveBinaries(config), limits: resolveLimits(config), speech: async () => speech,
  };
  const dubRunner = createVideoToVideoRunner({ trackDetector: fast });
  const videoUrl = `data:video/mp4;base64,${(await readFile(sourceVideo)).toString("base64")}`;
  const dub = await withJobDir(dir, (jobDir) => dubRunner(env, { requestId: "dubbed", dir: jobDir, ctx, controller: new AbortController() }, {
    requestId: "dubbed", endpoint: endpoint("fal-ai/infinitalk/video-to-video"),
    input: { ...base, video_url: videoUrl, audio_url: wavUrl(pcmB) },
  }));
  dubbedVideo = storage.pathOf(storage.keyFromUrl(dub.video.url) as string);
  dubLogs = ctx.logs.map((l) => l.message);
  if (keep) {
    console.log(dubLogs.join("\n"));
    await writeFile(path.join(keep, "dub-source.mp4"), await readFile(sourceVideo));
    await writeFile(path.join(keep, "dub-output.mp4"), await readFile(dubbedVideo));
  }
  await speech.close();
});
after(async () => {
  await cleanup?.();
});

describe("dubbing (fal-ai/infinitalk/video-to-video)", () => {
  it("speech A and B are different (their loudness does not correlate), else the bars below mean nothing", () => {
    const { r } = bestLagCorrelation(loudnessEnvelope(pcmA, 25).slice(0, NUM_FRAMES), loudnessEnvelope(pcmB, 25).slice(0, NUM_FRAMES), 2);
    assert.ok(r < 0.2, `A/B loudness r = ${r.toFixed(3)}`);
  });

  it("the output mouth follows B and no longer follows A; the source followed A", async () => {
    const loudA = loudnessEnvelope(pcmA, 25).slice(0, NUM_FRAMES);
    const loudB = loudnessEnvelope(pcmB, 25).slice(0, NUM_FRAMES);
    const srcOpen = await judge.mouthOpenings(readVideoFrames(sourceVideo), { redetectEvery: 50 });
    const outOpen = await judge.mouthOpenings(readVideoFrames(dubbedVideo), { redetectEvery: 50 });
    const srcA = bestLagCorrelation(loudA, srcOpen, 2);
    const outB = bestLagCorrelation(loudB, outOpen, 2);
    const outA = bestLagCorrelation(loudA, outOpen, 2);
    const msg = `source~A r=${srcA.r.toFixed(3)} lag ${srcA.lag}; output~B r=${outB.r.toFixed(3)} lag ${outB.lag}; output~A r=${outA.r.toFixed(3)} lag ${outA.lag}`;
    console.log(msg);
    assert.equal(outOpen.filter(Number.isFinite).length, NUM_FRAMES, "the judge finds the face on every output frame");
    assert.ok(srcA.r >= 0.5, msg);
    assert.ok(outB.r >= 0.5, msg);
    assert.ok(Math.abs(outB.lag) <= 2, msg);
    assert.ok(outA.r <= 0.2, msg);
  });

  it("outside the face region, and on the eyes and brows (blinks), the output equals the source (PSNR >= 40 dB)", async () => {
    const src = await framesOf(sourceVideo);
    const out = await framesOf(dubbedVideo);
    assert.equal(out.length, NUM_FRAMES);
    const faces = await analyzer.detect(src[0]);
    assert.ok(faces.length > 0);
    const b = faces[0].box;
    const noseTipY = faces[0].mesh[1 * 3 + 1];
    // The face region: the face's mesh bounds grown by a quarter of its width to the sides and 30% below.
    const x0 = b.x - 0.25 * b.width, x1 = b.x + 1.25 * b.width, y0 = b.y - 0.1 * b.height, y1 = b.y + 1.3 * b.height;
    // The upper face: the face's width, from its top to a tenth of its height above the nose tip (eyes, brows).
    const eyesY1 = noseTipY - 0.1 * b.height;
    let se = 0, n = 0, seEyes = 0, nEyes = 0;
    for (let i = 0; i < NUM_FRAMES; i++) {
      const s = src[i].data, o = out[i].data, w = src[i].width;
      for (let y = 0; y < src[i].height; y++) {
        const inY = y >= y0 && y < y1;
        const eyesRow = y >= b.y && y < eyesY1;
        for (let x = 0; x < w; x++) {
          const p = (y * w + x) * 3;
          let d2 = 0;
          for (let c = 0; c < 3; c++) d2 += (s[p + c] - o[p + c]) ** 2;
          if (eyesRow && x >= b.x && x < b.x + b.width) {
            seEyes += d2;
            nEyes += 3;
          }
          if (inY && x >= x0 && x < x1) continue;
          se += d2;
          n += 3;
        }
      }
    }
    const psnr = 10 * Math.log10((255 * 255) / (se / n));
    const psnrEyes = 10 * Math.log10((255 * 255) / (seEyes / nEyes));
    console.log(`PSNR outside the face region: ${psnr.toFixed(2)} dB; eyes and brows: ${psnrEyes.toFixed(2)} dB`);
    assert.ok(psnr >= 40, `PSNR ${psnr.toFixed(2)} dB`);
    assert.ok(psnrEyes >= 40, `PSNR eyes and brows ${psnrEyes.toFixed(2)} dB`);
  });

  it("logs the tracking and the stages", () => {
    assert.ok(dubLogs.some((m) => /^tracking: \d+ key frames, 0 cut\(s\), face on 150\/150 frames/.test(m)), dubLogs.join("\n"));
    assert.ok(dubLogs.some((m) => m.startsWith("dub + encode 150 frames")), dubLogs.join("\n"));
  });
});
