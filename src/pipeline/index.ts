/**
 * The pipeline runner: one function per endpoint kind, wiring fetch → image + faces → audio → engine → encode →
 * storage. The queue calls the JobRunner this returns.
 *
 * @example
 *   const run = createPipelineRunner({ config, storage, logger });           // StillEngine, no face detector
 *   const run = createPipelineRunner({ config, storage, logger, engine, faceDetector }); // the real stages
 *   const output = await run({ requestId, endpoint, input }, ctx);           // { video: {url, ...}, seed }
 */
import type { EndpointKind } from "../api/endpoints.js";
import type { Config } from "../config.js";
import { CancelledError, InputError } from "../errors.js";
import { resolveBinaries } from "../media/ffmpeg.js";
import type { HttpFetcher } from "../media/fetch.js";
import type { JobContext } from "../media/types.js";
import type { Storage } from "../storage/types.js";
import { createSpeechSynthesizer, type Synthesizer } from "../speech/index.js";
import type { Engine } from "./engine.js";
import { noFaceDetector, type FaceDetector } from "./face-detector.js";
import { runMultiAudio, runMultiText } from "./multi.js";
import { runSingleAudio, runSingleText } from "./single.js";
import { runVideoToVideo } from "./video.js";
import type { SpeechSource } from "./speech.js";
import { removeDeadJobDirs, resolveLimits, withJobDir, type JobScope, type KindRunner, type PipelineLimits, type PipelineLogger, type StepEnv } from "./steps.js";
import { StillEngine } from "./still-engine.js";
import type { JobRunner } from "./types.js";

export type { FaceDetector } from "./face-detector.js";
export { noFaceDetector } from "./face-detector.js";
export { StillEngine } from "./still-engine.js";
export type { PipelineLimits, PipelineLogger, StepEnv, JobScope, KindRunner } from "./steps.js";
export type { SpeechSource } from "./speech.js";
export { runSingleAudio, runSingleText } from "./single.js";
export { runMultiAudio, runMultiText } from "./multi.js";
export { bindPeople, planSecondTurn, TURN_GAP_SEC, type PeopleBinding } from "./conversation.js";

export interface PipelineRunnerOptions {
  config: Config;
  storage: Storage;
  logger: PipelineLogger;
  /** Default: StillEngine (repeats the picture) until the classical engine is wired in. */
  engine?: Engine;
  /** Default: noFaceDetector (finds none) until src/face is wired in. */
  faceDetector?: FaceDetector;
  /** A faster detector for video-to-video's face tracking (key frames). Default: faceDetector. */
  trackDetector?: FaceDetector;
  limits?: Partial<PipelineLimits>;
  /** Replaces the http(s) download (SSRF hardening). */
  httpFetch?: HttpFetcher;
  /**
   * Text-to-speech for the text endpoints (a synthesizer or its promise). Default: the runner makes one from the
   * configuration (ElevenLabs when config.elevenLabsApiKey is set, else offline Flite) on the first text request;
   * `runner.close()` releases it. A synthesizer passed in here is the caller's to close.
   */
  speech?: SpeechSource;
}

/** The JobRunner, plus close() for what the runner made itself (the default speech synthesizer). */
export type PipelineRunner = JobRunner & { close(): Promise<void> };

/** Thrown for endpoint kinds the pipeline does not implement yet. */
export class UnsupportedKindError extends Error {
  constructor(readonly endpointId: string, readonly kind: EndpointKind) {
    super(`${endpointId} (${kind}) is not available on this server yet`);
    this.name = "UnsupportedKindError";
  }
}

/** One runner per endpoint kind. */
export const KIND_RUNNERS: Record<EndpointKind, KindRunner> = {
  "single-audio": runSingleAudio,
  "multi-audio": runMultiAudio,
  "single-text": runSingleText,
  "multi-text": runMultiText,
  "video-to-video": runVideoToVideo,
};

/** Builds the JobRunner the queue calls. See the module example. */
export function createPipelineRunner(options: PipelineRunnerOptions): PipelineRunner {
  let ownSpeech: Promise<Synthesizer> | undefined;
  const speech = (): Promise<Synthesizer> => {
    if (options.speech) return Promise.resolve(options.speech);
    if (!ownSpeech) {
      ownSpeech = createSpeechSynthesizer({
        elevenLabsApiKey: options.config.elevenLabsApiKey,
        elevenLabsBaseUrl: options.config.elevenLabsBaseUrl,
        log: (message, level) => options.logger[level === "error" ? "error" : level === "warn" ? "warn" : "info"]({}, message),
      });
      ownSpeech.catch(() => (ownSpeech = undefined));
    }
    return ownSpeech;
  };
  const env: StepEnv = {
    config: options.config,
    storage: options.storage,
    logger: options.logger,
    engine: options.engine ?? new StillEngine(),
    faceDetector: options.faceDetector ?? noFaceDetector,
    trackDetector: options.trackDetector,
    bins: resolveBinaries(options.config),
    limits: resolveLimits(options.config, options.limits),
    httpFetch: options.httpFetch,
    speech,
  };

  // Job dirs that killed processes left behind (their renders' frames): once, when this runner is made.
  removeDeadJobDirs(env.limits.tmpRoot).then(
    (n) => n > 0 && env.logger.info({ removed: n, tmpRoot: env.limits.tmpRoot }, "removed the job dirs of processes that were killed mid-job"),
    (err: unknown) => env.logger.warn({ err }, "could not look for job dirs left by killed processes"),
  );

  const run: JobRunner = async (request, ctx) => {
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
  return Object.assign(run, {
    async close() {
      const own = ownSpeech;
      ownSpeech = undefined;
      if (own) await (await own.catch(() => undefined))?.close();
    },
  });
}
