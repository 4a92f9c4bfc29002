/**
 * The classical engine: face mesh -> audio-driven motion curves -> mesh warp of the photo -> frames.
 * It implements the pipeline's Engine seam (src/pipeline/engine.ts).
 *
 * - Motion: src/motion builds one MotionFrame track per face from the voice tracks (injectable for tests).
 * - Who moves: when at least one voice track is bound to a face, every usable face moves; faces without a
 *   voice listen (blinks, small head motion, gaze) but never move their mouth. With no bound track, nothing
 *   moves and every frame is the photo.
 * - Frames: yuv420p (BT.709, limited range: what the encoder feeds x264 without a conversion) by default, or
 *   rgb24. Same job and seed give byte-identical frames.
 *
 * @example
 *   const engine = new ClassicalEngine();
 *   const stream = await engine.start(job, ctx);
 *   for await (const frame of stream.frames()) encoder.write(frame.data);
 */
import { InputError, throwIfAborted } from "../errors.js";
import type { JobContext } from "../media/types.js";
import { buildMotionForJob } from "../motion/index.js";
import { NEUTRAL_FRAME, type MotionFrame } from "../motion/types.js";
import type { Engine, EngineFrame, EngineJob, FrameStream } from "../pipeline/engine.js";
import { FACE_POINTS } from "./mesh.js";
import { FrameRenderer, type OutputFormat } from "./renderer.js";

/** Builds one MotionFrame track per entry of job.faces (each at least job.numFrames long). */
export type MotionBuilder = (job: EngineJob) => MotionFrame[][];

export interface ClassicalEngineOptions {
  /** Motion curves per face; default src/motion's buildMotionForJob. */
  motion?: MotionBuilder;
  /** Frame format; default yuv420p. */
  pixelFormat?: OutputFormat;
}

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

  constructor(options: ClassicalEngineOptions = {}) {
    this.motion = options.motion ?? buildMotionForJob;
    this.pixelFormat = options.pixelFormat ?? "yuv420p";
  }

  async start(job: EngineJob, ctx: JobContext): Promise<FrameStream> {
    checkJob(job);
    throwIfAborted(ctx.signal);
    const { width, height } = job.image;
    const bound = new Set<number>();
    for (const t of job.tracks) if (t.faceIndex !== null && job.faces[t.faceIndex]) bound.add(t.faceIndex);
    const usable = job.faces.map((f, k) => k).filter((k) => isUsable(job.faces[k]));
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
    const renderer = new FrameRenderer(job.image, animated.map((k) => job.faces[k]), {
      acceleration: job.acceleration,
      seed: job.seed,
      pixelFormat: this.pixelFormat,
    });
    ctx.log(
      `render: ${animated.length}/${job.faces.length} face(s) animated (${renderer.faces
        .map((f) => `mouth ${f.mouth.kind}`)
        .join(", ") || "none"}), prepared in ${Date.now() - started} ms`,
      "debug",
    );
    const n = job.numFrames;
    const current: (MotionFrame | null)[] = tracks.map(() => null);
    const frames = async function* (): AsyncGenerator<EngineFrame> {
      for (let i = 0; i < n; i++) {
        if (ctx.signal.aborted) return;
        for (let k = 0; k < tracks.length; k++) current[k] = tracks[k][i] ?? NEUTRAL_FRAME;
        renderer.render(current);
        const out = renderer.output();
        yield { index: i, data: Buffer.from(out) };
        ctx.progress(i + 1, n);
      }
    };
    return { pixelFormat: this.pixelFormat, width, height, frames };
  }
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
