/**
 * Encoding: an engine's FrameStream piped into ffmpeg's stdin as rawvideo (25 fps), muxed with the prepared
 * audio WAV, written as H.264 (libx264, yuv420p, BT.709 tags) + AAC in an MP4 with +faststart.
 * Exactly numFrames frames; back-pressure on the pipe, so at most a few frames are ever in memory; the child is
 * killed when the job is cancelled.
 *
 * @example
 *   const stream = await engine.start(job, ctx);
 *   await encodeVideo({ stream, numFrames, fps: 25, audioPath, outPath, acceleration: "regular", bins, ctx });
 */
import { stat } from "node:fs/promises";
import type { Writable } from "node:stream";
import type { Acceleration } from "../api/endpoints.js";
import { CancelledError, throwIfAborted } from "../errors.js";
import type { EngineFrame, FrameStream, PixelFormat } from "../pipeline/engine.js";
import { spawnProcess, type MediaBinaries } from "./ffmpeg.js";
import type { JobContext, RawImage } from "./types.js";

export interface X264Settings {
  preset: "ultrafast" | "superfast" | "veryfast" | "faster" | "fast" | "medium" | "slow";
  crf: number;
  /** libx264 threads. */
  threads: number;
}

/**
 * x264 settings per acceleration, chosen by measurement (bench/encode-baseline.ts and ffmpeg under /usr/bin/time,
 * 181 frames of 854x480 with head-like motion; CPU seconds of the ffmpeg child, rgb24 → yuv420p included):
 *   ultrafast 2.1 s / 633 KB, superfast 1.55 s / 433 KB, veryfast 2.05 s / 139 KB, faster 4.1 s, medium 5.0 s / 199 KB.
 * This x264 build's ultrafast costs MORE CPU than superfast (no B-frames, 1.5x the bits), so "high" uses superfast.
 * none = medium crf 18 (best quality), regular = veryfast crf 20 (a third the bits of superfast for +30% CPU),
 * high = superfast crf 22. threads 2: the renderer holds the main thread on one core and x264 fills what is left
 * of both (medium: 4.5 s wall with 2 threads vs 6.0 s with 1; the fast presets cost the same CPU either way).
 * Output is deterministic for a given thread count.
 */
export function x264Settings(acceleration: Acceleration): X264Settings {
  switch (acceleration) {
    case "none":
      return { preset: "medium", crf: 18, threads: 2 };
    case "high":
      return { preset: "superfast", crf: 22, threads: 2 };
    case "regular":
    default:
      return { preset: "veryfast", crf: 20, threads: 2 };
  }
}

/** Bytes of one frame. Pure. */
export function frameBytes(pixelFormat: PixelFormat, width: number, height: number): number {
  switch (pixelFormat) {
    case "rgb24":
      return width * height * 3;
    case "rgba":
      return width * height * 4;
    case "yuv420p":
      return width * height + 2 * (Math.ceil(width / 2) * Math.ceil(height / 2));
  }
}

export interface EncodeArgs {
  width: number;
  height: number;
  pixelFormat: PixelFormat;
  fps: number;
  /** The WAV to mux (exactly as long as the frames written); absent for a silent video. */
  audioPath?: string;
  outPath: string;
  x264: X264Settings;
  /** AAC bit rate in kbit/s; default 128. */
  audioBitrateKbps?: number;
}

/**
 * ffmpeg arguments: rawvideo on stdin (+ audio file) → MP4. Progress as key=value blocks on stdout. Pure.
 * The frame count is exact because the caller writes exactly numFrames frames and closes stdin (not -frames:v:
 * when the video stream hits its frame limit, ffmpeg 4.x closes the whole output and cuts the audio short).
 * RGB input is converted with the BT.709 matrix to limited-range yuv420p and tagged so; yuv420p input must already be
 * BT.709 limited range.
 */
export function buildEncodeArgs(a: EncodeArgs): string[] {
  if (a.width % 2 || a.height % 2) throw new Error(`frame size must be even for yuv420p, got ${a.width}x${a.height}`);
  const args = [
    "-nostdin", "-hide_banner", "-v", "error", "-nostats", "-progress", "pipe:1",
    "-f", "rawvideo", "-pix_fmt", a.pixelFormat, "-s", `${a.width}x${a.height}`, "-framerate", String(a.fps),
    "-thread_queue_size", "16", "-i", "pipe:0",
  ];
  if (a.audioPath) args.push("-i", a.audioPath);
  args.push("-map", "0:v:0");
  if (a.audioPath) args.push("-map", "1:a:0");
  if (a.pixelFormat !== "yuv420p") args.push("-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p");
  args.push(
    "-c:v", "libx264", "-preset", a.x264.preset, "-crf", String(a.x264.crf), "-threads", String(a.x264.threads),
    "-pix_fmt", "yuv420p", "-profile:v", "high",
    "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
    "-r", String(a.fps),
  );
  if (a.audioPath) args.push("-c:a", "aac", "-b:a", `${a.audioBitrateKbps ?? 128}k`);
  args.push("-movflags", "+faststart", "-f", "mp4", "-y", a.outPath);
  return args;
}

export interface EncodeProgress {
  /** Frames encoded so far. */
  frame: number;
  /** Output time reached, seconds. */
  outTimeSec?: number;
  /** Encoding speed relative to real time (1 = real time). */
  speed?: number;
  fps?: number;
  /** True on the final block (progress=end). */
  done: boolean;
}

/**
 * Parses ffmpeg's -progress output: blocks of key=value lines, each ended by progress=continue|end.
 * Feed chunks as they arrive; complete blocks come back. Pure apart from its line buffer.
 */
export class ProgressParser {
  private buffer = "";
  private block: Record<string, string> = {};

  push(chunk: string): EncodeProgress[] {
    this.buffer += chunk;
    const out: EncodeProgress[] = [];
    let nl: number;
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      const eq = line.indexOf("=");
      if (eq <= 0) continue;
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      this.block[key] = value;
      if (key === "progress") {
        out.push(progressFromBlock(this.block));
        this.block = {};
      }
    }
    return out;
  }
}

/** One -progress block (key → value) → EncodeProgress. Pure. */
export function progressFromBlock(block: Readonly<Record<string, string>>): EncodeProgress {
  const n = (v: string | undefined) => {
    if (v === undefined || v === "N/A") return undefined;
    const x = Number.parseFloat(v);
    return Number.isFinite(x) ? x : undefined;
  };
  // out_time_us is microseconds; out_time_ms is ALSO microseconds (an old ffmpeg naming bug); out_time is HH:MM:SS.us.
  let outTimeSec = n(block.out_time_us) ?? n(block.out_time_ms);
  if (outTimeSec !== undefined) outTimeSec /= 1e6;
  else if (block.out_time && /^-?\d+:\d+:\d+(\.\d+)?$/.test(block.out_time)) {
    const [h, m, s] = block.out_time.replace("-", "").split(":").map(Number);
    outTimeSec = h * 3600 + m * 60 + s;
  }
  return {
    frame: n(block.frame) ?? 0,
    outTimeSec: outTimeSec !== undefined && outTimeSec >= 0 ? outTimeSec : undefined,
    speed: n(block.speed?.replace(/x$/, "")),
    fps: n(block.fps),
    done: block.progress === "end",
  };
}

/** The pipe to ffmpeg closed or failed (ffmpeg exited): the process's own exit status tells why. */
export class PipeClosedError extends Error {
  constructor(cause?: unknown) {
    super(`the pipe to the encoder closed${cause instanceof Error ? ` (${cause.message})` : ""}`);
    this.name = "PipeClosedError";
  }
}

/**
 * Writes one chunk, honouring back-pressure: when write() reports a full buffer it awaits 'drain'; with
 * waitFlushed it instead waits until the chunk has left Node's buffer (so the caller may reuse the Buffer).
 * Rejects with PipeClosedError if the stream errors or closes first (e.g. ffmpeg exited).
 */
export function writeChunk(stream: Writable, chunk: Buffer, waitFlushed = false): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (stream.destroyed || stream.writableEnded || !stream.writable) {
      reject(new PipeClosedError());
      return;
    }
    let settled = false;
    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      stream.off("drain", onDrain);
      stream.off("close", onClose);
      stream.off("error", onError);
      if (err) reject(err instanceof PipeClosedError ? err : new PipeClosedError(err));
      else resolve();
    };
    const onDrain = () => settle();
    const onClose = () => settle(new PipeClosedError());
    const onError = (err: Error) => settle(err);
    stream.on("close", onClose);
    stream.on("error", onError);
    const ok = stream.write(chunk, (err) => {
      if (err) settle(err);
      else if (waitFlushed) settle();
    });
    if (!waitFlushed) {
      if (ok) settle();
      else stream.on("drain", onDrain);
    }
  });
}

/**
 * Puts frames into a stream in index order, whatever order they arrive in (within `window` frames), each frame
 * checked for its size. Like remotion's ensure-frames-in-order, for engines that render frames in parallel.
 * Call push() sequentially (await each).
 */
export class OrderedFrameWriter {
  private nextIndex = 0;
  private readonly pending = new Map<number, Buffer>();

  constructor(
    private readonly stream: Writable,
    private readonly frameSize: number,
    private readonly totalFrames: number,
    private readonly window = 16,
  ) {}

  /** Frames written so far (all indices below this one). */
  get written(): number {
    return this.nextIndex;
  }

  async push(frame: EngineFrame): Promise<void> {
    const { index, data } = frame;
    if (!Number.isInteger(index) || index < 0 || index >= this.totalFrames) {
      throw new Error(`frame index ${index} is outside 0..${this.totalFrames - 1}`);
    }
    if (index < this.nextIndex || this.pending.has(index)) throw new Error(`frame ${index} was sent twice`);
    if (data.length !== this.frameSize) throw new Error(`frame ${index} has ${data.length} bytes, expected ${this.frameSize}`);
    if (index - this.nextIndex >= this.window) {
      throw new Error(`frame ${index} arrived more than ${this.window} frames ahead of frame ${this.nextIndex}`);
    }
    // A frame that must wait for an earlier one is copied: an engine's frame data is only valid until it
    // yields the next frame (EngineFrame).
    this.pending.set(index, index === this.nextIndex ? data : Buffer.from(data));
    let next: Buffer | undefined;
    while ((next = this.pending.get(this.nextIndex)) !== undefined) {
      this.pending.delete(this.nextIndex);
      // Wait until the bytes left Node's buffer: the engine may reuse its frame buffer for the next frame.
      await writeChunk(this.stream, next, true);
      this.nextIndex++;
    }
  }
}

export interface EncodeOptions {
  stream: FrameStream;
  numFrames: number;
  fps: number;
  audioPath?: string;
  outPath: string;
  acceleration: Acceleration;
  bins: MediaBinaries;
  ctx: JobContext;
  /** Overrides x264Settings(acceleration) (benchmarks). */
  x264?: X264Settings;
  /** Called with each progress block ffmpeg reports (frames encoded). */
  onProgress?: (p: EncodeProgress) => void;
}

export interface EncodeResult {
  outPath: string;
  frames: number;
  size: number;
  ms: number;
  x264: X264Settings;
}

/**
 * Streams the engine's frames into ffmpeg while it encodes (render and encode overlap), then waits for the MP4.
 * Throws CancelledError when ctx.signal fires (ffmpeg killed at once), ProcessError quoting ffmpeg's stderr when
 * ffmpeg fails, Error when the engine yields a wrong frame or too few frames.
 */
export async function encodeVideo(options: EncodeOptions): Promise<EncodeResult> {
  const { stream, numFrames, ctx } = options;
  const t0 = performance.now();
  throwIfAborted(ctx.signal);
  const x264 = options.x264 ?? x264Settings(options.acceleration);
  const args = buildEncodeArgs({
    width: stream.width, height: stream.height, pixelFormat: stream.pixelFormat, fps: options.fps,
    audioPath: options.audioPath, outPath: options.outPath, x264,
  });
  const parser = new ProgressParser();
  const handle = spawnProcess(options.bins.ffmpeg, args, {
    label: "ffmpeg (encode)",
    signal: ctx.signal,
    stdin: "pipe",
    onStdout: (chunk) => {
      for (const p of parser.push(chunk.toString("utf8"))) options.onProgress?.(p);
    },
  });
  const stdin = handle.stdin as Writable;
  const writer = new OrderedFrameWriter(stdin, frameBytes(stream.pixelFormat, stream.width, stream.height), numFrames);
  let feedError: unknown;
  try {
    for await (const frame of stream.frames()) {
      throwIfAborted(ctx.signal);
      await writer.push(frame);
      if (writer.written >= numFrames) break;
    }
    throwIfAborted(ctx.signal);
    if (writer.written < numFrames) throw new Error(`the engine yielded ${writer.written} frames, expected ${numFrames}`);
    stdin.end();
  } catch (err) {
    feedError = err;
    handle.kill();
  }
  let processError: unknown;
  try {
    await handle.done;
  } catch (err) {
    processError = err;
  }
  if (ctx.signal.aborted) throw new CancelledError();
  // A broken pipe means ffmpeg died: its stderr says why. Any other feed error (engine, bad frame) is the cause.
  if (feedError) throw feedError instanceof PipeClosedError && processError ? processError : feedError;
  if (processError) throw processError;
  const { size } = await stat(options.outPath);
  return { outPath: options.outPath, frames: writer.written, size, ms: performance.now() - t0, x264 };
}

/** A FrameStream that repeats one picture (rgb24 or rgba by its channels). */
export function stillFrameStream(image: RawImage, numFrames: number, signal?: AbortSignal): FrameStream {
  return {
    pixelFormat: image.channels === 4 ? "rgba" : "rgb24",
    width: image.width,
    height: image.height,
    async *frames() {
      for (let index = 0; index < numFrames; index++) {
        if (signal?.aborted) return;
        yield { index, data: image.data };
      }
    },
  };
}

/**
 * The encoding baseline the engine benchmark compares against: numFrames copies of one picture through the same
 * encoder settings (no audio unless given). Returns wall time and frames per second.
 * @example const { ms, fps } = await encodeStillBaseline({ image, numFrames: 181, acceleration: "regular", bins, outPath });
 */
export async function encodeStillBaseline(options: {
  image: RawImage;
  numFrames: number;
  acceleration: Acceleration;
  bins: MediaBinaries;
  outPath: string;
  audioPath?: string;
  x264?: X264Settings;
  signal?: AbortSignal;
}): Promise<EncodeResult & { fps: number }> {
  const signal = options.signal ?? new AbortController().signal;
  const ctx: JobContext = { signal, log: () => {}, progress: () => {} };
  const result = await encodeVideo({
    stream: stillFrameStream(options.image, options.numFrames, signal),
    numFrames: options.numFrames, fps: 25, audioPath: options.audioPath, outPath: options.outPath,
    acceleration: options.acceleration, bins: options.bins, ctx, x264: options.x264,
  });
  return { ...result, fps: (result.frames * 1000) / result.ms };
}
