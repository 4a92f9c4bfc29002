/**
 * The `mouthpiece` command line: the process's entry point. It alone reads the environment
 * (loadConfig(process.env, flags)) and creates the logger; everything else gets them passed down.
 *
 *   mouthpiece serve [--port 8000] [--host 127.0.0.1] [--no-worker]   API + in-process worker
 *   mouthpiece worker                                                  workers only (same data dir, or Redis)
 *   mouthpiece generate <endpoint_id> [flags] -o out.mp4               one request, locally, no HTTP
 *   mouthpiece keys create [--name n] | keys list | keys revoke <id>
 *
 * @example
 *   await main(process.argv);
 */
import { Command, Option } from "commander";
import { pino, type Logger } from "pino";
import { loadConfig, type Config } from "../config.js";
import type { FastifyPluginAsync } from "fastify";
import { authenticate } from "../api/auth.js";
import { playgroundRequestOf, registerPlayground } from "../web/plugin.js";
import { lazyFaceDetector, previewFaces, productionRunner, sharedSpeech } from "./runner.js";
import { loadSigningKey } from "../api/signing-key.js";
import { startWorker } from "../queue/worker.js";
import { runGenerate, type GenerateFlags } from "./generate.js";
import { startServe, type RunnerFactory, type ServeServices } from "./serve.js";
import { isSharedQueue, openKeys, openQueue, openStorage } from "./services.js";

/** The real pipeline (face analyzer loaded on first use, classical engine). */
export const pipelineRunner: RunnerFactory = productionRunner();

/** The playground page and its routes, on the server's own stores. */
export function playgroundPlugins(faces = lazyFaceDetector()) {
  return ({ config, queue, storage, keys }: ServeServices): FastifyPluginAsync[] => [
    async (app) => registerPlayground(app, {
      detectFaces: previewFaces({ config, storage, faces }),
      listRequests: async (owner) => (await queue.listByOwner(owner, 100)).map(playgroundRequestOf),
      ownerOf: (request) => {
        try {
          return authenticate(request, { keys, allowLoopbackWithoutKey: config.allowLoopbackWithoutKey }).owner;
        } catch {
          return undefined;
        }
      },
    }),
  ];
}

interface CommonFlags {
  dataDir?: string;
}

function setup(flags: CommonFlags & { port?: string; host?: string; logLevel?: string }, overrides: Parameters<typeof loadConfig>[1] = {}): { config: Config; logger: Logger } {
  const config = loadConfig(process.env, {
    ...overrides,
    ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
    ...(flags.port !== undefined ? { port: flags.port } : {}),
    ...(flags.host !== undefined ? { host: flags.host } : {}),
  });
  const logger = pino({ level: flags.logLevel ?? config.logLevel });
  return { config, logger };
}

function onShutdown(close: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, "shutting down");
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}

export function buildProgram(runnerFactory?: RunnerFactory): Command {
  // One face detector and one speech synthesizer per process, shared by the renders, the playground's preview
  // and GET /voices; both load on first use.
  const faces = lazyFaceDetector();
  const speech = sharedSpeech();
  const createRunner = runnerFactory ?? productionRunner(faces, speech);
  const program = new Command("mouthpiece")
    .description("Self-hosted talking-avatar videos with fal.ai-compatible endpoints")
    .option("--data-dir <dir>", "data directory (default: MOUTHPIECE_DATA_DIR or ./data)")
    .showHelpAfterError();

  program
    .command("serve")
    .description("run the HTTP API and, unless --no-worker, the worker in this process")
    .option("-p, --port <port>", "port (default: PORT or 8000)")
    .option("-H, --host <host>", "bind address (default: HOST or 127.0.0.1)")
    .option("--no-worker", "do not run renders in this process")
    .action(async (flags: { port?: string; host?: string; worker: boolean }) => {
      const { config, logger } = setup({ ...program.opts<CommonFlags>(), ...flags });
      const server = await startServe({ config, logger, worker: flags.worker, createRunner, plugins: playgroundPlugins(faces), speech: speech.get(config, logger) });
      onShutdown(async () => {
        await server.close();
        await speech.close();
      }, logger);
    });

  program
    .command("worker")
    .description("run only the worker (renders): on the same data dir as a `serve --no-worker` (embedded queue), or anywhere that reaches the Redis queue and the storage")
    .option("-p, --port <port>", "the server's port, for the file URLs in results when MOUTHPIECE_PUBLIC_URL is unset (default: PORT or 8000)")
    .option("-H, --host <host>", "the server's bind address, for the file URLs in results when MOUTHPIECE_PUBLIC_URL is unset (default: HOST or 127.0.0.1)")
    .action(async (flags: { port?: string; host?: string }) => {
      const { config, logger } = setup({ ...program.opts<CommonFlags>(), ...flags });
      if (config.workerConcurrency < 1) throw new Error("MOUTHPIECE_WORKERS is 0: nothing to run.");
      const queue = await openQueue(config);
      const storage = await openStorage(config);
      const signingKey = (await loadSigningKey(config.dataDir, config.webhookSigningKey)).privateKey;
      const worker = startWorker({
        queue, runner: createRunner({ config, storage, logger }), concurrency: config.workerConcurrency, logger,
        webhooks: { sender: { signingKey, allowPrivateUrls: config.allowPrivateUrls } },
      });
      logger.info(
        { dataDir: config.dataDir, workers: config.workerConcurrency, pid: process.pid },
        isSharedQueue(config) ? "worker started (Redis queue)" : "worker started (embedded SQLite queue: same host and data dir as the server)",
      );
      onShutdown(async () => {
        await worker.stop();
        await queue.close();
        storage.close?.();
        await speech.close();
      }, logger);
    });

  program
    .command("generate")
    .description("run one endpoint locally and write the MP4 (no HTTP)")
    .argument("<endpoint_id>", "e.g. fal-ai/ai-avatar")
    .option("-i, --input <json>", "input JSON, or @file.json")
    .option("--image <path|url>", "image_url")
    .option("--audio <path|url>", "audio_url (first_audio_url for .../multi)")
    .option("--audio2 <path|url>", "second_audio_url")
    .option("--video <path|url>", "video_url")
    .option("--text <text>", "text_input (first_text_input for .../multi-text)")
    .option("--text2 <text>", "second_text_input")
    .option("--voice <name>", "voice (voice1 for .../multi-text)")
    .option("--voice2 <name>", "voice2")
    .option("--prompt <text>", "prompt")
    .option("--num-frames <n>", "num_frames (25 per second)")
    .addOption(new Option("--resolution <r>", "resolution").choices(["480p", "720p"]))
    .option("--seed <n>", "seed")
    .addOption(new Option("--acceleration <a>", "acceleration").choices(["none", "regular", "high"]))
    .option("-o, --out <file>", "output MP4 (default ./local-<time>.mp4)")
    .action(async (endpointId: string, flags: GenerateFlags) => {
      const { config, logger } = setup({ ...program.opts<CommonFlags>(), logLevel: "warn" });
      const { output, file } = await runGenerate({ config, logger, createRunner, endpointId, flags }).finally(() => speech.close());
      process.stdout.write(`${JSON.stringify({ ...output, file }, null, 2)}\n`);
    });

  const keys = program.command("keys").description("API keys (stored hashed in the data dir)");
  keys
    .command("create")
    .description("make a key; it is printed once")
    .option("-n, --name <name>", "a label", "default")
    .action((flags: { name: string }) => {
      const { config } = setup({ ...program.opts<CommonFlags>(), logLevel: "silent" });
      const store = openKeys(config);
      try {
        const { key, info } = store.create(flags.name);
        process.stdout.write(`${key}\n`);
        process.stderr.write(`Created key ${info.id} (${info.name}). Send it as 'Authorization: Key <key>'; it is not shown again.\n`);
      } finally {
        store.close();
      }
    });
  keys
    .command("list")
    .description("list keys (ids and names; never the secrets)")
    .option("--json", "as JSON")
    .action((flags: { json?: boolean }) => {
      const { config } = setup({ ...program.opts<CommonFlags>(), logLevel: "silent" });
      const store = openKeys(config);
      try {
        const list = store.list();
        if (flags.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        else {
          for (const k of list) {
            process.stdout.write(`${k.id}\t${k.revokedAt ? "revoked" : "active"}\t${k.createdAt}\t${k.lastUsedAt ?? "-"}\t${k.name}\n`);
          }
          if (config.envKeys.length > 0) process.stdout.write(`(+ ${config.envKeys.length} key(s) from MOUTHPIECE_API_KEYS)\n`);
        }
      } finally {
        store.close();
      }
    });
  keys
    .command("revoke")
    .description("revoke a key by its id")
    .argument("<id>", "the key id (the part before ':')")
    .action((id: string) => {
      const { config } = setup({ ...program.opts<CommonFlags>(), logLevel: "silent" });
      const store = openKeys(config);
      try {
        if (!store.revoke(id)) throw new Error(`No active key with id ${id} (see \`mouthpiece keys list\`).`);
        process.stderr.write(`Revoked ${id}.\n`);
      } finally {
        store.close();
      }
    });

  return program;
}

/** Runs the CLI with `argv` as in process.argv (node, script, ...args). */
export async function main(argv: string[], createRunner?: RunnerFactory): Promise<void> {
  await buildProgram(createRunner).parseAsync(argv, { from: "node" });
}
