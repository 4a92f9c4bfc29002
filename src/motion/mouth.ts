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
  /** How many frames the mouth leads the sound (fractional); default 1.25 (50 ms at 25 fps). */
  leadFrames?: number;
  /** Multiplies the opening (mood: whisper < 1 < singing); default 1. */
  amplitude?: number;
  /** The jaw opening that the speaker's loud syllables (95th percentile) reach; default 0.7. */
  peakOpen?: number;
}

/** lipClose held in silence: lips together, relaxed. */
export const SILENCE_LIP_CLOSE = 0.6;

/** The loudness part: per-frame opening target 0..1 before smoothing (exported for tests and plots). */
export function openingTarget(f: AudioFeatures, peakOpen = 0.7): Float32Array {
  const n = f.numFrames;
  const out = new Float32Array(n);
  const hi = f.levels.p95;
  for (let i = 0; i < n; i++) {
    if (!f.speech[i]) continue;
    const floor = f.noiseDb[i];
    const top = Math.max(hi, floor + 12);
    // The opening starts a little above the noise floor: quiet consonants barely open the mouth.
    const lo = floor + 0.25 * (top - floor);
    const x = clamp((f.db[i] - lo) / (top - lo), 0, 1.25);
    // Fricatives (energy above 4 kHz comparable to the voice band, noisy spectrum): teeth close.
    const fric = clamp((f.highRatioDb[i] + 14) / 12, 0, 1) * clamp((f.flatness[i] - 0.15) / 0.3, 0.3, 1);
    out[i] = peakOpen * x * (1 - 0.55 * fric);
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
    if (f.highRatioDb[i] > -12) continue; // a fricative, not a lip closure
    const strength = clamp((depth - 4) / 6, 0, 0.9);
    out[i] = Math.max(out[i], strength);
    // A closure usually spans more than one analysis window: lighter on the neighbours that dip too.
    for (const j of [i - 1, i + 1]) {
      if (j >= 0 && j < n && f.db[j] < Math.min(left, right) - 4) out[j] = Math.max(out[j], strength * 0.5);
    }
  }
  return out;
}

export function mouthFromAudio(f: AudioFeatures, opts: MouthOptions = {}): MouthCurves {
  const n = f.numFrames;
  const lead = opts.leadFrames ?? 1.25;
  const amp = opts.amplitude ?? 1;
  const target = openingTarget(f, opts.peakOpen ?? 0.7);
  const dips = closureDips(f);
  for (let i = 0; i < n; i++) target[i] *= 1 - dips[i];

  // Vowel colour from the voice-band centroid relative to the speaker's own median over voiced frames.
  const voicedCentroids: number[] = [];
  for (let i = 0; i < n; i++) if (f.speech[i] && f.bandCentroid[i] > 0) voicedCentroids.push(Math.log2(f.bandCentroid[i]));
  const med = voicedCentroids.length ? quantile(voicedCentroids, 0.5) : 10;
  const spread = voicedCentroids.length
    ? Math.max(0.15, quantile(voicedCentroids, 0.85) - quantile(voicedCentroids, 0.15))
    : 1;
  const bright = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (!f.speech[i] || f.bandCentroid[i] <= 0) continue;
    bright[i] = clamp((Math.log2(f.bandCentroid[i]) - med) / spread, -1.5, 1.5);
  }
  const brightS = movingAverage(bright, 1);

  const jawRaw = attackRelease(target, 0.8, 0.5);
  const jaw = shiftEarlier(jawRaw, lead);
  const speechGate = shiftEarlier(attackRelease(Float32Array.from(f.speech), 0.8, 0.4), lead);
  const dipsS = shiftEarlier(dips, lead);
  const brightL = shiftEarlier(brightS, lead);

  const jawOpen = new Float32Array(n);
  const lipWidth = new Float32Array(n);
  const lipRound = new Float32Array(n);
  const lipClose = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const j = clamp(jaw[i] * amp, 0, 1);
    jawOpen[i] = j;
    // Shape needs some opening to read; scale by the speech gate so silence is neutral.
    const g = speechGate[i];
    const b = brightL[i];
    lipWidth[i] = clamp(0.45 * b * g, -0.6, 0.6);
    lipRound[i] = clamp(-0.5 * b * g, 0, 0.7);
    const silenceClose = SILENCE_LIP_CLOSE * (1 - g);
    lipClose[i] = clamp(Math.max(silenceClose, dipsS[i]) * (1 - clamp(j / 0.3, 0, 1) * 0.8), 0, 1);
  }
  return { jawOpen, lipWidth, lipRound, lipClose };
}
