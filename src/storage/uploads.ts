/**
 * Upload sessions, the way fal's storage client uploads: `initiate` hands out an upload URL and the final
 * file URL; the bytes then arrive in one PUT, or (multipart, files over 90 MB) as numbered part PUTs
 * followed by `complete`. A session lives in <dataDir>/uploads/<id>/ (so it survives a restart) until it
 * is completed or expires. The id is long and random: the upload URL itself is the credential, since the
 * official client sends the bytes without an Authorization header.
 * With a store that keeps multipart uploads itself (S3: storage.createMultipart), multipart sessions live in
 * the store instead: the session id carries the object key and the store's upload id (unguessable, the
 * credential), each part goes straight to the store (buffered per part, at most 64 MB), so any API node can
 * take any part of any upload.
 *
 * @example
 *   const uploads = new UploadSessions({ dataDir, storage, maxBytes: config.uploadLimit });
 *   const s = await uploads.create({ contentType: "image/png", fileName: "face.png", owner: "local" });
 *   const stored = await uploads.putWhole(s.id, request.raw);
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { PassThrough, Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { InputError, NotFoundError, TooLargeError } from "../errors.js";
import type { KeyedStorage, StoredFile } from "./types.js";

export interface UploadSession {
  id: string;
  key: string;
  contentType: string;
  fileName: string;
  owner: string;
  multipart: boolean;
  createdAt: number;
}

export interface UploadPart {
  partNumber: number;
  etag: string;
}

export interface UploadSessionsOptions {
  dataDir: string;
  storage: KeyedStorage;
  /** Largest file (whole upload, all parts together) in bytes. */
  maxBytes: number;
  /** Sessions older than this are refused and removed. Default 24 h. */
  ttlMs?: number;
}

const ID_RE = /^[A-Za-z0-9_-]{32}$/;
/** Ids of multipart sessions the store keeps (S3): "store." + base64url(JSON of StoreSession). */
const STORE_PREFIX = "store.";

/** What a store-kept multipart session's id carries (the store's upload id is its credential). */
interface StoreSession {
  k: string;
  u: string;
  t: string;
  n: string;
  o: string;
  c: number;
}
export const MAX_PARTS = 10_000;
/** Largest part a store-kept multipart upload buffers in memory (the official client sends 10 MB parts). */
const MAX_STORE_PART = 64 * 1024 * 1024;

/** Counts bytes through a stream and fails with TooLargeError beyond `max`. */
function byteLimit(max: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > max) done(new TooLargeError(`${what} is larger than the upload limit of ${max} bytes; upload a smaller file or raise MOUTHPIECE_UPLOAD_LIMIT.`));
      else done(null, chunk);
    },
  });
}

export class UploadSessions {
  private readonly dir: string;
  private readonly ttlMs: number;

  constructor(private readonly options: UploadSessionsOptions) {
    this.dir = path.join(path.resolve(options.dataDir), "uploads");
    this.ttlMs = options.ttlMs ?? 24 * 3600 * 1000;
  }

  /** Starts an upload; the file will be stored under `session.key` (its URL is known now). */
  async create(input: { contentType: string; fileName: string; owner: string; multipart?: boolean }): Promise<UploadSession> {
    const { storage } = this.options;
    if (input.multipart && storage.createMultipart) {
      // The store keeps the parts (S3 multipart upload); the id carries everything, so any API node takes any part.
      const key = storage.newKey(input.fileName);
      const uploadId = await storage.createMultipart(key, { contentType: input.contentType, fileName: input.fileName });
      const carried: StoreSession = { k: key, u: uploadId, t: input.contentType, n: input.fileName, o: input.owner, c: Date.now() };
      return this.fromStore(`${STORE_PREFIX}${Buffer.from(JSON.stringify(carried)).toString("base64url")}`, carried);
    }
    await this.sweep().catch(() => undefined);
    const session: UploadSession = {
      id: randomBytes(24).toString("base64url"),
      key: this.options.storage.newKey(input.fileName),
      contentType: input.contentType,
      fileName: input.fileName,
      owner: input.owner,
      multipart: input.multipart ?? false,
      createdAt: Date.now(),
    };
    await mkdir(this.sessionDir(session.id), { recursive: true });
    await writeFile(path.join(this.sessionDir(session.id), "session.json"), JSON.stringify(session));
    return session;
  }

  async get(id: string): Promise<UploadSession> {
    if (id.startsWith(STORE_PREFIX)) return this.storeSession(id).session;
    if (!ID_RE.test(id)) throw new NotFoundError("Unknown or expired upload; start a new one with /storage/upload/initiate.");
    let session: UploadSession;
    try {
      session = JSON.parse(await readFile(path.join(this.sessionDir(id), "session.json"), "utf8")) as UploadSession;
    } catch {
      throw new NotFoundError("Unknown or expired upload; start a new one with /storage/upload/initiate.");
    }
    if (Date.now() - session.createdAt > this.ttlMs) {
      await rm(this.sessionDir(id), { recursive: true, force: true });
      throw new NotFoundError("This upload expired; start a new one with /storage/upload/initiate.");
    }
    return session;
  }

  /** The whole file in one body. Ends the session. */
  async putWhole(id: string, body: Readable): Promise<StoredFile> {
    const session = await this.get(id);
    const limited = byteLimit(this.options.maxBytes, "The file");
    // Errors reach storage.put through `limited`; this promise only keeps them from going unhandled.
    pipeline(body, limited).catch(() => undefined);
    const stored = await this.options.storage.put({
      body: limited, contentType: session.contentType, fileName: session.fileName, key: session.key,
    });
    await rm(this.sessionDir(id), { recursive: true, force: true });
    return stored;
  }

  /** One numbered part (1-based); answers the part's ETag, which `complete` checks. */
  async putPart(id: string, partNumber: number, body: Readable): Promise<UploadPart> {
    await this.get(id);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
      throw InputError.field("partNumber", `Part numbers run from 1 to ${MAX_PARTS}; got ${partNumber}.`);
    }
    if (id.startsWith(STORE_PREFIX)) {
      const { carried } = this.storeSession(id);
      const chunks: Buffer[] = [];
      const collect = new Transform({
        transform(chunk: Buffer, _enc, done) {
          chunks.push(chunk);
          done();
        },
      });
      await pipeline(body, byteLimit(Math.min(this.options.maxBytes, MAX_STORE_PART), `Part ${partNumber}`), collect);
      const etag = await this.options.storage.uploadPart!(carried.k, carried.u, partNumber, Buffer.concat(chunks));
      return { partNumber, etag };
    }
    const dir = this.sessionDir(id);
    const hash = createHash("md5");
    const tmp = path.join(dir, `part-${partNumber}.${randomBytes(4).toString("hex")}.tmp`);
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, byteLimit(this.options.maxBytes, `Part ${partNumber}`), hashing, createWriteStream(tmp));
      const etag = hash.digest("hex");
      // The final name carries the etag, so a retried part simply replaces the previous attempt.
      for (const name of await readdir(dir)) {
        if (name.startsWith(`part-${partNumber}-`)) await rm(path.join(dir, name), { force: true });
      }
      await rename(tmp, path.join(dir, `part-${partNumber}-${etag}`));
      return { partNumber, etag };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Joins the listed parts in order into the stored file. Ends the session. */
  async complete(id: string, parts: UploadPart[]): Promise<StoredFile> {
    const session = await this.get(id);
    if (parts.length === 0) throw InputError.field("parts", "List the uploaded parts: [{partNumber, etag}, …] in order.");
    if (id.startsWith(STORE_PREFIX)) {
      const { carried } = this.storeSession(id);
      for (const [i, part] of parts.entries()) {
        if (!/^[0-9a-f]{32}$/.test(String(part.etag))) throw InputError.field(["parts", i, "etag"], "Use the etag the part upload answered with.");
      }
      let stored: StoredFile | undefined;
      try {
        stored = await this.options.storage.completeMultipart!(carried.k, carried.u, parts, this.options.maxBytes);
      } catch (err) {
        throw InputError.field("parts", `The store refused to join these parts (${(err as Error).message}); upload the missing or changed parts again.`);
      }
      if (!stored) throw new TooLargeError(`The file is larger than the upload limit of ${this.options.maxBytes} bytes.`);
      return stored;
    }
    const dir = this.sessionDir(id);
    const files: string[] = [];
    let total = 0;
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    for (const [i, part] of sorted.entries()) {
      const file = path.join(dir, `part-${part.partNumber}-${part.etag}`);
      if (!/^[0-9a-f]{32}$/.test(String(part.etag))) {
        throw InputError.field(["parts", i, "etag"], "Use the etag the part upload answered with.");
      }
      try {
        total += (await stat(file)).size;
      } catch {
        throw InputError.field(["parts", i], `Part ${part.partNumber} with etag ${part.etag} was not uploaded; upload it again.`);
      }
      files.push(file);
    }
    if (total > this.options.maxBytes) {
      throw new TooLargeError(`The file is larger than the upload limit of ${this.options.maxBytes} bytes.`);
    }
    const joined = new PassThrough();
    const feed = (async () => {
      for (const file of files) await pipeline(createReadStream(file), joined, { end: false });
      joined.end();
    })();
    feed.catch((err: unknown) => joined.destroy(err as Error));
    const stored = await this.options.storage.put({
      body: joined, contentType: session.contentType, fileName: session.fileName, key: session.key,
    });
    await feed;
    await rm(dir, { recursive: true, force: true });
    return stored;
  }

  /** Decodes a store-kept session's id (unknown, malformed or expired: NotFoundError). */
  private storeSession(id: string): { session: UploadSession; carried: StoreSession } {
    let carried: StoreSession;
    try {
      carried = JSON.parse(Buffer.from(id.slice(STORE_PREFIX.length), "base64url").toString("utf8")) as StoreSession;
    } catch {
      throw new NotFoundError("Unknown or expired upload; start a new one with /storage/upload/initiate-multipart.");
    }
    if (typeof carried?.k !== "string" || typeof carried.u !== "string" || typeof carried.c !== "number" || !this.options.storage.uploadPart) {
      throw new NotFoundError("Unknown or expired upload; start a new one with /storage/upload/initiate-multipart.");
    }
    if (Date.now() - carried.c > this.ttlMs) throw new NotFoundError("This upload expired; start a new one with /storage/upload/initiate-multipart.");
    return { session: this.fromStore(id, carried), carried };
  }

  private fromStore(id: string, c: StoreSession): UploadSession {
    return { id, key: c.k, contentType: c.t, fileName: c.n, owner: c.o, multipart: true, createdAt: c.c };
  }

  private sessionDir(id: string): string {
    return path.join(this.dir, id);
  }

  /** Removes expired sessions (cheap: a directory listing). */
  private async sweep(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    const now = Date.now();
    for (const name of names) {
      try {
        const s = await stat(path.join(this.dir, name));
        if (now - s.mtimeMs > this.ttlMs) await rm(path.join(this.dir, name), { recursive: true, force: true });
      } catch {
        // Gone already.
      }
    }
  }
}
