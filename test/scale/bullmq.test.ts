import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BullJobQueue, parseRedisQueueUrl } from "../../src/queue/bullmq.js";
import { runQueueContract } from "../queue/contract.js";
import { REDIS_SERVER, startRedis, type RedisServer } from "./servers.js";

if (!REDIS_SERVER) {
  describe("BullMQ queue", () => it("needs redis-server (apt-get install redis-server)", (t) => t.skip("redis-server not installed")));
} else {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });
  let n = 0;
  runQueueContract("BullMQ/Redis", {
    async make() {
      const prefix = `t${++n}`;
      const open = () => BullJobQueue.open({ url: redis.url, prefix });
      return { queue: await open(), reopen: open };
    },
  });

  describe("BullJobQueue specifics", () => {
    it("parses MOUTHPIECE_QUEUE URLs", () => {
      assert.deepEqual(parseRedisQueueUrl("redis://h:6379/0"), { url: "redis://h:6379/0", prefix: "mouthpiece" });
      assert.deepEqual(parseRedisQueueUrl("redis://:pw@h:6380/2?prefix=prod"), { url: "redis://:pw@h:6380/2", prefix: "prod" });
      assert.deepEqual(parseRedisQueueUrl("redis://h:6379/0?leaseMs=5000"), { url: "redis://h:6379/0", prefix: "mouthpiece", leaseMs: 5000 });
      assert.throws(() => parseRedisQueueUrl("redis://h/0?prefix=a b"), /prefix/);
      assert.throws(() => parseRedisQueueUrl("redis://h/0?leaseMs=5"), /leaseMs/);
      assert.throws(() => parseRedisQueueUrl("redis://h/0?lease=5000"), /unknown parameter 'lease'/);
    });

    it("another process's changes reach subscribers through pub/sub; a cancel reaches the claimer", async () => {
      const api = await BullJobQueue.open({ url: redis.url, prefix: "pubsub" });
      const worker = await BullJobQueue.open({ url: redis.url, prefix: "pubsub" });
      const job = await api.submit({ endpointId: "fal-ai/ai-avatar", owner: "local", input: {} });
      const seen = new Promise<void>((resolve) => {
        const off = api.subscribe(job.id, () => {
          off();
          resolve();
        });
      });
      assert.equal((await worker.claim("w"))?.id, job.id);
      await seen;
      assert.equal((await api.get(job.id))?.status, "IN_PROGRESS");
      const cancelHeard = new Promise<boolean>((resolve) => {
        const off = worker.subscribe(job.id, () => {
          void worker.get(job.id).then((j) => {
            if (j?.cancelRequested) {
              off();
              resolve(true);
            }
          });
        });
      });
      assert.equal(await api.cancel(job.id), "CANCELLATION_REQUESTED");
      assert.equal(await cancelHeard, true);
      await api.close();
      await worker.close();
    });

    it("dispatches a request whose submitter died before handing it to BullMQ", async () => {
      const q = await BullJobQueue.open({ url: redis.url, prefix: "undispatched" });
      const job = await q.submit({ endpointId: "fal-ai/ai-avatar", owner: "local", input: {} });
      // Simulate the crash window: the BullMQ job never made it, the id is still marked undispatched, 11 s ago.
      const { Redis } = await import("ioredis");
      const raw = new Redis(redis.url);
      assert.equal(await raw.scard("undispatched:undispatched"), 0, "a finished submit leaves no mark");
      await raw.del("undispatched:requests:" + job.id);
      await raw.lrem("undispatched:requests:wait", 0, job.id);
      await raw.sadd("undispatched:undispatched", job.id);
      assert.equal(await q.position(job.id), undefined, "not in BullMQ's list");
      assert.equal(await q.recover(), 0);
      assert.equal(await q.position(job.id), undefined, "too young: its submit may still be under way");
      await raw.hset("undispatched:job:" + job.id, "created_at", Date.now() - 11_000);
      await q.recover();
      assert.equal(await q.position(job.id), 0);
      assert.equal((await q.claim("w"))?.id, job.id);
      assert.equal(await raw.scard("undispatched:undispatched"), 0);
      raw.disconnect();
      await q.close();
    });

    it("counts an owner's unfinished requests", async () => {
      const q = await BullJobQueue.open({ url: redis.url, prefix: "count" });
      const submit = (owner: string) => q.submit({ endpointId: "fal-ai/ai-avatar", owner, input: {} });
      const a = await submit("key:a");
      const b = await submit("key:a");
      await submit("key:a");
      await submit("key:b");
      assert.equal(await q.countUnfinished("key:a"), 3);
      await q.claim("w");
      assert.equal(await q.countUnfinished("key:a"), 3, "running counts");
      await q.complete(a.id, "w", {}, 1);
      await q.cancel(b.id);
      assert.equal(await q.countUnfinished("key:a"), 1);
      assert.equal(await q.countUnfinished("key:b"), 1);
      assert.equal(await q.countUnfinished("key:none"), 0);
      await q.close();
    });

    it("an expired lease is recovered by any process; the job keeps its place at the head", async () => {
      const a = await BullJobQueue.open({ url: redis.url, prefix: "lease", leaseMs: 200 });
      const j1 = await a.submit({ endpointId: "fal-ai/ai-avatar", owner: "local", input: {} });
      const j2 = await a.submit({ endpointId: "fal-ai/ai-avatar", owner: "local", input: {} });
      assert.equal((await a.claim("other-host:1:x:0"))?.id, j1.id);
      assert.equal(await a.recover(), 0, "lease still valid");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await a.recover(), 1);
      assert.deepEqual([await a.position(j1.id), await a.position(j2.id)], [0, 1]);
      await a.close();
    });
  });
}
