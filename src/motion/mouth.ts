/**
 * Mouth curves from audio features: jawOpen, lipWidth, lipRound, lipClose per video frame.
 *
 * jawOpen follows the voice-band loudness in dB, normalised by the speaker's own levels (noise floor and
 * the 95th percentile of speech frames), narrowed on fricatives (high-frequency, noisy frames), pushed shut
 * in silences and on short energy dips between voiced stretches (bilabial-like closures), smoothed with a
 * fast attack and slower release, and shifted earlier so that the mouth leads the sound.
 */
import type { AudioFeatures } from "./features.js";
import { quantile } from "./features.js";
import { attackRelease, clamp, movingAverage, shiftEarlier } from "./curves.js";

export interface MouthCurves {
  jawOpen: Float32Array;
  lipWidth: Float32Array;
  lipRound: Float32Array;
  lipClose: Float32Array;
}

export interface MouthOptions {
  /** How many frames the mouth leads the sound (fractional allowed, but blurs); default 1 (40 ms at 25 fps). */
  leadFrames?: number;
  /** Multiplies the opening (mood: whisper < 1 < singing); default 1. */
  amplitude?: number;
  /** The jaw opening that the speaker's loud syllables (95th percentile) reach; default PEAK_OPEN. */
  peakOpen?: number;
}

/** The jaw opening the speaker's loud syllables (95th percentile of the voice's level) reach by default. */
export const PEAK_OPEN = 0.85;

/** lipClose held in silence: lips together, relaxed (the renderer closes the gap fully at 0.6). */
export const SILENCE_LIP_CLOSE = 0.6;

/**
 * The lip gap a frame shows (as the renderer draws it on a closed-mouth photo): the jaw's opening times
 * what the lip closure leaves open (closure is full at lipClose >= 0.6, smoothstep below). For checks and
 * benchmarks of lip sync against the audio.
 */
export function visibleOpening(jawOpen: number, lipClose: number): number {
  const c = clamp(lipClose / SILENCE_LIP_CLOSE, 0, 1);
  return jawOpen * (1 - c * c * (3 - 2 * c));
}

/**
 * Lips come together as the jaw closes: lipClose is raised to at least SILENCE_LIP_CLOSE x (1 - smoothstep
 * (jawOpen / 0.18)). The renderer draws jawOpen 0 as the photo's own lip gap, so on a photo with an open
 * mouth a near-zero jaw (quiet consonants, speech onsets) would otherwise show that open mouth.
 * In place; returns lipClose.
 */
export function coupleLipsToJaw(jawOpen: Float32Array, lipClose: Float32Array): Float32Array {
  for (let i = 0; i < jawOpen.length; i++) {
    const x = clamp(jawOpen[i] / 0.18, 0, 1);
    lipClose[i] = Math.max(lipClose[i], SILENCE_LIP_CLOSE * (1 - x * x * (3 - 2 * x)));
  }
  return lipClose;
}

/** The loudness part: per-frame opening target 0..1 before smoothing (exported for tests and plots). */
export function openingTarget(f: AudioFeatures, peakOpen = PEAK_OPEN): Float32Array {
  const n = f.numFrames;
  const out = new Float32Array(n);
  const hi = f.levels.p95;
  for (let i = 0; i < n; i++) {
    if (!f.speech[i]) continue;
    const floor = f.noiseDb[i];
    const top = Math.max(hi, floor + 12);
    // The opening starts a little above the noise floor (quiet consonants barely open the mouth), and
    // at most 28 dB under the speaker's loud level (in clean audio the floor is far below any speech).
    const lo = Math.max(floor + 0.25 * (top - floor), top - 28);
    const x = clamp((f.db[i] - lo) / (top - lo), 0, 1.25);
    // Fricatives (energy above 4 kHz comparable to the voice band, noisy spectrum): teeth close.
    const fric = clamp((f.highRatioDb[i] + 14) / 12, 0, 1) * clamp((f.flatness[i] - 0.15) / 0.3, 0.3, 1);
    out[i] = peakOpen * x ** 1.0 * (1 - 0.55 * fric);
  }
  return out;
}

/**
 * Short energy dips between louder voiced stretches: closure strength 0..1 per frame (0 elsewhere).
 * A dip is a local minimum at most 3 frames wide whose level is >= 5 dB under the maxima on both sides
 * within 3 frames, not fricative-like.
 */
export function closureDips(f: AudioFeatures): Float32Array {
  const n = f.numFrames;
  const out = new Float32Array(n);
  for (let i = 1; i < n - 1; i++) {
    if (!(f.db[i] <= f.db[i - 1] && f.db[i] <= f.db[i + 1])) continue;
    let left = -Infinity;
    let right = -Infinity;
    for (let k = 1; k <= 3; k++) {
      if (i - k >= 0 && f.speech[i - k]) left = Math.max(left, f.db[i - k]);
      if (i + k < n && f.speech[i + k]) right = Math.max(right, f.db[i + k]);
    }
    const depth = Math.min(left, right) - f.db[i];
    if (!(depth >= 5)) continue;
    // A loud hiss is a fricative, not a lip closure (a near-silent dip may have any spectrum).
    if (f.highRatioDb[i] > -12 && f.db[i] > f.noiseDb[i] + 10) continue;
    const strength = clamp((depth - 4) / 6, 0, 0.9);
    out[i] = Math.max(out[i], strength);
    // A closure usually spans more than one analysis window: lighter on the neighbours that dip too.
    for (const j of [i - 1, i + 1]) {
      if (j >= 0 && j < n && f.db[j] < Math.min(left, right) - 4) out[j] = Math.max(out[j], strength * 0.5);
    }
  }
  return out;
}

/** Standardised value per frame relative to the speaker's voiced frames (median 0, 1 = half the 10-90 % range). */
export function speakerZ(f: AudioFeatures, x: Float32Array): Float32Array {
  const n = f.numFrames;
  const vals: number[] = [];
  for (let i = 0; i < n; i++) if (f.speech[i] && f.db[i] > f.noiseDb[i] + 6) vals.push(x[i]);
  const out = new Float32Array(n);
  if (vals.length < 3) return out;
  const med = quantile(vals, 0.5);
  const half = Math.max(1.5, (quantile(vals, 0.9) - quantile(vals, 0.1)) / 2);
  for (let i = 0; i < n; i++) {
    if (!f.speech[i]) continue;
    out[i] = clamp((x[i] - med) / half, -2, 2);
  }
  return out;
}

/**
 * Nasal murmur (m, n, ng) per frame, 0..1: voiced sound whose energy sits almost all under 900 Hz
 * (band ratio `back` >= 9 dB above the speaker's median) with next to nothing above 4 kHz. The lips close
 * for m and the jaw rises for all three; audio cannot tell m from n, so both get a partial closure.
 */
export function nasalMurmur(f: AudioFeatures): Float32Array {
  const n = f.numFrames;
  const out = new Float32Array(n);
  const vals: number[] = [];
  for (let i = 0; i < n; i++) if (f.speech[i] && f.db[i] > f.noiseDb[i] + 6) vals.push(f.back[i]);
  if (vals.length < 5) return out;
  const med = quantile(vals, 0.5);
  for (let i = 0; i < n; i++) {
    if (!f.speech[i] || f.db[i] < f.noiseDb[i] + 6) continue;
    out[i] = clamp((f.back[i] - med - 9) / 8, 0, 1) * clamp((-f.highRatioDb[i] - 22) / 6, 0, 1);
  }
  return out;
}

export function mouthFromAudio(f: AudioFeatures, opts: MouthOptions = {}): MouthCurves {
  const n = f.numFrames;
  const lead = opts.leadFrames ?? 1;
  const amp = opts.amplitude ?? 1;
  const target = openingTarget(f, opts.peakOpen ?? PEAK_OPEN);
  const dips = closureDips(f);
  const nasal = nasalMurmur(f);
  // Closures (energy dips, nasal murmur) act after the attack/release smoothing, so that a one-frame
  // closure still shuts the mouth; the gate itself is only lightly smoothed (3 taps).
  const shut = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    shut[i] = Math.max(dips[i], Math.min(1, 1.2 * nasal[i]));
    dips[i] = Math.max(dips[i], Math.min(0.9, 1.1 * nasal[i]));
  }
  const gate = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = 0.5 * shut[i] + 0.25 * (shut[i - 1] ?? 0) + 0.25 * (shut[i + 1] ?? 0);
    gate[i] = 1 - Math.max(s, shut[i] * 0.9);
  }

  // Vowel colour: the band ratios relative to the speaker's own voiced frames (median, spread).
  const spreadZ = speakerZ(f, f.front);
  const roundZ = speakerZ(f, f.back);
  const spreadS = movingAverage(spreadZ, 1);
  const roundS = movingAverage(roundZ, 1);

  const jawRaw = attackRelease(target, 0.8, 0.5);
  for (let i = 0; i < n; i++) jawRaw[i] *= gate[i];
  const jaw = shiftEarlier(jawRaw, lead);
  const speechGate = shiftEarlier(attackRelease(Float32Array.from(f.speech), 0.8, 0.4), lead);
  const dipsS = shiftEarlier(dips, lead);
  const spreadL = shiftEarlier(spreadS, lead);
  const roundL = shiftEarlier(roundS, lead);

  const jawOpen = new Float32Array(n);
  const lipWidth = new Float32Array(n);
  const lipRound = new Float32Array(n);
  const lipClose = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const j = clamp(jaw[i] * amp, 0, 1);
    jawOpen[i] = j;
    // Shape needs some opening to read; scale by the speech gate so silence is neutral.
    const g = speechGate[i];
    // Rounded (o/u) vowels pucker: width goes negative as rounding grows.
    const round = clamp(0.45 * (roundL[i] - 0.3), 0, 0.7) * g;
    const z = spreadL[i];
    const spread = clamp(z > 0 ? 0.4 * z : 0.15 * z, -0.3, 0.6) * g;
    lipRound[i] = round;
    lipWidth[i] = clamp(spread - 0.8 * round, -0.6, 0.6);
    // Lips together in pauses, released as soon as the jaw opens (no pressed lips on an open mouth).
    const silenceClose = SILENCE_LIP_CLOSE * (1 - g) * (1 - clamp((j - 0.05) / 0.25, 0, 1));
    // A closure presses the lips only as far as the jaw has closed (transition frames stay consistent).
    const dipClose = dipsS[i] * (1 - clamp((j - 0.1) / 0.3, 0, 1));
    lipClose[i] = clamp(Math.max(silenceClose, dipClose), 0, 1);
  }
  coupleLipsToJaw(jawOpen, lipClose);
  return { jawOpen, lipWidth, lipRound, lipClose };
}
