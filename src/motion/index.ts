/**
 * The motion stage: audio (and optional phoneme timings) -> one MotionFrame per video frame per face.
 *
 * - Frame i stands for the time (i + 0.5) / fps of the audio (the middle of its display interval); the
 *   mouth leads the sound by one frame (40 ms at 25 fps), as visual speech does.
 * - Deterministic: the same inputs and seed give the same frames; the seed drives only the "life" (blinks,
 *   head, gaze, brows), never the mouth. Face k of a video uses seed + k * 1000003 (face 0: the seed itself).
 * - Cost: about 1 ms of CPU per frame (meyda features, pitchy F0 on speech frames); memory: a few
 *   frame-rate Float32Arrays per curve, the audio is read window by window (nothing but the PCM is held).
 * - The renderer's contract (see types.ts): jawOpen 0 is the photo's own lip gap, lipClose >= 0.6 closes
 *   the lips, so lipClose rises whenever the jaw closes (silence, m/b/p, quiet consonants).
 *
 * Which function:
 * - buildMotionForJob(job): everything from an EngineJob (faces, tracks by faceIndex), one track per face;
 * - buildMotion({faces, ...}): the same from plain voices and face x positions;
 * - buildMotionTrack(...): one speaking face; buildListenerTrack(...): one face that only listens.
 *
 * @example
 *   const frames = buildMotionTrack({ pcm, numFrames: 250, fps: 25, seed: 42, prompt: "a woman smiling" });
 *   const [left, right] = buildMotion({ faces: [{ pcm: a, x: 300 }, { pcm: b, x: 900 }], numFrames, fps, seed, prompt });
 */
import type { Pcm } from "../media/types.js";
import type { MotionFrame, PhonemeTiming } from "./types.js";
import { extractFeatures } from "./features.js";
import { mouthFromAudio, SILENCE_LIP_CLOSE, type MouthCurves } from "./mouth.js";
import { combineVisemes, visemesFromPhonemes } from "./visemes.js";
import { buildLife, type LifeCurves, type ListenInput } from "./life.js";
import { parseMood } from "./mood.js";
import { clamp } from "./curves.js";
import type { EngineJob } from "../pipeline/engine.js";

export type { AudioFeatures } from "./features.js";
export type { Mood } from "./mood.js";
export type { MouthCurves } from "./mouth.js";
export type { LifeCurves, ListenInput } from "./life.js";
export { extractFeatures } from "./features.js";
export { parseMood } from "./mood.js";
export { visemesFromPhonemes, visemeFor } from "./visemes.js";
export { streamSeed } from "./life.js";
export { visibleOpening } from "./mouth.js";

export interface MotionTrackInput {
  /** This face's voice: mono PCM (any rate; 16 kHz typical), aligned with frame 0. */
  pcm: Pcm;
  /** Exact phoneme timings (seconds, same time base as pcm) when the speech was synthesized. */
  phonemes?: PhonemeTiming[];
  numFrames: number;
  fps: number;
  seed: number;
  prompt?: string;
  role?: "speaker";
  /** Other speakers in the scene (conversation): turn toward them while they talk and this face is silent. */
  listenTo?: ListenInput | null;
  /** A face index mixed into the seed so that faces in one video move differently; default 0. */
  faceIndex?: number;
}

export interface ListenerTrackInput {
  /** The speaker's activity per frame, 0..1 (see speechActivity). */
  speakerActivity: ArrayLike<number>;
  numFrames: number;
  fps: number;
  seed: number;
  prompt?: string;
  /** Where the speaker is, seen from this face: -1 (image left) .. 1 (image right); 0 = straight ahead. */
  towardX: number;
  faceIndex?: number;
}

function checkFrames(numFrames: number, fps: number): void {
  if (!Number.isInteger(numFrames) || numFrames < 0) throw new RangeError(`numFrames must be an integer >= 0, got ${numFrames}`);
  if (!(fps > 0)) throw new RangeError(`fps must be positive, got ${fps}`);
}

function faceSeed(seed: number, faceIndex = 0): number {
  // Face 0 keeps the request's seed unchanged; other faces get a different but fixed one.
  return faceIndex === 0 ? seed : seed + faceIndex * 1_000_003;
}

/** Speech activity 0..1 per frame of a voice track (for listeners). */
export function speechActivity(pcm: Pcm, numFrames: number, fps: number): Float32Array {
  const f = extractFeatures(pcm, { fps, numFrames, pitch: false });
  return Float32Array.from(f.speech);
}

/** Builds one speaking face's frames. */
export function buildMotionTrack(input: MotionTrackInput): MotionFrame[] {
  checkFrames(input.numFrames, input.fps);
  const { numFrames: n, fps } = input;
  const mood = parseMood(input.prompt);
  const features = extractFeatures(input.pcm, { fps, numFrames: n });
  // With exact phonemes the shape comes from them (and the loudness scales it); else from the audio alone.
  const mouth =
    input.phonemes && input.phonemes.length > 0
      ? combineVisemes(visemesFromPhonemes(input.phonemes, fps, n), features, { amplitude: mood.mouthAmp })
      : mouthFromAudio(features, { amplitude: mood.mouthAmp });
  const life = buildLife({
    numFrames: n,
    fps,
    seed: faceSeed(input.seed, input.faceIndex),
    mood,
    voice: features,
    listen: input.listenTo ?? null,
  });
  return assemble(n, mouth, life);
}

/** Builds the frames of a face that listens (mouth closed, blinks, nods, turned toward the speaker). */
export function buildListenerTrack(input: ListenerTrackInput): MotionFrame[] {
  checkFrames(input.numFrames, input.fps);
  const n = input.numFrames;
  const mood = parseMood(input.prompt);
  const life = buildLife({
    numFrames: n,
    fps: input.fps,
    seed: faceSeed(input.seed, input.faceIndex),
    mood,
    voice: null,
    listen: { activity: input.speakerActivity, towardX: input.towardX },
  });
  const closed: MouthCurves = {
    jawOpen: new Float32Array(n),
    lipWidth: new Float32Array(n),
    lipRound: new Float32Array(n),
    lipClose: new Float32Array(n).fill(SILENCE_LIP_CLOSE),
  };
  return assemble(n, closed, life);
}

export interface FaceVoice {
  /** This face's voice, or null/absent for a face that only listens. */
  pcm?: Pcm | null;
  phonemes?: PhonemeTiming[];
  /** The face's centre x in image pixels (any unit shared by all faces): who looks toward whom. */
  x?: number;
}

/**
 * Builds every face of a video at once: faces with a voice speak (and turn toward the others while
 * silent), faces without one listen to whoever talks. Returns one MotionFrame[] per face, in order.
 */
export function buildMotion(input: {
  faces: FaceVoice[];
  numFrames: number;
  fps: number;
  seed: number;
  prompt?: string;
}): MotionFrame[][] {
  const { faces, numFrames: n, fps, seed, prompt } = input;
  checkFrames(n, fps);
  // Speech activity is only needed to make the other faces listen: one face alone never reads it (and its
  // feature extraction would cost as much as the speaking track's own).
  const activity = faces.length > 1 ? faces.map((f) => (f.pcm ? speechActivity(f.pcm, n, fps) : null)) : faces.map(() => null);
  return faces.map((face, k) => {
    // Who else talks, and where are they?
    const others = faces.map((_, j) => j).filter((j) => j !== k && activity[j]);
    let listen: ListenInput | null = null;
    if (others.length > 0) {
      const act = new Float32Array(n);
      const weightedX = new Float32Array(n);
      for (const j of others) {
        const a = activity[j]!;
        for (let i = 0; i < n; i++) {
          act[i] = Math.max(act[i], a[i]);
          weightedX[i] += a[i] * Math.sign((faces[j].x ?? 0) - (face.x ?? 0));
        }
      }
      // One direction for the whole clip: toward the side where the others talk the most.
      const total = weightedX.reduce((s, v) => s + v, 0);
      listen = { activity: act, towardX: Math.sign(total) };
    }
    if (face.pcm) {
      return buildMotionTrack({ pcm: face.pcm, phonemes: face.phonemes, numFrames: n, fps, seed, prompt, listenTo: listen, faceIndex: k });
    }
    return buildListenerTrack({
      speakerActivity: listen?.activity ?? new Float32Array(n),
      numFrames: n,
      fps,
      seed,
      prompt,
      towardX: listen?.towardX ?? 0,
      faceIndex: k,
    });
  });
}

/**
 * The motion of every face of an engine job: tracks are matched to faces by faceIndex (tracks without a
 * face are ignored; two tracks on one face are mixed), faces are placed by their box centres so that
 * listeners turn toward whoever talks. Returns one MotionFrame[] per job.faces entry.
 */
export function buildMotionForJob(
  job: Pick<EngineJob, "faces" | "tracks" | "numFrames" | "fps" | "seed" | "prompt">,
): MotionFrame[][] {
  const faces: FaceVoice[] = job.faces.map((f) => ({ x: f.box.x + f.box.width / 2 }));
  for (const track of job.tracks) {
    if (track.faceIndex === null || !faces[track.faceIndex]) continue;
    const face = faces[track.faceIndex];
    if (!face.pcm) {
      face.pcm = track.pcm;
      face.phonemes = track.phonemes;
      continue;
    }
    // A second voice on the same face: mix it in (same rate assumed; else keep the first). Two phoneme
    // tracks would overlap in time, so the mixed voice is driven by its audio alone.
    if (face.pcm.sampleRate === track.pcm.sampleRate) {
      const len = Math.max(face.pcm.samples.length, track.pcm.samples.length);
      const mixed = new Float32Array(len);
      mixed.set(face.pcm.samples);
      for (let i = 0; i < track.pcm.samples.length; i++) mixed[i] += track.pcm.samples[i];
      face.pcm = { sampleRate: face.pcm.sampleRate, samples: mixed };
      face.phonemes = undefined;
    }
  }
  return buildMotion({ faces, numFrames: job.numFrames, fps: job.fps, seed: job.seed, prompt: job.prompt });
}

function assemble(n: number, mouth: MouthCurves, life: LifeCurves): MotionFrame[] {
  const frames: MotionFrame[] = new Array(n);
  for (let i = 0; i < n; i++) {
    // Smiling spreads the lips a little; a wide-open jaw reduces the visible smile width.
    const smile = life.smile[i];
    frames[i] = {
      jawOpen: mouth.jawOpen[i],
      lipWidth: clamp(mouth.lipWidth[i] + 0.15 * Math.max(0, smile), -1, 1),
      lipRound: mouth.lipRound[i],
      lipClose: mouth.lipClose[i],
      smile,
      blinkLeft: life.blinkLeft[i],
      blinkRight: life.blinkRight[i],
      browRaise: life.browRaise[i],
      headYaw: life.headYaw[i],
      headPitch: life.headPitch[i],
      headRoll: life.headRoll[i],
      headX: life.headX[i],
      headY: life.headY[i],
      gazeX: life.gazeX[i],
      gazeY: life.gazeY[i],
    };
  }
  return frames;
}
