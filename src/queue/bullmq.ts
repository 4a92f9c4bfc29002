/**
 * The scale-out job store: BullMQ on Redis. API nodes and worker processes on any machine share one Redis.
 *
 * Who owns what:
 * - BullMQ owns dispatch: every request is a BullMQ job (jobId = request id) in its wait list; a worker
 *   takes the next one with `Worker.getNextJob(token)` (token = the worker slot's id, so the lock names its
 *   holder) and ends it with moveToCompleted. A request given back (shutdown, crashed worker) goes back with
 *   `Job.moveToWait`, which puts it at the head of the list: interrupted requests run first. The exact
 *   queue position is the request's index from the head of that list.
 * - The request's record (status, outcome, result, logs, cancel flag, progress, webhook delivery) is a Redis
 *   hash changed only by Lua scripts (redis-scripts.ts), one transaction each, the same state machine as the
 *   embedded SQLite store. The record decides: a worker that gets a BullMQ job whose record is no longer
 *   IN_QUEUE (cancelled meanwhile) drops it; complete/fail succeed only for the slot the record names.
 * - Crash recovery: each claim has a lease (leaseMs) that heartbeats extend (together with the BullMQ lock).
 *   `recover` (every worker process runs it every few seconds) re-queues requests whose lease ran out or
 *   whose worker process on this host is gone, and fails those that already took maxAttempts attempts. It
 *   also dispatches requests whose API node died between storing the record and adding the BullMQ job.
 * - Change notices go through Redis pub/sub (channel <prefix>:events), so status streams, logs, progress and
 *   cancellation reach every API node and the worker that runs the request.
 * - Webhook deliveries due are a sorted set (due time -> request), claimed with a lease like the SQLite store.
 *
 * @example
 *   const queue = await BullJobQueue.open({ url: "redis://127.0.0.1:6379/0", prefix: "mouthpiece" });
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { Queue, Worker, type Job as BullJob } from "bullmq";
import { Redis } from "ioredis";
import { workerIsDead } from "./identity.js";
import * as lua from "./redis-scripts.js";
import type { CancelResult, Heartbeat, Job, JobFailure, JobHead, JobLog, JobQueue, LogLevel, SubmitRequest, WebhookAttempt } from "./types.js";

export interface BullQueueOptions {
  /** redis://[user:password@]host:port/db (rediss:// for TLS). */
  url: string;
  /** Prefix of every key and of the BullMQ queue (several deployments can share one Redis). Default "mouthpiece". */
  prefix?: string;
  /** How long a claim holds without a heartbeat. Default 15 s. */
  leaseMs?: number;
}

/**
 * Parses MOUTHPIECE_QUEUE=redis://host:6379/0?prefix=name&leaseMs=15000 into the connection URL, the key
 * prefix and the lease (how long a worker that stops heartbeating keeps its request; a dead worker on the
 * same host is noticed at once).
 */
export function parseRedisQueueUrl(value: string): { url: string; prefix: string; leaseMs?: number } {
  const parsed = new URL(value);
  const prefix = parsed.searchParams.get("prefix") ?? "mouthpiece";
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) throw new Error(`MOUTHPIECE_QUEUE: prefix '${prefix}' may use only letters, digits, '_', '.', '-'.`);
  const lease = parsed.searchParams.get("leaseMs");
  const leaseMs = lease === null ? undefined : Number(lease);
  if (leaseMs !== undefined && !(Number.isInteger(leaseMs) && leaseMs >= 1000)) {
    throw new Error(`MOUTHPIECE_QUEUE: leaseMs '${lease}' must be a whole number of milliseconds, at least 1000.`);
  }
  for (const name of parsed.searchParams.keys()) {
    if (name !== "prefix" && name !== "leaseMs") throw new Error(`MOUTHPIECE_QUEUE: unknown parameter '${name}' (known: prefix, leaseMs).`);
  }
  parsed.search = "";
  return leaseMs === undefined ? { url: parsed.toString(), prefix } : { url: parsed.toString(), prefix, leaseMs };
}

const QUEUE_NAME = "requests";

type Record_ = Partial<Record<string, string>>;

const num = (v: string | undefined) => (v === undefined || v === "" ? undefined : Number(v));
const iso = (v: string | undefined) => (v === undefined || v === "" ? undefined : new Date(Number(v)).toISOString());

/** The record's fields that make a JobHead (all but input and result). */
const HEAD_FIELDS = [
  "id", "endpoint_id", "owner", "webhook_url", "status", "outcome", "failure", "cancel_requested", "attempts", "created_at",
  "started_at", "finished_at", "inference_time", "progress_total", "progress_done", "log_count", "webhook_state",
  "webhook_attempts", "webhook_next_at", "webhook_error",
] as const;

function toJob(r: Record_): Job {
  return {
    ...toHead(r),
    input: JSON.parse(r.input ?? "{}") as Record<string, unknown>,
    result: r.result === undefined ? undefined : JSON.parse(r.result),
  };
}

function toHead(r: Record_): JobHead {
  const progressTotal = num(r.progress_total);
  return {
    id: r.id!,
    endpointId: r.endpoint_id!,
    owner: r.owner!,
    webhookUrl: r.webhook_url,
    status: r.status as Job["status"],
    outcome: r.outcome as Job["outcome"],
    failure: r.failure === undefined ? undefined : (JSON.parse(r.failure) as JobFailure),
    cancelRequested: r.cancel_requested === "1",
    attempts: num(r.attempts) ?? 0,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    inferenceTime: num(r.inference_time),
    progress: progressTotal === undefined ? undefined : { done: num(r.progress_done) ?? 0, total: progressTotal },
    logCount: num(r.log_count) ?? 0,
    webhookState: r.webhook_state as Job["webhookState"],
    webhookAttempts: num(r.webhook_attempts) ?? 0,
    webhookNextAttemptAt: r.webhook_state === undefined ? iso(r.webhook_next_at) : undefined,
    webhookError: r.webhook_error,
  };
}

const logLine = (message: string, level: LogLevel) => JSON.stringify([level, message, Date.now()]);

export class BullJobQueue implements JobQueue {
  private readonly events = new EventEmitter();
  private readonly token = randomUUID();
  private readonly leaseMs: number;
  private readonly prefix: string;
  private readonly bull: Queue;
  private worker?: Worker;
  private subscriber?: Redis;
  private closed = false;

  private constructor(private readonly redis: Redis, private readonly options: BullQueueOptions) {
    this.leaseMs = options.leaseMs ?? 15_000;
    this.prefix = options.prefix ?? "mouthpiece";
    this.events.setMaxListeners(0);
    this.bull = new Queue(QUEUE_NAME, { connection: redis, prefix: this.prefix });
    // Connection trouble surfaces as rejected calls (ioredis reconnects on its own); an 'error' event without
    // a listener would end the process.
    this.bull.on("error", () => undefined);
    redis.on("error", () => undefined);
  }

  /** Connects (fails fast with a clear message when Redis is unreachable). */
  static async open(options: BullQueueOptions): Promise<BullJobQueue> {
    const redis = new Redis(options.url, { maxRetriesPerRequest: null, lazyConnect: true });
    try {
      await redis.connect();
      await redis.ping();
    } catch (err) {
      redis.disconnect();
      throw new Error(`Cannot reach Redis at ${redactUrl(options.url)} (MOUTHPIECE_QUEUE): ${(err as Error).message}`);
    }
    const queue = new BullJobQueue(redis, options);
    await queue.listen();
    return queue;
  }

  // ---------------------------------------------------------------- keys

  private key = (id: string) => `${this.prefix}:job:${id}`;
  private logsKey = (id: string) => `${this.prefix}:logs:${id}`;
  private get runningKey() {
    return `${this.prefix}:running`;
  }
  private get undispatchedKey() {
    return `${this.prefix}:undispatched`;
  }
  private get webhooksKey() {
    return `${this.prefix}:webhooks`;
  }
  private get channel() {
    return `${this.prefix}:events`;
  }

  private async script<T>(source: string, keys: string[], args: (string | number)[]): Promise<T> {
    return (await this.redis.eval(source, keys.length, ...keys, ...args)) as T;
  }

  // ---------------------------------------------------------------- API side

  async submit(request: SubmitRequest): Promise<Job> {
    const id = randomUUID();
    await this.script(lua.SUBMIT, [this.key(id), `${this.prefix}:owner:${request.owner}`, `${this.prefix}:seq`, `${this.prefix}:open:${request.owner}`, this.undispatchedKey], [
      id, request.endpointId, request.owner, JSON.stringify(request.input), request.webhookUrl ?? "", Date.now(),
    ]);
    // The record is stored; now hand it to BullMQ. Should this process die in between, recover() does it.
    await this.bull.add("request", { id }, { jobId: id, removeOnComplete: true, removeOnFail: true });
    await this.redis.srem(this.undispatchedKey, id);
    this.changed(id, true);
    return (await this.get(id))!;
  }

  async get(id: string): Promise<Job | undefined> {
    const r = (await this.redis.hgetall(this.key(id))) as Record_;
    return r.id ? toJob(r) : undefined;
  }

  async head(id: string): Promise<JobHead | undefined> {
    const values = await this.redis.hmget(this.key(id), ...HEAD_FIELDS);
    if (values[0] === null) return undefined;
    const r: Record_ = {};
    HEAD_FIELDS.forEach((field, i) => {
      if (values[i] !== null) r[field] = values[i]!;
    });
    return toHead(r);
  }

  async position(id: string): Promise<number | undefined> {
    const n = await this.script<number>(lua.POSITION, [this.key(id), this.bull.keys.wait], [id]);
    return n < 0 ? undefined : n;
  }

  async cancel(id: string): Promise<CancelResult> {
    const message = "The request was cancelled before it started.";
    const failure = { status: 499, body: { detail: message, error_type: "client_cancelled" }, message, errorType: "client_cancelled" };
    const r = await this.script<string>(lua.CANCEL, [this.key(id), this.logsKey(id), this.runningKey, this.webhooksKey], [
      id, JSON.stringify(failure), logLine("Cancelled while queued.", "INFO"), logLine("Cancellation requested.", "INFO"), Date.now(),
    ]);
    if (r === "NOT_FOUND") return "NOT_FOUND";
    if (r === "ALREADY_COMPLETED") return "ALREADY_COMPLETED";
    // Queued: take it off BullMQ's list. If a worker took it meanwhile (locked), it drops it (record not IN_QUEUE).
    if (r === "QUEUED") await this.bull.remove(id).catch(() => undefined);
    this.changed(id, true);
    return "CANCELLATION_REQUESTED";
  }

  async logs(id: string, after = 0): Promise<JobLog[]> {
    const lines = await this.redis.lrange(this.logsKey(id), Math.max(0, after), -1);
    return lines.map((line) => {
      const [level, message, ts] = JSON.parse(line) as [LogLevel, string, number];
      return { message, level, source: "USER", timestamp: new Date(ts).toISOString() };
    });
  }

  async listByOwner(owner: string, limit = 50): Promise<Job[]> {
    const ids = await this.redis.zrevrange(`${this.prefix}:owner:${owner}`, 0, Math.max(0, limit) - 1);
    return this.getMany(ids);
  }

  /** The owner's queued and running requests (a set per owner, kept by the scripts). */
  async countUnfinished(owner: string): Promise<number> {
    return this.redis.scard(`${this.prefix}:open:${owner}`);
  }

  subscribe(id: string, listener: () => void): () => void {
    const onJob = (changedId: string) => {
      if (changedId === id) listener();
    };
    const onQueue = () => listener();
    this.events.on("job", onJob);
    this.events.on("queue", onQueue);
    return () => {
      this.events.off("job", onJob);
      this.events.off("queue", onQueue);
    };
  }

  // ---------------------------------------------------------------- worker side

  async claim(workerId: string): Promise<Job | undefined> {
    const worker = this.dispatcher();
    for (;;) {
      const bullJob = (await worker.getNextJob(workerId, { block: false })) as BullJob | undefined;
      if (!bullJob?.id) return undefined;
      const id = bullJob.id;
      const now = Date.now();
      const claimed = await this.script<number>(lua.CLAIM, [this.key(id), this.runningKey], [id, workerId, now, now + this.leaseMs]);
      if (claimed === 1) {
        this.changed(id, true);
        return this.get(id);
      }
      // Cancelled (or gone) while it sat in BullMQ's list: drop it and look again.
      await bullJob.moveToCompleted(null, workerId, false).catch(() => this.bull.remove(id).catch(() => undefined));
    }
  }

  async heartbeat(id: string, workerId: string): Promise<Heartbeat> {
    const [owned, cancel] = await this.script<[number, number]>(lua.HEARTBEAT, [this.key(id)], [workerId, Date.now() + this.leaseMs]);
    if (owned === 1) {
      // Keep BullMQ's lock in step with the lease (it names the holder for anyone inspecting the queue).
      await this.redis.set(this.bull.toKey(`${id}:lock`), workerId, "PX", this.leaseMs, "XX").catch(() => undefined);
    }
    return { owned: owned === 1, cancelRequested: cancel === 1 };
  }

  async appendLog(id: string, message: string, level: LogLevel = "INFO"): Promise<void> {
    const added = await this.script<number>(lua.APPEND_LOG, [this.key(id), this.logsKey(id)], [logLine(message, level)]);
    if (added === 1) this.changed(id, false);
  }

  async progress(id: string, done: number, total: number): Promise<void> {
    await this.script(lua.PROGRESS, [this.key(id)], [done, total]);
    this.changed(id, false);
  }

  async complete(id: string, workerId: string, result: unknown, inferenceTime: number): Promise<boolean> {
    return this.finish(id, workerId, "OK", JSON.stringify(result ?? null), "", inferenceTime);
  }

  async fail(id: string, workerId: string, failure: JobFailure, options: { cancelled?: boolean; inferenceTime?: number } = {}): Promise<boolean> {
    return this.finish(id, workerId, options.cancelled ? "CANCELLED" : "ERROR", "", JSON.stringify(failure), options.inferenceTime);
  }

  async release(id: string, workerId: string): Promise<void> {
    const ok = await this.script<number>(lua.RELEASE, [this.key(id), this.runningKey], [id, workerId]);
    if (ok !== 1) return;
    await this.backToWait(id, workerId);
    this.changed(id, true);
  }

  async recover(options: { maxAttempts?: number } = {}): Promise<number> {
    const maxAttempts = options.maxAttempts ?? 3;
    const now = Date.now();
    // Requests whose API node died between storing the record and adding the BullMQ job (older than 10 s).
    for (const id of await this.redis.smembers(this.undispatchedKey)) {
      const [status, createdAt] = await this.redis.hmget(this.key(id), "status", "created_at");
      if (status === "IN_QUEUE" && Number(createdAt) > now - 10_000) continue;
      if (status === "IN_QUEUE" && !(await this.bull.getJob(id))) {
        await this.bull.add("request", { id }, { jobId: id, removeOnComplete: true, removeOnFail: true });
        this.changed(id, true);
      }
      await this.redis.srem(this.undispatchedKey, id);
    }
    const ids = await this.redis.smembers(this.runningKey);
    let requeued = 0;
    for (const id of ids) {
      const [workerId, leaseUntil, attempts] = await this.redis.hmget(this.key(id), "worker_id", "lease_until", "attempts");
      if (workerId === null) {
        // A stale entry (the record is gone or no longer running).
        await this.redis.srem(this.runningKey, id);
        continue;
      }
      const gone = Number(leaseUntil ?? 0) < now || workerIsDead(workerId);
      if (!gone) continue;
      const message = `The worker stopped ${attempts} times while running this request (crash, kill or out of memory); giving up.`;
      const failure = { status: 500, body: { detail: message, error_type: "runner_disconnected" }, message, errorType: "runner_disconnected" };
      const r = await this.script<string>(lua.RECOVER, [this.key(id), this.logsKey(id), this.runningKey, this.webhooksKey], [
        id, workerId, maxAttempts, JSON.stringify(failure), logLine(message, "ERROR"),
        logLine("The worker running this request stopped; it is queued again.", "WARN"), now,
      ]);
      if (r === "REQUEUED") {
        await this.backToWait(id, workerId);
        requeued++;
      } else if (r === "FAILED") {
        await this.dropBullJob(id, workerId);
      } else continue;
      this.changed(id, true);
    }
    return requeued;
  }

  onClaimable(listener: () => void): () => void {
    this.events.on("claimable", listener);
    return () => this.events.off("claimable", listener);
  }

  async claimDueWebhooks(now: number, options: { limit?: number; leaseMs?: number } = {}): Promise<Job[]> {
    const members = await this.script<string[]>(lua.CLAIM_WEBHOOKS, [this.webhooksKey], [
      now, options.limit ?? 20, options.leaseMs ?? 60_000, `${this.prefix}:job:`,
    ]);
    return this.getMany(members.map((m) => m.slice(m.indexOf(":") + 1)));
  }

  async recordWebhookAttempt(id: string, attempt: WebhookAttempt): Promise<void> {
    await this.script(lua.RECORD_WEBHOOK, [this.key(id), this.webhooksKey], [
      id, attempt.ok ? "1" : "0", attempt.ok || attempt.nextAttemptAt === undefined ? "" : attempt.nextAttemptAt,
      attempt.ok ? "" : (attempt.error ?? "delivery failed"),
    ]);
  }

  async purgeFinished(before: number, limit = 500): Promise<number> {
    return this.script<number>(lua.PURGE_FINISHED, [`${this.prefix}:finished`], [before, limit, `${this.prefix}:`]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.events.removeAllListeners();
    await this.worker?.close(true).catch(() => undefined);
    await this.bull.close().catch(() => undefined);
    this.subscriber?.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  // ---------------------------------------------------------------- internals

  /** The BullMQ worker used only to take jobs (manual processing: no processor, no autorun, no stalled timer). */
  private dispatcher(): Worker {
    this.worker ??= new Worker(QUEUE_NAME, null, {
      connection: this.redis,
      prefix: this.prefix,
      autorun: false,
      lockDuration: this.leaseMs,
      // Recovery is ours (recover()): BullMQ's stalled checker is never started in manual mode.
      maxStalledCount: 1_000_000,
    });
    this.worker.on("error", () => undefined);
    return this.worker;
  }

  private async finish(id: string, workerId: string, outcome: string, result: string, failure: string, inferenceTime?: number): Promise<boolean> {
    const ok = await this.script<number>(lua.FINISH, [this.key(id), this.runningKey, this.webhooksKey], [
      id, workerId, outcome, result, failure, inferenceTime ?? "", Date.now(),
    ]);
    if (ok !== 1) return false;
    await this.dropBullJob(id, workerId);
    this.changed(id, true);
    return true;
  }

  /** Ends the BullMQ job of a finished request (removeOnComplete deletes it). */
  private async dropBullJob(id: string, workerId: string): Promise<void> {
    const job = await this.bull.getJob(id).catch(() => undefined);
    if (!job) return;
    try {
      await job.moveToCompleted(null, workerId, false);
    } catch {
      // The lock is gone or another token holds it: end it regardless ("0" skips BullMQ's lock check).
      await job.moveToCompleted(null, "0", false).catch(() => this.bull.remove(id).catch(() => undefined));
    }
  }

  /** Puts a request's BullMQ job back at the head of the wait list. */
  private async backToWait(id: string, workerId: string): Promise<void> {
    const job = await this.bull.getJob(id);
    if (!job) {
      // Its BullMQ job was lost: add it again (at the head, like any re-queued request).
      await this.bull.add("request", { id }, { jobId: id, removeOnComplete: true, removeOnFail: true, lifo: true });
      return;
    }
    try {
      await job.moveToWait(workerId);
    } catch {
      await job.moveToWait("0");
    }
  }

  private async getMany(ids: string[]): Promise<Job[]> {
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.key(id));
    const rows = (await pipe.exec()) ?? [];
    return rows.map(([, r]) => r as Record_).filter((r) => r?.id).map(toJob);
  }

  /** Subscribes to other processes' change notices. */
  private async listen(): Promise<void> {
    const sub = this.redis.duplicate({ lazyConnect: true });
    sub.on("error", () => undefined);
    this.subscriber = sub;
    await sub.connect();
    await sub.subscribe(this.channel);
    sub.on("message", (_channel: string, message: string) => {
      const [from, kind, id] = message.split("|");
      if (from === this.token || this.closed) return;
      this.emit(kind === "q", id);
    });
  }

  /** Tells this process's subscribers at once, and the other processes through pub/sub. */
  private changed(id: string, moved: boolean): void {
    this.emit(moved, id);
    if (!this.closed) void this.redis.publish(this.channel, `${this.token}|${moved ? "q" : "j"}|${id}`).catch(() => undefined);
  }

  private emit(moved: boolean, id: string): void {
    if (moved) {
      this.events.emit("queue");
      this.events.emit("claimable");
    } else {
      this.events.emit("job", id);
    }
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(invalid URL)";
  }
}
