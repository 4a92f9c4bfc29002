/**
 * Runs the CLI from source: `node --import tsx src/cli/entry.ts serve` (bin/mouthpiece.js runs the built one).
 */
import { main } from "./main.js";

main(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
