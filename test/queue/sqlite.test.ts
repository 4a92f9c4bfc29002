import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { workerIsDead } from "../../src/queue/identity.js";
import { SqliteJobQueue } from "../../src/queue/sqlite.js";
import { runQueueContract } from "./contract.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

runQueueContract("SQLite", {
  async make() {
    const dir = await mkdtemp(path.join(os.tmpdir(), "mp-queue-"));
    dirs.push(dir);
    const file = path.join(dir, "q.db");
    return { queue: SqliteJobQueue.open({ file }), reopen: async () => SqliteJobQueue.open({ file }) };
  },
});

describe("SqliteJobQueue specifics", () => {
  it("sees changes made by another connection (another process) through polling", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "mp-queue-"));
    dirs.push(dir);
    const file = path.join(dir, "q.db");
    const api = SqliteJobQueue.open({ file, pollMs: 50 });
    const other = SqliteJobQueue.open({ file, pollMs: 50 });
    const job = await api.submit({ endpointId: "fal-ai/ai-avatar", owner: "local", input: {} });
    const seen = new Promise<void>((resolve) => {
      const off = api.subscribe(job.id, () => {
        off();
        resolve();
      });
    });
    await other.claim("w");
    await seen;
    assert.equal((await api.get(job.id))?.status, "IN_PROGRESS");
    await api.close();
    await other.close();
  });

  it("tells dead workers from live ones", () => {
    const self = { host: "h", pid: 100, token: "t1" };
    assert.equal(workerIsDead("other-host:1:x:0", self), false);
    assert.equal(workerIsDead("h:100:t1:0", self), false);
    assert.equal(workerIsDead("h:100:t0:0", self), true, "same pid, other token: a previous process");
    assert.equal(workerIsDead(`h:${process.pid}:x:0`, { host: "h", pid: 1, token: "t" }), false, "a live pid");
    assert.equal(workerIsDead("h:999999999:x:0", self), true);
  });
});
