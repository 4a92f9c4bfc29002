/**
 * Optional ElevenLabs provider: when an API key is configured, fal's voice names are spoken by the real
 * ElevenLabs premade voices (`POST {baseUrl}/v1/text-to-speech/{voice_id}`, raw 16-bit PCM at 22,050 Hz).
 * It gives no phoneme timings: phonemes come back empty and the motion stage animates from the audio.
 *
 * @example
 *   const speech = await speakElevenLabs({ text: "Hi!", voice: "Aria" }, { apiKey, baseUrl: "https://api.elevenlabs.io" });
 */
import type { VoiceName } from "../api/endpoints.js";
import { CancelledError, InputError } from "../errors.js";
import type { SpeechResult } from "./offline.js";
import { VOICE_CATALOG } from "./voices.js";

export const ELEVENLABS_SAMPLE_RATE = 22050;
export const ELEVENLABS_DEFAULT_MODEL = "eleven_multilingual_v2";

export interface ElevenLabsOptions {
  apiKey: string;
  baseUrl: string;
  modelId?: string;
  /** The fetch to use (tests pass none: the global fetch reaches their local stand-in server). */
  fetch?: typeof fetch;
  /** Give up after this many milliseconds (default 120 s). */
  timeoutMs?: number;
}

export class ElevenLabsError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = "ElevenLabsError";
  }
}

/** The request we send, exposed for tests and logs. */
export function elevenLabsRequest(text: string, voice: VoiceName, options: ElevenLabsOptions): { url: string; init: RequestInit } {
  const base = options.baseUrl.replace(/\/+$/, "");
  const id = VOICE_CATALOG[voice].elevenLabsId;
  return {
    url: `${base}/v1/text-to-speech/${id}?output_format=pcm_${ELEVENLABS_SAMPLE_RATE}`,
    init: {
      method: "POST",
      headers: { "xi-api-key": options.apiKey, "content-type": "application/json", accept: "audio/pcm" },
      body: JSON.stringify({ text, model_id: options.modelId ?? ELEVENLABS_DEFAULT_MODEL }),
    },
  };
}

export async function speakElevenLabs(
  request: { text: string; voice: VoiceName; signal?: AbortSignal; field?: string },
  options: ElevenLabsOptions,
): Promise<SpeechResult> {
  const { url, init } = elevenLabsRequest(request.text, request.voice, options);
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 120_000);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url, { ...init, signal });
  } catch (err) {
    if (request.signal?.aborted) throw new CancelledError();
    throw new ElevenLabsError(`ElevenLabs could not be reached: ${(err as Error).message}`);
  }
  const body = Buffer.from(await response.arrayBuffer());
  if (!response.ok) {
    const detail = body.toString("utf8").slice(0, 300);
    if (response.status === 422 || response.status === 400) {
      throw InputError.field(request.field ?? "text_input", `ElevenLabs refused the text (${response.status}): ${detail}`);
    }
    throw new ElevenLabsError(`ElevenLabs answered ${response.status}: ${detail}`, response.status);
  }
  const type = response.headers.get("content-type") ?? "";
  if (/mpeg|json|text/.test(type)) {
    throw new ElevenLabsError(`ElevenLabs sent ${type} instead of raw PCM; does the plan allow pcm_${ELEVENLABS_SAMPLE_RATE}?`);
  }
  const count = Math.floor(body.length / 2);
  const samples = new Float32Array(count);
  for (let i = 0; i < count; i++) samples[i] = body.readInt16LE(i * 2) / 32768;
  return { pcm: { sampleRate: ELEVENLABS_SAMPLE_RATE, samples }, phonemes: [] };
}
