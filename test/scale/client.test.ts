/**
 * The official-client suite (test/api/client-suite.ts) against the scale-out layout: Redis (BullMQ) and S3
 * (s3rver), the API node in this process (`serve --no-worker`, so the suite can read its queue and make keys)
 * and two `mouthpiece worker` processes with the server tests' runner (test/api/serve-process.ts), each on
 * its own data dir.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { pino } from "pino";
import { startServe } from "../../src/cli/serve.js";
import { loadConfig } from "../../src/config.js";
import { createRunner } from "../support/test-runner.js";
import { runClientSuite } from "../api/client-suite.js";
import { freePort, startCluster, TEST_ENTRY } from "./cluster.js";
import { REDIS_SERVER } from "./servers.js";

if (!REDIS_SERVER) {
  describe("official client on Redis + S3", () => it("needs redis-server (apt-get install redis-server)", (t) => t.skip("redis-server not installed")));
} else {
  runClientSuite("Redis + S3, API node + 2 worker processes", {
    slots: 2,
    async start() {
      const cluster = await startCluster();
      const port = await freePort();
      const dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-client-api-"));
      const config = loadConfig({ ...cluster.env, MOUTHPIECE_PUBLIC_URL: `http://127.0.0.1:${port}` }, { dataDir, port, logLevel: "silent" });
      const server = await startServe({ config, logger: pino({ level: "silent" }), createRunner, worker: false });
      // Same public URL as the API node, so workers read uploaded inputs straight from the bucket.
      const env = { MOUTHPIECE_PUBLIC_URL: server.url, TEST_MS_PER_FRAME: "10", LOG_LEVEL: "warn" };
      const workers = [cluster.spawnWorker({ entry: TEST_ENTRY, env }), cluster.spawnWorker({ entry: TEST_ENTRY, env })];
      return {
        url: server.url,
        queue: server.queue,
        createKey: (name) => server.keys.create(name).key,
        async close() {
          await server.close();
          for (const w of workers) w.child.kill("SIGTERM");
          await Promise.all(workers.map((w) => w.exited));
          await cluster.stop();
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    },
  });
}
