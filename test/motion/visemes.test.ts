import { test } from "node:test";
import assert from "node:assert/strict";
import {
  JAW_SCALE,
  combineVisemes,
  detectNotation,
  visemeFor,
  visemeNames,
  visemesFromPhonemes,
} from "../../src/motion/visemes.js";
import { extractFeatures } from "../../src/motion/features.js";
import type { PhonemeTiming } from "../../src/motion/types.js";
import { synthesize } from "./synth.js";

const FPS = 25;

/** Phonemes laid end to end, each `dur` seconds, starting at `t0`. */
function seq(symbols: string[], dur = 0.16, t0 = 0.2): PhonemeTiming[] {
  return symbols.map((p, i) => ({ phoneme: p, start: t0 + i * dur, end: t0 + (i + 1) * dur }));
}

/** The frame whose sample time (centre + 40 ms anticipation) is the middle of phoneme k. */
function midFrame(ph: PhonemeTiming[], k: number): number {
  const t = (ph[k].start + ph[k].end) / 2 - 0.04;
  return Math.round(t * FPS - 0.5);
}

test("m/b/p close the lips; a opens the jaw; u/o round; i spreads (IPA, eSpeak, ARPAbet)", () => {
  const cases: { name: string; syms: string[] }[] = [
    { name: "ipa", syms: ["ɑ", "m", "ɑ", "b", "ɑ", "p", "u", "t", "o", "s", "i"] },
    { name: "espeak", syms: ["A:", "m", "A:", "b", "A:", "p", "u:", "t", "o", "s", "i:"] },
    { name: "arpabet", syms: ["AA1", "M", "AA0", "B", "AA1", "P", "UW1", "T", "OW0", "S", "IY1"] },
  ];
  for (const c of cases) {
    const ph = seq(c.syms);
    const n = Math.ceil((ph[ph.length - 1].end + 0.3) * FPS);
    const v = visemesFromPhonemes(ph, FPS, n);
    for (const k of [1, 3, 5]) {
      const i = midFrame(ph, k);
      assert.ok(v.lipClose[i] >= 0.8, `${c.name}: lipClose at ${c.syms[k]} = ${v.lipClose[i]}`);
      assert.ok(v.jawOpen[i] <= 0.2, `${c.name}: jaw at ${c.syms[k]} = ${v.jawOpen[i]}`);
    }
    for (const k of [0, 2, 4]) {
      const i = midFrame(ph, k);
      assert.ok(v.jawOpen[i] >= 0.7, `${c.name}: jaw at ${c.syms[k]} = ${v.jawOpen[i]}`);
      assert.ok(v.lipClose[i] <= 0.2, `${c.name}: lipClose at ${c.syms[k]} = ${v.lipClose[i]}`);
    }
    const u = midFrame(ph, 6);
    const o = midFrame(ph, 8);
    const i = midFrame(ph, 10);
    assert.ok(v.lipRound[u] >= 0.7, `${c.name}: round at u ${v.lipRound[u]}`);
    assert.ok(v.lipRound[o] >= 0.5, `${c.name}: round at o ${v.lipRound[o]}`);
    assert.ok(v.lipWidth[u] < -0.3, `${c.name}: width at u ${v.lipWidth[u]}`);
    assert.ok(v.lipWidth[i] >= 0.4, `${c.name}: width at i ${v.lipWidth[i]}`);
    assert.ok(v.lipRound[i] <= 0.1, `${c.name}: round at i ${v.lipRound[i]}`);
  }
});

test("notation detection and symbol normalisation", () => {
  assert.equal(detectNotation(["h", "ə", "l", "oʊ"]), "ipa");
  assert.equal(detectNotation(["HH", "AH0", "L", "OW1"]), "arpabet");
  assert.equal(detectNotation(["hh", "ax", "l", "ow", "pau"]), "arpabet");
  assert.equal(detectNotation(["h", "@", "l", "oU"]), "espeak");
  // The same letter means different sounds: eSpeak S = ʃ (rounded), ARPAbet S = s (spread).
  assert.equal(visemeFor("S", "espeak").name, "SH");
  assert.equal(visemeFor("S", "arpabet").name, "SZ");
  // Stress, length and diacritics are ignored; diphthongs give two shapes; silences are silence.
  assert.deepEqual(visemeNames("ˈɑː", "ipa"), ["AA"]);
  assert.deepEqual(visemeNames("'A:", "espeak"), ["AA"]);
  assert.deepEqual(visemeNames("aɪ", "ipa"), ["AA", "IH"]);
  assert.deepEqual(visemeNames("aI", "espeak"), ["AA", "IH"]);
  assert.deepEqual(visemeNames("AY1", "arpabet"), ["AA", "IH"]);
  assert.deepEqual(visemeNames("m̩", "ipa"), ["PBM"]);
  assert.deepEqual(visemeNames("ɑ̃", "ipa"), ["AA"]);
  assert.deepEqual(visemeNames("tʃ", "ipa"), ["SH"]);
  assert.deepEqual(visemeNames("_", "ipa"), ["SIL"]);
  assert.deepEqual(visemeNames("pau", "arpabet"), ["SIL"]);
  assert.deepEqual(visemeNames("I2", "espeak"), ["IH"]);
  assert.equal(visemeFor("!!").name, "UNKNOWN");
  // A run of symbols in one token is split greedily (longest match first).
  assert.deepEqual(visemeNames("mɑtʃ", "ipa"), ["PBM", "AA", "SH"]);
});

test("coarticulation: rounding anticipates a rounded vowel; shapes blend without jumps", () => {
  // "s t u": the lips round already during the consonants before u (which dominate the lips weakly).
  const ph = seq(["i", "s", "t", "u"], 0.12);
  const n = 40;
  const v = visemesFromPhonemes(ph, FPS, n);
  const tFrame = midFrame(ph, 2);
  const sFrame = midFrame(ph, 1);
  assert.ok(v.lipRound[tFrame] > 0.2, `round on t before u: ${v.lipRound[tFrame]}`);
  assert.ok(v.lipRound[tFrame] > v.lipRound[sFrame], "rounding grows toward the u");
  // Without the u (followed by i), the t is not rounded.
  const v2 = visemesFromPhonemes(seq(["i", "s", "t", "i"], 0.12), FPS, n);
  assert.ok(v2.lipRound[tFrame] < 0.05, `round on t before i: ${v2.lipRound[tFrame]}`);
  // No frame-to-frame jump larger than the biggest phoneme change.
  const many = seq(["h", "ə", "l", "oʊ", "w", "ɝ", "l", "d", "_", "p", "ɑ", "p", "ə"], 0.09);
  const w = visemesFromPhonemes(many, FPS, 45);
  for (let i = 1; i < 45; i++) assert.ok(Math.abs(w.jawOpen[i] - w.jawOpen[i - 1]) < 0.6);
});

test("anticipation: the shape is reached about one frame before the sound", () => {
  const ph: PhonemeTiming[] = [{ phoneme: "m", start: 0, end: 0.4 }, { phoneme: "ɑ", start: 0.4, end: 1.0 }];
  const a = visemesFromPhonemes(ph, FPS, 30, { anticipation: 0.04 });
  const b = visemesFromPhonemes(ph, FPS, 30, { anticipation: 0 });
  const firstOpen = (x: Float32Array) => x.findIndex((v) => v > 0.45);
  assert.equal(firstOpen(b.jawOpen) - firstOpen(a.jawOpen), 1);
  // Before the first phoneme and after the last: silence (lips together, jaw closed).
  const late = visemesFromPhonemes(ph, FPS, 40);
  assert.ok(late.jawOpen[38] < 0.05 && late.lipClose[38] > 0.5);
  assert.equal(late.speaking[10], 1);
  assert.equal(late.speaking[38], 0);
});

test("combiner: the shape comes from the phonemes, the loudness scales it", () => {
  const ph = seq(["ɑ", "m", "ɑ", "m", "ɑ"], 0.2, 0.2);
  const n = 35;
  const vis = visemesFromPhonemes(ph, FPS, n);
  const loud = synthesize({
    duration: n / FPS,
    syllables: [0, 2, 4].map((k) => ({ start: ph[k].start, dur: 0.2, vowel: "a" as const, amp: k === 2 ? 0.05 : 0.3, f0: 120 })),
  });
  const f = extractFeatures(loud, { fps: FPS, numFrames: n });
  const m = combineVisemes(vis, f);
  const a0 = midFrame(ph, 0);
  const a2 = midFrame(ph, 2);
  const m1 = midFrame(ph, 1);
  // The quiet middle vowel opens less than the loud first one, but still opens (shape from phonemes).
  assert.ok(m.jawOpen[a2] < 0.85 * m.jawOpen[a0], `quiet ${m.jawOpen[a2]} loud ${m.jawOpen[a0]}`);
  assert.ok(m.jawOpen[a2] > 0.2, `quiet vowel still opens: ${m.jawOpen[a2]}`);
  assert.ok(m.lipClose[m1] >= 0.8, `m closes: ${m.lipClose[m1]}`);
  // Without audio the visemes pass through (scaled).
  const alone = combineVisemes(vis, null);
  assert.ok(Math.abs(alone.jawOpen[a0] - 0.9 * JAW_SCALE) < 0.1, `"ɑ" alone opens to ${alone.jawOpen[a0]}, about 0.9 x JAW_SCALE`);
});

test("odd input: unsorted, overlapping, zero-length and unknown phonemes do not throw", () => {
  const ph: PhonemeTiming[] = [
    { phoneme: "ɑ", start: 0.5, end: 0.7 },
    { phoneme: "b", start: 0.3, end: 0.5 },
    { phoneme: "??", start: 0.7, end: 0.7 },
    { phoneme: "qqq", start: 0.7, end: 0.9 },
    { phoneme: "i", start: 0.85, end: 1.2 },
  ];
  const v = visemesFromPhonemes(ph, FPS, 40);
  for (const k of ["jawOpen", "lipWidth", "lipRound", "lipClose"] as const) {
    for (const x of v[k]) assert.ok(Number.isFinite(x));
  }
  assert.ok(v.lipClose[midFrame([{ phoneme: "b", start: 0.3, end: 0.5 }], 0)] > 0.8);
  assert.equal(visemesFromPhonemes([], FPS, 10).jawOpen.length, 10);
});
