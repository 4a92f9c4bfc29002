/**
 * The services every command builds from the configuration: the job queue, storage, key store.
 * Only the entry point (src/cli) calls these.
 *
 *   MOUTHPIECE_QUEUE    "sqlite" (default: <dataDir>/mouthpiece.db)
 *                       redis://[:password@]host:6379/0[?prefix=mouthpiece&leaseMs=15000]  (BullMQ on Redis)
 *   MOUTHPIECE_STORAGE  "local" (default: <dataDir>/files)
 *                       s3://bucket[/prefix]?region=…&endpoint=…&forcePathStyle=true[&presign=false]
 *
 * @example
 *   const queue = await openQueue(config);
 *   const storage = await openStorage(config);
 *
 * The Redis and S3 modules (BullMQ, the AWS SDK) load only when configured: the embedded default starts faster.
 */
import type { Config } from "../config.js";
import { KeyStore } from "../api/keys.js";
import { databaseFile } from "../api/server.js";
import { SqliteJobQueue } from "../queue/sqlite.js";
import type { JobQueue } from "../queue/types.js";
import { aliasOrigins, createStorage, defaultBaseUrl } from "../storage/index.js";
import type { KeyedStorage } from "../storage/types.js";

/** Whether the queue is shared between machines (Redis), so workers need no access to this data dir. */
export function isSharedQueue(config: Pick<Config, "queue">): boolean {
  return config.queue.startsWith("redis://") || config.queue.startsWith("rediss://");
}

export async function openQueue(config: Config): Promise<JobQueue> {
  if (config.queue === "sqlite") return SqliteJobQueue.open({ file: databaseFile(config.dataDir) });
  if (isSharedQueue(config)) {
    const { BullJobQueue, parseRedisQueueUrl } = await import("../queue/bullmq.js");
    const { url, prefix, leaseMs } = parseRedisQueueUrl(config.queue);
    return BullJobQueue.open({ url, prefix, leaseMs });
  }
  throw new Error(`MOUTHPIECE_QUEUE=${config.queue} is not a queue: use "sqlite" (default) or a redis:// URL (BullMQ on Redis).`);
}

/** The storage backend: the local folder (default) or an S3 bucket (s3://…). */
export async function openStorage(config: Config, options: { baseUrl?: string } = {}): Promise<KeyedStorage> {
  if (config.storage === "local") return createStorage(config, options);
  if (config.storage.startsWith("s3://")) {
    const { parseS3Url, S3Storage } = await import("../storage/s3.js");
    const location = parseS3Url(config.storage);
    const credentials = config.s3AccessKeyId && config.s3SecretAccessKey
      ? { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey, sessionToken: config.s3SessionToken }
      : undefined;
    return new S3Storage({
      ...location,
      credentials,
      baseUrl: options.baseUrl ?? defaultBaseUrl(config),
      aliasOrigins: aliasOrigins(config),
    });
  }
  throw new Error(`MOUTHPIECE_STORAGE=${config.storage} is not a storage: use "local" (default) or s3://bucket?region=…&endpoint=….`);
}

export function openKeys(config: Config): KeyStore {
  return KeyStore.open({ file: databaseFile(config.dataDir), envKeys: config.envKeys });
}
