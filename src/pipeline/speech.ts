/**
 * Text → a voice track: the synthesizer speaks the text, the speech is written as a WAV into the job dir and goes
 * through the same exact-length decode as an uploaded audio file (16 kHz PCM for motion + a 48 kHz mux WAV), and
 * its phoneme timings are fitted to the video's length (cut at its end, padded with silence up to it).
 *
 * @example
 *   const spoken = await speakTrack(env, job, { text, voice: "Aria", field: "text_input", voiceField: "voice" }, 136);
 *   spoken.audio.pcm; spoken.audio.muxPath; spoken.phonemes; spoken.speechSec
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { FPS, type VoiceName } from "../api/endpoints.js";
import type { PreparedAudio } from "../media/audio.js";
import type { PhonemeTiming } from "../motion/types.js";
import { encodeWav, SILENCE, type Synthesizer } from "../speech/index.js";
import { prepareTrack, timed, type JobScope, type StepEnv } from "./steps.js";

/** The synthesizer, or its promise (it loads asynchronously). */
export type SpeechSource = Synthesizer | Promise<Synthesizer>;

export interface SpeakTrackRequest {
  text: string;
  voice: VoiceName;
  /** The request fields the text and voice came from (for errors and logs). */
  field: string;
  voiceField: string;
}

export interface SpokenTrack {
  /** Exactly numFrames / FPS seconds: PCM at the analysis rate and the mux WAV. */
  audio: PreparedAudio;
  /** Phoneme timings (IPA, "_" = silence) in seconds from the track's start, tiling [0, video length]. */
  phonemes: PhonemeTiming[];
  /**
   * Length of the speech itself, before trimming or padding. When the synthesizer stopped early (the text is
   * longer than the video can hold), its estimate of the whole text's length.
   */
  speechSec: number;
  /** First and last sound that is not silence (seconds), from the phoneme timings. */
  voicedFrom: number;
  voicedTo: number;
}

/** Speech past the video's end by more than this is never synthesized (a 5,000-character text is ~10 min). */
const SPEAK_MARGIN_SEC = 1;

/** Speaks the text (no more of it than the video can hold) and prepares it as a track of numFrames / FPS seconds. */
export async function speakTrack(env: StepEnv, job: JobScope, request: SpeakTrackRequest, numFrames: number): Promise<SpokenTrack> {
  const synth = await env.speech();
  const speech = await timed(job, `speak ${request.field}`, () => synth.speak({
    text: request.text, voice: request.voice, signal: job.ctx.signal, field: request.field, voiceField: request.voiceField,
    maxSeconds: numFrames / FPS + SPEAK_MARGIN_SEC,
  }), (r) => `${request.voice} (${synth.provider}), ${(r.pcm.samples.length / r.pcm.sampleRate).toFixed(2)} s` +
    `${r.cut ? ` (stopped there; the whole text would last about ${r.cut.estimatedSec.toFixed(0)} s)` : ""}, ${r.phonemes.length} phonemes`);
  const wav = path.join(job.dir, `${request.field}.wav`);
  await writeFile(wav, encodeWav(speech.pcm));
  const audio = await prepareTrack(env, job, wav, request.field, numFrames, FPS);
  const speechSec = speech.cut?.estimatedSec ?? speech.pcm.samples.length / speech.pcm.sampleRate;
  const voiced = speech.phonemes.filter((p) => p.phoneme !== SILENCE && p.end > p.start);
  return {
    audio,
    phonemes: fitPhonemes(speech.phonemes, numFrames / FPS),
    speechSec,
    voicedFrom: voiced.length ? voiced[0].start : 0,
    voicedTo: voiced.length ? voiced[voiced.length - 1].end : 0,
  };
}

/**
 * Phonemes fitted to a track of `durationSec`: those starting at or after the end are dropped, the last one is cut
 * at the end, and a silence fills any time after the last one. Pure.
 */
export function fitPhonemes(phonemes: readonly PhonemeTiming[], durationSec: number): PhonemeTiming[] {
  const out: PhonemeTiming[] = [];
  for (const p of phonemes) {
    if (p.start >= durationSec) break;
    out.push({ phoneme: p.phoneme, start: p.start, end: Math.min(p.end, durationSec) });
  }
  const last = out.length ? out[out.length - 1].end : 0;
  if (last < durationSec) {
    if (out.length && out[out.length - 1].phoneme === SILENCE) out[out.length - 1].end = durationSec;
    else out.push({ phoneme: SILENCE, start: last, end: durationSec });
  }
  return out;
}

/**
 * Phonemes moved `offsetSec` later on a track of `durationSec` (silence before them), then fitted to it. Pure.
 */
export function offsetPhonemes(phonemes: readonly PhonemeTiming[], offsetSec: number, durationSec: number): PhonemeTiming[] {
  if (offsetSec <= 0) return fitPhonemes(phonemes, durationSec);
  const moved = phonemes.map((p) => ({ phoneme: p.phoneme, start: p.start + offsetSec, end: p.end + offsetSec }));
  return fitPhonemes([{ phoneme: SILENCE, start: 0, end: offsetSec }, ...moved], durationSec);
}

/** Frames that hold `seconds` of speech at FPS (rounded up). */
export function framesFor(seconds: number): number {
  return Math.ceil(seconds * FPS - 1e-9);
}
