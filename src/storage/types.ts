/**
 * Object storage behind one interface: the local folder (default) or S3 (scale-out).
 * Keys are opaque paths like "files/2026/ab12…/video.mp4".
 */
import type { Readable } from "node:stream";

export interface StoredFile {
  key: string;
  /** The public URL this server serves the file at. */
  url: string;
  contentType: string;
  fileName: string;
  size: number;
}

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export interface Storage {
  /**
   * Stores bytes atomically: a reader never sees a partial file. `key` (from KeyedStorage.newKey) stores
   * under a key chosen in advance; without it a fresh key is made.
   */
  put(input: { body: Buffer | Readable; contentType: string; fileName: string; key?: string }): Promise<StoredFile>;
  /** Stores a file already on disk (copied; the source is left in place), atomically. */
  putFile(input: { path: string; contentType: string; fileName: string; key?: string }): Promise<StoredFile>;
  stat(key: string): Promise<StoredFile | undefined>;
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** The key of a URL that points into this storage, or undefined for any other URL. */
  keyFromUrl(url: string): string | undefined;
  /**
   * Optional (stores that keep their files themselves; an object store expires them with its own lifecycle
   * rules): deletes the files stored before `before` (epoch ms); returns how many. Retention's half in storage.
   */
  purgeBefore?(before: number): Promise<number>;
}

/** A storage that can name a file before it exists (uploads hand out the file's URL before its bytes arrive). */
export interface KeyedStorage extends Storage {
  /** A fresh, unguessable key for a file of this name; nothing is stored yet. */
  newKey(fileName: string): string;
  /** The public URL of a key (whether or not it is stored yet). */
  urlFor(key: string): string;
  /**
   * Optional (object stores): a time-limited URL that takes one PUT of the key's bytes with this Content-Type
   * straight into the store, or undefined when this store does not hand them out (uploads then go through
   * this server's upload sessions).
   */
  presignPut?(key: string, input: { contentType: string; fileName: string; expiresInSeconds?: number }): Promise<string | undefined>;
  /**
   * Optional (object stores): multipart uploads kept by the store itself, so any API node can take any part
   * (UploadSessions uses these instead of its data-dir sessions when present).
   */
  createMultipart?(key: string, input: { contentType: string; fileName: string }): Promise<string>;
  uploadPart?(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string>;
  completeMultipart?(key: string, uploadId: string, parts: { partNumber: number; etag: string }[], maxBytes: number): Promise<StoredFile | undefined>;
  /** Optional: releases connections (object store clients). */
  close?(): void;
}
