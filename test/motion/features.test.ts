import { test } from "node:test";
import assert from "node:assert/strict";
import { extractFeatures, quantile } from "../../src/motion/features.js";
import { frameTruth, mulberry, SR, synthesize, talk } from "./synth.js";

const FPS = 25;

test("one analysis window per video frame, centred on the frame: a burst lands on its frame", () => {
  const samples = new Float32Array(SR * 2);
  // A 40 ms 200 Hz burst exactly inside frame 20 (0.80-0.84 s).
  for (let i = Math.round(0.8 * SR); i < Math.round(0.84 * SR); i++) samples[i] = 0.5 * Math.sin((2 * Math.PI * 200 * i) / SR);
  const f = extractFeatures({ sampleRate: SR, samples }, { fps: FPS });
  assert.equal(f.numFrames, 50);
  assert.equal(f.windowSize, 1024);
  let best = 0;
  for (let i = 1; i < f.numFrames; i++) if (f.rms[i] > f.rms[best]) best = i;
  assert.equal(best, 20);
  // Explicit numFrames longer than the audio: the extra frames are silent, not errors.
  const g = extractFeatures({ sampleRate: SR, samples }, { fps: FPS, numFrames: 60 });
  assert.equal(g.rms.length, 60);
  assert.equal(g.rms[59], 0);
  // Other sample rates work (window scales to ~64 ms).
  const h = extractFeatures({ sampleRate: 44100, samples: new Float32Array(44100) }, { fps: FPS });
  assert.equal(h.windowSize, 2048);
  assert.equal(h.numFrames, 25);
});

test("voice activity: speech vs pauses, with an adaptive noise floor, at any level", () => {
  for (const [loud, noiseAmp] of [[0.3, 0.0005], [0.3, 0.01], [0.02, 0.0003]] as const) {
    const { spec, pcm } = talk(12, 17, { loud, noiseAmp });
    const n = 300;
    const f = extractFeatures(pcm, { fps: FPS, numFrames: n });
    const truth = frameTruth(spec, FPS, n);
    // Judge the clear frames: sounding (voiced envelope >= 10 % of the loudness scale) or silent (nothing
    // within 60 ms); the edges between are either.
    let agree = 0;
    let judged = 0;
    for (let i = 0; i < n; i++) {
      const speaking = truth.env[i] >= 0.1 * loud;
      if (!speaking && !truth.silent[i]) continue;
      judged++;
      if ((f.speech[i] === 1) === speaking) agree++;
    }
    assert.ok(judged > 200);
    assert.ok(agree / judged >= 0.95, `loud ${loud} noise ${noiseAmp}: VAD agreement ${(agree / judged).toFixed(3)}`);
    // The floor sits near the noise level, well under speech.
    const floor = quantile(f.noiseDb, 0.5);
    const noiseDb = 20 * Math.log10(noiseAmp / Math.sqrt(3)) - 4;
    assert.ok(Math.abs(floor - noiseDb) < 10, `floor ${floor.toFixed(1)} dB vs noise ${noiseDb.toFixed(1)} dB`);
    assert.ok(f.levels.p95 > floor + 15);
  }
});

test("pitch (F0) of voiced frames is found within 3 %", () => {
  const pcm = synthesize({ duration: 1.2, syllables: [{ start: 0.1, dur: 1, vowel: "a", amp: 0.3, f0: 150 }] });
  const f = extractFeatures(pcm, { fps: FPS });
  // The synth glides from 1.06 x f0 down to 0.94 x f0 across the syllable; check the middle.
  const mid = 15; // t = 0.62 s, x = 0.52 -> f0 * (1.06 - 0.12 * 0.52) = 149.6 Hz
  assert.ok(Math.abs(f.f0[mid] - 149.6) / 149.6 < 0.03, `f0 ${f.f0[mid]}`);
  const voiced = Array.from(f.f0).filter((v) => v > 0).length;
  assert.ok(voiced >= 18, `voiced frames ${voiced}`);
  // No pitch in noise or silence.
  const rnd = mulberry(3);
  const noise = extractFeatures({ sampleRate: SR, samples: Float32Array.from({ length: SR }, () => 0.2 * (rnd() * 2 - 1)) }, { fps: FPS });
  assert.ok(Array.from(noise.f0).filter((v) => v > 0).length <= 2);
  const skip = extractFeatures(pcm, { fps: FPS, pitch: false });
  assert.equal(Math.max(...skip.f0), 0);
});

test("spectral shape: fricative hiss is flat, high and crossing; vowels are not", () => {
  const pcm = synthesize({
    duration: 1.4,
    syllables: [{ start: 0.1, dur: 0.5, vowel: "a", amp: 0.3, f0: 120 }],
    fricatives: [{ start: 0.8, dur: 0.5, amp: 0.3 }],
  });
  const f = extractFeatures(pcm, { fps: FPS });
  const v = 9;
  const s = 26;
  assert.ok(f.flatness[s] > 3 * f.flatness[v], `flatness ${f.flatness[s]} vs ${f.flatness[v]}`);
  assert.ok(f.zcr[s] > 0.3 && f.zcr[v] < 0.15, `zcr ${f.zcr[s]} vs ${f.zcr[v]}`);
  assert.ok(f.highRatioDb[s] > 0 && f.highRatioDb[v] < -20, `high ratio ${f.highRatioDb[s]} vs ${f.highRatioDb[v]}`);
  assert.ok(f.centroid[s] > 3000 && f.centroid[v] < 1500, `centroid ${f.centroid[s]} vs ${f.centroid[v]}`);
  assert.ok(f.rolloff[s] > f.rolloff[v]);
  assert.equal(f.mfcc[v].length, 0, "no MFCCs unless asked for");
  const withMfcc = extractFeatures(pcm, { fps: FPS, mfcc: true });
  assert.equal(withMfcc.mfcc[v].length, 13);
  assert.ok(withMfcc.mfcc[v].some((x) => x !== 0));
  assert.deepEqual(withMfcc.db, f.db, "the other features do not change");
  // Vowel colour: i is front (high H - M), u is back (high L - (M + H)).
  const iu = synthesize({
    duration: 1.2,
    syllables: [
      { start: 0.1, dur: 0.45, vowel: "i", amp: 0.3, f0: 120 },
      { start: 0.65, dur: 0.45, vowel: "u", amp: 0.3, f0: 120 },
    ],
  });
  const g = extractFeatures(iu, { fps: FPS });
  assert.ok(g.front[8] > g.front[22] + 10, `front i ${g.front[8]} u ${g.front[22]}`);
  assert.ok(g.back[22] > g.back[8] + 3, `back u ${g.back[22]} i ${g.back[8]}`);
});

test("bad input is rejected clearly; silence gives no NaN", () => {
  assert.throws(() => extractFeatures({ sampleRate: 0, samples: new Float32Array(10) }, { fps: FPS }), /sample rate/);
  // NaN/Infinity samples (a broken decode) are treated as silence, not propagated.
  const bad = Float32Array.from({ length: SR }, (_, i) => (i % 100 === 0 ? NaN : i % 777 === 0 ? Infinity : i < SR / 2 ? 0.1 * Math.sin(i / 5) : 0));
  const fb = extractFeatures({ sampleRate: SR, samples: bad }, { fps: FPS });
  for (const v of fb.db) assert.ok(Number.isFinite(v));
  assert.ok(fb.speech.some((v) => v === 1));
  assert.throws(() => extractFeatures({ sampleRate: SR, samples: new Float32Array(10) }, { fps: 0 }), RangeError);
  assert.throws(() => extractFeatures({ sampleRate: SR, samples: new Float32Array(10) }, { fps: FPS, windowSize: 1000 }), RangeError);
  const f = extractFeatures({ sampleRate: SR, samples: new Float32Array(SR) }, { fps: FPS });
  for (const k of ["rms", "db", "centroid", "flatness", "zcr", "f0", "activity", "noiseDb", "front", "back"] as const) {
    for (const v of f[k]) assert.ok(Number.isFinite(v), k);
  }
  assert.equal(Math.max(...f.speech), 0);
  const empty = extractFeatures({ sampleRate: SR, samples: new Float32Array(0) }, { fps: FPS });
  assert.equal(empty.numFrames, 0);
});
