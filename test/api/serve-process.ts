/**
 * The real CLI (`mouthpiece serve|keys|…`) with the test runner injected, for tests that spawn a server
 * process: `node --import tsx test/api/serve-process.ts --data-dir D serve --port P`.
 * TEST_MS_PER_FRAME sets the runner's speed.
 */
import { main } from "../../src/cli/main.js";
import { createTestRunner } from "../support/test-runner.js";

const msPerFrame = Number(process.env.TEST_MS_PER_FRAME ?? 10);
main(process.argv, ({ storage }) => createTestRunner({ storage, msPerFrame })).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
