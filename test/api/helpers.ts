/** An in-process server on a fresh data dir, for fastify.inject tests. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { pino, type Logger } from "pino";
import { KeyStore } from "../../src/api/keys.js";
import { buildServer } from "../../src/api/server.js";
import { loadConfig, type Config } from "../../src/config.js";
import { CancelledError } from "../../src/errors.js";
import type { JobRunner } from "../../src/pipeline/types.js";
import { SqliteJobQueue } from "../../src/queue/sqlite.js";
import type { Job } from "../../src/queue/types.js";
import { startWorker, type Worker } from "../../src/queue/worker.js";
import { LocalStorage } from "../../src/storage/local.js";
import { createTestRunner } from "../support/test-runner.js";

export const STORAGE_BASE = "http://127.0.0.1:8000";

/** Requests whose prompt is "hold" wait here until released (or cancelled). */
export class Holds {
  private waiting: (() => void)[] = [];
  private credits = 0;
  private opened = false;
  wait(signal: AbortSignal): Promise<void> {
    if (this.opened) return Promise.resolve();
    if (this.credits > 0) {
      this.credits--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.waiting.push(resolve);
      signal.addEventListener("abort", () => reject(new CancelledError()), { once: true });
    });
  }
  /** Lets the held request go (or the next one to arrive, if none waits yet). */
  release(): void {
    if (this.waiting.length > 0) for (const r of this.waiting.splice(0)) r();
    else this.credits++;
  }
  /** Holds nothing any more. */
  open(): void {
    this.opened = true;
    for (const r of this.waiting.splice(0)) r();
  }
}

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  queue: SqliteJobQueue;
  storage: LocalStorage;
  keys: KeyStore;
  key: string;
  auth: { authorization: string };
  holds: Holds;
  worker?: Worker;
  dataDir: string;
  waitDone(id: string): Promise<Job>;
  close(): Promise<void>;
}

export async function makeApp(options: { worker?: boolean; config?: Parameters<typeof loadConfig>[1]; runner?: JobRunner; sseKeepAliveMs?: number; logger?: Logger } = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-api-"));
  const config = loadConfig({}, { dataDir, logLevel: "silent", ...options.config });
  const logger = options.logger ?? pino({ level: "silent" });
  const queue = SqliteJobQueue.open({ file: path.join(dataDir, "mouthpiece.db") });
  const keys = KeyStore.open({ file: path.join(dataDir, "mouthpiece.db"), envKeys: config.envKeys });
  const storage = new LocalStorage({ dataDir, baseUrl: STORAGE_BASE });
  const holds = new Holds();
  const base = createTestRunner({ storage, msPerFrame: 1 });
  const runner: JobRunner = options.runner ?? (async (req, ctx) => {
    if (req.input.prompt === "hold") await holds.wait(ctx.signal);
    return base(req, ctx);
  });
  const worker = options.worker === false ? undefined : startWorker({ queue, runner, concurrency: 1, logger, pollMs: 200 });
  const app = await buildServer({ config, queue, storage, keys, logger, sseKeepAliveMs: options.sseKeepAliveMs });
  const { key } = keys.create("test");
  return {
    app, config, queue, storage, keys, key, holds, worker, dataDir,
    auth: { authorization: `Key ${key}` },
    async waitDone(id) {
      for (let i = 0; i < 1000; i++) {
        const job = await queue.get(id);
        if (job?.status === "COMPLETED") return job;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`request ${id} did not complete`);
    },
    async close() {
      holds.open();
      await app.close();
      await worker?.stop();
      await queue.close();
      keys.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const AVATAR_INPUT = {
  image_url: "data:image/png;base64,iVBORw0KGgo=",
  audio_url: "data:audio/wav;base64,UklGRg==",
  prompt: "A person talking",
  num_frames: 41,
};
