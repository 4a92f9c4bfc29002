/**
 * The classical engine: face mesh -> audio-driven motion curves -> mesh warp of the photo -> frames.
 * It implements the pipeline's Engine seam (src/pipeline/engine.ts).
 *
 * - Motion: src/motion builds one MotionFrame track per face from the voice tracks (injectable for tests).
 * - Who moves: when at least one voice track is bound to a face, every usable face moves; faces without a
 *   voice listen (blinks, small head motion, gaze) but never move their mouth. With no bound track, nothing
 *   moves and every frame is the photo.
 * - Frames: yuv420p (BT.709, limited range: what the encoder feeds x264 without a conversion) by default, or
 *   rgb24. Same job and seed give byte-identical frames, on the main thread or (option `worker`) in a worker
 *   thread that renders a few frames ahead. On the main thread a frame's data is one of two buffers used in turn:
 *   it stays valid until the frame after next is rendered (EngineFrame); a consumer that keeps frames copies them.
 *
 * @example
 *   const engine = new ClassicalEngine();
 *   const stream = await engine.start(job, ctx);
 *   for await (const frame of stream.frames()) await encoder.write(frame.data); // or keep Buffer.from(frame.data)
 */
import { Worker } from "node:worker_threads";
import { InputError, throwIfAborted } from "../errors.js";
import type { JobContext } from "../media/types.js";
import { buildMotionForJob } from "../motion/index.js";
import { NEUTRAL_FRAME, type MotionFrame } from "../motion/types.js";
import type { Engine, EngineFrame, EngineJob, FrameStream } from "../pipeline/engine.js";
import { FACE_POINTS } from "./mesh.js";
import { FrameRenderer, type OutputFormat, type RendererOptions } from "./renderer.js";
import type { WorkerInput, WorkerReply, WorkerRequest } from "./worker.js";

/** Builds one MotionFrame track per entry of job.faces (each at least job.numFrames long). */
export type MotionBuilder = (job: EngineJob) => MotionFrame[][];

export interface ClassicalEngineOptions {
  /** Motion curves per face; default src/motion's buildMotionForJob. */
  motion?: MotionBuilder;
  /** Frame format; default yuv420p. */
  pixelFormat?: OutputFormat;
  /** Render in a worker thread (frames rendered ahead while the caller encodes); default false. */
  worker?: boolean;
}

/** Frames a worker renders ahead of the consumer. */
const WORKER_AHEAD = 3;

/** Smallest face (box side, px) worth animating: below it the mouth is a few pixels. */
export const MIN_FACE_SIZE = 24;

/** The mouth channels of a frame set to the photo's own (0): for faces that have no voice. */
export function withoutMouth(f: Readonly<MotionFrame>): MotionFrame {
  return { ...f, jawOpen: 0, lipWidth: 0, lipRound: 0, lipClose: 0 };
}

export class ClassicalEngine implements Engine {
  readonly name = "classical";
  private readonly motion: MotionBuilder;
  private readonly pixelFormat: OutputFormat;
  private readonly worker: boolean;

  constructor(options: ClassicalEngineOptions = {}) {
    this.motion = options.motion ?? buildMotionForJob;
    this.pixelFormat = options.pixelFormat ?? "yuv420p";
    this.worker = options.worker ?? false;
  }

  async start(job: EngineJob, ctx: JobContext): Promise<FrameStream> {
    checkJob(job);
    throwIfAborted(ctx.signal);
    const { width, height } = job.image;
    const bound = new Set<number>();
    for (const t of job.tracks) if (t.faceIndex !== null && job.faces[t.faceIndex]) bound.add(t.faceIndex);
    const usable = job.faces.map((_, k) => k).filter((k) => isUsable(job.faces[k]));
    const animated = bound.size > 0 ? usable : [];

    let tracks: MotionFrame[][] = [];
    if (animated.length > 0) {
      const started = Date.now();
      const all = this.motion(job);
      tracks = animated.map((k) => {
        const track = all[k] ?? [];
        return bound.has(k) ? track : track.map(withoutMouth);
      });
      ctx.log(`motion: ${animated.length} face(s), ${job.numFrames} frames in ${Date.now() - started} ms`, "debug");
    }
    throwIfAborted(ctx.signal);
    const started = Date.now();
    const options: RendererOptions = { acceleration: job.acceleration, seed: job.seed, pixelFormat: this.pixelFormat };
    const faces = animated.map((k) => job.faces[k]);
    if (this.worker) return startWorker(job, faces, tracks, options, ctx);
    const renderer = new FrameRenderer(job.image, faces, options);
    ctx.log(
      `render: ${animated.length}/${job.faces.length} face(s) animated (${renderer.faces
        .map((f) => `mouth ${f.mouth.kind}`)
        .join(", ") || "none"}), prepared in ${Date.now() - started} ms`,
      "debug",
    );
    const n = job.numFrames;
    const current: (MotionFrame | null)[] = tracks.map(() => null);
    const frames = async function* (): AsyncGenerator<EngineFrame> {
      // The renderer's own output buffer, not a copy (see EngineFrame: a frame's data is valid until the next
      // frame is pulled, and the encoder has written it out by then). A fresh 615 KB Buffer per 480p frame was
      // garbage that V8 collects late (node's peak memory grew with the video's length); a copy into buffers
      // used in turn cost a full-frame memcpy per frame beside x264.
      const out = renderer.output();
      const data = Buffer.from(out.buffer, out.byteOffset, out.length);
      for (let i = 0; i < n; i++) {
        if (ctx.signal.aborted) return;
        for (let k = 0; k < tracks.length; k++) current[k] = tracks[k][i] ?? NEUTRAL_FRAME;
        renderer.render(current);
        yield { index: i, data };
        ctx.progress(i + 1, n);
      }
    };
    return { pixelFormat: this.pixelFormat, width, height, frames };
  }
}

/** Worker mode: the same renderer in a worker thread, WORKER_AHEAD frames ahead of the consumer. */
async function startWorker(
  job: EngineJob, faces: EngineJob["faces"], tracks: MotionFrame[][], options: RendererOptions, ctx: JobContext,
): Promise<FrameStream> {
  const { width, height } = job.image;
  const n = job.numFrames;
  const input: WorkerInput = {
    image: { width, height, channels: job.image.channels, data: new Uint8Array(job.image.data) },
    faces, tracks, numFrames: n, options,
  };
  // Run from TypeScript sources (tsx), the worker registers tsx's loader before importing its module
  // (Node 20 does not apply --import loaders to a worker's entry file).
  const fromSource = import.meta.url.endsWith(".ts");
  const url = new URL(fromSource ? "./worker.ts" : "./worker.js", import.meta.url);
  const worker = fromSource
    ? new Worker(
      `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`,
      { eval: true, workerData: input },
    )
    : new Worker(url, { workerData: input });
  const frames = new Map<number, Buffer>();
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  let ready = false;
  worker.on("message", (msg: WorkerReply) => {
    if (msg.type === "ready") {
      ready = true;
      ctx.log(`render (worker): ${faces.length} face(s) animated (${msg.mouths.map((m) => `mouth ${m}`).join(", ") || "none"})`, "debug");
    } else if (msg.type === "frame") frames.set(msg.index, Buffer.from(msg.data));
    else failure = new Error(`render worker: ${msg.message}`);
    notify();
  });
  worker.on("error", (err) => {
    failure = err;
    notify();
  });
  worker.on("exit", (code) => {
    if (code !== 0 && !failure) failure = new Error(`render worker exited with code ${code}`);
    notify();
  });
  const waitFor = async (done: () => boolean) => {
    while (!done()) {
      if (failure) throw failure;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (failure) throw failure;
  };
  try {
    await waitFor(() => ready);
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  const post = (m: WorkerRequest) => worker.postMessage(m);
  const stream = async function* (): AsyncGenerator<EngineFrame> {
    try {
      post({ type: "more", count: Math.min(n, WORKER_AHEAD) });
      for (let i = 0; i < n; i++) {
        if (ctx.signal.aborted) return;
        await waitFor(() => frames.has(i) || ctx.signal.aborted);
        if (ctx.signal.aborted) return;
        const data = frames.get(i)!;
        frames.delete(i);
        if (i + WORKER_AHEAD < n) post({ type: "more", count: 1 });
        yield { index: i, data };
        ctx.progress(i + 1, n);
      }
    } finally {
      await worker.terminate();
    }
  };
  const onAbort = () => {
    notify();
    void worker.terminate();
  };
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  return { pixelFormat: options.pixelFormat, width, height, frames: stream };
}

function isUsable(face: EngineJob["faces"][number]): boolean {
  return face.mesh.length >= FACE_POINTS * 3 && Math.max(face.box.width, face.box.height) >= MIN_FACE_SIZE;
}

function checkJob(job: EngineJob): void {
  const { image } = job;
  if (!(image.width > 0 && image.height > 0) || (image.channels !== 3 && image.channels !== 4)) {
    throw InputError.field("image_url", `the picture must be RGB or RGBA with a positive size, got ${image.width}x${image.height}x${image.channels}`);
  }
  if (image.data.length < image.width * image.height * image.channels) {
    throw new RangeError(`image data holds ${image.data.length} bytes, expected ${image.width * image.height * image.channels}`);
  }
  if (!Number.isInteger(job.numFrames) || job.numFrames < 0) throw new RangeError(`numFrames must be an integer >= 0, got ${job.numFrames}`);
}
