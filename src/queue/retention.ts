/**
 * Retention (MOUTHPIECE_RETENTION_HOURS): finished requests and stored files older than the retention are
 * deleted, so a server that runs for months does not fill its disk. Off (0) by default: nothing is deleted.
 *
 * One sweep deletes, in batches, the requests that finished before now - retention (their records and logs:
 * status, result and logs then answer 404; a webhook still owed is delivered first), then the stored files
 * (outputs and uploads) made before that time. Object stores keep their files: a bucket lifecycle rule with the
 * same age does that there (docs/deploy.md). The server runs a sweep soon after it starts and then every hour.
 *
 * @example
 *   const retention = startRetention({ queue, storage, retentionMs: 7 * 24 * 3600_000, logger });
 *   await retention.stop();
 */
import type { Logger } from "pino";
import type { Storage } from "../storage/types.js";
import type { JobQueue } from "./types.js";

export interface RetentionOptions {
  queue: JobQueue;
  storage: Storage;
  /** How long finished requests and stored files are kept, ms (> 0). */
  retentionMs: number;
  logger: Logger;
  /** Time between sweeps. Default 1 hour. */
  everyMs?: number;
  /** The first sweep, this long after start. Default 10 s (start-up first). */
  firstAfterMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

export interface SweepResult {
  requests: number;
  files: number;
}

export interface Retention {
  /** One sweep now (the timer's sweeps run the same). */
  sweep(): Promise<SweepResult>;
  /** Stops the timer and waits for a sweep under way. */
  stop(): Promise<void>;
}

/** Requests purged per queue call: each call is one short transaction, so polls are not held up. */
const BATCH = 500;

export function startRetention(options: RetentionOptions): Retention {
  const { queue, storage, retentionMs, logger } = options;
  if (!(retentionMs > 0)) throw new Error(`retention must be positive, got ${retentionMs} ms`);
  const now = options.now ?? Date.now;
  const log = logger.child({ component: "retention" });
  let running: Promise<SweepResult> | undefined;
  let stopped = false;

  const sweepOnce = async (): Promise<SweepResult> => {
    const before = now() - retentionMs;
    let requests = 0;
    for (let n = BATCH; n === BATCH && !stopped; ) {
      n = await queue.purgeFinished(before, BATCH);
      requests += n;
      // Let the server answer between batches.
      await new Promise((r) => setImmediate(r));
    }
    const files = stopped || !storage.purgeBefore ? 0 : await storage.purgeBefore(before);
    if (requests > 0 || files > 0) {
      log.info({ requests, files, before: new Date(before).toISOString() }, "deleted finished requests and files past the retention");
    }
    return { requests, files };
  };
  const sweep = () => (running ??= sweepOnce().finally(() => (running = undefined)));
  const tick = () => {
    sweep().catch((err: unknown) => log.error({ err }, "retention sweep failed; the next one tries again"));
  };

  if (!storage.purgeBefore) log.info("stored files are kept by the object store: give its bucket a lifecycle rule with the same age");
  const first = setTimeout(tick, options.firstAfterMs ?? 10_000);
  const timer = setInterval(tick, options.everyMs ?? 3600_000);
  first.unref();
  timer.unref();
  return {
    sweep,
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
