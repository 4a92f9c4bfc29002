/** Media values that flow between stages. */

/** A decoded picture, packed row by row, no padding. */
export interface RawImage {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Buffer;
}

/** Mono PCM samples in [-1, 1]. */
export interface Pcm {
  sampleRate: number;
  samples: Float32Array;
}

/** Progress and logs of one job, reported by every long stage. */
export interface JobContext {
  signal: AbortSignal;
  log(message: string, level?: "info" | "warn" | "error" | "debug"): void;
  /** Frames (or other units) done out of total. */
  progress(done: number, total: number): void;
}
