/**
 * ffprobe → typed stream facts, and input checks that name the request field when a file is corrupt or is
 * not what it claims ("audio_url: the file has no audio track (found: PNG image)").
 *
 * @example
 *   const info = await probeMedia(file.path, bins, { signal });
 *   const audio = await requireAudio(file.path, "audio_url", bins, { signal }); // InputError if not audio
 */
import { open } from "node:fs/promises";
import { fileTypeFromBuffer } from "file-type";
import { CancelledError, InputError, ProcessError } from "../errors.js";
import { runProcess, type MediaBinaries } from "./ffmpeg.js";

export interface VideoStreamInfo {
  kind: "video";
  index: number;
  codec: string;
  width: number;
  height: number;
  /** Average frame rate (frames per second), 0 when unknown. */
  fps: number;
  /** Display rotation in degrees (0, 90, 180, 270; from the display matrix or the rotate tag). */
  rotation: number;
  durationSec?: number;
  /** Frames: counted when probed with countFrames, else the container's nb_frames if any. */
  frames?: number;
  /** A still cover picture (album art), not real video. */
  attachedPicture: boolean;
}

export interface AudioStreamInfo {
  kind: "audio";
  index: number;
  codec: string;
  sampleRate: number;
  channels: number;
  durationSec?: number;
  /** Audio packets (frames), when probed with countFrames. */
  frames?: number;
}

export type StreamInfo = VideoStreamInfo | AudioStreamInfo;

export interface ProbeResult {
  /** ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2" or "wav". */
  formatName: string;
  durationSec?: number;
  streams: StreamInfo[];
  video?: VideoStreamInfo;
  audio?: AudioStreamInfo;
}

/** Longest audio input accepted (s): outputs are at most 721 frames (28.8 s); longer files only cost decode time. */
export const MAX_AUDIO_SECONDS = 600;
/** Longest input video accepted (s). */
export const MAX_VIDEO_SECONDS = 600;
/** Largest input video frame accepted (pixels): 4096 x 4096. */
export const MAX_VIDEO_PIXELS = 4096 * 4096;

export interface ProbeOptions {
  signal?: AbortSignal;
  /** requireAudio / requireVideo: the longest duration accepted (s). Default MAX_AUDIO_SECONDS / MAX_VIDEO_SECONDS. */
  maxDurationSec?: number;
  /** Decode the streams to count frames exactly (slower: reads the whole file). */
  countFrames?: boolean;
}

/** ffprobe arguments for JSON output of format and streams. Pure. */
export function buildProbeArgs(file: string, options: { countFrames?: boolean } = {}): string[] {
  return [
    "-v", "error",
    "-print_format", "json",
    "-show_format",
    "-show_streams",
    ...(options.countFrames ? ["-count_frames"] : []),
    file,
  ];
}

const num = (v: unknown): number | undefined => {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
};

/** "30000/1001" → 29.97; "0/0" → 0. Pure. */
export function parseRate(rate: unknown): number {
  if (typeof rate !== "string") return 0;
  const [a, b] = rate.split("/").map(Number);
  if (b === undefined) return Number.isFinite(a) ? a : 0;
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : 0;
}

const normRotation = (deg: number) => (((Math.round(deg / 90) * 90) % 360) + 360) % 360;

/** ffprobe's JSON (as text or parsed) → ProbeResult. Pure; throws on a document that is not ffprobe output. */
export function parseProbe(json: string | Record<string, unknown>): ProbeResult {
  const doc = (typeof json === "string" ? JSON.parse(json) : json) as {
    format?: Record<string, unknown>;
    streams?: Record<string, unknown>[];
  };
  if (!doc || typeof doc !== "object" || (!doc.format && !doc.streams)) throw new Error("not ffprobe JSON output");
  const streams: StreamInfo[] = [];
  for (const s of doc.streams ?? []) {
    const index = num(s.index) ?? streams.length;
    const codec = String(s.codec_name ?? "unknown");
    const durationSec = num(s.duration);
    const counted = num(s.nb_read_frames) ?? num(s.nb_frames);
    if (s.codec_type === "video") {
      const tags = (s.tags ?? {}) as Record<string, unknown>;
      const sideData = (s.side_data_list ?? []) as Record<string, unknown>[];
      const matrixRotation = sideData.map((d) => num(d.rotation)).find((r) => r !== undefined);
      // The display matrix gives counter-clockwise degrees (negative for a clockwise turn); the tag gives clockwise.
      const rotation = matrixRotation !== undefined ? normRotation(-matrixRotation) : normRotation(num(tags.rotate) ?? 0);
      const disposition = (s.disposition ?? {}) as Record<string, unknown>;
      streams.push({
        kind: "video", index, codec,
        width: num(s.width) ?? 0,
        height: num(s.height) ?? 0,
        fps: parseRate(s.avg_frame_rate) || parseRate(s.r_frame_rate),
        rotation,
        durationSec,
        frames: counted,
        attachedPicture: disposition.attached_pic === 1,
      });
    } else if (s.codec_type === "audio") {
      streams.push({
        kind: "audio", index, codec,
        sampleRate: num(s.sample_rate) ?? 0,
        channels: num(s.channels) ?? 0,
        durationSec,
        frames: counted,
      });
    }
  }
  const format = doc.format ?? {};
  return {
    formatName: String(format.format_name ?? "unknown"),
    durationSec: num(format.duration),
    streams,
    video: streams.find((s): s is VideoStreamInfo => s.kind === "video" && !s.attachedPicture)
      ?? streams.find((s): s is VideoStreamInfo => s.kind === "video"),
    audio: streams.find((s): s is AudioStreamInfo => s.kind === "audio"),
  };
}

/** Runs ffprobe on a file. Rejects with ProcessError (quoting ffprobe's stderr) when ffprobe cannot read it. */
export async function probeMedia(file: string, bins: MediaBinaries, options: ProbeOptions = {}): Promise<ProbeResult> {
  const { stdout } = await runProcess(bins.ffprobe, buildProbeArgs(file, options), {
    label: "ffprobe",
    signal: options.signal,
    maxStdoutBytes: 16 * 1024 * 1024,
  });
  return parseProbe(stdout.toString("utf8"));
}

const KIND_NAMES: Record<string, string> = {
  zip: "zip archive", pdf: "PDF document", gz: "gzip archive", "7z": "7-Zip archive", rar: "RAR archive",
  tar: "tar archive", png: "PNG image", jpg: "JPEG image", webp: "WebP image", gif: "GIF image", avif: "AVIF image",
  heic: "HEIC image", bmp: "BMP image", tif: "TIFF image", wav: "WAV audio", mp3: "MP3 audio", ogg: "Ogg audio",
  flac: "FLAC audio", m4a: "M4A audio", mp4: "MP4 video", mov: "QuickTime video", webm: "WebM video",
  mkv: "Matroska video", exe: "Windows executable", elf: "ELF executable", docx: "Word document",
  xlsx: "Excel spreadsheet", pptx: "PowerPoint document", xml: "XML document", svg: "SVG image", ico: "icon",
};

/** What a buffer's first bytes look like, in words ("zip archive", "HTML page", "text", "empty file"). Pure but async. */
export async function describeBytes(head: Buffer): Promise<string> {
  if (head.length === 0) return "empty file";
  const type = await fileTypeFromBuffer(head).catch(() => undefined);
  if (type) return KIND_NAMES[type.ext] ?? `${type.ext} file (${type.mime})`;
  const text = head.subarray(0, 512).toString("utf8");
  if (/^\s*(<!doctype html|<html|<head|<body)/i.test(text)) return "HTML page";
  if (/^\s*<svg|^\s*<\?xml[^>]*>\s*<svg/i.test(text)) return "SVG image";
  if (/^\s*[{[]/.test(text) && !/[\u0000-\u0008\u000e-\u001f]/.test(text)) return "JSON or text";
  if (!/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text)) return "text";
  return "unrecognised binary data";
}

/** describeBytes on a file's first 4 KiB. */
export async function describeFile(file: string): Promise<string> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(4100);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return await describeBytes(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

async function probeForInput(file: string, field: string, what: string, advice: string, bins: MediaBinaries,
  options: ProbeOptions): Promise<ProbeResult> {
  try {
    return await probeMedia(file, bins, options);
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    // A binary that cannot start is the server's problem, not the input's.
    if (err instanceof ProcessError && err.exitCode === null && !err.stderr) throw err;
    const found = await describeFile(file);
    throw InputError.field(field, `the file is not a decodable ${what} (found: ${found}); ${advice}`, "invalid_file");
  }
}

const AUDIO_ADVICE = "send a WAV, MP3, OGG, M4A or FLAC audio file";
const VIDEO_ADVICE = "send an MP4, MOV, WebM or MKV video file";

/** Checks that a file has an audio track; returns it with the file's duration. Throws InputError naming the field. */
export async function requireAudio(file: string, field: string, bins: MediaBinaries, options: ProbeOptions = {}):
  Promise<AudioStreamInfo & { durationSec: number }> {
  const info = await probeForInput(file, field, "audio file", AUDIO_ADVICE, bins, options);
  if (!info.audio) {
    const found = await describeFile(file);
    throw InputError.field(field, `the file has no audio track (found: ${found}); ${AUDIO_ADVICE}`, "invalid_file");
  }
  const durationSec = info.audio.durationSec ?? info.durationSec ?? 0;
  if (info.audio.sampleRate <= 0 || info.audio.channels <= 0) {
    throw InputError.field(field, `the audio track has no usable samples (${info.audio.codec}); ${AUDIO_ADVICE}`, "invalid_file");
  }
  const maxSec = options.maxDurationSec ?? MAX_AUDIO_SECONDS;
  if (durationSec > maxSec) {
    throw InputError.field(field,
      `the audio is ${durationSec.toFixed(1)} s long, over the ${maxSec} s limit; send a shorter file (a video uses at most its num_frames / 25 s of it)`,
      "audio_too_long");
  }
  return { ...info.audio, durationSec };
}

/** Checks that a file has a real video track (not a still image or cover art). Throws InputError naming the field. */
export async function requireVideo(file: string, field: string, bins: MediaBinaries, options: ProbeOptions = {}):
  Promise<{ video: VideoStreamInfo; audio?: AudioStreamInfo; durationSec: number }> {
  const info = await probeForInput(file, field, "video", VIDEO_ADVICE, bins, options);
  const v = info.video;
  const still = !v || v.attachedPicture || /_pipe$|^image2$|^png|^mjpeg$/.test(info.formatName) || (v.frames !== undefined && v.frames <= 1);
  if (!v || still || v.width <= 0 || v.height <= 0) {
    const found = await describeFile(file);
    throw InputError.field(field, `the file has no video track (found: ${found}); ${VIDEO_ADVICE}`, "invalid_file");
  }
  const durationSec = v.durationSec ?? info.durationSec ?? 0;
  const maxSec = options.maxDurationSec ?? MAX_VIDEO_SECONDS;
  if (durationSec > maxSec) {
    throw InputError.field(field, `the video is ${durationSec.toFixed(1)} s long, over the ${maxSec} s limit; send a shorter video`, "video_too_long");
  }
  if (v.width * v.height > MAX_VIDEO_PIXELS) {
    throw InputError.field(field,
      `the video is ${v.width}x${v.height}, over the 4096x4096 frame limit; send a smaller video (720p is plenty)`,
      "video_too_large");
  }
  return { video: v, audio: info.audio, durationSec };
}
