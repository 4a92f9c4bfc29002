/**
 * Streaming video decode through ffmpeg: any common input (H.264/MP4, VP9/WebM, MOV, MKV; rotation metadata;
 * variable frame rate) becomes constant-rate RGB frames of an output bucket (480p/720p, the aspect closest to the
 * source's displayed aspect), scaled to cover it and centre-cropped. Frames come one at a time from ffmpeg's
 * stdout; at most a few frames are buffered (ffmpeg's stdout is paused while the consumer is behind), so a video is
 * never held in memory.
 *
 * ffmpeg applies the rotation metadata itself (autorotate, on by default), the fps filter turns any timing
 * (VFR, 30/60 fps, 23.976) into exactly `fps` frames per second by dropping or repeating frames at their
 * presentation times.
 *
 * @example
 *   const input = await openVideoInput(file, "video_url", { bins, resolution: "480p" });   // InputError if no video
 *   for await (const frame of decodeVideoFrames(file, { bins, width: input.width, height: input.height, fps: 25 })) { ... }
 */
import type { Resolution } from "../api/endpoints.js";
import { CancelledError } from "../errors.js";
import { spawnProcess, type MediaBinaries } from "./ffmpeg.js";
import { chooseBucket, type FrameBucket } from "./image.js";
import { requireVideo, type VideoStreamInfo } from "./probe.js";
import type { RawImage } from "./types.js";

export interface VideoInput {
  /** The output frame size (the bucket). */
  width: number;
  height: number;
  bucket: FrameBucket;
  /** The displayed size of the source (rotation applied). */
  sourceWidth: number;
  sourceHeight: number;
  stream: VideoStreamInfo;
  durationSec: number;
  /** Frames the decode yields at `fps` (from the duration; the decode itself is exact). */
  expectedFrames(fps: number): number;
}

/** Probes a video input (InputError naming `field` when it has no video track) and picks its output bucket. */
export async function openVideoInput(file: string, field: string, options: { bins: MediaBinaries; resolution: Resolution; signal?: AbortSignal }):
  Promise<VideoInput> {
  const { video, durationSec } = await requireVideo(file, field, options.bins, { signal: options.signal });
  const turned = video.rotation === 90 || video.rotation === 270;
  const sourceWidth = turned ? video.height : video.width;
  const sourceHeight = turned ? video.width : video.height;
  const bucket = chooseBucket(sourceWidth, sourceHeight, options.resolution);
  return {
    width: bucket.width, height: bucket.height, bucket, sourceWidth, sourceHeight, stream: video, durationSec,
    expectedFrames: (fps) => Math.max(1, Math.round(durationSec * fps)),
  };
}

export interface DecodeArgs {
  width: number;
  height: number;
  fps: number;
  /** Stop after this many output frames. */
  maxFrames?: number;
}

/** ffmpeg arguments: `file` → rgb24 frames of width x height at `fps` on stdout (cover-scaled, centre-cropped). Pure. */
export function buildVideoDecodeArgs(file: string, a: DecodeArgs): string[] {
  const { width, height, fps } = a;
  const filters = [
    `fps=${fps}`,
    `scale=${width}:${height}:force_original_aspect_ratio=increase:flags=bicubic`,
    `crop=${width}:${height}`,
    "setsar=1",
    "format=rgb24",
  ].join(",");
  return [
    "-hide_banner", "-nostdin", "-loglevel", "error",
    "-i", file,
    "-map", "0:v:0",
    "-an", "-sn", "-dn",
    "-vf", filters,
    ...(a.maxFrames !== undefined ? ["-frames:v", String(a.maxFrames)] : []),
    "-f", "rawvideo", "-pix_fmt", "rgb24",
    "pipe:1",
  ];
}

export interface DecodeOptions extends DecodeArgs {
  bins: MediaBinaries;
  signal?: AbortSignal;
  /** Frames buffered before ffmpeg's output is paused. Default 4. */
  buffered?: number;
}

/**
 * Decodes `file` frame by frame (see the module comment). Each yielded RawImage owns its buffer. Stopping the
 * iteration early kills ffmpeg. Throws CancelledError on abort, ProcessError (ffmpeg's stderr) when ffmpeg fails.
 */
export async function* decodeVideoFrames(file: string, options: DecodeOptions): AsyncGenerator<RawImage> {
  const { width, height } = options;
  const frameSize = width * height * 3;
  const limit = Math.max(1, options.buffered ?? 4);
  const ready: Buffer[] = [];
  let partial = Buffer.alloc(frameSize);
  let filled = 0;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  let paused = false;
  const handle = spawnProcess(options.bins.ffmpeg, buildVideoDecodeArgs(file, options), {
    label: "ffmpeg (decode video)",
    signal: options.signal,
    onStdout: (chunk) => {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(frameSize - filled, chunk.length - off);
        chunk.copy(partial, filled, off, off + n);
        filled += n;
        off += n;
        if (filled === frameSize) {
          ready.push(partial);
          partial = Buffer.alloc(frameSize);
          filled = 0;
        }
      }
      if (ready.length >= limit && !paused) {
        paused = true;
        handle.child.stdout?.pause();
      }
      notify();
    },
  });
  let exited = false;
  let failure: unknown = null;
  handle.done.then(() => (exited = true), (err: unknown) => {
    exited = true;
    failure = err;
  }).finally(notify);
  try {
    while (true) {
      if (ready.length > 0) {
        const data = ready.shift() as Buffer;
        if (paused && ready.length < limit) {
          paused = false;
          handle.child.stdout?.resume();
        }
        yield { width, height, channels: 3, data };
        continue;
      }
      if (exited) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (failure) throw failure;
    if (options.signal?.aborted) throw new CancelledError();
  } finally {
    if (!exited) {
      handle.kill();
      await handle.done.catch(() => {});
    }
  }
}
