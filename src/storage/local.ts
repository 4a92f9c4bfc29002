/**
 * LocalStorage: files under <dataDir>/files, served by this server at <baseUrl>/files/….
 * Every write goes to <dataDir>/tmp first and is renamed into place, so a reader never sees a partial file.
 * One object per folder: files/<yyyy>/<random>/<file name>, with its metadata in a `.meta.json` beside it.
 *
 * @example
 *   const storage = new LocalStorage({ dataDir: config.dataDir, baseUrl: "http://127.0.0.1:8000" });
 *   const file = await storage.putFile({ path: "/tmp/out.mp4", contentType: "video/mp4", fileName: "video.mp4" });
 *   // file.url = "http://127.0.0.1:8000/files/2026/Xb3…/video.mp4"
 */
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import mime from "mime-types";
import { FileUrls, isValidKey, META, safeFileName } from "./keys.js";
import type { ByteRange, KeyedStorage, StoredFile } from "./types.js";

export interface LocalStorageOptions {
  dataDir: string;
  /** The public base URL of this server (no trailing slash), e.g. "http://127.0.0.1:8000". */
  baseUrl: string;
  /** Other origins that also reach this server (e.g. "http://localhost:8000"); their file URLs are ours too. */
  aliasOrigins?: string[];
}

interface Meta {
  contentType: string;
  fileName: string;
  createdAt: string;
}

export { isValidKey, safeFileName } from "./keys.js";

export class LocalStorage implements KeyedStorage {
  readonly root: string;
  private readonly tmpDir: string;
  private readonly urls: FileUrls;

  constructor(private readonly options: LocalStorageOptions) {
    this.root = path.resolve(options.dataDir);
    this.tmpDir = path.join(this.root, "tmp");
    this.urls = new FileUrls(options);
  }

  newKey(fileName: string): string {
    return this.urls.newKey(fileName);
  }

  urlFor(key: string): string {
    return this.urls.urlFor(key);
  }

  keyFromUrl(url: string): string | undefined {
    return this.urls.keyFromUrl(url);
  }

  async put(input: { body: Buffer | Readable; contentType: string; fileName: string; key?: string }): Promise<StoredFile> {
    const tmp = await this.tmpPath();
    try {
      if (Buffer.isBuffer(input.body)) await writeFile(tmp, input.body);
      else await pipeline(input.body, createWriteStream(tmp));
      return await this.commit(tmp, input);
    } finally {
      await discard(tmp);
    }
  }

  async putFile(input: { path: string; contentType: string; fileName: string; key?: string }): Promise<StoredFile> {
    const tmp = await this.tmpPath();
    try {
      await copyFile(input.path, tmp);
      return await this.commit(tmp, input);
    } finally {
      await discard(tmp);
    }
  }

  async stat(key: string): Promise<StoredFile | undefined> {
    if (!isValidKey(key)) return undefined;
    const file = path.join(this.root, key);
    let size: number;
    try {
      const s = await stat(file);
      if (!s.isFile()) return undefined;
      size = s.size;
    } catch {
      return undefined;
    }
    const fileName = key.slice(key.lastIndexOf("/") + 1);
    // No metadata (copied in by hand): fall back to the extension.
    const meta = await readMeta(path.dirname(file));
    const contentType = meta.contentType ?? (mime.lookup(fileName) || "application/octet-stream");
    return { key, url: this.urlFor(key), contentType, fileName: meta.fileName ?? fileName, size };
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (!isValidKey(key)) throw new Error(`Not a storage key: ${key}`);
    const file = path.join(this.root, key);
    const stream = createReadStream(file, range ? { start: range.start, end: range.end } : {});
    // Surface "not found" as a rejected promise rather than a later stream error.
    await new Promise<void>((resolve, reject) => {
      stream.once("open", () => resolve());
      stream.once("error", reject);
    });
    return stream;
  }

  /**
   * Deletes every file stored before `before` (epoch ms: its metadata's createdAt, else its folder's mtime) with
   * its folder (files/<year>/<random>/), and returns how many. Years after `before`'s are not looked into.
   * Temp files last written before then (a process killed while storing) go too, uncounted.
   */
  async purgeBefore(before: number): Promise<number> {
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      if (!/\.part(\.meta)?$/.test(name)) continue;
      const tmp = path.join(this.tmpDir, name);
      const written = await stat(tmp).then((s) => (s.isFile() ? s.mtimeMs : undefined), () => undefined);
      if (written !== undefined && written < before) await rm(tmp, { force: true });
    }
    const files = path.join(this.root, "files");
    const lastYear = new Date(before).getUTCFullYear();
    let removed = 0;
    for (const year of await readdir(files).catch(() => [] as string[])) {
      if (!/^\d{4}$/.test(year) || Number(year) > lastYear) continue;
      for (const name of await readdir(path.join(files, year)).catch(() => [] as string[])) {
        const folder = path.join(files, year, name);
        const created = await createdAt(folder);
        if (created === undefined || created >= before) continue;
        await rm(folder, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  private async tmpPath(): Promise<string> {
    await mkdir(this.tmpDir, { recursive: true });
    return path.join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString("hex")}.part`);
  }

  /** Moves a finished temp file into place: metadata first, then the file (its presence means "stored"). */
  private async commit(tmp: string, input: { contentType: string; fileName: string; key?: string }): Promise<StoredFile> {
    const key = input.key ?? this.newKey(input.fileName);
    if (!isValidKey(key)) throw new Error(`Not a storage key: ${key}`);
    const file = path.join(this.root, key);
    const dir = path.dirname(file);
    await mkdir(dir, { recursive: true });
    const meta: Meta = { contentType: input.contentType, fileName: safeFileName(input.fileName), createdAt: new Date().toISOString() };
    const metaTmp = `${tmp}.meta`;
    await writeFile(metaTmp, JSON.stringify(meta));
    await rename(metaTmp, path.join(dir, META));
    const { size } = await stat(tmp);
    await rename(tmp, file);
    return { key, url: this.urlFor(key), contentType: input.contentType, fileName: meta.fileName, size };
  }
}

/** Removes a temp file and its metadata twin, whichever exist (a commit that failed midway leaves either). */
async function discard(tmp: string): Promise<void> {
  await Promise.all([rm(tmp, { force: true }), rm(`${tmp}.meta`, { force: true })]);
}

/** A stored file's metadata, from its folder; {} when there is none or it cannot be read. */
async function readMeta(folder: string): Promise<Partial<Meta>> {
  try {
    return JSON.parse(await readFile(path.join(folder, META), "utf8")) as Partial<Meta>;
  } catch {
    return {};
  }
}

/** When a stored file's folder was made: its metadata's createdAt, else the folder's mtime; undefined if gone. */
async function createdAt(folder: string): Promise<number | undefined> {
  const t = Date.parse((await readMeta(folder)).createdAt ?? "");
  if (Number.isFinite(t)) return t;
  return stat(folder).then((s) => (s.isDirectory() ? s.mtimeMs : undefined), () => undefined);
}
