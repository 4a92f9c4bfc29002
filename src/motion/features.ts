/**
 * Per-video-frame audio features from mono PCM.
 *
 * One analysis window per video frame, centred on the middle of the frame's display interval
 * (t = (i + 0.5) / fps), `windowSize` samples long (a power of two near 64 ms: 1024 at 16 kHz),
 * Hann-windowed by meyda. Pitch (F0) comes from pitchy (McLeod pitch method) on the same window.
 * Voice activity uses an adaptive noise floor (minimum tracking in dB, forward and backward).
 *
 * Memory: the window buffer and the per-frame outputs; nothing but the PCM is held at full rate.
 */
import MeydaModule from "meyda";
import { PitchDetector } from "pitchy";
import type { Pcm } from "../media/types.js";

export interface AudioFeatures {
  fps: number;
  numFrames: number;
  sampleRate: number;
  windowSize: number;
  /** Hann-windowed RMS, linear. */
  rms: Float32Array;
  /** 20·log10(rms), floored at -120 dB (full band). */
  fullDb: Float32Array;
  /**
   * Level of the voice band (250-4000 Hz) in dB, floored at -120: the loudness that drives the mouth and
   * voice activity. Hum, rumble and most of a music bed's bass sit outside it.
   */
  db: Float32Array;
  /** Level above 4 kHz minus the voice band level, in dB (fricatives s, sh, f are high). */
  highRatioDb: Float32Array;
  /** Spectral centroid in Hz (whole spectrum). */
  centroid: Float32Array;
  /** Spectral centroid of the voice band (250-4000 Hz) in Hz. */
  bandCentroid: Float32Array;
  /**
   * Vowel colour from three bands, L 250-900, M 900-1800, H 1800-3500 Hz, in dB:
   * `front` = H - M (high for i/e, whose F2 is high), `back` = L - (M + H) (high for o/u, whose F1 and F2
   * are both low; low for a, whose F1/F2 sit in M).
   */
  front: Float32Array;
  back: Float32Array;
  /** Spectral rolloff (95 % of energy) in Hz. */
  rolloff: Float32Array;
  /** Spectral flatness 0 (tonal) .. 1 (noise). */
  flatness: Float32Array;
  /** Zero crossings per sample, 0..1 (voiced speech ~0.02-0.1, fricatives ~0.2-0.5). */
  zcr: Float32Array;
  /** MFCC (13 coefficients) per frame when asked for (`mfcc: true`), else empty arrays. */
  mfcc: Float32Array[];
  /** F0 in Hz, 0 when unvoiced, unclear or not speech (pitch is only estimated on speech frames). */
  f0: Float32Array;
  /** Pitch clarity 0..1 (pitchy). */
  clarity: Float32Array;
  /** Adaptive noise floor in dB per frame. */
  noiseDb: Float32Array;
  /** 1 where speech (voice activity), 0 in silence. */
  speech: Uint8Array;
  /** Soft speech level 0..1: how far above the noise floor, relative to the speaker's loud level. */
  activity: Float32Array;
  /** The speaker's level percentiles over speech frames, in dB (p10, p50, p95). */
  levels: { p10: number; p50: number; p95: number; floor: number };
}

export interface FeatureOptions {
  fps: number;
  /** Frames to produce; default: ceil(duration * fps). Frames past the PCM's end see silence. */
  numFrames?: number;
  /** Analysis window in samples (power of two); default: nearest power of two to 64 ms. */
  windowSize?: number;
  /** Skip pitch estimation (it is the costliest part). */
  pitch?: boolean;
  /** Also compute MFCCs (meyda's mel filter bank: ~0.7 ms a frame, nothing in the motion curves uses them); default false. */
  mfcc?: boolean;
}

// meyda's CommonJS build exports the analyser object itself; its typings describe an ES default export.
type MeydaApi = (typeof MeydaModule)["default"];
const Meyda: MeydaApi = ((MeydaModule as unknown as { default?: MeydaApi }).default ?? MeydaModule) as MeydaApi;

const MIN_DB = -120;
/** Absolute level below which nothing counts as speech (dBFS of the windowed RMS). */
const ABS_SPEECH_DB = -66;

export function extractFeatures(pcm: Pcm, opts: FeatureOptions): AudioFeatures {
  const { sampleRate, samples } = pcm;
  if (!(sampleRate > 0)) throw new RangeError(`PCM sample rate must be positive, got ${sampleRate}`);
  if (!(opts.fps > 0)) throw new RangeError(`fps must be positive, got ${opts.fps}`);
  const fps = opts.fps;
  const numFrames = opts.numFrames ?? Math.ceil((samples.length / sampleRate) * fps);
  const windowSize = opts.windowSize ?? 2 ** Math.round(Math.log2(sampleRate * 0.064));
  if (windowSize < 64 || (windowSize & (windowSize - 1)) !== 0) {
    throw new RangeError(`windowSize must be a power of two >= 64, got ${windowSize}`);
  }

  const rms = new Float32Array(numFrames);
  const db = new Float32Array(numFrames);
  const fullDb = new Float32Array(numFrames);
  const highRatioDb = new Float32Array(numFrames);
  const centroid = new Float32Array(numFrames);
  const bandCentroid = new Float32Array(numFrames);
  const front = new Float32Array(numFrames);
  const back = new Float32Array(numFrames);
  const rolloff = new Float32Array(numFrames);
  const flatness = new Float32Array(numFrames);
  const zcr = new Float32Array(numFrames);
  const f0 = new Float32Array(numFrames);
  const clarity = new Float32Array(numFrames);
  const mfcc: Float32Array[] = new Array(numFrames);

  // meyda keeps its settings on its default export; set them right before this synchronous loop.
  Meyda.bufferSize = windowSize;
  Meyda.sampleRate = sampleRate;
  Meyda.numberOfMFCCCoefficients = 13;
  (Meyda as unknown as { melBands: number }).melBands = 26;
  Meyda.windowingFunction = "hanning";
  const detector = opts.pitch === false ? null : PitchDetector.forFloat32Array(windowSize);
  if (detector) {
    detector.clarityThreshold = 0.8;
    detector.minVolumeDecibels = -50;
  }
  const win = new Float32Array(windowSize);
  const binHz = sampleRate / windowSize;
  const withMfcc = opts.mfcc === true;
  const features = ["rms", "powerSpectrum", "spectralCentroid", "spectralRolloff", "spectralFlatness", "zcr", ...(withMfcc ? ["mfcc"] : [])];
  const noMfcc = new Float32Array(0);
  const bandLo = Math.max(1, Math.round(250 / binHz));
  const bandHi = Math.min(windowSize / 2 - 1, Math.round(4000 / binHz));
  const b900 = Math.round(900 / binHz);
  const b1800 = Math.round(1800 / binHz);
  const b3500 = Math.min(windowSize / 2 - 1, Math.round(3500 / binHz));
  // Parseval with a Hann window: sum|X|^2 = N * sum(w^2 x^2); mean(w^2) = 3/8 for Hann.
  const powerScale = 2 / (windowSize * windowSize * 0.375);

  for (let i = 0; i < numFrames; i++) {
    const centre = Math.round(((i + 0.5) / fps) * sampleRate);
    const start = centre - windowSize / 2;
    let energy = 0;
    for (let k = 0; k < windowSize; k++) {
      const j = start + k;
      const raw = j >= 0 && j < samples.length ? samples[j] : 0;
      const v = Number.isFinite(raw) ? raw : 0; // a NaN sample must not poison the frame
      win[k] = v;
      energy += v * v;
    }
    if (energy < 1e-12) {
      // Digital silence: meyda's spectral features are NaN here; give neutral values.
      db[i] = MIN_DB;
      fullDb[i] = MIN_DB;
      mfcc[i] = withMfcc ? new Float32Array(13) : noMfcc;
      continue;
    }
    const f = Meyda.extract(features as unknown as Parameters<typeof Meyda.extract>[0], win);
    if (!f) throw new Error("meyda returned no features");
    const r = f.rms ?? 0;
    rms[i] = r;
    fullDb[i] = Math.max(MIN_DB, 20 * Math.log10(r + 1e-12));
    const ps = f.powerSpectrum as Float32Array;
    let band = 0;
    let high = 0;
    let moment = 0;
    for (let k = bandLo; k <= bandHi; k++) {
      band += ps[k];
      moment += ps[k] * k;
    }
    bandCentroid[i] = band > 0 ? (moment / band) * binHz : 0;
    let pl = 1e-12;
    let pm = 1e-12;
    let ph = 1e-12;
    for (let k = bandLo; k < b900; k++) pl += ps[k];
    for (let k = b900; k < b1800; k++) pm += ps[k];
    for (let k = b1800; k <= b3500; k++) ph += ps[k];
    front[i] = 10 * Math.log10(ph / pm);
    back[i] = 10 * Math.log10(pl / (pm + ph));
    for (let k = bandHi + 1; k < ps.length; k++) high += ps[k];
    db[i] = Math.max(MIN_DB, 10 * Math.log10(band * powerScale + 1e-12));
    highRatioDb[i] = 10 * Math.log10((high + 1e-12) / (band + 1e-12));
    centroid[i] = finite((f.spectralCentroid ?? 0) * binHz);
    rolloff[i] = finite(f.spectralRolloff ?? 0);
    flatness[i] = finite(f.spectralFlatness ?? 0);
    zcr[i] = (f.zcr ?? 0) / (windowSize - 1);
    mfcc[i] = withMfcc ? Float32Array.from(f.mfcc ?? new Array(13).fill(0), finite) : noMfcc;
  }


  const vad = voiceActivity(db, fps);

  // Pitch, on speech frames only (the costliest feature).
  if (detector) {
    for (let i = 0; i < numFrames; i++) {
      if (!vad.speech[i]) continue;
      const start = Math.round(((i + 0.5) / fps) * sampleRate) - windowSize / 2;
      for (let k = 0; k < windowSize; k++) {
        const j = start + k;
        const raw = j >= 0 && j < samples.length ? samples[j] : 0;
        win[k] = Number.isFinite(raw) ? raw : 0;
      }
      const [p, c] = detector.findPitch(win, sampleRate);
      clarity[i] = Math.max(0, c);
      if (c >= 0.8 && p >= 60 && p <= 600) f0[i] = p;
    }
  }
  return { fps, numFrames, sampleRate, windowSize, rms, fullDb, db, highRatioDb, centroid, bandCentroid, front, back, rolloff, flatness, zcr, mfcc, f0, clarity, ...vad };
}

function finite(v: number): number {
  return Number.isFinite(v) ? v : 0;
}

/** q-quantile (0..1) of the values, linear interpolation; NaN when empty. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const a = Float64Array.from(values).sort();
  if (a.length === 0) return NaN;
  const pos = Math.min(1, Math.max(0, q)) * (a.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(a.length - 1, lo + 1);
  return a[lo] + (a[hi] - a[lo]) * (pos - lo);
}

/**
 * Voice activity from frame levels in dB: an adaptive noise floor (the running minimum, rising slowly,
 * tracked forward and backward), a threshold between the floor and the speaker's loud level, hysteresis,
 * a short hangover, and removal of isolated blips.
 */
export function voiceActivity(
  db: Float32Array,
  fps: number,
): Pick<AudioFeatures, "noiseDb" | "speech" | "activity" | "levels"> {
  const n = db.length;
  const noiseDb = new Float32Array(n);
  const speech = new Uint8Array(n);
  const activity = new Float32Array(n);
  const live = Array.from(db).filter((v) => v > MIN_DB + 1);
  if (n === 0 || live.length === 0) {
    noiseDb.fill(MIN_DB);
    return { noiseDb, speech, activity, levels: { p10: MIN_DB, p50: MIN_DB, p95: MIN_DB, floor: MIN_DB } };
  }
  const globalLow = quantile(live, 0.05);
  const globalHigh = quantile(live, 0.97);
  // Minimum tracking: falls at once, rises ~2 dB per second; forward and backward, the lower wins
  // (the floor near a frame is the one measured in the nearest pause, before or after it).
  const rise = 2 / fps;
  const fwd = new Float32Array(n);
  const bwd = new Float32Array(n);
  let floor = globalLow;
  for (let i = 0; i < n; i++) {
    const v = Math.max(db[i], globalLow - 10);
    floor = v < floor ? v : floor + rise;
    fwd[i] = floor;
  }
  floor = globalLow;
  for (let i = n - 1; i >= 0; i--) {
    const v = Math.max(db[i], globalLow - 10);
    floor = v < floor ? v : floor + rise;
    bwd[i] = floor;
  }
  // The floor never sits above the clip's speech range's lower part (continuous speech has no pauses).
  const cap = globalLow + Math.max(6, 0.5 * (globalHigh - globalLow));
  for (let i = 0; i < n; i++) noiseDb[i] = Math.min(fwd[i], bwd[i], cap);

  const on = new Uint8Array(n);
  let state = 0;
  for (let i = 0; i < n; i++) {
    const margin = Math.max(6, 0.22 * (globalHigh - noiseDb[i]));
    const enter = noiseDb[i] + margin;
    const exit = enter - 3;
    if (db[i] < ABS_SPEECH_DB) state = 0;
    else if (state === 0 && db[i] >= enter) state = 1;
    else if (state === 1 && db[i] < exit) state = 0;
    on[i] = state;
  }
  // Drop isolated blips shorter than 2 frames; hang over one frame at segment ends.
  for (let i = 0; i < n; ) {
    if (!on[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && on[j]) j++;
    if (j - i >= 2) for (let k = i; k < Math.min(n, j + 1); k++) speech[k] = 1;
    i = j;
  }
  const speechLevels = Array.from(db).filter((_, i) => speech[i]);
  const levels =
    speechLevels.length > 0
      ? {
          p10: quantile(speechLevels, 0.1),
          p50: quantile(speechLevels, 0.5),
          p95: quantile(speechLevels, 0.95),
          floor: quantile(noiseDb, 0.5),
        }
      : { p10: globalHigh, p50: globalHigh, p95: globalHigh, floor: quantile(noiseDb, 0.5) };
  for (let i = 0; i < n; i++) {
    const top = Math.max(levels.p95, noiseDb[i] + 12);
    const a = (db[i] - noiseDb[i] - 3) / Math.max(6, top - noiseDb[i] - 3);
    activity[i] = speech[i] ? Math.min(1, Math.max(0, a)) : Math.min(0.2, Math.max(0, a));
  }
  return { noiseDb, speech, activity, levels };
}
