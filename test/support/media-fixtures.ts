/**
 * Media fixtures made on the spot (no files from ../shared): synthetic pictures via sharp, tones and test videos
 * via ffmpeg's lavfi sources, a tiny folder-backed Storage, a recording JobContext.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import sharp from "sharp";
import type { Box } from "../../src/face/types.js";
import { resolveBinaries, runProcess, type MediaBinaries } from "../../src/media/ffmpeg.js";
import type { JobContext } from "../../src/media/types.js";
import type { ByteRange, Storage, StoredFile } from "../../src/storage/types.js";

export const bins: MediaBinaries = resolveBinaries({});

export async function tempDir(prefix = "mp-test-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A synthetic portrait: a vertical gradient background with a skin-coloured ellipse "face" (eyes, mouth) in `face`
 * (default: centered, a third of the height). Written as PNG (or JPEG by extension).
 */
export async function makePicture(file: string, width: number, height: number, face?: Box): Promise<Box> {
  const f = face ?? { x: width / 2 - height / 8, y: height / 3, width: height / 4, height: height / 3 };
  const cx = f.x + f.width / 2, cy = f.y + f.height / 2;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#3a6ea5"/><stop offset="1" stop-color="#c0d6e4"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/>
    <ellipse cx="${cx}" cy="${cy}" rx="${f.width / 2}" ry="${f.height / 2}" fill="#e0ac8a"/>
    <circle cx="${cx - f.width / 5}" cy="${cy - f.height / 8}" r="${f.width / 14}" fill="#222"/>
    <circle cx="${cx + f.width / 5}" cy="${cy - f.height / 8}" r="${f.width / 14}" fill="#222"/>
    <rect x="${cx - f.width / 5}" y="${cy + f.height / 5}" width="${(2 * f.width) / 5}" height="${f.height / 16}" fill="#8a3030"/>
  </svg>`;
  const img = sharp(Buffer.from(svg)).removeAlpha();
  await (file.endsWith(".jpg") ? img.jpeg() : img.png()).toFile(file);
  return f;
}

/** A sine tone made by ffmpeg (format by the file's extension: .wav .mp3 .ogg .flac .m4a). */
export async function makeTone(file: string, seconds: number, options: { rate?: number; channels?: 1 | 2; freq?: number } = {}): Promise<void> {
  const rate = options.rate ?? 44100;
  const channels = options.channels ?? 1;
  const codec: Record<string, string[]> = {
    ".wav": ["-c:a", "pcm_s16le"], ".mp3": ["-c:a", "libmp3lame"], ".ogg": ["-c:a", "libvorbis"],
    ".flac": ["-c:a", "flac"], ".m4a": ["-c:a", "aac"],
  };
  await runProcess(bins.ffmpeg, [
    "-nostdin", "-v", "error", "-f", "lavfi", "-i", `sine=frequency=${options.freq ?? 440}:sample_rate=${rate}:duration=${seconds}`,
    "-ac", String(channels), ...(codec[path.extname(file)] ?? []), "-y", file,
  ], { label: "ffmpeg (fixture)" });
}

/** A short test-pattern video with a tone (lavfi testsrc + sine), H.264 + AAC in MP4. */
export async function makeTestVideo(file: string, seconds: number, width = 320, height = 240): Promise<void> {
  await runProcess(bins.ffmpeg, [
    "-nostdin", "-v", "error", "-f", "lavfi", "-i", `testsrc=size=${width}x${height}:rate=25:duration=${seconds}`,
    "-f", "lavfi", "-i", `sine=frequency=330:sample_rate=48000:duration=${seconds}`,
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-y", file,
  ], { label: "ffmpeg (fixture)" });
}

/** Random bytes that are no media format, or a real zip archive's header (for "found: zip archive"). */
export async function makeJunk(file: string, kind: "random" | "zip" | "html" = "random"): Promise<void> {
  const bytes = kind === "zip"
    ? Buffer.concat([Buffer.from("504b0304140000000800", "hex"), randomBytes(200)])
    : kind === "html" ? Buffer.from("<!DOCTYPE html><html><body>Not found</body></html>") : randomBytes(4096);
  await writeFile(file, bytes);
}

/** A minimal Storage over a folder; URLs look like http://mouthpiece.test/files/<key>. */
export class FolderStorage implements Storage {
  static readonly BASE = "http://mouthpiece.test/files/";
  readonly stored: StoredFile[] = [];
  constructor(readonly root: string) {}

  private async save(key: string, fileName: string, contentType: string): Promise<StoredFile> {
    const { size } = await stat(path.join(this.root, key));
    const file = { key, url: FolderStorage.BASE + key, contentType, fileName, size };
    this.stored.push(file);
    return file;
  }

  async put(input: { body: Buffer | Readable; contentType: string; fileName: string }): Promise<StoredFile> {
    const key = `${randomBytes(8).toString("hex")}/${input.fileName}`;
    await mkdir(path.dirname(path.join(this.root, key)), { recursive: true });
    const chunks: Buffer[] = [];
    if (Buffer.isBuffer(input.body)) chunks.push(input.body);
    else for await (const c of input.body) chunks.push(c as Buffer);
    await writeFile(path.join(this.root, key), Buffer.concat(chunks));
    return this.save(key, input.fileName, input.contentType);
  }

  async putFile(input: { path: string; contentType: string; fileName: string }): Promise<StoredFile> {
    const key = `${randomBytes(8).toString("hex")}/${input.fileName}`;
    await mkdir(path.dirname(path.join(this.root, key)), { recursive: true });
    await copyFile(input.path, path.join(this.root, key));
    return this.save(key, input.fileName, input.contentType);
  }

  async stat(key: string): Promise<StoredFile | undefined> {
    return this.stored.find((f) => f.key === key);
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const file = path.join(this.root, key);
    await stat(file); // throws ENOENT for a missing key
    return createReadStream(file, range ? { start: range.start, end: range.end } : {});
  }

  keyFromUrl(url: string): string | undefined {
    return url.startsWith(FolderStorage.BASE) ? url.slice(FolderStorage.BASE.length) : undefined;
  }

  pathOf(key: string): string {
    return path.join(this.root, key);
  }
}

export interface RecordingContext extends JobContext {
  logs: { message: string; level: string }[];
  progressCalls: [number, number][];
  controller: AbortController;
}

/** A JobContext that records logs and progress; abort it through `controller`. */
export function recordingContext(): RecordingContext {
  const controller = new AbortController();
  const logs: { message: string; level: string }[] = [];
  const progressCalls: [number, number][] = [];
  return {
    signal: controller.signal,
    controller,
    logs,
    progressCalls,
    log: (message, level = "info") => void logs.push({ message, level }),
    progress: (done, total) => void progressCalls.push([done, total]),
  };
}

/** A logger that keeps what it is told (the PipelineLogger shape). */
export function memoryLogger(): { entries: { level: string; obj: object; msg?: string }[] } & Record<"info" | "warn" | "error" | "debug", (obj: object, msg?: string) => void> {
  const entries: { level: string; obj: object; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void entries.push({ level, obj, msg });
  return { entries, info: at("info"), warn: at("warn"), error: at("error"), debug: at("debug") };
}
