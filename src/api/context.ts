/**
 * What the routes share: the configuration and the services buildServer was given, plus helpers to find a
 * caller's own job and to translate file URLs between the caller's view of this server and storage's.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, LogLevel } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { JobHead, JobQueue } from "../queue/types.js";
import type { Synthesizer } from "../speech/index.js";
import type { KeyedStorage } from "../storage/types.js";
import type { UploadSessions } from "../storage/uploads.js";
import type { KeyVerifier } from "./keys.js";
import type { SigningKey } from "./signing-key.js";
import { appIdOf, rebaseUrls, requestBase } from "./urls.js";

export interface ServerDeps {
  config: Config;
  queue: JobQueue;
  storage: KeyedStorage;
  keys: KeyVerifier;
  logger: Logger;
  /** Upload sessions (default: under config.dataDir/uploads with config.uploadLimit). */
  uploads?: UploadSessions;
  /** Interval of SSE keep-alive comments. Default 15 s. */
  sseKeepAliveMs?: number;
  /** Extra routes (e.g. the playground page), registered before the API's catch-all routes. */
  plugins?: FastifyPluginAsync[];
  /** The process's one speech synthesizer, for GET /voices samples (default: the voice routes make their own). */
  speech?: Synthesizer;
  /** The webhook signing key whose public half /.well-known/jwks.json serves (default: loaded from the data dir). */
  signingKey?: SigningKey;
}

export interface ServerContext extends Required<Omit<ServerDeps, "plugins" | "speech" | "signingKey">> {
  app: FastifyInstance;
  /** Closers of open long-lived answers (SSE streams, waiting sync requests), run when the app closes. */
  openStreams: Set<() => void>;
}

/**
 * The log level of routes that clients poll (status, health): their "incoming request" / "request completed" lines
 * show at debug, not at info (two synchronous log writes per poll otherwise). Failures are still logged.
 */
export function pollLogLevel(logger: Logger): LogLevel {
  return (logger.level === "info" ? "warn" : logger.level) as LogLevel;
}

/**
 * The job `requestId`, without its payloads, if the caller owns it and `appPath` addresses it (owner/alias or the
 * full id). (The result route reads the payload afterwards with queue.get.)
 */
export async function findOwnJob(ctx: ServerContext, request: FastifyRequest, appPath: string, requestId: string): Promise<JobHead | undefined> {
  const job = await ctx.queue.head(requestId);
  if (!job || job.owner !== request.principal?.owner) return undefined;
  if (appPath !== job.endpointId && appPath !== appIdOf(job.endpointId)) return undefined;
  return job;
}

/** Storage's URLs → the caller's view of this server (they differ when publicUrl is unset and Host is not loopback). */
export function toCallerUrls<T>(ctx: ServerContext, request: FastifyRequest, value: T): T {
  return rebaseUrls(value, ctx.storage.urlFor("files/"), `${requestBase(request, ctx.config)}/files/`);
}

/** The caller's file URLs → storage's own (so the pipeline reads them from storage, not over HTTP). */
export function toStorageUrls<T>(ctx: ServerContext, request: FastifyRequest, value: T): T {
  return rebaseUrls(value, `${requestBase(request, ctx.config)}/files/`, ctx.storage.urlFor("files/"));
}
