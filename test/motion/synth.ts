/**
 * Speech-like test signals, generated (no files): additive harmonics of a glottal-like source with
 * formant envelopes for a few vowels, syllable amplitude envelopes at 4-5 Hz, phrases separated by
 * pauses, fricative noise bursts, and a quiet noise floor. Deterministic (own small PRNG).
 */
import type { Pcm } from "../../src/media/types.js";

export const SR = 16000;

export type Vowel = "a" | "i" | "u" | "e" | "o";
const FORMANTS: Record<Vowel, [number, number, number]> = {
  a: [800, 1250, 2600],
  e: [450, 2000, 2700],
  i: [300, 2300, 3000],
  o: [480, 850, 2500],
  u: [320, 800, 2300],
};

/** A tiny deterministic PRNG (mulberry32) for noise. */
export function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Syllable {
  start: number;
  dur: number;
  vowel: Vowel;
  /** Peak amplitude (linear). */
  amp: number;
  f0: number;
}

export interface Burst {
  start: number;
  dur: number;
  amp: number;
}

export interface SpeechSpec {
  duration: number;
  syllables: Syllable[];
  fricatives?: Burst[];
  noiseAmp?: number;
  seed?: number;
}

/** Vowel spectrum amplitude at frequency f (sum of resonance peaks, with spectral tilt). */
function formantGain(v: Vowel, f: number): number {
  const [f1, f2, f3] = FORMANTS[v];
  const peak = (fc: number, bw: number) => 1 / (1 + ((f - fc) / bw) ** 2);
  return (peak(f1, 90) + 0.6 * peak(f2, 120) + 0.3 * peak(f3, 160)) * (1 / (1 + f / 3000));
}

/** Syllable envelope: a smooth rise and fall (raised cosine, slightly skewed). */
export function syllableEnvelope(s: Syllable, t: number): number {
  const x = (t - s.start) / s.dur;
  if (x <= 0 || x >= 1) return 0;
  const y = x < 0.35 ? 0.5 - 0.5 * Math.cos((Math.PI * x) / 0.35) : 0.5 + 0.5 * Math.cos((Math.PI * (x - 0.35)) / 0.65);
  return s.amp * y;
}

/** The true amplitude envelope of the voiced part at time t (sum over syllables). */
export function envelopeAt(spec: SpeechSpec, t: number): number {
  let e = 0;
  for (const s of spec.syllables) e += syllableEnvelope(s, t);
  return e;
}

export function synthesize(spec: SpeechSpec): Pcm {
  const n = Math.round(spec.duration * SR);
  const out = new Float32Array(n);
  const rnd = mulberry(spec.seed ?? 1);
  for (const s of spec.syllables) {
    const i0 = Math.max(0, Math.floor(s.start * SR));
    const i1 = Math.min(n, Math.ceil((s.start + s.dur) * SR));
    const harmonics: { k: number; g: number }[] = [];
    for (let k = 1; k * s.f0 < 4500; k++) harmonics.push({ k, g: formantGain(s.vowel, k * s.f0) });
    const norm = Math.sqrt(harmonics.reduce((acc, h) => acc + h.g * h.g, 0) / 2);
    let phase = 0;
    for (let i = i0; i < i1; i++) {
      const t = i / SR;
      // A little pitch movement inside the syllable (falling), like speech.
      const f0 = s.f0 * (1.06 - 0.12 * ((t - s.start) / s.dur));
      phase += (2 * Math.PI * f0) / SR;
      let v = 0;
      for (const h of harmonics) v += h.g * Math.sin(h.k * phase);
      out[i] += (syllableEnvelope(s, t) * v) / norm;
    }
  }
  for (const b of spec.fricatives ?? []) {
    const i0 = Math.max(0, Math.floor(b.start * SR));
    const i1 = Math.min(n, Math.ceil((b.start + b.dur) * SR));
    let prev = 0;
    for (let i = i0; i < i1; i++) {
      const x = (i - i0) / (i1 - i0);
      const env = Math.sin(Math.PI * x) ** 0.5;
      const w = rnd() * 2 - 1;
      // First difference: a high-passed (hissy) noise, like /s/.
      out[i] += b.amp * env * (w - prev) * 0.7;
      prev = w;
    }
  }
  const noise = spec.noiseAmp ?? 0.0005;
  for (let i = 0; i < n; i++) out[i] += noise * (rnd() * 2 - 1);
  return { sampleRate: SR, samples: out };
}

/**
 * A talk: phrases of syllables at ~4.5 Hz (varying length and loudness, vowels cycling), separated by
 * pauses of 0.5-0.9 s. Returns the spec (ground truth) and the PCM.
 */
export function talk(duration: number, seed = 7, opts: { loud?: number; noiseAmp?: number } = {}): { spec: SpeechSpec; pcm: Pcm } {
  const rnd = mulberry(seed);
  const vowels: Vowel[] = ["a", "e", "i", "o", "u", "a", "o", "e"];
  const syllables: Syllable[] = [];
  const fricatives: Burst[] = [];
  let t = 0.4;
  let k = 0;
  while (t < duration - 1) {
    const phraseEnd = Math.min(duration - 0.5, t + 1.2 + rnd() * 1.6);
    while (t < phraseEnd) {
      const dur = 0.16 + rnd() * 0.08;
      const amp = (opts.loud ?? 0.3) * (0.45 + 0.55 * rnd());
      syllables.push({ start: t, dur, vowel: vowels[k++ % vowels.length], amp, f0: 110 + rnd() * 40 });
      t += dur + (rnd() < 0.3 ? 0.03 + rnd() * 0.04 : 0.0);
      if (rnd() < 0.15 && t < phraseEnd) {
        fricatives.push({ start: t - 0.02, dur: 0.08, amp: (opts.loud ?? 0.3) * 0.25 });
        t += 0.06;
      }
    }
    t += 0.5 + rnd() * 0.4;
  }
  const spec: SpeechSpec = { duration, syllables, fricatives, noiseAmp: opts.noiseAmp, seed };
  return { spec, pcm: synthesize(spec) };
}

/** Per-frame truth: the voiced envelope at each frame's centre, and whether the frame is in a pause. */
export function frameTruth(spec: SpeechSpec, fps: number, numFrames: number): { env: Float32Array; silent: Uint8Array } {
  const env = new Float32Array(numFrames);
  const silent = new Uint8Array(numFrames);
  for (let i = 0; i < numFrames; i++) {
    const t = (i + 0.5) / fps;
    env[i] = envelopeAt(spec, t);
    // Silent: no syllable or burst within 60 ms of the frame centre.
    const near = (a: number, b: number) => t > a - 0.06 && t < b + 0.06;
    silent[i] = spec.syllables.some((s) => near(s.start, s.start + s.dur)) ||
      (spec.fricatives ?? []).some((b) => near(b.start, b.start + b.dur))
      ? 0
      : 1;
  }
  return { env, silent };
}
