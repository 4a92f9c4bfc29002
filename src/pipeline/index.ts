/**
 * The pipeline runner: one function per endpoint kind, wiring fetch → image + faces → audio → engine → encode →
 * storage. The queue calls the JobRunner this returns.
 *
 * @example
 *   const run = createPipelineRunner({ config, storage, logger });           // StillEngine, no face detector
 *   const run = createPipelineRunner({ config, storage, logger, engine, faceDetector }); // the real stages
 *   const output = await run({ requestId, endpoint, input }, ctx);           // { video: {url, ...}, seed }
 */
import { FPS, type Acceleration, type EndpointKind, type Resolution, type VideoOutput } from "../api/endpoints.js";
import type { Config } from "../config.js";
import { CancelledError, InputError } from "../errors.js";
import { resolveBinaries } from "../media/ffmpeg.js";
import type { HttpFetcher } from "../media/fetch.js";
import type { JobContext } from "../media/types.js";
import type { Storage } from "../storage/types.js";
import type { Engine, EngineJob } from "./engine.js";
import { noFaceDetector, type FaceDetector } from "./face-detector.js";
import {
  allOrAbort, chooseSeed, fetchFile, prepareImage, prepareTrack, renderAndEncode, resolveLimits, storeVideo, withJobDir,
  type JobScope, type PipelineLimits, type PipelineLogger, type StepEnv,
} from "./steps.js";
import { StillEngine } from "./still-engine.js";
import type { JobRunner, RunRequest } from "./types.js";

export type { FaceDetector } from "./face-detector.js";
export { noFaceDetector } from "./face-detector.js";
export { StillEngine } from "./still-engine.js";
export type { PipelineLimits, PipelineLogger, StepEnv, JobScope } from "./steps.js";

export interface PipelineRunnerOptions {
  config: Config;
  storage: Storage;
  logger: PipelineLogger;
  /** Default: StillEngine (repeats the picture) until the classical engine is wired in. */
  engine?: Engine;
  /** Default: noFaceDetector (finds none) until src/face is wired in. */
  faceDetector?: FaceDetector;
  limits?: Partial<PipelineLimits>;
  /** Replaces the http(s) download (SSRF hardening). */
  httpFetch?: HttpFetcher;
}

/** Runs one request of a given endpoint kind inside its job scope (temp dir and context ready). */
export type KindRunner = (env: StepEnv, job: JobScope, request: RunRequest) => Promise<VideoOutput>;

/** Thrown for endpoint kinds the pipeline does not implement yet. */
export class UnsupportedKindError extends Error {
  constructor(readonly endpointId: string, readonly kind: EndpointKind) {
    super(`${endpointId} (${kind}) is not available on this server yet`);
    this.name = "UnsupportedKindError";
  }
}

// Typed readers for the (already schema-parsed) input: a wrong value is the caller's bug, reported per field.
function str(input: Record<string, unknown>, field: string): string {
  const v = input[field];
  if (typeof v !== "string" || v.length === 0) throw InputError.field(field, "a non-empty string is required", "missing");
  return v;
}
function int(input: Record<string, unknown>, field: string): number {
  const v = input[field];
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw InputError.field(field, "a positive integer is required", "int_parsing");
  return v;
}
function oneOf<T extends string>(input: Record<string, unknown>, field: string, allowed: readonly T[], def: T): T {
  const v = input[field] ?? def;
  if (!allowed.includes(v as T)) throw InputError.field(field, `must be one of ${allowed.join(", ")}`, "enum");
  return v as T;
}

/** fal-ai/ai-avatar and fal-ai/infinitalk: one picture, one audio track. */
export const runSingleAudio: KindRunner = async (env, job, request) => {
  const input = request.input;
  const imageUrl = str(input, "image_url");
  const audioUrl = str(input, "audio_url");
  const numFrames = int(input, "num_frames");
  const resolution = oneOf<Resolution>(input, "resolution", ["480p", "720p"], "480p");
  const acceleration = oneOf<Acceleration>(input, "acceleration", ["none", "regular", "high"], "regular");
  const prompt = typeof input.prompt === "string" ? input.prompt : "";
  const seed = chooseSeed(input);

  const [imageFile, audioFile] = await allOrAbort(job.controller, [
    () => fetchFile(env, job, imageUrl, "image_url"),
    () => fetchFile(env, job, audioUrl, "audio_url"),
  ] as const);
  const [picture, audio] = await allOrAbort(job.controller, [
    () => prepareImage(env, job, imageFile.path, "image_url", resolution),
    () => prepareTrack(env, job, audioFile.path, "audio_url", numFrames, FPS),
  ] as const);

  const engineJob: EngineJob = {
    image: picture.image,
    faces: picture.faces,
    tracks: [{ pcm: audio.pcm, faceIndex: picture.faces.length > 0 ? 0 : null }],
    numFrames,
    fps: FPS,
    seed,
    prompt,
    acceleration,
  };
  const encoded = await renderAndEncode(env, job, engineJob, audio.muxPath);
  const video = await storeVideo(env, job, encoded.outPath);
  return { video, seed };
};

const unsupported: KindRunner = async (_env, _job, request) => {
  throw new UnsupportedKindError(request.endpoint.id, request.endpoint.kind);
};

/** One runner per endpoint kind; the lead adds multi-audio, single-text, multi-text, video-to-video here. */
export const KIND_RUNNERS: Record<EndpointKind, KindRunner> = {
  "single-audio": runSingleAudio,
  "multi-audio": unsupported,
  "single-text": unsupported,
  "multi-text": unsupported,
  "video-to-video": unsupported,
};

/** Builds the JobRunner the queue calls. See the module example. */
export function createPipelineRunner(options: PipelineRunnerOptions): JobRunner {
  const env: StepEnv = {
    config: options.config,
    storage: options.storage,
    logger: options.logger,
    engine: options.engine ?? new StillEngine(),
    faceDetector: options.faceDetector ?? noFaceDetector,
    bins: resolveBinaries(options.config),
    limits: resolveLimits(options.config, options.limits),
    httpFetch: options.httpFetch,
  };

  return async (request, ctx) => {
    const runKind = KIND_RUNNERS[request.endpoint.kind];
    if (!runKind) throw new UnsupportedKindError(request.endpoint.id, request.endpoint.kind);
    if (ctx.signal.aborted) throw new CancelledError();
    const t0 = performance.now();
    const log = { requestId: request.requestId, endpoint: request.endpoint.id };
    env.logger.info(log, "job started");
    // The job's own controller: fires on cancel, and when one of two concurrent steps fails (kills the other's ffmpeg).
    const controller = new AbortController();
    const forward = () => controller.abort();
    ctx.signal.addEventListener("abort", forward, { once: true });
    try {
      return await withJobDir(env.limits.tmpRoot, async (dir) => {
        const jobCtx: JobContext = { signal: controller.signal, log: ctx.log, progress: ctx.progress };
        const job: JobScope = { requestId: request.requestId, dir, ctx: jobCtx, controller };
        const output = await runKind(env, job, request);
        ctx.log(`done in ${Math.round(performance.now() - t0)} ms`);
        return output;
      });
    } catch (err) {
      if (ctx.signal.aborted) {
        env.logger.info({ ...log, ms: Math.round(performance.now() - t0) }, "job cancelled");
        throw err instanceof CancelledError ? err : new CancelledError();
      }
      const level = err instanceof InputError ? "info" : "error";
      env.logger[level]({ ...log, err, ms: Math.round(performance.now() - t0) }, "job failed");
      throw err;
    } finally {
      ctx.signal.removeEventListener("abort", forward);
    }
  };
}
