/**
 * The services every command builds from the configuration: the job queue, storage, key store.
 * Only the entry point (src/cli) calls these.
 *
 * @example
 *   const queue = openQueue(config);
 */
import type { Config } from "../config.js";
import { KeyStore } from "../api/keys.js";
import { databaseFile } from "../api/server.js";
import { SqliteJobQueue } from "../queue/sqlite.js";
import type { JobQueue } from "../queue/types.js";

export function openQueue(config: Config): JobQueue {
  if (config.queue === "sqlite") return SqliteJobQueue.open({ file: databaseFile(config.dataDir) });
  if (config.queue.startsWith("redis://") || config.queue.startsWith("rediss://")) {
    throw new Error("MOUTHPIECE_QUEUE=redis://… (BullMQ) is not available yet; leave MOUTHPIECE_QUEUE unset for the embedded SQLite queue.");
  }
  throw new Error(`MOUTHPIECE_QUEUE=${config.queue} is not a queue: use "sqlite" (default) or a redis:// URL.`);
}

export function openKeys(config: Config): KeyStore {
  return KeyStore.open({ file: databaseFile(config.dataDir), envKeys: config.envKeys });
}
