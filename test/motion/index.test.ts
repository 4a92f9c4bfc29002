import { test } from "node:test";
import assert from "node:assert/strict";
import { buildListenerTrack, buildMotion, buildMotionForJob, buildMotionTrack, speechActivity } from "../../src/motion/index.js";
import type { Face } from "../../src/face/types.js";
import { NEUTRAL_FRAME, type MotionFrame } from "../../src/motion/types.js";
import { bestLagCorrelation } from "../../src/motion/curves.js";
import { visibleOpening } from "../../src/motion/mouth.js";
import { frameTruth, SR, talk } from "./synth.js";

const FPS = 25;
const DEG = Math.PI / 180;
const KEYS = Object.keys(NEUTRAL_FRAME) as (keyof MotionFrame)[];

function check(frames: MotionFrame[], n: number): void {
  assert.equal(frames.length, n);
  for (const f of frames) {
    for (const k of KEYS) assert.ok(Number.isFinite(f[k]), `${k} finite`);
    assert.ok(f.jawOpen >= 0 && f.jawOpen <= 1);
    assert.ok(f.lipRound >= 0 && f.lipRound <= 1);
    assert.ok(f.lipClose >= 0 && f.lipClose <= 1);
    assert.ok(f.lipWidth >= -1 && f.lipWidth <= 1);
    assert.ok(f.smile >= -1 && f.smile <= 1);
    assert.ok(f.blinkLeft >= 0 && f.blinkLeft <= 1 && f.blinkRight >= 0 && f.blinkRight <= 1);
    assert.ok(f.browRaise >= 0 && f.browRaise <= 1);
  }
}

const { spec, pcm } = talk(10, 21);
const N = 250;

test("buildMotionTrack: one frame per video frame, all fields in range, lip-synced, deterministic", () => {
  const frames = buildMotionTrack({ pcm, numFrames: N, fps: FPS, seed: 42, prompt: "" });
  check(frames, N);
  const truth = frameTruth(spec, FPS, N);
  const r = bestLagCorrelation(frames.map((f) => f.jawOpen), truth.env, 3);
  assert.ok(r.r >= 0.8 && r.lag >= 1 && r.lag <= 2, `r ${r.r} lag ${r.lag}`);
  // What the face shows (jaw opening less lip closure) tracks the sound as well.
  const shown = bestLagCorrelation(frames.map((f) => visibleOpening(f.jawOpen, f.lipClose)), truth.env, 3);
  assert.ok(shown.r >= 0.8 && shown.lag >= 1 && shown.lag <= 2, `visible r ${shown.r} lag ${shown.lag}`);
  const again = buildMotionTrack({ pcm, numFrames: N, fps: FPS, seed: 42, prompt: "" });
  assert.deepEqual(again, frames);
  const other = buildMotionTrack({ pcm, numFrames: N, fps: FPS, seed: 7, prompt: "" });
  assert.notDeepEqual(other.map((f) => f.headYaw), frames.map((f) => f.headYaw));
  // The mouth follows the audio, not the seed.
  assert.deepEqual(other.map((f) => f.jawOpen), frames.map((f) => f.jawOpen));
});

test("buildMotionTrack: the prompt's mood shows (smile baseline, calmer head)", () => {
  const neutral = buildMotionTrack({ pcm, numFrames: N, fps: FPS, seed: 1, prompt: "a person talking" });
  const smiling = buildMotionTrack({ pcm, numFrames: N, fps: FPS, seed: 1, prompt: "a person smiling" });
  const calm = buildMotionTrack({ pcm, numFrames: N, fps: FPS, seed: 1, prompt: "calm" });
  const energetic = buildMotionTrack({ pcm, numFrames: N, fps: FPS, seed: 1, prompt: "energetic" });
  const mean = (fr: MotionFrame[], k: keyof MotionFrame) => fr.reduce((s, f) => s + f[k], 0) / fr.length;
  assert.ok(mean(smiling, "smile") > mean(neutral, "smile") + 0.3);
  const motion = (fr: MotionFrame[]) => fr.reduce((s, f, i) => (i ? s + Math.abs(f.headPitch - fr[i - 1].headPitch) + Math.abs(f.headYaw - fr[i - 1].headYaw) : s), 0);
  assert.ok(motion(calm) < 0.7 * motion(energetic), `calm ${motion(calm)} energetic ${motion(energetic)}`);
  const whisper = buildMotionTrack({ pcm, numFrames: N, fps: FPS, seed: 1, prompt: "whispering" });
  assert.ok(mean(whisper, "jawOpen") < 0.8 * mean(neutral, "jawOpen"));
});

test("buildMotionTrack: phonemes give the shape; PCM shorter than the video is silence", () => {
  const short = { sampleRate: SR, samples: pcm.samples.subarray(0, SR * 2) };
  const phonemes = [
    { phoneme: "m", start: 0.5, end: 0.62 },
    { phoneme: "ɑ", start: 0.62, end: 0.9 },
    { phoneme: "u", start: 0.9, end: 1.2 },
  ];
  const frames = buildMotionTrack({ pcm: short, phonemes, numFrames: 100, fps: FPS, seed: 3 });
  check(frames, 100);
  assert.ok(frames[13].lipClose > 0.8, `m closes: ${frames[13].lipClose}`);
  assert.ok(frames[18].jawOpen > 0.4, `a opens: ${frames[18].jawOpen}`);
  assert.ok(frames[25].lipRound > 0.6, `u rounds: ${frames[25].lipRound}`);
  // Past the audio's end: closed mouth.
  for (let i = 60; i < 100; i++) assert.ok(frames[i].jawOpen < 0.02);
  assert.deepEqual(buildMotionTrack({ pcm: short, numFrames: 0, fps: FPS, seed: 1 }), []);
  assert.throws(() => buildMotionTrack({ pcm: short, numFrames: -1, fps: FPS, seed: 1 }), RangeError);
});

test("buildListenerTrack: mouth closed, eyes blink, head turns toward the speaker", () => {
  const act = speechActivity(pcm, N, FPS);
  assert.ok(act.some((v) => v === 1) && act.some((v) => v === 0));
  const frames = buildListenerTrack({ speakerActivity: act, numFrames: N, fps: FPS, seed: 5, towardX: -1 });
  check(frames, N);
  assert.ok(frames.every((f) => f.jawOpen === 0 && f.lipClose > 0.5));
  assert.ok(frames.some((f) => f.blinkLeft > 0.9));
  const yaw = frames.reduce((s, f) => s + f.headYaw, 0) / N;
  assert.ok(yaw < -1 * DEG, `listener turns left: ${(yaw / DEG).toFixed(2)} deg`);
});

test("buildMotion: a conversation of two faces; each talks in turn and turns toward the other", () => {
  // Face 0 (left) talks in the first half, face 1 (right) in the second.
  const n = 250;
  const a = new Float32Array(SR * 10);
  const b = new Float32Array(SR * 10);
  a.set(pcm.samples.subarray(0, SR * 5), 0);
  b.set(pcm.samples.subarray(SR * 5, SR * 10), SR * 5);
  const [left, right] = buildMotion({
    faces: [{ pcm: { sampleRate: SR, samples: a }, x: 200 }, { pcm: { sampleRate: SR, samples: b }, x: 800 }],
    numFrames: n,
    fps: FPS,
    seed: 42,
    prompt: "",
  });
  check(left, n);
  check(right, n);
  const meanOf = (fr: MotionFrame[], k: keyof MotionFrame, i0: number, i1: number) =>
    fr.slice(i0, i1).reduce((s, f) => s + f[k], 0) / (i1 - i0);
  // Mouths: each opens only in its own half.
  assert.ok(meanOf(left, "jawOpen", 10, 120) > 4 * meanOf(left, "jawOpen", 135, 250));
  assert.ok(meanOf(right, "jawOpen", 135, 250) > 4 * meanOf(right, "jawOpen", 0, 120));
  // The silent face turns toward the talking one (left face looks right, and vice versa).
  assert.ok(meanOf(left, "headYaw", 140, 240) > meanOf(left, "headYaw", 20, 110) + 1 * DEG);
  assert.ok(meanOf(right, "headYaw", 20, 110) < meanOf(right, "headYaw", 140, 240) - 1 * DEG);
  // Different faces, different life.
  assert.notDeepEqual(left.map((f) => f.blinkLeft), right.map((f) => f.blinkLeft));
  // A third face without a voice listens.
  const three = buildMotion({ faces: [{ pcm: { sampleRate: SR, samples: a }, x: 0 }, { x: 500 }], numFrames: n, fps: FPS, seed: 1 });
  assert.ok(three[1].every((f) => f.jawOpen === 0));
  assert.ok(meanOf(three[1], "headYaw", 20, 110) < -1 * DEG);
});

test("buildMotionForJob: tracks go to their faces by faceIndex, faces placed by their boxes", () => {
  const face = (x: number): Face => ({
    box: { x, y: 100, width: 200, height: 200 },
    score: 0.9,
    mesh: new Float32Array(478 * 3),
    pose: { yaw: 0, pitch: 0, roll: 0 },
  });
  const n = 250;
  const out = buildMotionForJob({
    faces: [face(900), face(100)],
    // The only voice belongs to face 1 (the left one); a voice without a face is ignored.
    tracks: [{ pcm, faceIndex: 1 }, { pcm, faceIndex: null }],
    numFrames: n,
    fps: FPS,
    seed: 42,
    prompt: "",
  });
  assert.equal(out.length, 2);
  check(out[0], n);
  check(out[1], n);
  assert.ok(out[0].every((f) => f.jawOpen === 0), "face 0 has no voice: it listens");
  assert.ok(out[1].some((f) => f.jawOpen > 0.4), "face 1 talks");
  // Face 0 (right) turns toward face 1 (left): negative yaw on average.
  const yaw = out[0].reduce((s, f) => s + f.headYaw, 0) / n;
  assert.ok(yaw < -1 * DEG, `yaw ${(yaw / DEG).toFixed(2)} deg`);
  // The talking face moves as buildMotionTrack's (face index 1 seed).
  const alone = buildMotionTrack({ pcm, numFrames: n, fps: FPS, seed: 42, prompt: "", faceIndex: 1 });
  assert.deepEqual(out[1].map((f) => f.jawOpen), alone.map((f) => f.jawOpen));
  assert.deepEqual(buildMotionForJob({ faces: [], tracks: [{ pcm, faceIndex: null }], numFrames: n, fps: FPS, seed: 1, prompt: "" }), []);
});
