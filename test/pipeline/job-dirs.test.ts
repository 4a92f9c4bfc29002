/**
 * Job dirs left by killed processes (kill -9, the OOM killer: no `finally` removes them) are removed by the next
 * runner on the same host; live ones, other hosts' and dirs of another shape are left alone.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { removeDeadJobDirs, withJobDir } from "../../src/pipeline/steps.js";

const roots: string[] = [];
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

describe("job dirs of killed processes", () => {
  it("are removed; live ones, other hosts' and foreign dirs stay", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "mp-jobdirs-"));
    roots.push(root);
    // A pid that certainly ran and is gone.
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid;
    await withJobDir(root, async (live) => {
      const [, hostHash, pid, token] = /^mouthpiece-job-([0-9a-f]{8})-(\d+)-([0-9a-f]{8})-/.exec(path.basename(live)) ?? [];
      assert.equal(Number(pid), process.pid, `the dir names its process: ${path.basename(live)}`);
      const make = async (name: string) => {
        await mkdir(path.join(root, name, "frames"), { recursive: true });
        await writeFile(path.join(root, name, "frames", "000001.rgb"), Buffer.alloc(1024));
        return name;
      };
      const dead = await make(`mouthpiece-job-${hostHash}-${deadPid}-${token}-aB3dE6`);
      const replaced = await make(`mouthpiece-job-${hostHash}-${process.pid}-00000000-xY9zW1`);
      const otherHost = await make(`mouthpiece-job-${hostHash === "00000000" ? "11111111" : "00000000"}-${deadPid}-${token}-q1W2e3`);
      const oldShape = await make("mouthpiece-job-Zz9Yy8");
      const foreign = await make("something-else");

      assert.equal(await removeDeadJobDirs(root), 2);
      assert.deepEqual((await readdir(root)).sort(), [path.basename(live), otherHost, oldShape, foreign].sort());
      assert.ok(!existsSync(path.join(root, dead)) && !existsSync(path.join(root, replaced)));
      assert.ok(existsSync(live), "the running job's own dir stays");
    });
    assert.equal(await removeDeadJobDirs(path.join(root, "missing")), 0, "a missing tmp root is no error");
  });
});
