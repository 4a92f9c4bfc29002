/**
 * The offline synthesizer: text -> chunks -> Flite runs with a voice's settings -> one PCM track with
 * continuous IPA phoneme timings and word timings.
 *
 * Every chunk is one short Flite run (tens to hundreds of milliseconds of CPU) in a worker thread, so a long
 * text never stalls a server's event loop, and the AbortSignal stops it between or during chunks.
 *
 * @example
 *   const flite = await Flite.load();
 *   const speech = await speakOffline(flite, "Hello there.", VOICE_CATALOG.Aria.settings);
 */
import type { Pcm } from "../media/types.js";
import type { PhonemeTiming } from "../motion/types.js";
import { throwIfAborted } from "../errors.js";
import { alignWords, type TimedPhone, type WordTiming } from "./align.js";
import { FLITE_VOICE_F0, type Flite, type FlitePhone } from "./flite.js";
import { arpabetToIpa, isSilence, SILENCE } from "./phones.js";
import { chunkText, type TextChunk } from "./text.js";
import type { VoiceSettings } from "./voices.js";

export interface SpeechResult {
  pcm: Pcm;
  phonemes: PhonemeTiming[];
  words?: WordTiming[];
  /**
   * Set when `maxSeconds` stopped the synthesis before the end of the text: the track holds the speech up to the
   * end of the sentence group that passed maxSeconds, and `estimatedSec` estimates the whole text's length from
   * the characters spoken so far.
   */
  cut?: { estimatedSec: number };
}

export interface OfflineSpeakOptions {
  signal?: AbortSignal;
  /** Compute word timings (one more cheap Flite run per chunk). Default true. */
  words?: boolean;
  /**
   * Stop after the chunk that makes the track at least this long (seconds): a video shorter than the speech
   * never needs the rest, and 5,000 characters take minutes to say. Default: speak everything.
   */
  maxSeconds?: number;
}

/** The sample rate a voice's PCM comes out at: Flite's rate scaled by the formant factor. */
export function voiceSampleRate(settings: VoiceSettings, fliteRate = 16000): number {
  return Math.round(fliteRate * settings.formant);
}

/** Synthesizes `text` (already validated) with one voice's settings. */
export async function speakOffline(
  flite: Flite,
  text: string,
  settings: VoiceSettings,
  options: OfflineSpeakOptions = {},
): Promise<SpeechResult> {
  const chunks = chunkText(text);
  const pieces: Float32Array[] = [];
  const phonemes: PhonemeTiming[] = [];
  const words: WordTiming[] = [];
  let sampleRate = 0;
  let length = 0;
  let spokenChars = 0;
  let cut: SpeechResult["cut"];
  const totalChars = chunks.reduce((n, c) => n + c.text.length, 0);

  for (const chunk of chunks) {
    throwIfAborted(options.signal);
    if (options.maxSeconds !== undefined && sampleRate > 0 && length / sampleRate >= options.maxSeconds) {
      cut = { estimatedSec: Math.round(((length / sampleRate) * totalChars / spokenChars) * 100) / 100 };
      break;
    }
    spokenChars += chunk.text.length;
    const out = await synthesizeChunk(flite, chunk, settings, options.words !== false, options.signal);
    if (sampleRate === 0) sampleRate = out.sampleRate;
    const offset = length / sampleRate;
    for (const p of out.phonemes) pushPhoneme(phonemes, p.phoneme, offset + p.start, offset + p.end);
    for (const w of out.words) words.push({ word: w.word, start: offset + w.start, end: offset + w.end });
    pieces.push(out.samples);
    length += out.samples.length;
    const pause = Math.round((chunk.pauseAfter / settings.rate) * sampleRate);
    if (pause > 0) {
      pieces.push(new Float32Array(pause));
      pushPhoneme(phonemes, SILENCE, length / sampleRate, (length + pause) / sampleRate);
      length += pause;
    }
  }
  throwIfAborted(options.signal);

  const samples = new Float32Array(length);
  let at = 0;
  for (const piece of pieces) {
    samples.set(piece, at);
    at += piece.length;
  }
  const rate = sampleRate || voiceSampleRate(settings);
  const total = length / rate;
  // The last phoneme ends where the audio ends (Flite's trace and its samples can differ by a few ms).
  if (phonemes.length) phonemes[phonemes.length - 1].end = Math.max(phonemes[phonemes.length - 1].start, total);
  return { pcm: { sampleRate: rate, samples }, phonemes, words: options.words === false ? undefined : words, ...(cut ? { cut } : {}) };
}

/** Appends a phoneme, merging it into the previous one when both are silence; keeps times monotonic. */
function pushPhoneme(list: PhonemeTiming[], phoneme: string, start: number, end: number): void {
  const prev = list[list.length - 1];
  const s = prev ? Math.max(start, prev.end) : Math.max(0, start);
  const e = Math.max(s, end);
  if (prev && phoneme === SILENCE && prev.phoneme === SILENCE) {
    prev.end = e;
    return;
  }
  if (e - s <= 0 && phoneme === SILENCE) return;
  list.push({ phoneme, start: s, end: e });
}

interface ChunkSpeech {
  sampleRate: number;
  samples: Float32Array;
  phonemes: PhonemeTiming[];
  words: WordTiming[];
}

async function synthesizeChunk(
  flite: Flite,
  chunk: TextChunk,
  settings: VoiceSettings,
  withWords: boolean,
  signal?: AbortSignal,
): Promise<ChunkSpeech> {
  const k = settings.formant;
  const controllable = FLITE_VOICE_F0[settings.base].controllable && settings.pitch !== undefined;
  const tokens = chunk.text.split(/\s+/).filter((t) => /[a-z0-9]/i.test(t));
  // The word-phones run does not depend on the synthesis: both run at once, each in its own worker.
  const [out, groups] = await Promise.all([
    flite.synthesize(chunk.text, {
      voice: settings.base,
      durationStretch: k / settings.rate,
      f0Mean: controllable ? settings.pitch! / k : undefined,
      f0Std: controllable ? settings.pitchRange / k : undefined,
    }, signal),
    withWords ? wordPhones(flite, tokens, signal) : Promise.resolve([]),
  ]);
  const sampleRate = voiceSampleRate(settings, out.sampleRate);
  const scale = out.sampleRate / sampleRate; // Flite seconds -> heard seconds
  const timed: FlitePhone[] = out.phones.map((p) => ({ phone: p.phone, start: p.start * scale, end: p.end * scale }));
  const phonemes = timed.map((p) => ({ phoneme: arpabetToIpa(p.phone), start: p.start, end: p.end }));
  const labels = tokens.map((t) => t.replace(/^[^a-z0-9$£€]+|[^a-z0-9%]+$/gi, ""));
  const speech: TimedPhone[] = timed.filter((p) => !isSilence(p.phone));
  const words = withWords && tokens.length ? alignWords(labels, groups, speech) : [];
  return { sampleRate, samples: out.samples, phonemes, words };
}

/** Each token's phones: one cheap Flite run for all, or (rarely) one run per token. */
async function wordPhones(flite: Flite, tokens: string[], signal?: AbortSignal): Promise<string[][]> {
  const groups = await flite.tokenPhones(tokens, signal);
  if (groups) return groups;
  const each: string[][] = [];
  for (const t of tokens) each.push((await flite.phones(t, signal)).filter((p) => !isSilence(p)));
  return each;
}
