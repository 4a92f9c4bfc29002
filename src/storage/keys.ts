/**
 * Storage keys and this server's file URLs, shared by every storage backend: keys are
 * files/<yyyy>/<random>/<file name>, served at <baseUrl>/files/… (whatever holds the bytes).
 *
 * @example
 *   const urls = new FileUrls({ baseUrl: "http://127.0.0.1:8000" });
 *   const key = urls.newKey("video.mp4");   // "files/2026/Xb3…/video.mp4"
 *   urls.keyFromUrl(urls.urlFor(key));      // key again
 */
import { randomBytes } from "node:crypto";
import path from "node:path";

const KEY_RE = /^files\/\d{4}\/[A-Za-z0-9_-]{16,64}\/[^/\\]{1,200}$/;
/** LocalStorage's metadata file beside each object: never an object itself. */
export const META = ".meta.json";

/** A file name safe on every file system and in a URL path segment. */
export function safeFileName(name: string): string {
  const base = path.basename(name.replace(/\\/g, "/")).normalize("NFKC");
  const cleaned = base.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "").slice(-120);
  return cleaned.length > 0 ? cleaned : "file";
}

/** Whether `key` names an object (not a metadata file, no traversal). */
export function isValidKey(key: string): boolean {
  if (!KEY_RE.test(key)) return false;
  const name = key.slice(key.lastIndexOf("/") + 1);
  return !name.startsWith(".") && name !== META;
}

export interface FileUrlOptions {
  /** The public base URL of this server (no trailing slash), e.g. "http://127.0.0.1:8000". */
  baseUrl: string;
  /** Other origins that also reach this server (e.g. "http://localhost:8000"); their file URLs are ours too. */
  aliasOrigins?: string[];
}

export class FileUrls {
  private readonly base: URL;
  private readonly origins: Set<string>;

  constructor(options: FileUrlOptions) {
    this.base = new URL(options.baseUrl.replace(/\/+$/, "") + "/");
    this.origins = new Set([this.base.origin, ...(options.aliasOrigins ?? []).map((o) => new URL(o).origin)]);
  }

  newKey(fileName: string): string {
    const year = new Date().getUTCFullYear();
    return `files/${year}/${randomBytes(16).toString("base64url")}/${safeFileName(fileName)}`;
  }

  urlFor(key: string): string {
    return new URL(key.split("/").map(encodeURIComponent).join("/"), this.base).toString();
  }

  /** The key of one of this server's file URLs (any of its origins), else undefined. */
  keyFromUrl(url: string): string | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return undefined;
    }
    if (!this.origins.has(parsed.origin)) return undefined;
    const prefix = this.base.pathname; // ends with "/"
    if (!parsed.pathname.startsWith(prefix)) return undefined;
    let key: string;
    try {
      key = parsed.pathname.slice(prefix.length).split("/").map(decodeURIComponent).join("/");
    } catch {
      return undefined;
    }
    return isValidKey(key) ? key : undefined;
  }
}
