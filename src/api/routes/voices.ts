/**
 * The voices of the text endpoints: `GET /voices` lists the 20 names with gender, accent, a description and the
 * URL of a short sample; `GET /voices/{name}/sample.wav` is that sample (16-bit mono WAV, made on first request,
 * then cached in memory for the life of the process). Both are public, like /openapi.json: the catalog is the
 * same for every caller and holds nothing secret, and the samples are at most 20 fixed sentences per process.
 *
 * The synthesizer is the process's one shared synthesizer (src/cli/runner.ts hands it to buildServer); without
 * one the routes make their own, loaded on first use and closed with the app.
 *
 * @example
 *   registerVoiceRoutes(app, { config, speech });
 *   // GET /voices -> {provider: "flite", voices: [{name: "Aria", gender: "female", accent: "American", …, sample_url}]}
 */
import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Config } from "../../config.js";
import { NotFoundError } from "../../errors.js";
import { createLazySynthesizer, type Synthesizer } from "../../speech/index.js";
import { nominalPitch } from "../../speech/voices.js";
import { requestBase } from "../urls.js";

/** How long browsers and proxies may keep a sample: they only change with the server's version. */
export const SAMPLE_MAX_AGE_SEC = 86_400;

export interface VoiceRoutesDeps {
  config: Pick<Config, "publicUrl" | "elevenLabsApiKey" | "elevenLabsBaseUrl">;
  /** The process's shared synthesizer (the caller closes it). Default: one of the routes' own, closed with the app. */
  speech?: Synthesizer;
}

/** One voice as GET /voices lists it. */
export interface VoiceListing {
  name: string;
  gender: "female" | "male" | "neutral";
  /** The accent of the ElevenLabs voice of that name. */
  accent: string;
  /** What this server's voice sounds like when it speaks offline (the nearest accent the engine has). */
  spoken_accent: string;
  description: string;
  /** "flite" (offline) or "elevenlabs" (when the server has an ElevenLabs key). */
  engine: "flite" | "elevenlabs";
  /** The offline voice's mean pitch in Hz. */
  pitch_hz: number;
  sample_url: string;
}

export function registerVoiceRoutes(app: FastifyInstance, deps: VoiceRoutesDeps): void {
  let speech = deps.speech;
  if (!speech) {
    const own = createLazySynthesizer({ elevenLabsApiKey: deps.config.elevenLabsApiKey, elevenLabsBaseUrl: deps.config.elevenLabsBaseUrl });
    app.addHook("onClose", () => own.close());
    speech = own;
  }
  const synth = speech;
  const etags = new Map<string, string>();

  app.get("/voices", async (request) => {
    const base = requestBase(request, deps.config);
    return {
      provider: synth.provider,
      voices: synth.voices.map((v): VoiceListing => ({
        name: v.name,
        gender: v.gender,
        accent: v.accent,
        spoken_accent: synth.provider === "elevenlabs" ? v.accent : v.spokenAccent,
        description: v.description,
        engine: synth.provider,
        pitch_hz: nominalPitch(v.settings),
        sample_url: `${base}/voices/${encodeURIComponent(v.name)}/sample.wav`,
      })),
    };
  });

  app.get<{ Params: { name: string } }>("/voices/:name/sample.wav", async (request, reply) => {
    const voice = synth.voices.find((v) => v.name === request.params.name);
    if (!voice) {
      throw new NotFoundError(`Unknown voice '${request.params.name}': use one of ${synth.voices.map((v) => v.name).join(", ")}.`);
    }
    const wav = await synth.sample(voice.name);
    let etag = etags.get(voice.name);
    if (!etag) {
      etag = `"${createHash("sha1").update(wav).digest("base64url").slice(0, 16)}"`;
      etags.set(voice.name, etag);
    }
    reply.header("cache-control", `public, max-age=${SAMPLE_MAX_AGE_SEC}`);
    reply.header("etag", etag);
    if (request.headers["if-none-match"] === etag) return reply.code(304).send();
    reply.header("content-type", "audio/wav");
    return reply.send(wav);
  });
}
