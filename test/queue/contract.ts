/**
 * The JobQueue contract: every implementation (SQLite today, BullMQ later) must pass these.
 * `make` returns a fresh, empty queue; `reopen` (optional) reopens the same store, as after a restart.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JobQueue } from "../../src/queue/types.js";

export interface QueueFactory {
  make(): Promise<{ queue: JobQueue; reopen?: () => Promise<JobQueue> }>;
}

const submit = (q: JobQueue, owner = "local", input: Record<string, unknown> = { n: 1 }) =>
  q.submit({ endpointId: "fal-ai/ai-avatar", owner, input });

export function runQueueContract(name: string, factory: QueueFactory): void {
  describe(`JobQueue contract: ${name}`, () => {
    it("submits, keeps the input, and reports exact queue positions in submission order", async () => {
      const { queue } = await factory.make();
      const a = await submit(queue, "local", { image_url: "x", num_frames: 41 });
      const b = await submit(queue);
      const c = await submit(queue);
      assert.equal(a.status, "IN_QUEUE");
      assert.deepEqual(a.input, { image_url: "x", num_frames: 41 });
      assert.match(a.id, /^[0-9a-f-]{36}$/);
      assert.deepEqual([await queue.position(a.id), await queue.position(b.id), await queue.position(c.id)], [0, 1, 2]);
      const claimed = await queue.claim("w1");
      assert.equal(claimed?.id, a.id);
      assert.equal(claimed?.status, "IN_PROGRESS");
      assert.equal(claimed?.attempts, 1);
      assert.equal(await queue.position(a.id), undefined);
      assert.deepEqual([await queue.position(b.id), await queue.position(c.id)], [0, 1]);
      assert.equal(await queue.cancel(b.id), "CANCELLATION_REQUESTED");
      assert.equal(await queue.position(c.id), 0);
      assert.equal(await queue.position("no-such-id"), undefined);
      await queue.close();
    });

    it("cancels: queued ends at once, running is flagged, finished is ALREADY_COMPLETED, unknown NOT_FOUND", async () => {
      const { queue } = await factory.make();
      const running = await submit(queue);
      const queued = await submit(queue);
      await queue.claim("w1");
      assert.equal(await queue.cancel(queued.id), "CANCELLATION_REQUESTED");
      const q = await queue.get(queued.id);
      assert.equal(q?.status, "COMPLETED");
      assert.equal(q?.outcome, "CANCELLED");
      assert.equal(q?.failure?.status, 499);
      assert.equal(await queue.claim("w2"), undefined, "a cancelled job is never claimed");

      assert.equal(await queue.cancel(running.id), "CANCELLATION_REQUESTED");
      const r = await queue.get(running.id);
      assert.equal(r?.status, "IN_PROGRESS");
      assert.equal(r?.cancelRequested, true);
      assert.deepEqual(await queue.heartbeat(running.id, "w1"), { owned: true, cancelRequested: true });
      assert.equal(await queue.fail(running.id, "w1", { status: 499, body: { detail: "cancelled" }, message: "cancelled" }, { cancelled: true, inferenceTime: 0.5 }), true);
      assert.equal((await queue.get(running.id))?.outcome, "CANCELLED");
      assert.equal(await queue.cancel(running.id), "ALREADY_COMPLETED");
      assert.equal(await queue.cancel("00000000-0000-0000-0000-000000000000"), "NOT_FOUND");
      await queue.close();
    });

    it("completes and fails only for the worker that holds the job", async () => {
      const { queue } = await factory.make();
      const a = await submit(queue);
      const b = await submit(queue);
      await queue.claim("w1");
      await queue.claim("w2");
      assert.equal(await queue.complete(a.id, "intruder", { x: 1 }, 1), false);
      assert.equal(await queue.complete(a.id, "w1", { video: { url: "u" }, seed: 1 }, 2.5), true);
      assert.equal(await queue.complete(a.id, "w1", { x: 2 }, 1), false, "completing twice is refused");
      const done = await queue.get(a.id);
      assert.equal(done?.status, "COMPLETED");
      assert.equal(done?.outcome, "OK");
      assert.deepEqual(done?.result, { video: { url: "u" }, seed: 1 });
      assert.equal(done?.inferenceTime, 2.5);
      const failure = { status: 422, body: { detail: [{ loc: ["body", "image_url"], msg: "no face", type: "value_error" }] }, message: "no face" };
      assert.equal(await queue.fail(b.id, "w2", failure), true);
      const failed = await queue.get(b.id);
      assert.equal(failed?.outcome, "ERROR");
      assert.deepEqual(failed?.failure, failure);
      await queue.close();
    });

    it("keeps log lines in order, with fal's fields, and reads them incrementally", async () => {
      const { queue } = await factory.make();
      const a = await submit(queue);
      await queue.claim("w1");
      await queue.appendLog(a.id, "one");
      await queue.appendLog(a.id, "two", "WARN");
      await queue.progress(a.id, 5, 10);
      const logs = await queue.logs(a.id);
      assert.deepEqual(logs.map((l) => [l.message, l.level, l.source]), [["one", "INFO", "USER"], ["two", "WARN", "USER"]]);
      assert.ok(!Number.isNaN(Date.parse(logs[0].timestamp)));
      assert.deepEqual((await queue.logs(a.id, 1)).map((l) => l.message), ["two"]);
      const job = await queue.get(a.id);
      assert.deepEqual(job?.progress, { done: 5, total: 10 });
      assert.equal(job?.logCount, 2);
      await queue.close();
    });

    it("notifies subscribers of the job's changes and of queue moves", async () => {
      const { queue } = await factory.make();
      const a = await submit(queue);
      const b = await submit(queue);
      let calls = 0;
      const off = queue.subscribe(b.id, () => calls++);
      await queue.claim("w1"); // b moves from position 1 to 0
      const afterClaim = calls;
      assert.ok(afterClaim >= 1);
      await queue.complete(a.id, "w1", { ok: true }, 1);
      await queue.claim("w1");
      await queue.appendLog(b.id, "hello");
      assert.ok(calls > afterClaim);
      off();
      const before = calls;
      await queue.appendLog(b.id, "not heard");
      assert.equal(calls, before);
      let woken = 0;
      const offWake = queue.onClaimable(() => woken++);
      await submit(queue);
      assert.ok(woken >= 1);
      offWake();
      await queue.close();
    });

    it("release gives a running job back in its old place", async () => {
      const { queue } = await factory.make();
      const a = await submit(queue);
      const b = await submit(queue);
      await queue.claim("w1");
      await queue.release(a.id, "w1");
      assert.equal((await queue.get(a.id))?.status, "IN_QUEUE");
      assert.deepEqual([await queue.position(a.id), await queue.position(b.id)], [0, 1]);
      const again = await queue.claim("w2");
      assert.equal(again?.id, a.id);
      assert.equal(again?.attempts, 2);
      await queue.close();
    });

    it("lists an owner's requests newest first and nobody else's", async () => {
      const { queue } = await factory.make();
      const a = await submit(queue, "key:a");
      await submit(queue, "key:b");
      const c = await submit(queue, "key:a");
      assert.deepEqual((await queue.listByOwner("key:a")).map((j) => j.id), [c.id, a.id]);
      assert.deepEqual((await queue.listByOwner("key:a", 1)).map((j) => j.id), [c.id]);
      await queue.close();
    });

    it("after a restart, queued and interrupted requests are still there and run (interrupted first)", async (t) => {
      const { queue, reopen } = await factory.make();
      if (!reopen) return t.skip("no reopen for this implementation");
      const a = await submit(queue);
      const b = await submit(queue);
      // A worker of a process that no longer exists (same host, pid that cannot be alive).
      const dead = `${(await import("node:os")).hostname()}:999999999:deadbeef:0`;
      assert.equal((await queue.claim(dead))?.id, a.id);
      await queue.appendLog(a.id, "rendered 10/145 frames");
      await queue.close();

      const q2 = await reopen();
      assert.equal((await q2.get(a.id))?.status, "IN_PROGRESS");
      assert.equal(await q2.recover(), 1);
      assert.equal((await q2.get(a.id))?.status, "IN_QUEUE");
      assert.deepEqual([await q2.position(a.id), await q2.position(b.id)], [0, 1]);
      const claimed = await q2.claim("w-new");
      assert.equal(claimed?.id, a.id);
      assert.equal(claimed?.attempts, 2);
      assert.ok((await q2.logs(a.id)).some((l) => l.level === "WARN" && /queued again/.test(l.message)));
      await q2.close();
    });

    it("gives up on a request that keeps killing its worker", async () => {
      const { queue } = await factory.make();
      const a = await submit(queue);
      const dead = `${(await import("node:os")).hostname()}:999999999:deadbeef:0`;
      for (let i = 0; i < 3; i++) {
        assert.equal((await queue.claim(dead))?.id, a.id);
        await queue.recover({ maxAttempts: 3 });
      }
      const job = await queue.get(a.id);
      assert.equal(job?.status, "COMPLETED");
      assert.equal(job?.outcome, "ERROR");
      assert.equal(job?.failure?.status, 500);
      await queue.close();
    });

    it("leaves jobs of live workers alone", async () => {
      const { queue } = await factory.make();
      const a = await submit(queue);
      await queue.claim(`${(await import("node:os")).hostname()}:${process.ppid}:other:0`); // a live process
      assert.equal(await queue.recover(), 0);
      assert.equal((await queue.get(a.id))?.status, "IN_PROGRESS");
      await queue.close();
    });

    it("tracks webhooks still to send", async () => {
      const { queue } = await factory.make();
      const a = await queue.submit({ endpointId: "fal-ai/ai-avatar", owner: "local", input: {}, webhookUrl: "http://127.0.0.1:9/hook" });
      await submit(queue);
      await queue.claim("w1");
      await queue.complete(a.id, "w1", { ok: 1 }, 1);
      assert.deepEqual((await queue.pendingWebhooks()).map((j) => j.id), [a.id]);
      await queue.setWebhookState(a.id, "sent");
      assert.deepEqual(await queue.pendingWebhooks(), []);
      assert.equal((await queue.get(a.id))?.webhookState, "sent");
      await queue.close();
    });
  });
}
