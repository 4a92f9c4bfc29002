/**
 * The Engine: the seam between the pipeline (inputs, audio, encoding, storage) and a renderer.
 * The classical engine (src/render) implements it today; a GPU diffusion backend could tomorrow,
 * without touching the API or the queue.
 */
import type { Acceleration } from "../api/endpoints.js";
import type { Face } from "../face/types.js";
import type { JobContext, Pcm, RawImage } from "../media/types.js";
import type { PhonemeTiming } from "../motion/types.js";

/** One voice track and the face it drives. */
export interface VoiceTrack {
  /** Mono PCM at the engine's analysis rate, already trimmed/padded to the video's length. */
  pcm: Pcm;
  /** Index into EngineJob.faces of the face that speaks this track; null when no face was found. */
  faceIndex: number | null;
  /** Exact phoneme timings when the speech was synthesized from text. */
  phonemes?: PhonemeTiming[];
}

export interface EngineJob {
  /** The fitted picture, exactly the output frame's size (width x height). */
  image: RawImage;
  /** Faces found in `image`, in its pixel coordinates. */
  faces: Face[];
  tracks: VoiceTrack[];
  numFrames: number;
  fps: number;
  seed: number;
  prompt: string;
  acceleration: Acceleration;
}

export type PixelFormat = "rgb24" | "rgba" | "yuv420p";

/**
 * A finished frame, `pixelFormat` bytes of the output size. `data` is only guaranteed until the next frame is pulled:
 * an engine may reuse its buffers (the classical engine does, to keep memory flat in the video's length), so a
 * consumer that keeps frames copies them (the encoder writes each frame out before it pulls the next).
 */
export interface EngineFrame {
  index: number;
  data: Buffer;
}

export interface FrameStream {
  pixelFormat: PixelFormat;
  width: number;
  height: number;
  /** Yields exactly numFrames frames in order; stops early when the context's signal aborts. */
  frames(): AsyncIterable<EngineFrame>;
}

export interface Engine {
  readonly name: string;
  /** Prepares the job (analysis, motion curves) and returns the stream of frames to encode. */
  start(job: EngineJob, ctx: JobContext): Promise<FrameStream>;
}
