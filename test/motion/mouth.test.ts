import { test } from "node:test";
import assert from "node:assert/strict";
import { extractFeatures } from "../../src/motion/features.js";
import { mouthFromAudio, closureDips } from "../../src/motion/mouth.js";
import { bestLagCorrelation, pearson } from "../../src/motion/curves.js";
import { frameTruth, synthesize, talk, SR, type SpeechSpec } from "./synth.js";

const FPS = 25;

function mean(xs: ArrayLike<number>, pick: (i: number) => boolean): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < xs.length; i++) if (pick(i)) {
    s += xs[i];
    c++;
  }
  return s / c;
}

// One 12 s synthetic talk shared by the tests below (features take ~0.5 s).
const { spec, pcm } = talk(12, 7);
const numFrames = Math.round(12 * FPS);
const features = extractFeatures(pcm, { fps: FPS, numFrames });
const mouth = mouthFromAudio(features);
const truth = frameTruth(spec, FPS, numFrames);

test("jawOpen tracks the loudness envelope (r >= 0.8), leading it by 1-2 frames", () => {
  const lin = bestLagCorrelation(mouth.jawOpen, truth.env, 4);
  assert.ok(lin.r >= 0.8, `r vs linear envelope ${lin.r.toFixed(3)}`);
  assert.ok(lin.lag >= 1 && lin.lag <= 2, `best lag ${lin.lag} (positive = mouth leads)`);
  // Also against the measured frame RMS (what a lip-sync check would use).
  const rms = bestLagCorrelation(mouth.jawOpen, features.rms, 4);
  assert.ok(rms.r >= 0.8, `r vs frame rms ${rms.r.toFixed(3)}`);
  assert.ok(rms.lag >= 1 && rms.lag <= 2, `best lag vs rms ${rms.lag}`);
  // Syllables are not smoothed away: the curve rises and falls with them.
  assert.ok(pearson(mouth.jawOpen, truth.env) >= 0.6);
});

test("mouth is closed in pauses: mean opening in silence <= 25% of the mean while speaking", () => {
  const speaking = mean(mouth.jawOpen, (i) => !truth.silent[i]);
  const silent = mean(mouth.jawOpen, (i) => truth.silent[i] === 1);
  assert.ok(speaking > 0.2, `mean while speaking ${speaking.toFixed(3)}`);
  assert.ok(silent <= 0.25 * speaking, `silence ${silent.toFixed(3)} vs speaking ${speaking.toFixed(3)}`);
  // Lips together in pauses.
  const closeInPause = mean(mouth.lipClose, (i) => truth.silent[i] === 1 && truth.silent[i - 2] === 1 && truth.silent[i + 2] === 1);
  assert.ok(closeInPause >= 0.45, `lipClose in pauses ${closeInPause.toFixed(3)}`);
});

test("opening depends on the speaker's own level, not the absolute level", () => {
  const quiet = { sampleRate: SR, samples: pcm.samples.map((v) => v * 0.05) };
  const m2 = mouthFromAudio(extractFeatures(quiet, { fps: FPS, numFrames }));
  const r = pearson(mouth.jawOpen, m2.jawOpen);
  assert.ok(r > 0.95, `r ${r}`);
  const a = mean(mouth.jawOpen, () => true);
  const b = mean(m2.jawOpen, () => true);
  assert.ok(Math.abs(a - b) < 0.1 * a, `means ${a} vs ${b}`);
});

test("a short energy dip between vowels closes the lips (bilabial-like)", () => {
  // "a-ba": two vowels, then the same with a 90 ms near-silent closure between them.
  const s: SpeechSpec = {
    duration: 1.6,
    syllables: [
      { start: 0.3, dur: 0.34, vowel: "a", amp: 0.3, f0: 120 },
      { start: 0.73, dur: 0.34, vowel: "a", amp: 0.3, f0: 120 },
    ],
  };
  const f = extractFeatures(synthesize(s), { fps: FPS });
  const dips = closureDips(f);
  const m = mouthFromAudio(f);
  // The gap is centred near 0.685 s -> frames 16-17.
  const dipFrame = [15, 16, 17, 18].reduce((a, b) => (dips[b] > dips[a] ? b : a));
  assert.ok(dips[dipFrame] >= 0.4, `dip strength ${dips[dipFrame]}`);
  const closeAtDip = Math.max(...[14, 15, 16, 17].map((i) => m.lipClose[i]));
  assert.ok(closeAtDip >= 0.35, `lipClose at dip ${closeAtDip}`);
  const jawAtDip = Math.min(...[14, 15, 16, 17].map((i) => m.jawOpen[i]));
  const jawVowel = Math.max(...m.jawOpen);
  assert.ok(jawAtDip < 0.35 * jawVowel, `jaw at dip ${jawAtDip} vs vowel ${jawVowel}`);
});

test("fricatives open the mouth less than vowels of similar loudness", () => {
  const s: SpeechSpec = {
    duration: 2,
    syllables: [{ start: 0.3, dur: 0.4, vowel: "a", amp: 0.2, f0: 130 }],
    fricatives: [{ start: 1.1, dur: 0.4, amp: 0.5 }],
  };
  const f = extractFeatures(synthesize(s), { fps: FPS });
  const m = mouthFromAudio(f);
  const vowelFrames = [10, 11, 12];
  const fricFrames = [31, 32, 33];
  const lv = mean(f.fullDb, (i) => vowelFrames.includes(i));
  const lf = mean(f.fullDb, (i) => fricFrames.includes(i));
  assert.ok(Math.abs(lv - lf) < 6, `levels vowel ${lv} fricative ${lf}`);
  const jv = mean(m.jawOpen, (i) => vowelFrames.includes(i - 1));
  const jf = mean(m.jawOpen, (i) => fricFrames.includes(i - 1));
  assert.ok(jf < 0.6 * jv, `jaw vowel ${jv} fricative ${jf}`);
});

test("bright vowels (i) spread the lips, dark ones (u) round them", () => {
  const mk = (vowel: "i" | "u" | "a") => ({ start: 0, dur: 0.5, vowel, amp: 0.25, f0: 120 });
  const s: SpeechSpec = {
    duration: 3.2,
    syllables: [
      { ...mk("a"), start: 0.2 }, { ...mk("i"), start: 0.8 }, { ...mk("u"), start: 1.4 },
      { ...mk("a"), start: 2.0 }, { ...mk("i"), start: 2.6 },
    ],
  };
  const f = extractFeatures(synthesize(s), { fps: FPS });
  const m = mouthFromAudio(f);
  const centre = (t: number) => Math.round(t * FPS);
  const iFrames = [centre(1.05), centre(2.85)];
  const uFrames = [centre(1.65)];
  const wI = mean(m.lipWidth, (i) => iFrames.includes(i));
  const wU = mean(m.lipWidth, (i) => uFrames.includes(i));
  const rI = mean(m.lipRound, (i) => iFrames.includes(i));
  const rU = mean(m.lipRound, (i) => uFrames.includes(i));
  assert.ok(wI > 0.1 && wI > wU + 0.2, `width i ${wI} u ${wU}`);
  assert.ok(rU > 0.1 && rU > rI + 0.1, `round u ${rU} i ${rI}`);
});

test("digital silence gives a closed, still mouth and no NaN", () => {
  const f = extractFeatures({ sampleRate: SR, samples: new Float32Array(SR * 2) }, { fps: FPS });
  const m = mouthFromAudio(f);
  assert.equal(f.numFrames, 50);
  for (const k of ["jawOpen", "lipWidth", "lipRound", "lipClose"] as const) {
    for (const v of m[k]) assert.ok(Number.isFinite(v));
  }
  assert.equal(Math.max(...m.jawOpen), 0);
  assert.ok(m.lipClose[25] > 0.5);
});

test("a closed jaw means closed lips (the renderer draws jawOpen 0 as the photo's own lip gap)", () => {
  let checked = 0;
  for (let i = 0; i < numFrames; i++) {
    if (mouth.jawOpen[i] < 0.02) {
      assert.ok(mouth.lipClose[i] >= 0.55, `frame ${i}: jaw ${mouth.jawOpen[i]} lipClose ${mouth.lipClose[i]}`);
      checked++;
    }
    if (mouth.jawOpen[i] > 0.3) assert.ok(mouth.lipClose[i] < 0.3, `frame ${i}: open jaw, lips apart`);
  }
  assert.ok(checked > 20);
});
