#!/usr/bin/env node
/**
 * `npm test` after the typecheck: every test/**\/*.test.ts through node:test with tsx, in two passes.
 *   1. Unit and stage tests, two files at a time (most of their time is process start-up and I/O).
 *   2. The heavy end-to-end files one at a time: they render real videos, judge them, start servers and browsers,
 *      and some assert wall-clock bounds (start-up within 5 s, cancel within 1 s), which must not share the cores.
 * Arguments are passed to both passes (e.g. --test-name-pattern=...). Exit status: non-zero if either pass failed.
 * A test that runs over 10 minutes fails (a hang, e.g. a listener awaited after a failed assertion, must not eat CI).
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
/** Folders under test/ whose files run alone. */
const SERIAL = new Set(["api", "conversation", "dubbing", "engine", "hardening", "scale", "web"]);

const files = readdirSync(path.join(root, "test"), { recursive: true })
  .map((f) => String(f))
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => path.join("test", f))
  .sort();
const serial = files.filter((f) => SERIAL.has(f.split(path.sep)[1]));
const parallel = files.filter((f) => !serial.includes(f));

let failed = false;
for (const [concurrency, group] of [[2, parallel], [1, serial]]) {
  if (!group.length) continue;
  const result = spawnSync(process.execPath, ["--import", "tsx", "--test", `--test-concurrency=${concurrency}`, "--test-timeout=600000", ...process.argv.slice(2), ...group], {
    cwd: root,
    stdio: "inherit",
  });
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
