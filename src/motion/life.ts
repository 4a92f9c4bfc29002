/**
 * "Life": blinks, head motion, brows, gaze and smile, seeded (pure-rand) so that the same seed gives
 * the same motion and another seed another motion.
 *
 * - Blinks: log-normal intervals (median ~3.4 s, mostly 2-6 s, scaled by the mood's blink rate), drawn
 *   towards speech pauses, occasional double blinks; ~80-120 ms close, short hold, slower ~200-300 ms open;
 *   both eyes nearly together (the right eye lags by up to ~12 ms, slightly different depth).
 * - Head: idle micro-motion (sums of slow sines, a few tenths of a degree); while speaking a slow sway
 *   per phrase and nods on emphasis (loudness and pitch peaks); all scaled by the mood's energy.
 * - Brows: raises on the strongest emphasis peaks, plus the mood's baseline.
 * - Smile: the mood's baseline, a little more on emphasis when the mood smiles, a slow small drift.
 * - Gaze: small, rare saccades, mostly back to the camera.
 * - Listening (optional): head and gaze turned slightly toward the speaker while they talk,
 *   backchannel nods at their phrase ends.
 *
 * Sign conventions (see types.ts): headYaw > 0 turns the face toward the image's right, headPitch > 0
 * tips the chin down (a nod), headRoll > 0 tilts the head clockwise in the image, headX/headY > 0 move
 * right/down in the image, gazeX/gazeY > 0 look toward the image's right/down.
 */
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { RandomGenerator } from "pure-rand/types/RandomGenerator";
import type { AudioFeatures } from "./features.js";
import { quantile } from "./features.js";
import type { Mood } from "./mood.js";
import { NEUTRAL_MOOD } from "./mood.js";
import { clamp, smoothZeroPhase } from "./curves.js";

export interface LifeCurves {
  blinkLeft: Float32Array;
  blinkRight: Float32Array;
  browRaise: Float32Array;
  smile: Float32Array;
  headYaw: Float32Array;
  headPitch: Float32Array;
  headRoll: Float32Array;
  headX: Float32Array;
  headY: Float32Array;
  gazeX: Float32Array;
  gazeY: Float32Array;
}

export interface ListenInput {
  /** The other speakers' activity per frame, 0 (silent) .. 1 (talking). */
  activity: ArrayLike<number>;
  /** Where the speaker is, seen from this face: -1 (image left) .. 1 (image right). */
  towardX: number;
}

export interface LifeInput {
  numFrames: number;
  fps: number;
  seed: number;
  mood?: Mood;
  /** This face's own voice (features), when it speaks. */
  voice?: AudioFeatures | null;
  /** Listening behaviour toward another speaker. */
  listen?: ListenInput | null;
}

const DEG = Math.PI / 180;

/** Independent random streams per purpose, so that one part's draws never shift another's. */
export const Stream = { Blink: 1, Idle: 2, Sway: 3, Nod: 4, Gaze: 5, Brow: 6, Listen: 7, Smile: 8 } as const;
export type Stream = (typeof Stream)[keyof typeof Stream];

/** A 32-bit seed for one stream of one face, from any finite number. */
export function streamSeed(seed: number, stream: number, face = 0): number {
  const s = Number.isFinite(seed) ? Math.trunc(seed) : 0;
  const lo = s >>> 0;
  const hi = Math.floor(s / 4294967296) >>> 0;
  let h = Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ hi, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ Math.imul(stream + 1, 0x27d4eb2d), 0x165667b1);
  h = Math.imul(h ^ (h >>> 15) ^ Math.imul(face + 1, 0x9e3779b1), 0x85ebca6b);
  return (h ^ (h >>> 16)) | 0;
}

export class Rng {
  private readonly g: RandomGenerator;
  constructor(seed: number) {
    this.g = xoroshiro128plus(seed);
  }
  /** Uniform in [0, 1). */
  next(): number {
    return uniformFloat64(this.g);
  }
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---------------------------------------------------------------------------------------------- blinks

export interface Blink {
  /** Time of full closure, seconds. */
  peak: number;
  amp: number;
  close: number;
  hold: number;
  open: number;
  /** Right eye delay (s) and depth ratio. */
  rightLag: number;
  rightAmp: number;
}

/** Blink schedule over `duration` seconds. `pauses` are times (s) where speech stops: blinks drift there. */
export function scheduleBlinks(rng: Rng, duration: number, fps: number, rate = 1, pauses: number[] = []): Blink[] {
  const blinks: Blink[] = [];
  const make = (peak: number): Blink => ({
    peak,
    amp: rng.range(0.92, 1),
    close: rng.range(0.08, 0.12),
    hold: rng.range(0.015, 0.045),
    open: rng.range(0.2, 0.3),
    rightLag: rng.range(0, 0.012),
    rightAmp: rng.range(0.95, 1),
  });
  const interval = () => clamp(Math.exp(Math.log(3.4) + 0.28 * rng.normal()), 1.7, 8) / rate;
  let t = rng.range(0.4, 2.6) / Math.sqrt(rate);
  while (t < duration - 0.15) {
    // Drift toward a nearby pause (blinks cluster at phrase boundaries).
    const near = pauses.find((p) => Math.abs(p + 0.12 - t) < 0.6);
    if (near !== undefined) t = near + 0.12;
    // Put the closure on a frame so that the sampled curve reaches it.
    const peak = Math.round(t * fps) / fps;
    if (blinks.length === 0 || peak - blinks[blinks.length - 1].peak > 0.5) {
      blinks.push(make(peak));
      if (rng.chance(0.06)) {
        const second = Math.round((peak + rng.range(0.28, 0.4)) * fps) / fps;
        if (second < duration - 0.1) blinks.push(make(second));
      }
    }
    t = peak + interval();
  }
  return blinks;
}

/** Eyelid closure of one blink at time t (seconds), 0..amp: eased close, hold, slower eased open. */
export function blinkShape(b: Pick<Blink, "peak" | "amp" | "close" | "hold" | "open">, t: number): number {
  const start = b.peak - b.close;
  if (t <= start || t >= b.peak + b.hold + b.open) return 0;
  if (t < b.peak) {
    const x = (t - start) / b.close;
    return b.amp * x * x * (3 - 2 * x); // smoothstep: eases in, lands at amp
  }
  if (t <= b.peak + b.hold) return b.amp;
  const x = (t - b.peak - b.hold) / b.open;
  return b.amp * (1 - x * x * (3 - 2 * x)); // eased open, slower than the close
}

function renderBlinks(blinks: Blink[], n: number, fps: number): { left: Float32Array; right: Float32Array } {
  const left = new Float32Array(n);
  const right = new Float32Array(n);
  for (const b of blinks) {
    const i0 = Math.max(0, Math.floor((b.peak - b.close - 0.05) * fps));
    const i1 = Math.min(n - 1, Math.ceil((b.peak + b.hold + b.open + 0.05) * fps));
    const rb = { ...b, peak: b.peak + b.rightLag, amp: b.amp * b.rightAmp };
    for (let i = i0; i <= i1; i++) {
      const t = i / fps;
      left[i] = Math.max(left[i], blinkShape(b, t));
      right[i] = Math.max(right[i], blinkShape(rb, t));
    }
  }
  return { left, right };
}

// ------------------------------------------------------------------------------------------ helpers

/** A sum of slow sines with random frequencies and phases; result has roughly unit peak amplitude. */
function slowNoise(rng: Rng, n: number, fps: number, fLo: number, fHi: number, parts = 3): Float32Array {
  const out = new Float32Array(n);
  const comps = Array.from({ length: parts }, () => ({
    f: rng.range(fLo, fHi),
    p: rng.range(0, 2 * Math.PI),
    a: rng.range(0.5, 1),
  }));
  const norm = comps.reduce((s, c) => s + c.a, 0);
  for (let i = 0; i < n; i++) {
    const t = i / fps;
    let v = 0;
    for (const c of comps) v += c.a * Math.sin(2 * Math.PI * c.f * t + c.p);
    out[i] = v / norm;
  }
  return out;
}

/** Adds amp * k(t - t0) where k is a smooth bump rising to 1 at `rise` s and decaying over `fall` s. */
function addBump(out: Float32Array, fps: number, t0: number, amp: number, rise: number, fall: number): void {
  const n = out.length;
  const i0 = Math.max(0, Math.floor((t0 - rise) * fps));
  const i1 = Math.min(n - 1, Math.ceil((t0 + 4 * fall) * fps));
  for (let i = i0; i <= i1; i++) {
    const d = i / fps - t0;
    let k: number;
    if (d < -rise) k = 0;
    else if (d < 0) {
      const x = (d + rise) / rise;
      k = x * x * (3 - 2 * x);
    } else k = Math.exp(-((d / fall) ** 2));
    out[i] += amp * k;
  }
}

/** Speech mask with short gaps (< maxGap frames) filled: phrases. */
export function phrases(speech: ArrayLike<number>, maxGap: number): Uint8Array {
  const n = speech.length;
  const out = Uint8Array.from(speech, (v) => (v ? 1 : 0));
  let last = -1;
  for (let i = 0; i < n; i++) {
    if (!out[i]) continue;
    if (last >= 0 && i - last - 1 > 0 && i - last - 1 <= maxGap) for (let k = last + 1; k < i; k++) out[k] = 1;
    last = i;
  }
  return out;
}

/** Emphasis peaks (stressed syllables): frame, strength (z units above the speaker's typical level). */
export function emphasisPeaks(f: AudioFeatures, minGapFrames: number): { frame: number; strength: number }[] {
  const n = f.numFrames;
  const idx: number[] = [];
  for (let i = 0; i < n; i++) if (f.speech[i]) idx.push(i);
  if (idx.length < 3) return [];
  const levels = idx.map((i) => f.db[i]);
  const mid = quantile(levels, 0.5);
  const sd = Math.max(1.5, (quantile(levels, 0.9) - quantile(levels, 0.1)) / 2.56);
  const voiced = idx.filter((i) => f.f0[i] > 0).map((i) => 12 * Math.log2(f.f0[i]));
  const f0mid = voiced.length >= 5 ? quantile(voiced, 0.5) : 0;
  const f0sd = voiced.length >= 5 ? Math.max(1, (quantile(voiced, 0.9) - quantile(voiced, 0.1)) / 2.56) : 1;
  const e = new Float32Array(n).fill(-3);
  for (const i of idx) {
    const zl = (f.db[i] - mid) / sd;
    const zp = f.f0[i] > 0 && voiced.length >= 5 ? (12 * Math.log2(f.f0[i]) - f0mid) / f0sd : 0;
    e[i] = zl + 0.6 * Math.max(0, zp);
  }
  // Onsets: a rise after a pause is emphatic too.
  for (let i = 1; i < n; i++) if (f.speech[i] && !f.speech[i - 1]) e[i] += 0.3;
  const peaks: { frame: number; strength: number }[] = [];
  for (let i = 1; i < n - 1; i++) {
    if (!(e[i] >= e[i - 1] && e[i] > e[i + 1] && e[i] > 0.5)) continue;
    const prev = peaks[peaks.length - 1];
    if (prev && i - prev.frame < minGapFrames) {
      if (e[i] > prev.strength) peaks[peaks.length - 1] = { frame: i, strength: e[i] };
      continue;
    }
    peaks.push({ frame: i, strength: e[i] });
  }
  return peaks;
}

// --------------------------------------------------------------------------------------------- build

export function buildLife(input: LifeInput): LifeCurves {
  const { numFrames: n, fps, seed } = input;
  const mood = input.mood ?? NEUTRAL_MOOD;
  const voice = input.voice ?? null;
  const energy = mood.energy;
  const duration = n / fps;
  const rng = (s: Stream) => new Rng(streamSeed(seed, s));

  const headYaw = new Float32Array(n);
  const headPitch = new Float32Array(n);
  const headRoll = new Float32Array(n);
  const headX = new Float32Array(n);
  const headY = new Float32Array(n);
  const gazeX = new Float32Array(n);
  const gazeY = new Float32Array(n);
  const browRaise = new Float32Array(n);
  const smile = new Float32Array(n);

  // Own speech: phrases (gaps < 0.4 s filled) and a smooth activity envelope.
  const phrase = voice ? phrases(voice.speech, Math.round(0.4 * fps)) : new Uint8Array(n);
  const selfAct = smoothZeroPhase(phrase, 1 - Math.exp(-1 / (0.25 * fps)));

  // Blinks, drawn toward the ends of phrases.
  const pauses: number[] = [];
  for (let i = 1; i < n; i++) if (phrase[i - 1] && !phrase[i]) pauses.push(i / fps);
  const blinks = scheduleBlinks(rng(Stream.Blink), duration, fps, mood.blinkRate, pauses);
  const { left: blinkLeft, right: blinkRight } = renderBlinks(blinks, n, fps);

  // Idle micro-motion: a few tenths of a degree, periods of 3-15 s, plus a slower breathing-like bob.
  const idle = rng(Stream.Idle);
  const idleAmp = clamp(0.6 + 0.4 * energy, 0.5, 1.4);
  const nYaw = slowNoise(idle, n, fps, 0.06, 0.3);
  const nPitch = slowNoise(idle, n, fps, 0.07, 0.35);
  const nRoll = slowNoise(idle, n, fps, 0.05, 0.25);
  const nX = slowNoise(idle, n, fps, 0.04, 0.2);
  const nY = slowNoise(idle, n, fps, 0.2, 0.3, 1);
  for (let i = 0; i < n; i++) {
    headYaw[i] = 0.5 * DEG * idleAmp * nYaw[i];
    headPitch[i] = 0.4 * DEG * idleAmp * nPitch[i];
    headRoll[i] = 0.35 * DEG * idleAmp * nRoll[i];
    headX[i] = 0.003 * idleAmp * nX[i];
    headY[i] = 0.0015 * nY[i];
  }

  if (voice) {
    // Sway: each phrase leans toward its own small target; in pauses the head drifts back.
    const sway = rng(Stream.Sway);
    const yawT = new Float32Array(n);
    const rollT = new Float32Array(n);
    const pitchT = new Float32Array(n);
    let cur = { yaw: 0, roll: 0, pitch: 0 };
    for (let i = 0; i < n; i++) {
      if (phrase[i] && (i === 0 || !phrase[i - 1])) {
        cur = {
          yaw: clamp(sway.normal(), -2, 2) * 1.2 * DEG,
          roll: clamp(sway.normal(), -2, 2) * 0.8 * DEG,
          pitch: clamp(sway.normal(), -2, 2) * 0.5 * DEG - 0.3 * DEG,
        };
      }
      const w = phrase[i] ? 1 : 0.25;
      yawT[i] = cur.yaw * w;
      rollT[i] = cur.roll * w;
      pitchT[i] = cur.pitch * w;
    }
    const a = 1 - Math.exp(-1 / (0.45 * fps));
    const yS = smoothZeroPhase(yawT, a);
    const rS = smoothZeroPhase(rollT, a);
    const pS = smoothZeroPhase(pitchT, a);
    // A slow oscillation that grows with the voice's energy.
    const osc = slowNoise(sway, n, fps, 0.2, 0.45, 2);
    const actS = smoothZeroPhase(voice.activity, 1 - Math.exp(-1 / (0.3 * fps)));
    for (let i = 0; i < n; i++) {
      headYaw[i] += energy * (yS[i] + 0.8 * DEG * actS[i] * osc[i]);
      headRoll[i] += energy * rS[i];
      headPitch[i] += energy * pS[i];
    }

    // Nods and brow raises on emphasis.
    const nod = rng(Stream.Nod);
    const brow = rng(Stream.Brow);
    const peaks = emphasisPeaks(voice, Math.round(0.38 * fps));
    const nodCurve = new Float32Array(n);
    const browCurve = new Float32Array(n);
    const strongest = peaks.length ? quantile(peaks.map((p) => p.strength), 0.7) : Infinity;
    for (const p of peaks) {
      const t = p.frame / fps;
      const s = clamp(p.strength - 0.3, 0, 1.6);
      if (nod.chance(0.85)) addBump(nodCurve, fps, t - 0.03, 1.3 * DEG * Math.min(s, 1.3) * nod.range(0.7, 1.15), 0.18, 0.24);
      if (p.strength >= strongest && p.strength > 1 && brow.chance(0.7)) {
        addBump(browCurve, fps, t - 0.04, clamp(0.18 * s * brow.range(0.8, 1.3), 0, 0.4), 0.12, 0.35);
      }
    }
    for (let i = 0; i < n; i++) {
      // Nods grow less than linearly with the mood's energy (fast big nods look mechanical).
      headPitch[i] += Math.sqrt(energy) * nodCurve[i];
      browRaise[i] += clamp(energy, 0.5, 1.5) * browCurve[i];
      // Speaking heads move a bit with the nods: a small translation.
      headY[i] += 0.25 * Math.sqrt(energy) * nodCurve[i];
      // A smiling mood smiles a little more on the emphasised words.
      if (mood.smile > 0) smile[i] += 0.35 * mood.smile * clamp(nodCurve[i] / (1.3 * DEG), 0, 1);
    }
  }

  // Gaze: rare small saccades, mostly back to the camera.
  {
    const g = rng(Stream.Gaze);
    let t = g.range(0.8, 3);
    let target = { x: 0, y: 0 };
    let prev = { x: 0, y: 0 };
    const moves: { t: number; from: { x: number; y: number }; to: { x: number; y: number } }[] = [];
    while (t < duration) {
      const away = target.x === 0 && target.y === 0 ? g.chance(0.6) : g.chance(0.25);
      prev = target;
      target = away ? { x: clamp(g.normal(), -2, 2) * 2.5 * DEG, y: clamp(g.normal(), -2, 2) * 1.2 * DEG } : { x: 0, y: 0 };
      moves.push({ t, from: prev, to: target });
      t += away ? g.range(0.6, 1.8) : g.range(1.5, 4);
    }
    let m = 0;
    let cur = { x: 0, y: 0 };
    for (let i = 0; i < n; i++) {
      const ti = i / fps;
      while (m < moves.length && moves[m].t + 0.06 <= ti) {
        cur = moves[m].to;
        m++;
      }
      if (m < moves.length && ti > moves[m].t) {
        const x = (ti - moves[m].t) / 0.06;
        const e = x * x * (3 - 2 * x);
        gazeX[i] = cur.x + (moves[m].to.x - cur.x) * e;
        gazeY[i] = cur.y + (moves[m].to.y - cur.y) * e;
      } else {
        gazeX[i] = cur.x;
        gazeY[i] = cur.y;
      }
    }
  }

  // Listening: turn toward the speaker while they talk (and this face does not), nod at their phrase ends.
  if (input.listen) {
    const l = rng(Stream.Listen);
    const other = smoothZeroPhase(Float32Array.from({ length: n }, (_, i) => clamp(input.listen!.activity[i] ?? 0, 0, 1)),
      1 - Math.exp(-1 / (0.5 * fps)));
    const toward = clamp(input.listen.towardX, -1, 1);
    const turnYaw = l.range(2.2, 3.5) * DEG;
    const nods = new Float32Array(n);
    const rawOther = input.listen.activity;
    let runStart = -1;
    let nextRandom = l.range(2.5, 5);
    for (let i = 0; i < n; i++) {
      const on = (rawOther[i] ?? 0) > 0.5;
      if (on && runStart < 0) runStart = i;
      const t = i / fps;
      const listening = 1 - selfAct[i];
      if (!on && runStart >= 0) {
        // A phrase of the other ended: a backchannel nod if it was long enough.
        if ((i - runStart) / fps > 0.8 && l.chance(0.6)) addBump(nods, fps, t + 0.15, l.range(0.8, 1.5) * DEG * listening, 0.18, 0.25);
        runStart = -1;
      }
      if (on && t >= nextRandom) {
        if (l.chance(0.5)) addBump(nods, fps, t, l.range(0.5, 1.0) * DEG * listening, 0.2, 0.3);
        nextRandom = t + l.range(2.5, 5.5);
      }
    }
    for (let i = 0; i < n; i++) {
      const w = other[i] * (1 - selfAct[i]);
      const base = 0.35 * (1 - selfAct[i]); // a listener keeps some of the turn between the other's phrases
      const turn = Math.max(w, base * clamp(other[i] * 3, 0, 1), 0.3 * (1 - selfAct[i]));
      headYaw[i] += toward * turnYaw * turn;
      gazeX[i] += toward * 7 * DEG * turn;
      headPitch[i] += energy * nods[i];
      headX[i] += toward * 0.01 * turn;
      smile[i] += 0.05 * w * (mood.smile >= 0 ? 1 : 0);
    }
  }

  // Smile and brow baselines from the mood, with a slow small variation.
  const sv = slowNoise(rng(Stream.Smile), n, fps, 0.03, 0.1, 2);
  for (let i = 0; i < n; i++) {
    smile[i] = clamp(smile[i] + mood.smile + 0.03 * Math.abs(mood.smile) * sv[i], -1, 1);
    browRaise[i] = clamp(browRaise[i] + mood.brow, 0, 1);
  }

  return { blinkLeft, blinkRight, browRaise, smile, headYaw, headPitch, headRoll, headX, headY, gazeX, gazeY };
}
