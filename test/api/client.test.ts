/**
 * The official-client suite (client-suite.ts) against the embedded layout: one process, API and worker,
 * SQLite queue, local files.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { startServe } from "../../src/cli/serve.js";
import { loadConfig } from "../../src/config.js";
import { createRunner } from "../support/test-runner.js";
import { runClientSuite } from "./client-suite.js";

runClientSuite("embedded", {
  slots: 1,
  async start() {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-client-"));
    const config = loadConfig({}, { dataDir, port: 0, logLevel: "silent" });
    const server = await startServe({ config, logger: pino({ level: "silent" }), createRunner });
    return {
      url: server.url,
      queue: server.queue,
      createKey: (name) => server.keys.create(name).key,
      async close() {
        await server.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  },
});
