/**
 * `mouthpiece serve`: the HTTP API plus, unless disabled, the in-process worker, on one data dir (embedded
 * SQLite queue) or on a shared Redis and bucket (MOUTHPIECE_QUEUE=redis://…, MOUTHPIECE_STORAGE=s3://…).
 * startServe is also what tests use to run a real server with another runner.
 *
 * @example
 *   const server = await startServe({ config, logger, worker: true, createRunner: createPipelineRunner });
 *   console.log(server.url); await server.close();
 */
import net from "node:net";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import type { Logger } from "pino";
import { buildServer } from "../api/server.js";
import type { Config } from "../config.js";
import type { JobRunner } from "../pipeline/types.js";
import type { JobQueue } from "../queue/types.js";
import { loadSigningKey } from "../api/signing-key.js";
import { startRetention, type Retention } from "../queue/retention.js";
import { startWorker, type Worker } from "../queue/worker.js";
import type { Synthesizer } from "../speech/index.js";
import type { KeyedStorage, Storage } from "../storage/types.js";
import type { KeyStore } from "../api/keys.js";
import { isSharedQueue, openKeys, openQueue, openStorage } from "./services.js";

export type RunnerFactory = (deps: { config: Config; storage: Storage; logger: Logger }) => JobRunner;

export interface ServeOptions {
  config: Config;
  logger: Logger;
  /** Run the worker in this process (default true; needs config.workerConcurrency > 0). */
  worker?: boolean;
  createRunner: RunnerFactory;
  /** Extra Fastify plugins (the playground), or a function that builds them from the server's services. */
  plugins?: FastifyPluginAsync[] | ((services: ServeServices) => FastifyPluginAsync[]);
  /** The process's shared speech synthesizer, for GET /voices (the caller closes it). */
  speech?: Synthesizer;
}

/** What plugins may use: the stores this server opened. */
export interface ServeServices {
  config: Config;
  queue: JobQueue;
  storage: KeyedStorage;
  keys: KeyStore;
}

export interface RunningServer {
  app: FastifyInstance;
  /** The address it listens on, e.g. "http://127.0.0.1:8000". */
  url: string;
  config: Config;
  queue: JobQueue;
  storage: KeyedStorage;
  keys: KeyStore;
  worker?: Worker;
  /** Present when MOUTHPIECE_RETENTION_HOURS > 0. */
  retention?: Retention;
  close(): Promise<void>;
}

/** A free TCP port on `host` (for port 0: file URLs need the real port before the server starts). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startServe(options: ServeOptions): Promise<RunningServer> {
  let config = options.config;
  if (config.port === 0) config = Object.freeze({ ...config, port: await freePort(config.host) });
  const { logger } = options;
  const queue = await openQueue(config);
  const keys = openKeys(config);
  const storage = await openStorage(config);
  const plugins = typeof options.plugins === "function" ? options.plugins({ config, queue, storage, keys }) : options.plugins;
  const app = await buildServer({ config, queue, storage, keys, logger, plugins, speech: options.speech });
  let worker: Worker | undefined;
  try {
    await app.listen({ host: config.host, port: config.port });
    if (options.worker !== false && config.workerConcurrency > 0) {
      const runner = options.createRunner({ config, storage, logger });
      const signingKey = (await loadSigningKey(config.dataDir, config.webhookSigningKey)).privateKey;
      worker = startWorker({ queue, runner, concurrency: config.workerConcurrency, logger, webhooks: { sender: { signingKey, allowPrivateUrls: config.allowPrivateUrls } } });
    } else {
      logger.warn(isSharedQueue(config)
        ? "no worker in this process: requests wait for `mouthpiece worker` processes on the same Redis"
        : "no worker in this process: queued requests wait for a `mouthpiece worker` on the same data dir");
    }
  } catch (err) {
    await app.close().catch(() => undefined);
    await queue.close();
    keys.close();
    storage.close?.();
    throw err;
  }
  const retention = config.retentionHours > 0 ? startRetention({ queue, storage, retentionMs: config.retentionHours * 3600_000, logger }) : undefined;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${config.port}`;
  logger.info({ url, dataDir: config.dataDir, workers: worker ? config.workerConcurrency : 0 }, "mouthpiece is listening");
  let closing: Promise<void> | undefined;
  return {
    app, url, config, queue, storage, keys, worker, retention,
    close() {
      closing ??= (async () => {
        await app.close();
        await retention?.stop();
        await worker?.stop();
        await queue.close();
        keys.close();
        storage.close?.();
      })();
      return closing;
    },
  };
}
