/**
 * `npm install` must keep working when npm blocks the install scripts that package.json's `allowScripts` does not
 * name (npm 12 does; npm 11.16+ only warns). Without better-sqlite3's build there is no job store, and without the
 * ffmpeg/ffprobe packages' chmod no encoder. So every installed dependency with an install script must be reviewed
 * there (allowed or denied). Skipped where npm is older than the field.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { describe, it } from "node:test";

const run = promisify(execFile);

describe("install scripts", () => {
  it("every dependency's install script is reviewed in allowScripts, and the ones the product needs are allowed", async (t) => {
    let stdout: string;
    try {
      ({ stdout } = await run("npm", ["install-scripts", "ls", "--json"], { timeout: 60_000 }));
    } catch (err) {
      return t.skip(`this npm has no install-scripts command (${(err as Error).message.split("\n")[0]})`);
    }
    const pending = (JSON.parse(stdout) as { allowScripts: { name: string }[] }).allowScripts.map((p) => p.name);
    assert.deepEqual(pending, [], `add these to allowScripts in package.json (true to run their scripts, false to skip): ${pending.join(", ")}`);
    const allowed = (JSON.parse(await readFile("package.json", "utf8")) as { allowScripts: Record<string, boolean> }).allowScripts;
    for (const name of ["better-sqlite3", "@ffmpeg-installer/linux-x64", "@ffprobe-installer/linux-x64"]) {
      assert.equal(allowed[name], true, `${name}'s install script must run`);
    }
  });
});
