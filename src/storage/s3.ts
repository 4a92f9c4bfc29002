/**
 * S3Storage: uploads and results in an S3 bucket (AWS, MinIO, Ceph, R2, …) through @aws-sdk/client-s3.
 * Keys are the same as the local folder's ("files/<yyyy>/<random>/<name>"), and file URLs stay this
 * server's own /files URLs: every API node streams them from the bucket (with Range support), so the bucket
 * needs no public access, and a result's URL does not expire.
 *
 * - put/putFile use @aws-sdk/lib-storage's Upload: one PUT for small bodies, a multipart upload (5 MB parts,
 *   4 at a time) for large ones and for streams of unknown length. An S3 object appears whole or not at all,
 *   so readers never see a partial file.
 * - presignPut hands out a time-limited PUT URL for a key, so uploads go from the client straight to the
 *   bucket without passing through an API node.
 *
 * Configuration: MOUTHPIECE_STORAGE=s3://bucket[/prefix]?region=…&endpoint=…&forcePathStyle=true;
 * credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (read at the entry point), else the SDK's
 * default chain (instance role, profile).
 *
 * @example
 *   const storage = new S3Storage({ ...parseS3Url("s3://media?region=us-east-1"), baseUrl: "http://127.0.0.1:8000" });
 *   const file = await storage.putFile({ path: "/tmp/out.mp4", contentType: "video/mp4", fileName: "video.mp4" });
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand,
  HeadObjectCommand, NotFound, PutObjectCommand, S3Client, S3ServiceException, UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { FileUrls, isValidKey, safeFileName } from "./keys.js";
import type { ByteRange, KeyedStorage, StoredFile } from "./types.js";

export interface S3Location {
  bucket: string;
  /** Prepended to every object key, e.g. "mouthpiece/" (empty by default). */
  keyPrefix: string;
  region: string;
  /** For S3-compatible servers (MinIO, s3rver, R2): their URL. Omitted: AWS. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Hand out presigned PUT URLs for uploads (default true); false: uploads go through the API node. */
  presign: boolean;
}

export interface S3StorageOptions extends Omit<S3Location, "presign"> {
  presign?: boolean;
  /** The public base URL of this server (no trailing slash): file URLs are <baseUrl>/files/…. */
  baseUrl: string;
  /** Other origins that also reach this server; their file URLs are ours too. */
  aliasOrigins?: string[];
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** A ready client (tests); otherwise one is made from the options. */
  client?: S3Client;
}

/** Parses s3://bucket[/prefix]?region=…&endpoint=…&forcePathStyle=true. */
export function parseS3Url(value: string): S3Location {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`MOUTHPIECE_STORAGE=${value} is not a URL; use s3://bucket?region=…&endpoint=…&forcePathStyle=true.`);
  }
  if (url.protocol !== "s3:" || !url.hostname) {
    throw new Error(`MOUTHPIECE_STORAGE=${value}: use s3://bucket?region=…&endpoint=…&forcePathStyle=true.`);
  }
  const known = new Set(["region", "endpoint", "forcePathStyle", "presign"]);
  for (const name of url.searchParams.keys()) {
    if (!known.has(name)) throw new Error(`MOUTHPIECE_STORAGE: unknown parameter '${name}' (known: region, endpoint, forcePathStyle, presign).`);
  }
  const endpoint = url.searchParams.get("endpoint") ?? undefined;
  if (endpoint !== undefined && !/^https?:\/\//.test(endpoint)) {
    throw new Error(`MOUTHPIECE_STORAGE: endpoint '${endpoint}' must be an http(s) URL, e.g. endpoint=http://127.0.0.1:9000.`);
  }
  const rawPrefix = decodeURIComponent(url.pathname.replace(/^\/+/, "").replace(/\/+$/, ""));
  return {
    bucket: url.hostname,
    keyPrefix: rawPrefix ? `${rawPrefix}/` : "",
    region: url.searchParams.get("region") ?? "us-east-1",
    endpoint,
    forcePathStyle: /^(1|true|yes)$/i.test(url.searchParams.get("forcePathStyle") ?? ""),
    presign: !/^(0|false|no)$/i.test(url.searchParams.get("presign") ?? ""),
  };
}

export class S3Storage implements KeyedStorage {
  readonly client: S3Client;
  private readonly urls: FileUrls;

  constructor(private readonly options: S3StorageOptions) {
    this.client = options.client ?? new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials,
    });
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
    const key = input.key ?? this.newKey(input.fileName);
    if (!isValidKey(key)) throw new Error(`Not a storage key: ${key}`);
    const fileName = safeFileName(input.fileName);
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.options.bucket,
        Key: this.objectKey(key),
        Body: input.body,
        ContentType: input.contentType,
        Metadata: { "file-name": fileName },
      },
      queueSize: 4,
      partSize: 5 * 1024 * 1024,
      leavePartsOnError: false,
    });
    await upload.done();
    const stored = await this.stat(key);
    if (!stored) throw new Error(`S3 accepted ${key} but does not show it`);
    return stored;
  }

  async putFile(input: { path: string; contentType: string; fileName: string; key?: string }): Promise<StoredFile> {
    return this.put({ body: createReadStream(input.path), contentType: input.contentType, fileName: input.fileName, key: input.key });
  }

  async stat(key: string): Promise<StoredFile | undefined> {
    if (!isValidKey(key)) return undefined;
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.objectKey(key) }));
      const fileName = head.Metadata?.["file-name"] ?? key.slice(key.lastIndexOf("/") + 1);
      return {
        key,
        url: this.urlFor(key),
        contentType: head.ContentType ?? "application/octet-stream",
        fileName,
        size: head.ContentLength ?? 0,
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (!isValidKey(key)) throw new Error(`Not a storage key: ${key}`);
    const out = await this.client.send(new GetObjectCommand({
      Bucket: this.options.bucket,
      Key: this.objectKey(key),
      Range: range ? `bytes=${range.start}-${range.end}` : undefined,
    }));
    const body = out.Body;
    if (body instanceof Readable) return body;
    if (body && typeof (body as { transformToWebStream?: unknown }).transformToWebStream === "function") {
      return Readable.fromWeb((body as { transformToWebStream(): ReadableStream }).transformToWebStream() as import("node:stream/web").ReadableStream);
    }
    throw new Error(`S3 returned no body for ${key}`);
  }

  /**
   * A URL that accepts one PUT of the object's bytes for `expiresInSeconds`, signed for this Content-Type
   * (the uploader must send the same Content-Type header); undefined when presigned uploads are off.
   */
  async presignPut(key: string, input: { contentType: string; fileName: string; expiresInSeconds?: number }): Promise<string | undefined> {
    if (!isValidKey(key)) throw new Error(`Not a storage key: ${key}`);
    if (this.options.presign === false) return undefined;
    const command = new PutObjectCommand({
      Bucket: this.options.bucket,
      Key: this.objectKey(key),
      ContentType: input.contentType,
      Metadata: { "file-name": safeFileName(input.fileName) },
    });
    return getSignedUrl(this.client, command, {
      expiresIn: input.expiresInSeconds ?? 3600,
      // Metadata travels in the query (the uploader sends only Content-Type).
      hoistableHeaders: new Set(["x-amz-meta-file-name"]),
      signableHeaders: new Set(["content-type"]),
    });
  }

  /** Starts an S3 multipart upload for `key`; answers its UploadId (the parts' credential). */
  async createMultipart(key: string, input: { contentType: string; fileName: string }): Promise<string> {
    if (!isValidKey(key)) throw new Error(`Not a storage key: ${key}`);
    const out = await this.client.send(new CreateMultipartUploadCommand({
      Bucket: this.options.bucket, Key: this.objectKey(key), ContentType: input.contentType, Metadata: { "file-name": safeFileName(input.fileName) },
    }));
    if (!out.UploadId) throw new Error("S3 answered no UploadId");
    return out.UploadId;
  }

  /** One part (1-based) of a multipart upload; answers its ETag (hex, without quotes). */
  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string> {
    if (!isValidKey(key)) throw new Error(`Not a storage key: ${key}`);
    const out = await this.client.send(new UploadPartCommand({
      Bucket: this.options.bucket, Key: this.objectKey(key), UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length,
    }));
    return (out.ETag ?? "").replace(/"/g, "");
  }

  /**
   * Joins the parts into the object. Over `maxBytes` the object is deleted again and undefined answered.
   * (S3 wants every part but the last to be at least 5 MB; the official client sends 10 MB parts.)
   */
  async completeMultipart(key: string, uploadId: string, parts: { partNumber: number; etag: string }[], maxBytes: number): Promise<StoredFile | undefined> {
    if (!isValidKey(key)) throw new Error(`Not a storage key: ${key}`);
    await this.client.send(new CompleteMultipartUploadCommand({
      Bucket: this.options.bucket, Key: this.objectKey(key), UploadId: uploadId,
      MultipartUpload: { Parts: [...parts].sort((a, b) => a.partNumber - b.partNumber).map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"` })) },
    }));
    const stored = await this.stat(key);
    if (!stored) throw new Error(`S3 completed ${key} but does not show it`);
    if (stored.size > maxBytes) {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.objectKey(key) }));
      return undefined;
    }
    return stored;
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key: this.objectKey(key), UploadId: uploadId })).catch(() => undefined);
  }

  close(): void {
    this.client.destroy();
  }

  private objectKey(key: string): string {
    return `${this.options.keyPrefix}${key}`;
  }
}

function isNotFound(err: unknown): boolean {
  if (err instanceof NotFound) return true;
  if (err instanceof S3ServiceException) return err.$metadata.httpStatusCode === 404 || err.name === "NoSuchKey" || err.name === "NotFound";
  return false;
}
