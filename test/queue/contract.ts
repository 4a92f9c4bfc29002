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
      // head: the same job without its payloads, at every stage.
      for (const id of [a.id, b.id]) {
        const { input: _input, result: _result, ...rest } = (await queue.get(id))!;
        const head = await queue.head(id);
        assert.deepEqual({ ...head }, rest);
        assert.equal("input" in head! || "result" in head!, false, "head carries no payload");
      }
      assert.equal(await queue.head("no-such-id"), undefined);
      const queued = await submit(queue, "local", { image_url: "y" });
      const { input: _i, result: _r, ...queuedRest } = (await queue.get(queued.id))!;
      assert.deepEqual({ ...(await queue.head(queued.id)) }, queuedRest);
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

    it("counts an owner's unfinished requests (optional countUnfinished)", async (t) => {
      const { queue } = await factory.make();
      if (!queue.countUnfinished) {
        await queue.close();
        return t.skip("this implementation has no countUnfinished");
      }
      const a = await submit(queue, "alice");
      await submit(queue, "alice");
      const c = await submit(queue, "alice");
      await submit(queue, "bob");
      assert.equal(await queue.countUnfinished("alice"), 3);
      await queue.claim("w1"); // a: running still counts
      assert.equal(await queue.countUnfinished("alice"), 3);
      await queue.complete(a.id, "w1", {}, 1);
      await queue.cancel(c.id);
      assert.equal(await queue.countUnfinished("alice"), 1);
      assert.equal(await queue.countUnfinished("bob"), 1);
      assert.equal(await queue.countUnfinished("nobody"), 0);
      await queue.close();
    });

    // ---- Webhook deliveries. What an implementation must do:
    // * A job with a webhookUrl has a pending delivery from the moment it is COMPLETED, whatever the
    //   outcome (OK, ERROR, CANCELLED while queued or running, failed by recover): due at once.
    //   Jobs without a webhookUrl, and jobs not yet COMPLETED, never have one.
    // * claimDueWebhooks(now, {limit, leaseMs}) returns pending deliveries whose next attempt time is
    //   <= now, oldest due first, at most limit, and atomically pushes each one's next attempt time to
    //   now + leaseMs (default 60 s): a second claim at the same time returns none of them; once the lease
    //   has run out (the sender died) they are due again.
    // * recordWebhookAttempt(id, {ok, nextAttemptAt?, error?}) counts the attempt (webhookAttempts);
    //   ok -> webhookState "sent"; failed with nextAttemptAt -> pending, due at nextAttemptAt, error in
    //   webhookError, webhookNextAttemptAt set; failed without nextAttemptAt -> webhookState "failed".
    //   "sent"/"failed" deliveries are never due again; further records for them are ignored.
    // * All of it is persisted: a reopened store (a restart) still has every pending delivery.
    const withHook = (q: JobQueue, input: Record<string, unknown> = {}) =>
      q.submit({ endpointId: "fal-ai/ai-avatar", owner: "local", input, webhookUrl: "http://127.0.0.1:9/hook" });

    it("webhooks: a delivery is due once a job with a webhook URL completes, whatever the outcome", async () => {
      const { queue } = await factory.make();
      const ok = await withHook(queue);
      const err = await withHook(queue);
      await submit(queue); // no webhook
      const cancelled = await withHook(queue);
      assert.deepEqual(await queue.claimDueWebhooks(Date.now() + 1000), [], "nothing completed yet");
      assert.equal(ok.webhookAttempts, 0);
      await queue.claim("w1");
      await queue.claim("w1");
      const plain = await queue.claim("w1");
      assert.deepEqual(await queue.claimDueWebhooks(Date.now() + 1000), [], "running jobs have no delivery");
      await queue.complete(ok.id, "w1", { ok: 1 }, 1);
      await queue.fail(err.id, "w1", { status: 422, body: { detail: "bad" }, message: "bad" });
      await queue.complete(plain!.id, "w1", { ok: 1 }, 1);
      await queue.cancel(cancelled.id);
      const due = await queue.claimDueWebhooks(Date.now() + 1000);
      assert.deepEqual(due.map((j) => j.id).sort(), [ok.id, err.id, cancelled.id].sort());
      const okJob = due.find((j) => j.id === ok.id)!;
      assert.equal(okJob.status, "COMPLETED");
      assert.equal(okJob.outcome, "OK");
      assert.deepEqual(okJob.result, { ok: 1 });
      assert.equal(okJob.webhookUrl, "http://127.0.0.1:9/hook");
      assert.equal(okJob.webhookState, undefined);
      await queue.close();
    });

    it("webhooks: claiming leases a delivery (no double send) and respects limit and due time", async () => {
      const { queue } = await factory.make();
      const a = await withHook(queue);
      const b = await withHook(queue);
      await queue.claim("w1");
      await queue.complete(a.id, "w1", {}, 1);
      await queue.claim("w1");
      await queue.complete(b.id, "w1", {}, 1);
      const t = Date.now() + 5;
      const first = await queue.claimDueWebhooks(t, { limit: 1, leaseMs: 1000 });
      assert.deepEqual(first.map((j) => j.id), [a.id], "oldest first, at most limit");
      const second = await queue.claimDueWebhooks(t, { leaseMs: 1000 });
      assert.deepEqual(second.map((j) => j.id), [b.id], "a claimed delivery is not handed out again");
      assert.deepEqual(await queue.claimDueWebhooks(t + 999, { leaseMs: 1000 }), []);
      const again = await queue.claimDueWebhooks(t + 1000, { leaseMs: 1000 });
      assert.deepEqual(again.map((j) => j.id).sort(), [a.id, b.id].sort(), "due again when the lease ran out");
      await queue.close();
    });

    it("webhooks: records attempts: sent, retried later, given up", async () => {
      const { queue } = await factory.make();
      const [a, b, c] = [await withHook(queue), await withHook(queue), await withHook(queue)];
      for (const j of [a, b, c]) {
        await queue.claim("w1");
        await queue.complete(j.id, "w1", {}, 1);
      }
      const t = Date.now() + 5;
      assert.equal((await queue.claimDueWebhooks(t)).length, 3);
      await queue.recordWebhookAttempt(a.id, { ok: true });
      await queue.recordWebhookAttempt(b.id, { ok: false, nextAttemptAt: t + 15_000, error: "receiver answered 503" });
      await queue.recordWebhookAttempt(c.id, { ok: false, error: "connection refused" });
      const [ja, jb, jc] = [await queue.get(a.id), await queue.get(b.id), await queue.get(c.id)];
      assert.equal(ja?.webhookState, "sent");
      assert.equal(ja?.webhookAttempts, 1);
      assert.equal(ja?.webhookNextAttemptAt, undefined);
      assert.equal(jb?.webhookState, undefined);
      assert.equal(jb?.webhookAttempts, 1);
      assert.equal(jb?.webhookError, "receiver answered 503");
      assert.equal(jb?.webhookNextAttemptAt, new Date(t + 15_000).toISOString());
      assert.equal(jc?.webhookState, "failed");
      assert.equal(jc?.webhookError, "connection refused");
      assert.deepEqual(await queue.claimDueWebhooks(t + 14_999), [], "not due before its retry time");
      const retry = await queue.claimDueWebhooks(t + 15_000);
      assert.deepEqual(retry.map((j) => j.id), [b.id], "sent and given-up deliveries are never due again");
      await queue.recordWebhookAttempt(b.id, { ok: true });
      const jb2 = await queue.get(b.id);
      assert.equal(jb2?.webhookState, "sent");
      assert.equal(jb2?.webhookAttempts, 2);
      await queue.recordWebhookAttempt(a.id, { ok: false, error: "late" });
      assert.equal((await queue.get(a.id))?.webhookState, "sent", "records after the end are ignored");
      assert.deepEqual(await queue.claimDueWebhooks(t + 10_000_000), []);
      await queue.close();
    });

    it("webhooks: a restart drops no pending delivery", async (t) => {
      const { queue, reopen } = await factory.make();
      if (!reopen) return t.skip("no reopen for this implementation");
      const a = await withHook(queue);
      const b = await withHook(queue);
      await queue.claim("w1");
      await queue.complete(a.id, "w1", { ok: 1 }, 1);
      await queue.claim("w1");
      await queue.complete(b.id, "w1", { ok: 2 }, 1);
      const now = Date.now() + 5;
      await queue.claimDueWebhooks(now, { limit: 1, leaseMs: 60_000 }); // a: claimed, then the process dies
      await queue.close();
      const q2 = await reopen();
      assert.deepEqual((await q2.claimDueWebhooks(now)).map((j) => j.id), [b.id]);
      const later = await q2.claimDueWebhooks(now + 60_000);
      assert.deepEqual(later.map((j) => j.id).sort(), [a.id, b.id].sort());
      await q2.close();
    });

    it("retention: purges requests finished before a time, with their logs and history, never unfinished ones or a webhook still owed", async () => {
      const { queue } = await factory.make();
      const done = await submit(queue, "alice");
      const failed = await submit(queue, "alice");
      const cancelled = await submit(queue, "alice");
      const owed = await withHook(queue);
      const running = await submit(queue, "alice");
      const queued = await submit(queue, "alice");
      await queue.claim("w1");
      await queue.appendLog(done.id, "rendering");
      // (Apart by a few ms each: the order purged in is the order finished.)
      const tick = () => new Promise((r) => setTimeout(r, 3));
      await queue.complete(done.id, "w1", { ok: 1 }, 1);
      await tick();
      await queue.claim("w1");
      await queue.fail(failed.id, "w1", { status: 422, body: { detail: "bad" }, message: "bad" });
      await tick();
      await queue.cancel(cancelled.id);
      await tick();
      await queue.claim("w1");
      await queue.complete(owed.id, "w1", { ok: 2 }, 1);
      await queue.claim("w1"); // running
      const before = Date.now() + 1;
      assert.equal(await queue.purgeFinished(before - 60_000), 0, "nothing finished that long ago");
      assert.equal(await queue.purgeFinished(before, 2), 2, "at most limit at a time, oldest first");
      assert.equal(await queue.get(done.id), undefined);
      assert.equal(await queue.head(failed.id), undefined);
      assert.deepEqual(await queue.logs(done.id), []);
      assert.ok(await queue.get(cancelled.id), "the third waits for the next call");
      assert.equal(await queue.purgeFinished(before), 1);
      assert.equal(await queue.get(cancelled.id), undefined);
      assert.deepEqual((await queue.listByOwner("alice")).map((j) => j.id).sort(), [running.id, queued.id].sort(), "gone from the owner's history");
      assert.equal((await queue.get(running.id))?.status, "IN_PROGRESS");
      assert.equal((await queue.get(queued.id))?.status, "IN_QUEUE");
      assert.equal((await queue.get(owed.id))?.status, "COMPLETED", "kept while its webhook is owed");
      await queue.recordWebhookAttempt(owed.id, { ok: true });
      assert.equal(await queue.purgeFinished(before), 1);
      assert.equal(await queue.get(owed.id), undefined, "purged once its webhook is sent");
      assert.equal(await queue.purgeFinished(Date.now() + 1), 0);
      await queue.close();
    });
  });
}
