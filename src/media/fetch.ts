/**
 * Resolves a request's file input (a URL string) to bytes on disk in the job's temp dir:
 *   - this server's own file URLs, read from storage directly (never over HTTP),
 *   - base64 or percent-encoded `data:` URIs (size-capped before decoding),
 *   - http(s) URLs, through ONE replaceable function (default: the SSRF-safe fetcher of safe-fetch.ts, which
 *     refuses private, loopback and link-local hosts unless `allowPrivateUrls`),
 *   - local paths / file:// URLs only when the caller allows them (the CLI), never for HTTP requests.
 * Every failure is an InputError naming the field, with what went wrong and what to do.
 *
 * @example
 *   const file = await fetchInput(input.image_url, { field: "image_url", dir, maxBytes, timeoutMs, storage, signal });
 *   // file.path = "/tmp/mouthpiece-job-x/image_url.png", file.size, file.contentType
 */
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { CancelledError, InputError } from "../errors.js";
import type { Storage } from "../storage/types.js";
import { createSafeHttpFetcher } from "./safe-fetch.js";

export interface FetchedFile {
  path: string;
  size: number;
  /** The type the source claimed (HTTP header or data URI), if any; never trusted for decoding. */
  contentType?: string;
  source: "storage" | "data" | "http" | "local";
}

/** Why a fetch failed, and what the caller should do about it. Turned into an InputError by fetchInput. */
export class FetchFailure extends Error {
  constructor(readonly reason: string, readonly advice: string) {
    super(`${reason}; ${advice}`);
    this.name = "FetchFailure";
  }
}

export interface HttpFetchOptions {
  maxBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Downloads `url` to `dest`; throws FetchFailure (or CancelledError when `signal` fired). */
export type HttpFetcher = (url: URL, dest: string, options: HttpFetchOptions) => Promise<{ size: number; contentType?: string }>;

export interface FetchOptions {
  /** The request field the URL came from, e.g. "image_url" (named in errors; also the file's base name). */
  field: string;
  /** The job's temp dir. */
  dir: string;
  /** Largest file accepted, in bytes (all sources). */
  maxBytes: number;
  /** Time allowed for an http(s) download, whole body included. */
  timeoutMs: number;
  /** This server's storage: URLs it recognises are read from it directly. */
  storage?: Pick<Storage, "keyFromUrl" | "read">;
  /** Replaces the http(s) download. Default: createSafeHttpFetcher({ allowPrivate: allowPrivateUrls }). */
  httpFetch?: HttpFetcher;
  /** Fetch from private, loopback and link-local hosts too (config.allowPrivateUrls). Default false. */
  allowPrivateUrls?: boolean;
  /** Accept local paths and file:// URLs (for the CLI only). Default false. */
  allowLocalFiles?: boolean;
  signal?: AbortSignal;
}

export const DEFAULT_FETCH_TIMEOUT_MS = 60_000;

const mb = (n: number) => `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;

/** A URL shortened for messages (data URIs are never echoed whole). */
export function describeUrl(url: string): string {
  if (url.startsWith("data:")) return `data URI (${url.slice(0, Math.min(url.indexOf(",") + 1 || 30, 40))}…)`;
  return url.length > 120 ? `${url.slice(0, 117)}…` : url;
}

/** A file extension from a URL path or MIME type, or "" (the decoders sniff content; this only helps humans). */
export function guessExtension(url: string, contentType?: string): string {
  const fromType: Record<string, string> = {
    "image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif", "image/avif": ".avif",
    "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/mpeg": ".mp3", "audio/mp3": ".mp3",
    "audio/ogg": ".ogg", "audio/flac": ".flac", "audio/mp4": ".m4a", "audio/aac": ".aac", "video/mp4": ".mp4",
    "video/webm": ".webm", "video/quicktime": ".mov",
  };
  const type = contentType?.split(";")[0].trim().toLowerCase();
  if (type && fromType[type]) return fromType[type];
  if (url.startsWith("data:")) return "";
  try {
    const ext = path.extname(new URL(url).pathname).toLowerCase();
    return /^\.[a-z0-9]{1,5}$/.test(ext) ? ext : "";
  } catch {
    const ext = path.extname(url).toLowerCase();
    return /^\.[a-z0-9]{1,5}$/.test(ext) ? ext : "";
  }
}

export interface DataUri {
  contentType?: string;
  bytes: Buffer;
}

/** Decodes a `data:` URI, refusing (before decoding) any payload over maxBytes. Throws FetchFailure. */
export function decodeDataUri(uri: string, maxBytes: number): DataUri {
  const comma = uri.indexOf(",");
  if (!uri.startsWith("data:") || comma < 0) {
    throw new FetchFailure("the data URI is malformed", "send data:<mime type>;base64,<base64 bytes>");
  }
  const header = uri.slice(5, comma);
  const payload = uri.slice(comma + 1);
  const params = header.split(";").map((p) => p.trim());
  const isBase64 = params.slice(1).some((p) => p.toLowerCase() === "base64");
  const contentType = params[0] || undefined;
  const estimate = isBase64 ? Math.floor((payload.length * 3) / 4) : payload.length;
  if (estimate > maxBytes + 3) {
    throw new FetchFailure(`the data URI holds about ${mb(estimate)}, over the ${mb(maxBytes)} limit`,
      "upload the file (fal.storage.upload: POST /storage/upload/initiate, then PUT the bytes) and pass the URL it returns instead");
  }
  let bytes: Buffer;
  if (isBase64) {
    const clean = payload.replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) {
      throw new FetchFailure("the data URI's base64 payload has characters outside the base64 alphabet",
        "encode the file with standard base64");
    }
    bytes = Buffer.from(clean, "base64");
  } else {
    try {
      bytes = Buffer.from(decodeURIComponent(payload), "latin1");
    } catch {
      throw new FetchFailure("the data URI's payload is not valid percent-encoding", "use ;base64 for binary files");
    }
  }
  if (bytes.length === 0) throw new FetchFailure("the data URI is empty", "put the file's bytes after the comma");
  if (bytes.length > maxBytes) {
    throw new FetchFailure(`the data URI holds ${mb(bytes.length)}, over the ${mb(maxBytes)} limit`,
      "upload the file and pass its URL instead");
  }
  return { contentType, bytes };
}

/** Counts bytes through a stream and fails once more than maxBytes pass. */
function byteCap(maxBytes: number, what: string): Transform & { bytes: number } {
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      t.bytes += chunk.length;
      if (t.bytes > maxBytes) {
        cb(new FetchFailure(`${what} is larger than the ${mb(maxBytes)} limit`, "send a smaller file"));
        return;
      }
      cb(null, chunk);
    },
  }) as Transform & { bytes: number };
  t.bytes = 0;
  return t;
}

/**
 * The default http(s) download: SSRF-safe (src/media/safe-fetch.ts), private addresses refused, redirects
 * re-checked, a deadline over the whole body, a byte cap checked on Content-Length and while streaming.
 */
export const httpFetchToFile: HttpFetcher = (url, dest, options) => createSafeHttpFetcher({ allowPrivate: false })(url, dest, options);

/** Resolves one file input to a file on disk; see the module comment. Throws InputError or CancelledError. */
export async function fetchInput(url: string, options: FetchOptions): Promise<FetchedFile> {
  const { field, dir, maxBytes, signal } = options;
  const fail = (reason: string, advice: string) =>
    InputError.field(field, `could not fetch ${describeUrl(url)}: ${reason}; ${advice}`, "file_download_error");
  if (signal?.aborted) throw new CancelledError();
  try {
    const trimmed = url.trim();
    if (trimmed.startsWith("data:")) {
      const { contentType, bytes } = decodeDataUri(trimmed, maxBytes);
      const dest = path.join(dir, `${field}${guessExtension(trimmed, contentType)}`);
      const out = createWriteStream(dest);
      out.end(bytes);
      await once(out, "finish");
      return { path: dest, size: bytes.length, contentType, source: "data" };
    }

    const key = options.storage?.keyFromUrl(trimmed);
    if (key !== undefined && options.storage) {
      const dest = path.join(dir, `${field}${guessExtension(trimmed)}`);
      let body: Readable;
      try {
        body = await options.storage.read(key);
      } catch (err) {
        throw new FetchFailure(`this server has no stored file at that URL (${(err as Error).message})`,
          "upload the file again and use the URL the upload returned");
      }
      const cap = byteCap(maxBytes, "the stored file");
      await pipeline(body, cap, createWriteStream(dest), signal ? { signal } : {});
      return { path: dest, size: cap.bytes, source: "storage" };
    }

    if (options.allowLocalFiles && (trimmed.startsWith("file://") || path.isAbsolute(trimmed) || trimmed.startsWith("."))) {
      const local = trimmed.startsWith("file://") ? fileURLToPath(trimmed) : path.resolve(trimmed);
      let size: number;
      try {
        const s = await stat(local);
        if (!s.isFile()) throw new Error("not a regular file");
        size = s.size;
      } catch (err) {
        throw new FetchFailure(`cannot read the local file (${(err as Error).message})`, "check the path");
      }
      if (size > maxBytes) throw new FetchFailure(`the file is ${mb(size)}, over the ${mb(maxBytes)} limit`, "send a smaller file");
      return { path: local, size, source: "local" };
    }

    let parsed: URL;
    try {
      parsed = new URL(trimmed);
    } catch {
      throw new FetchFailure("it is not a URL", "send an http(s) URL, a data: URI, or a URL returned by the upload endpoint");
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new FetchFailure(`the scheme ${parsed.protocol} is not supported`, "send an http(s) URL or a data: URI");
    }
    const dest = path.join(dir, `${field}${guessExtension(trimmed)}`);
    const fetcher = options.httpFetch ?? createSafeHttpFetcher({ allowPrivate: options.allowPrivateUrls ?? false });
    const got = await fetcher(parsed, dest, { maxBytes, timeoutMs: options.timeoutMs, signal });
    return { path: dest, size: got.size, contentType: got.contentType, source: "http" };
  } catch (err) {
    if (signal?.aborted) throw new CancelledError();
    if (err instanceof FetchFailure) throw fail(err.reason, err.advice);
    throw err;
  }
}
