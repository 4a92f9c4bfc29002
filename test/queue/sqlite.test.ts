import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { workerIsDead } from "../../src/queue/identity.js";
import { DATA_VERSION_CHECK_MS, SqliteJobQueue } from "../../src/queue/sqlite.js";
import type { Job, JobQueue } from "../../src/queue/types.js";
import { runQueueContract } from "./contract.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A database file in a fresh temp folder (removed after the tests). */
async function dbFile(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mp-queue-"));
  dirs.push(dir);
  return path.join(dir, "q.db");
}

runQueueContract("SQLite", {
  async make() {
    const file = await dbFile();
    return { queue: SqliteJobQueue.open({ file }), reopen: async () => SqliteJobQueue.open({ file }) };
  },
});

/**
 * The queue remembers job heads between reads. This wraps a queue so that after every call the head of every job
 * seen so far is read through it (which also warms its memory before the next call) and compared with the head
 * read by a second connection to the same file, which never writes (and so has nothing remembered that the
 * first one's commits did not invalidate, once DATA_VERSION_CHECK_MS has passed): a write path that forgets to
 * drop a remembered head shows here as a stale status.
 */
function checked(queue: SqliteJobQueue, file: string): JobQueue {
  const reader = SqliteJobQueue.open({ file });
  const ids = new Set<string>();
  const note = (value: unknown) => {
    for (const v of Array.isArray(value) ? value : [value]) if (v && typeof v === "object" && typeof (v as Job).id === "string") ids.add((v as Job).id);
  };
  const verify = async (after: string) => {
    await sleep(DATA_VERSION_CHECK_MS + 1);
    for (const id of ids) assert.deepEqual(await queue.head(id), await reader.head(id), `head of ${id} after ${after}`);
  };
  return new Proxy(queue, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== "function") return value;
      if (prop === "close") return async () => { await reader.close(); await target.close(); };
      if (prop === "subscribe" || prop === "onClaimable") return value.bind(target);
      return async (...args: unknown[]) => {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        note(result);
        if (typeof args[0] === "string") ids.add(args[0]);
        await verify(String(prop));
        return result;
      };
    },
  });
}

runQueueContract("SQLite, every job head checked against a second connection after each call", {
  async make() {
    const file = await dbFile();
    return { queue: checked(SqliteJobQueue.open({ file }), file), reopen: async () => checked(SqliteJobQueue.open({ file }), file) };
  },
});

describe("SqliteJobQueue specifics", () => {
  it("another connection's commit shows in heads within DATA_VERSION_CHECK_MS (no waiting for a poll)", async () => {
    const file = await dbFile();
    const api = SqliteJobQueue.open({ file, pollMs: 60_000 });
    const other = SqliteJobQueue.open({ file, pollMs: 60_000 });
    const job = await api.submit({ endpointId: "fal-ai/ai-avatar", owner: "local", input: {} });
    const settled = () => sleep(DATA_VERSION_CHECK_MS + 1);
    assert.equal((await api.head(job.id))?.status, "IN_QUEUE");
    assert.equal((await api.head(job.id))?.status, "IN_QUEUE", "read twice: the second from memory");
    await other.claim("w");
    await settled();
    assert.equal((await api.head(job.id))?.status, "IN_PROGRESS");
    await other.progress(job.id, 3, 10);
    await settled();
    assert.deepEqual((await api.head(job.id))?.progress, { done: 3, total: 10 });
    await other.complete(job.id, "w", { ok: 1 }, 0.5);
    await settled();
    const head = await api.head(job.id);
    assert.equal(head?.status, "COMPLETED");
    assert.equal(head?.inferenceTime, 0.5);
    assert.deepEqual((await api.get(job.id))?.result, { ok: 1 });
    await api.close();
    await other.close();
  });

  it("sees changes made by another connection (another process) through polling", async () => {
    const file = await dbFile();
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
