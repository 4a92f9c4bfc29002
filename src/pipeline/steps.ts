/**
 * The pipeline's building blocks, shared by every endpoint kind: fetch an input, prepare the picture (check,
 * decode at frame scale, detect faces, face-aware crop), prepare an audio track (exact length PCM + mux WAV),
 * render + encode (overlapped), store the video. Each step logs its stage and time to the job.
 *
 * Faces are detected on the picture resized to COVER the frame but not yet cropped: the detector sees the whole
 * field of view at exactly frame scale (cheap: about 854x480 at 480p instead of the multi-megapixel source), the
 * crop can then be shifted to keep the faces in, and mapping faces into the frame is a pure translation.
 */
import { createHash, randomInt } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { FileOutput, Resolution, VideoOutput } from "../api/endpoints.js";
import type { Config } from "../config.js";
import { CancelledError, InputError } from "../errors.js";
import type { Box, Face } from "../face/types.js";
import { prepareAudio, type PreparedAudio } from "../media/audio.js";
import { encodeVideo, type EncodeResult } from "../media/encode.js";
import type { MediaBinaries } from "../media/ffmpeg.js";
import { DEFAULT_FETCH_TIMEOUT_MS, fetchInput, type FetchedFile, type HttpFetcher } from "../media/fetch.js";
import {
  chooseBucket, cropImage, decodeImage, MAX_INPUT_PIXELS, mapBox, mapFace, planCropOffset, planScale, readImageHeader,
  type FitTransform, type FrameBucket, type ImageHeader,
} from "../media/image.js";
import type { JobContext, RawImage } from "../media/types.js";
import { PROCESS_TOKEN, workerIsDead } from "../queue/identity.js";
import type { Synthesizer } from "../speech/index.js";
import type { Storage } from "../storage/types.js";
import type { Engine, EngineJob } from "./engine.js";
import type { FaceDetector } from "./face-detector.js";
import type { RunRequest } from "./types.js";

/** The subset of a pino logger the pipeline uses (server-side logs; job logs go to ctx.log). */
export interface PipelineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface PipelineLimits {
  /** Largest input file (any source), bytes. Default: config.uploadLimit. */
  maxInputBytes: number;
  /** Deadline of one http(s) download. */
  fetchTimeoutMs: number;
  /** Largest input picture, pixels (checked from the header). */
  maxImagePixels: number;
  /** Where job temp dirs are made. Default: os.tmpdir(). */
  tmpRoot: string;
  /** Accept local paths / file:// inputs (the CLI's `generate`; never for the HTTP server). */
  allowLocalFiles: boolean;
}

/** Everything a step needs from the process: built once by createPipelineRunner. */
export interface StepEnv {
  config: Config;
  storage: Storage;
  logger: PipelineLogger;
  engine: Engine;
  faceDetector: FaceDetector;
  /** A faster detector for following faces through a video (dubbing's key frames). Default: faceDetector. */
  trackDetector?: FaceDetector;
  bins: MediaBinaries;
  limits: PipelineLimits;
  /** Replaces the http(s) download (SSRF-hardened fetcher). */
  httpFetch?: HttpFetcher;
  /** The text-to-speech synthesizer (loaded on first use). */
  speech: () => Promise<Synthesizer>;
}

/** One job's scope: its temp dir and context (whose signal also fires when a sibling step fails). */
export interface JobScope {
  requestId: string;
  dir: string;
  ctx: JobContext;
  /** Behind ctx.signal: aborting it stops the job's other steps (allOrAbort does, when one step fails). */
  controller: AbortController;
}

/** Runs one request of a given endpoint kind inside its job scope (temp dir and context ready). */
export type KindRunner = (env: StepEnv, job: JobScope, request: RunRequest) => Promise<VideoOutput>;

/**
 * Job dirs are named "mouthpiece-job-<host hash>-<pid>-<process token>-XXXXXX", so that a later process on the
 * same host can tell the dirs that a killed process left (kill -9, the OOM killer: no `finally` ran) from live ones.
 */
const JOB_DIR_RE = /^mouthpiece-job-([0-9a-f]{8})-(\d+)-([0-9a-f]{8})-/;
const HOST_HASH = createHash("sha256").update(os.hostname()).digest("hex").slice(0, 8);

/** Runs fn with a fresh temp dir that is removed afterwards, whatever happens. */
export async function withJobDir<T>(tmpRoot: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpRoot, `mouthpiece-job-${HOST_HASH}-${process.pid}-${PROCESS_TOKEN}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Removes the job dirs in tmpRoot whose process is gone: made on this host by a process that is dead, or whose
 * pid now belongs to another process (a restarted container). A killed render leaves its frames there, up to
 * hundreds of MB. Dirs of other hosts (a shared tmp) and of live processes are left alone. Returns how many.
 */
export async function removeDeadJobDirs(tmpRoot: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(tmpRoot).catch(() => [] as string[])) {
    const m = JOB_DIR_RE.exec(name);
    if (!m || m[1] !== HOST_HASH || !workerIsDead(`${os.hostname()}:${m[2]}:${m[3]}`)) continue;
    await rm(path.join(tmpRoot, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/** Times a step and logs it to the job. */
export async function timed<T>(job: JobScope, stage: string, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T> {
  const t0 = performance.now();
  job.ctx.log(`${stage}…`, "debug");
  const result = await fn();
  const ms = Math.round(performance.now() - t0);
  job.ctx.log(`${stage}: ${ms} ms${detail ? ` (${detail(result)})` : ""}`);
  return result;
}

/**
 * Runs steps concurrently and waits for all to settle. A step failing with anything but an InputError aborts
 * `controller` at once (sibling ffmpeg children are killed); after an InputError the siblings run on (input
 * checks are quick) so that every bad field is reported: InputErrors from several steps are merged into one.
 */
export async function allOrAbort<T extends readonly unknown[]>(
  controller: AbortController,
  steps: { [K in keyof T]: () => Promise<T[K]> },
): Promise<T> {
  const settled = await Promise.allSettled(
    steps.map((step) => step().catch((err: unknown) => {
      if (!(err instanceof InputError)) controller.abort();
      throw err;
    })),
  );
  const failures = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected").map((s) => s.reason as unknown);
  if (failures.length === 0) return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
  const inputErrors = failures.filter((e): e is InputError => e instanceof InputError);
  if (inputErrors.length > 1) throw new InputError(inputErrors.flatMap((e) => e.detail));
  const real = failures.find((e) => !(e instanceof CancelledError));
  throw real ?? failures[0];
}

/** The request's seed, or a random 32-bit one when absent. */
export function chooseSeed(input: Record<string, unknown>): number {
  const s = input.seed;
  return typeof s === "number" && Number.isInteger(s) && s >= 0 && s <= 0xffffffff ? s : randomInt(0, 2 ** 32);
}

/** Fetches one file input into the job dir (InputError naming the field on failure). */
export function fetchFile(env: StepEnv, job: JobScope, url: string, field: string): Promise<FetchedFile> {
  return timed(job, `fetch ${field}`, () => fetchInput(url, {
    field,
    dir: job.dir,
    maxBytes: env.limits.maxInputBytes,
    timeoutMs: env.limits.fetchTimeoutMs,
    storage: env.storage,
    httpFetch: env.httpFetch,
    allowPrivateUrls: env.config.allowPrivateUrls,
    allowLocalFiles: env.limits.allowLocalFiles,
    signal: job.ctx.signal,
  }), (f) => `${f.source}, ${f.size} bytes`);
}

export interface PreparedImage {
  /** The output frame: exactly bucket.width x bucket.height, RGB. */
  image: RawImage;
  bucket: FrameBucket;
  /** Source pixels → frame pixels (for boxes given in source pixels, e.g. person1_box). */
  transform: FitTransform;
  /** Faces inside the frame, in frame pixels, largest first. */
  faces: Face[];
  source: ImageHeader;
}

/** The face that matters most: the largest, weighted by detection score. */
function faceWeight(f: Face): number {
  return f.box.width * f.box.height * Math.max(0.05, f.score);
}

/**
 * Checks, decodes and fits the picture, and finds the faces in the frame. The crop keeps the key faces inside it
 * first (then, where it can, every other face): `priorityBoxes` (source pixels, e.g. the multi endpoints' person
 * boxes) when given, else the `keepLargest` largest detected faces (default 1: the weightiest face).
 */
export async function prepareImage(env: StepEnv, job: JobScope, file: string, field: string, resolution: Resolution,
  priorityBoxes: readonly Box[] = [], options: { keepLargest?: number } = {}): Promise<PreparedImage> {
  const source = await readImageHeader(file, field, { maxPixels: env.limits.maxImagePixels });
  const bucket = chooseBucket(source.width, source.height, resolution);
  const plan = planScale(source.width, source.height, bucket);
  const scaled = await timed(job, "decode image", () => decodeImage(file, field, {
    maxPixels: env.limits.maxImagePixels,
    resizeTo: { width: plan.resizedWidth, height: plan.resizedHeight },
  }), () => `${source.format} ${source.width}x${source.height} → ${plan.resizedWidth}x${plan.resizedHeight}`);
  if (job.ctx.signal.aborted) throw new CancelledError();

  const detected = await timed(job, "detect faces", () => env.faceDetector.detect(scaled, { signal: job.ctx.signal }), (f) => `${f.length} found`);
  detected.sort((a, b) => faceWeight(b) - faceWeight(a));
  const toScaled: FitTransform = { scale: plan.scale, offsetX: 0, offsetY: 0 };
  const keep = priorityBoxes.length > 0
    ? priorityBoxes.map((b) => mapBox(b, toScaled))
    : (options.keepLargest ?? 1) <= 1
      ? detected.slice(0, 1).map((f) => f.box)
      : [...detected].sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height).slice(0, options.keepLargest).map((f) => f.box);
  const planCrop = (boxes: Box[]) => planCropOffset(scaled.width, scaled.height, bucket.width, bucket.height, boxes);
  let { offsetX, offsetY } = planCrop([...keep, ...detected.map((f) => f.box)]);
  // Every face at once did not fit and the planner kept only the first: keep all the key faces instead.
  const inside = (b: Box) => b.x >= offsetX && b.y >= offsetY && b.x + b.width <= offsetX + bucket.width && b.y + b.height <= offsetY + bucket.height;
  if (keep.length > 1 && !keep.every(inside)) ({ offsetX, offsetY } = planCrop(keep));
  const image = await cropImage(scaled, offsetX, offsetY, bucket.width, bucket.height);

  const shift: FitTransform = { scale: 1, offsetX, offsetY };
  const faces = detected.map((f) => mapFace(f, shift)).filter((f) => {
    const cx = f.box.x + f.box.width / 2;
    const cy = f.box.y + f.box.height / 2;
    return cx >= 0 && cy >= 0 && cx < bucket.width && cy < bucket.height;
  });
  if (faces.length < detected.length) job.ctx.log(`${detected.length - faces.length} face(s) fell outside the ${bucket.aspect} frame`, "warn");
  if (detected.length === 0) job.ctx.log("no face found in the picture: the video will not be animated", "warn");
  return { image, bucket, transform: { scale: plan.scale, offsetX, offsetY }, faces, source };
}

/** Decodes one audio input to exact-length PCM (numFrames / fps) and a mux WAV in the job dir. */
export function prepareTrack(env: StepEnv, job: JobScope, file: string, field: string, numFrames: number, fps: number):
  Promise<PreparedAudio> {
  return timed(job, `decode ${field}`, () => prepareAudio(file, field, {
    numFrames, fps, dir: job.dir, bins: env.bins, signal: job.ctx.signal,
  }), (a) => `${a.source.codec} ${a.source.sampleRate} Hz x${a.source.channels}, ${a.source.durationSec.toFixed(2)} s → ${(numFrames / fps).toFixed(2)} s`);
}

/** Starts the engine and encodes its frames as they come (render and encode overlap); progress = frames encoded. */
export async function renderAndEncode(env: StepEnv, job: JobScope, engineJob: EngineJob, audioPath: string | undefined):
  Promise<EncodeResult> {
  const stream = await timed(job, `engine ${env.engine.name}: prepare`, () => env.engine.start(engineJob, job.ctx));
  if (stream.width !== engineJob.image.width || stream.height !== engineJob.image.height) {
    throw new Error(`engine ${env.engine.name} renders ${stream.width}x${stream.height}, the frame is ${engineJob.image.width}x${engineJob.image.height}`);
  }
  const outPath = path.join(job.dir, "video.mp4");
  let lastReported = -1;
  const result = await timed(job, `render + encode ${engineJob.numFrames} frames`, () => encodeVideo({
    stream,
    numFrames: engineJob.numFrames,
    fps: engineJob.fps,
    audioPath,
    outPath,
    acceleration: engineJob.acceleration,
    bins: env.bins,
    ctx: job.ctx,
    onProgress: (p) => {
      const done = Math.min(p.frame, engineJob.numFrames);
      if (done > lastReported) {
        lastReported = done;
        job.ctx.progress(done, engineJob.numFrames);
      }
    },
  }), (r) => `${(r.frames * 1000 / r.ms).toFixed(1)} fps, x264 ${r.x264.preset} crf ${r.x264.crf}, ${r.size} bytes`);
  if (lastReported < engineJob.numFrames) job.ctx.progress(engineJob.numFrames, engineJob.numFrames);
  return result;
}

/** Puts the MP4 into storage and returns fal's File shape. */
export async function storeVideo(env: StepEnv, job: JobScope, outPath: string): Promise<FileOutput> {
  const fileName = `${job.requestId.replace(/[^A-Za-z0-9._-]/g, "_") || "video"}.mp4`;
  const stored = await timed(job, "store video", () => env.storage.putFile({ path: outPath, contentType: "video/mp4", fileName }));
  return { url: stored.url, content_type: stored.contentType, file_name: stored.fileName, file_size: stored.size };
}

/** Limits from the configuration and overrides. */
export function resolveLimits(config: Config, overrides: Partial<PipelineLimits> = {}): PipelineLimits {
  return {
    maxInputBytes: config.uploadLimit,
    fetchTimeoutMs: DEFAULT_FETCH_TIMEOUT_MS,
    maxImagePixels: MAX_INPUT_PIXELS,
    tmpRoot: os.tmpdir(),
    allowLocalFiles: false,
    ...overrides,
  };
}
