/**
 * The embedded job store: one SQLite file (better-sqlite3, WAL) under the data dir. Every state change is
 * one transaction, so a `kill -9` at any moment leaves each request either queued, running (re-queued by
 * `recover` when its worker is gone) or completed — never lost. Order is the submission order (`seq`);
 * a re-queued job keeps its seq and so runs next. Workers on this host are identified as
 * "<hostname>:<pid>:<random>", so a restart can tell at once that the previous process died.
 *
 * Changes notify in-process subscribers at once; subscribers also poll (every `pollMs`) so that a worker in
 * another process on the same file is seen too.
 *
 * Job heads (everything but the payloads) are remembered between reads: a status poll is mostly this read, and
 * pollers ask for the same jobs many times a second. This queue forgets a job's head whenever it writes the job's
 * row, so its own changes show at once. A commit by any other connection (a worker process on the same file)
 * changes SQLite's `data_version`; reads check it at most every DATA_VERSION_CHECK_MS (the check opens a read
 * transaction: ~4 µs alone, ~12 µs under load, most of a remembered read) and forget every head when it moved.
 * So another process's change shows within that time (subscribers, for comparison, poll every `pollMs`).
 *
 * @example
 *   const queue = SqliteJobQueue.open({ file: path.join(config.dataDir, "mouthpiece.db") });
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { workerIsDead } from "./identity.js";
import type { CancelResult, Heartbeat, Job, JobFailure, JobHead, JobLog, JobQueue, LogLevel, SubmitRequest, WebhookAttempt } from "./types.js";

export interface SqliteQueueOptions {
  /** The database file (created with its folder when missing). ":memory:" for a throwaway queue. */
  file: string;
  /** How long a claim holds without a heartbeat. Default 15 s. */
  leaseMs?: number;
  /** How often subscribers re-check the database (other processes' changes). Default 1000 ms. */
  pollMs?: number;
}

interface Row {
  seq: number;
  id: string;
  endpoint_id: string;
  owner: string;
  input: string;
  webhook_url: string | null;
  status: string;
  outcome: string | null;
  result: string | null;
  failure: string | null;
  cancel_requested: number;
  attempts: number;
  worker_id: string | null;
  lease_until: number | null;
  progress_done: number | null;
  progress_total: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  inference_time: number | null;
  log_count: number;
  webhook_state: string | null;
  webhook_attempts: number;
  webhook_next_at: number | null;
  webhook_error: string | null;
  version: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  endpoint_id TEXT NOT NULL,
  owner TEXT NOT NULL,
  input TEXT NOT NULL,
  webhook_url TEXT,
  status TEXT NOT NULL,
  outcome TEXT,
  result TEXT,
  failure TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  worker_id TEXT,
  lease_until INTEGER,
  progress_done INTEGER,
  progress_total INTEGER,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  inference_time REAL,
  log_count INTEGER NOT NULL DEFAULT 0,
  webhook_state TEXT,
  webhook_attempts INTEGER NOT NULL DEFAULT 0,
  webhook_next_at INTEGER,
  webhook_error TEXT,
  version INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs(status, seq);
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs(owner, seq);
CREATE INDEX IF NOT EXISTS jobs_unfinished_by_owner ON jobs(owner) WHERE status != 'COMPLETED';
CREATE TABLE IF NOT EXISTS job_logs (
  job_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  level TEXT NOT NULL,
  message TEXT NOT NULL,
  ts INTEGER NOT NULL,
  PRIMARY KEY (job_id, n)
);
`;

/** Brings a database made by an older version up to this schema (columns added since). */
function migrate(db: Database.Database): void {
  const columns = new Set((db.prepare(`PRAGMA table_info(jobs)`).all() as { name: string }[]).map((c) => c.name));
  if (!columns.has("webhook_attempts")) {
    db.exec(`ALTER TABLE jobs ADD COLUMN webhook_attempts INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE jobs ADD COLUMN webhook_next_at INTEGER;
             ALTER TABLE jobs ADD COLUMN webhook_error TEXT;
             UPDATE jobs SET webhook_next_at = finished_at
               WHERE status = 'COMPLETED' AND webhook_url IS NOT NULL AND webhook_state IS NULL;`);
  }
  db.exec(`CREATE INDEX IF NOT EXISTS jobs_webhooks_due ON jobs(webhook_next_at) WHERE webhook_state IS NULL AND webhook_next_at IS NOT NULL`);
  db.exec(`CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(finished_at) WHERE status = 'COMPLETED'`);
}

/** Every column but the payloads (input, result), in the order `headOf` reads them. */
const HEAD_COLUMNS = [
  "seq", "id", "endpoint_id", "owner", "webhook_url", "status", "outcome", "failure", "cancel_requested", "attempts",
  "worker_id", "lease_until", "progress_done", "progress_total", "created_at", "started_at", "finished_at",
  "inference_time", "log_count", "webhook_state", "webhook_attempts", "webhook_next_at", "webhook_error",
].join(", ");

type Head = Omit<Row, "input" | "result" | "version">;

/** How many job heads a queue remembers at most (~1 KB each); past that it starts again from none. */
const MAX_REMEMBERED_HEADS = 10_000;
/** How often remembered heads are checked against other connections' commits, ms. */
export const DATA_VERSION_CHECK_MS = 5;

/** A raw row of HEAD_COLUMNS (an array: better-sqlite3 builds arrays several times faster than keyed objects). */
function headOf(values: unknown[]): Head {
  const [
    seq, id, endpoint_id, owner, webhook_url, status, outcome, failure, cancel_requested, attempts,
    worker_id, lease_until, progress_done, progress_total, created_at, started_at, finished_at,
    inference_time, log_count, webhook_state, webhook_attempts, webhook_next_at, webhook_error,
  ] = values as [
    number, string, string, string, string | null, string, string | null, string | null, number, number,
    string | null, number | null, number | null, number | null, number, number | null, number | null,
    number | null, number, string | null, number, number | null, string | null,
  ];
  return {
    seq, id, endpoint_id, owner, webhook_url, status, outcome, failure, cancel_requested, attempts,
    worker_id, lease_until, progress_done, progress_total, created_at, started_at, finished_at,
    inference_time, log_count, webhook_state, webhook_attempts, webhook_next_at, webhook_error,
  };
}

type Iso = (ms: number | null) => string | undefined;

/**
 * Epoch ms → ISO 8601, remembered: a polled job formats the same few instants on every poll, and toISOString
 * costs ~2 µs each (a tenth of a status answer's database read). The memory is cleared when it grows large.
 */
function rememberedIso(): Iso {
  const memo = new Map<number, string>();
  return (ms) => {
    if (ms === null) return undefined;
    let text = memo.get(ms);
    if (text === undefined) {
      if (memo.size >= 10_000) memo.clear();
      text = new Date(ms).toISOString();
      memo.set(ms, text);
    }
    return text;
  };
}

interface Payload { input: Record<string, unknown>; result: unknown }

/** The JobHead of a row head: a plain object (no accessors), the shape every status poll builds. */
function toHead(row: Head, iso: Iso): JobHead {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    owner: row.owner,
    webhookUrl: row.webhook_url ?? undefined,
    status: row.status as Job["status"],
    outcome: (row.outcome ?? undefined) as Job["outcome"],
    failure: row.failure === null ? undefined : (JSON.parse(row.failure) as JobFailure),
    cancelRequested: row.cancel_requested === 1,
    attempts: row.attempts,
    createdAt: iso(row.created_at)!,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    inferenceTime: row.inference_time ?? undefined,
    progress: row.progress_total === null ? undefined : { done: row.progress_done ?? 0, total: row.progress_total },
    logCount: row.log_count,
    webhookState: (row.webhook_state ?? undefined) as Job["webhookState"],
    webhookAttempts: row.webhook_attempts,
    webhookNextAttemptAt: row.webhook_state === null ? iso(row.webhook_next_at) : undefined,
    webhookError: row.webhook_error ?? undefined,
  };
}

/**
 * The job of a row head. The payloads (input, result) come from `payload` on first use, so reading a job never
 * parses a data-URI input nobody looks at. They are fixed once written, so reading them later gives the same values.
 * (Enumerable accessors: spreading or serializing a job still includes them.)
 */
function jobOf(row: Head, payload: () => Payload, iso: Iso): Job {
  let loaded: Payload | undefined;
  const load = () => (loaded ??= payload());
  return Object.defineProperties(toHead(row, iso), {
    input: { enumerable: true, configurable: true, get: () => load().input },
    result: { enumerable: true, configurable: true, get: () => load().result },
  }) as Job;
}

const parsePayload = (input: string, result: string | null): Payload => ({
  input: JSON.parse(input) as Record<string, unknown>,
  result: result === null ? undefined : JSON.parse(result),
});

/** The job of a whole row (payloads parsed at once: plain data, as the worker and the listings use it). */
function toJob(row: Row, iso: Iso): Job {
  return { ...toHead(row, iso), ...parsePayload(row.input, row.result) };
}

export class SqliteJobQueue implements JobQueue {
  private readonly events = new EventEmitter();
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Prepared statements by SQL text (preparing on every call cost ~10 % of a status request). */
  private readonly statements = new Map<string, Database.Statement>();
  /** The head read of get and head (raw mode, so not in `statements`). */
  private headStmt?: Database.Statement;
  /** Remembered heads (raw rows) by job id, valid while `dataVersion` holds (see the file's comment). */
  private readonly heads = new Map<string, unknown[]>();
  private dataVersion = -1;
  private dataVersionCheckedAt = -Infinity;
  private dataVersionStmt?: Database.Statement;
  private readonly iso = rememberedIso();
  private readonly toJob = (row: Row) => toJob(row, this.iso);

  private constructor(private readonly db: Database.Database, options: SqliteQueueOptions) {
    this.leaseMs = options.leaseMs ?? 15_000;
    this.pollMs = options.pollMs ?? 1000;
    this.events.setMaxListeners(0);
  }

  static open(options: SqliteQueueOptions): SqliteJobQueue {
    if (options.file !== ":memory:") mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
    const db = new Database(options.file);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 5000");
    db.exec(SCHEMA);
    migrate(db);
    return new SqliteJobQueue(db, options);
  }

  // ---------------------------------------------------------------- API side

  async submit(request: SubmitRequest): Promise<Job> {
    const id = randomUUID();
    this.stmt(
        `INSERT INTO jobs (id, endpoint_id, owner, input, webhook_url, status, created_at)
         VALUES (?, ?, ?, ?, ?, 'IN_QUEUE', ?)`,
      )
      .run(id, request.endpointId, request.owner, JSON.stringify(request.input), request.webhookUrl ?? null, Date.now());
    this.changed(id, true);
    return (await this.get(id))!;
  }

  async head(id: string): Promise<JobHead | undefined> {
    const values = this.readHead(id);
    return values && toHead(headOf(values), this.iso);
  }

  /** The job; its payloads are read on first use (see jobOf). */
  async get(id: string): Promise<Job | undefined> {
    const values = this.readHead(id);
    if (!values) return undefined;
    return jobOf(headOf(values), () => {
      const row = this.stmt(`SELECT input, result FROM jobs WHERE id = ?`).get(id) as Pick<Row, "input" | "result"> | undefined;
      return row ? parsePayload(row.input, row.result) : { input: {}, result: undefined };
    }, this.iso);
  }

  async position(id: string): Promise<number | undefined> {
    const row = this.stmt(`SELECT seq, status FROM jobs WHERE id = ?`).get(id) as { seq: number; status: string } | undefined;
    if (!row || row.status !== "IN_QUEUE") return undefined;
    const { n } = this.stmt(`SELECT COUNT(*) AS n FROM jobs WHERE status = 'IN_QUEUE' AND seq < ?`).get(row.seq) as { n: number };
    return n;
  }

  async cancel(id: string): Promise<CancelResult> {
    const result = this.db.transaction((): CancelResult => {
      const row = this.row(id);
      if (!row) return "NOT_FOUND";
      if (row.status === "COMPLETED") return "ALREADY_COMPLETED";
      if (row.status === "IN_QUEUE") {
        this.finishRow(id, "CANCELLED", null, cancelledFailure("The request was cancelled before it started."), null);
        this.insertLog(id, "Cancelled while queued.", "INFO");
        return "CANCELLATION_REQUESTED";
      }
      this.forget(id);
      this.stmt(`UPDATE jobs SET cancel_requested = 1, version = version + 1 WHERE id = ?`).run(id);
      this.insertLog(id, "Cancellation requested.", "INFO");
      return "CANCELLATION_REQUESTED";
    })();
    if (result !== "NOT_FOUND") this.changed(id, true);
    return result;
  }

  async logs(id: string, after = 0): Promise<JobLog[]> {
    const rows = this.stmt(`SELECT level, message, ts FROM job_logs WHERE job_id = ? AND n > ? ORDER BY n`)
      .all(id, after) as { level: LogLevel; message: string; ts: number }[];
    return rows.map((r) => ({ message: r.message, level: r.level, source: "USER", timestamp: new Date(r.ts).toISOString() }));
  }

  async countUnfinished(owner: string): Promise<number> {
    return (this.stmt(`SELECT COUNT(*) AS n FROM jobs WHERE owner = ? AND status != 'COMPLETED'`).get(owner) as { n: number }).n;
  }

  async listByOwner(owner: string, limit = 50): Promise<Job[]> {
    const rows = this.stmt(`SELECT * FROM jobs WHERE owner = ? ORDER BY seq DESC LIMIT ?`).all(owner, limit) as Row[];
    return rows.map(this.toJob);
  }

  subscribe(id: string, listener: () => void): () => void {
    const onJob = (changedId: string) => {
      if (changedId === id) listener();
    };
    const onQueue = () => listener();
    this.events.on("job", onJob);
    this.events.on("queue", onQueue);
    // Other processes writing the same file: notice by polling the job's version and position.
    let last = this.fingerprint(id);
    const timer = setInterval(() => {
      if (this.closed) return;
      const now = this.fingerprint(id);
      if (now !== last) {
        last = now;
        listener();
      }
    }, this.pollMs);
    this.timers.add(timer);
    return () => {
      clearInterval(timer);
      this.timers.delete(timer);
      this.events.off("job", onJob);
      this.events.off("queue", onQueue);
    };
  }

  // ---------------------------------------------------------------- worker side

  async claim(workerId: string): Promise<Job | undefined> {
    const now = Date.now();
    const row = this.db.transaction(() => {
      const next = this.stmt(`SELECT id FROM jobs WHERE status = 'IN_QUEUE' ORDER BY seq LIMIT 1`).get() as { id: string } | undefined;
      if (!next) return undefined;
      this.forget(next.id);
      this.stmt(
          `UPDATE jobs SET status = 'IN_PROGRESS', worker_id = ?, lease_until = ?, started_at = ?, attempts = attempts + 1,
             progress_done = NULL, progress_total = NULL, version = version + 1 WHERE id = ?`,
        )
        .run(workerId, now + this.leaseMs, now, next.id);
      return this.row(next.id);
    }).immediate();
    if (!row) return undefined;
    this.changed(row.id, true);
    return this.toJob(row);
  }

  async heartbeat(id: string, workerId: string): Promise<Heartbeat> {
    this.forget(id);
    const info = this.stmt(`UPDATE jobs SET lease_until = ? WHERE id = ? AND worker_id = ? AND status = 'IN_PROGRESS'`)
      .run(Date.now() + this.leaseMs, id, workerId);
    const row = this.stmt(`SELECT cancel_requested FROM jobs WHERE id = ?`).get(id) as { cancel_requested: number } | undefined;
    return { owned: info.changes === 1, cancelRequested: row?.cancel_requested === 1 };
  }

  async appendLog(id: string, message: string, level: LogLevel = "INFO"): Promise<void> {
    const added = this.db.transaction(() => this.insertLog(id, message, level))();
    if (added) this.changed(id, false);
  }

  async progress(id: string, done: number, total: number): Promise<void> {
    this.forget(id);
    this.stmt(`UPDATE jobs SET progress_done = ?, progress_total = ?, version = version + 1 WHERE id = ? AND status = 'IN_PROGRESS'`)
      .run(done, total, id);
    this.changed(id, false);
  }

  async complete(id: string, workerId: string, result: unknown, inferenceTime: number): Promise<boolean> {
    const ok = this.db.transaction(() => {
      if (!this.holds(id, workerId)) return false;
      this.finishRow(id, "OK", JSON.stringify(result), null, inferenceTime);
      return true;
    })();
    if (ok) this.changed(id, true);
    return ok;
  }

  async fail(id: string, workerId: string, failure: JobFailure, options: { cancelled?: boolean; inferenceTime?: number } = {}): Promise<boolean> {
    const ok = this.db.transaction(() => {
      if (!this.holds(id, workerId)) return false;
      this.finishRow(id, options.cancelled ? "CANCELLED" : "ERROR", null, failure, options.inferenceTime ?? null);
      return true;
    })();
    if (ok) this.changed(id, true);
    return ok;
  }

  async release(id: string, workerId: string): Promise<void> {
    this.forget(id);
    const info = this.stmt(
        `UPDATE jobs SET status = 'IN_QUEUE', worker_id = NULL, lease_until = NULL, started_at = NULL, version = version + 1
         WHERE id = ? AND worker_id = ? AND status = 'IN_PROGRESS'`,
      )
      .run(id, workerId);
    if (info.changes === 1) this.changed(id, true);
  }

  async recover(options: { maxAttempts?: number } = {}): Promise<number> {
    const maxAttempts = options.maxAttempts ?? 3;
    const now = Date.now();
    const running = this.stmt(`SELECT id, worker_id, lease_until, attempts FROM jobs WHERE status = 'IN_PROGRESS'`)
      .all() as { id: string; worker_id: string | null; lease_until: number | null; attempts: number }[];
    const touched: string[] = [];
    let requeued = 0;
    for (const job of running) {
      const gone = job.worker_id === null || (job.lease_until ?? 0) < now || workerIsDead(job.worker_id);
      if (!gone) continue;
      this.db.transaction(() => {
        const still = this.stmt(`SELECT worker_id FROM jobs WHERE id = ? AND status = 'IN_PROGRESS'`).get(job.id) as { worker_id: string | null } | undefined;
        if (!still || still.worker_id !== job.worker_id) return;
        if (job.attempts >= maxAttempts) {
          const message = `The worker stopped ${job.attempts} times while running this request (crash, kill or out of memory); giving up.`;
          this.finishRow(job.id, "ERROR", null, { status: 500, body: { detail: message, error_type: "runner_disconnected" }, message, errorType: "runner_disconnected" }, null);
          this.insertLog(job.id, message, "ERROR");
        } else {
          this.forget(job.id);
          this.stmt(`UPDATE jobs SET status = 'IN_QUEUE', worker_id = NULL, lease_until = NULL, started_at = NULL, version = version + 1 WHERE id = ?`)
            .run(job.id);
          this.insertLog(job.id, "The worker running this request stopped; it is queued again.", "WARN");
          requeued++;
        }
        touched.push(job.id);
      })();
    }
    for (const id of touched) this.changed(id, true);
    return requeued;
  }

  onClaimable(listener: () => void): () => void {
    this.events.on("claimable", listener);
    return () => this.events.off("claimable", listener);
  }

  async claimDueWebhooks(now: number, options: { limit?: number; leaseMs?: number } = {}): Promise<Job[]> {
    const limit = options.limit ?? 20;
    const leaseMs = options.leaseMs ?? 60_000;
    const rows = this.db.transaction(() => {
      const due = this.stmt(
          `SELECT * FROM jobs WHERE webhook_state IS NULL AND webhook_next_at IS NOT NULL AND webhook_next_at <= ?
             AND status = 'COMPLETED' ORDER BY webhook_next_at, seq LIMIT ?`,
        )
        .all(now, limit) as Row[];
      const push = this.stmt(`UPDATE jobs SET webhook_next_at = ? WHERE id = ?`);
      for (const row of due) {
        this.forget(row.id);
        push.run(now + leaseMs, row.id);
      }
      return due;
    }).immediate();
    return rows.map(this.toJob);
  }

  async recordWebhookAttempt(id: string, attempt: WebhookAttempt): Promise<void> {
    const state = attempt.ok ? "sent" : attempt.nextAttemptAt === undefined ? "failed" : null;
    this.forget(id);
    this.stmt(
        `UPDATE jobs SET webhook_attempts = webhook_attempts + 1, webhook_state = ?, webhook_next_at = ?, webhook_error = ?
           WHERE id = ? AND webhook_url IS NOT NULL AND webhook_state IS NULL`,
      )
      .run(state, state === null ? attempt.nextAttemptAt! : null, attempt.ok ? null : (attempt.error ?? "delivery failed"), id);
  }

  async purgeFinished(before: number, limit = 500): Promise<number> {
    const ids = this.db.transaction(() => {
      const found = this.stmt(
          `SELECT id FROM jobs WHERE status = 'COMPLETED' AND finished_at < ?
             AND (webhook_url IS NULL OR webhook_state IS NOT NULL) ORDER BY finished_at LIMIT ?`,
        )
        .all(before, limit) as { id: string }[];
      const logs = this.stmt(`DELETE FROM job_logs WHERE job_id = ?`);
      const job = this.stmt(`DELETE FROM jobs WHERE id = ?`);
      for (const { id } of found) {
        this.forget(id);
        logs.run(id);
        job.run(id);
      }
      return found;
    })();
    for (const { id } of ids) this.changed(id, false);
    return ids.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    this.events.removeAllListeners();
    this.db.close();
  }

  // ---------------------------------------------------------------- internals

  /** The row's head columns (HEAD_COLUMNS order), remembered or read in raw mode. */
  private readHead(id: string): unknown[] | undefined {
    const now = performance.now();
    if (now - this.dataVersionCheckedAt >= DATA_VERSION_CHECK_MS) {
      this.dataVersionCheckedAt = now;
      this.dataVersionStmt ??= this.db.prepare(`PRAGMA data_version`).pluck();
      const version = this.dataVersionStmt.get() as number;
      if (version !== this.dataVersion) {
        // Another connection committed since the last check: any remembered head may be stale.
        this.heads.clear();
        this.dataVersion = version;
      }
    }
    let values = this.heads.get(id);
    if (values === undefined) {
      this.headStmt ??= this.db.prepare(`SELECT ${HEAD_COLUMNS} FROM jobs WHERE id = ?`).raw(true);
      values = this.headStmt.get(id) as unknown[] | undefined;
      if (values === undefined) return undefined;
      if (this.heads.size >= MAX_REMEMBERED_HEADS) this.heads.clear();
      this.heads.set(id, values);
    }
    return values;
  }

  /** Drops the remembered head of a job whose row this queue is writing (call it with every write of the row). */
  private forget(id: string): void {
    this.heads.delete(id);
  }

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private row(id: string): Row | undefined {
    return this.stmt(`SELECT * FROM jobs WHERE id = ?`).get(id) as Row | undefined;
  }

  private holds(id: string, workerId: string): boolean {
    const row = this.stmt(`SELECT worker_id, status FROM jobs WHERE id = ?`).get(id) as { worker_id: string | null; status: string } | undefined;
    return row?.status === "IN_PROGRESS" && row.worker_id === workerId;
  }

  private finishRow(id: string, outcome: string, result: string | null, failure: JobFailure | null, inferenceTime: number | null): void {
    const now = Date.now();
    this.forget(id);
    this.stmt(
        `UPDATE jobs SET status = 'COMPLETED', outcome = ?, result = ?, failure = ?, inference_time = ?, finished_at = ?,
           worker_id = NULL, lease_until = NULL, webhook_next_at = CASE WHEN webhook_url IS NULL THEN NULL ELSE ? END,
           version = version + 1 WHERE id = ?`,
      )
      .run(outcome, result, failure === null ? null : JSON.stringify(failure), inferenceTime, now, now, id);
  }

  /** Adds a log line inside the caller's transaction; false when the job does not exist. */
  private insertLog(id: string, message: string, level: LogLevel): boolean {
    this.forget(id);
    const row = this.stmt(`UPDATE jobs SET log_count = log_count + 1, version = version + 1 WHERE id = ? RETURNING log_count`)
      .get(id) as { log_count: number } | undefined;
    if (!row) return false;
    this.stmt(`INSERT INTO job_logs (job_id, n, level, message, ts) VALUES (?, ?, ?, ?, ?)`).run(id, row.log_count, level, message, Date.now());
    return true;
  }

  /** A cheap summary that changes whenever the job or its queue position does. */
  private fingerprint(id: string): string {
    try {
      const row = this.stmt(`SELECT version, status, seq FROM jobs WHERE id = ?`).get(id) as { version: number; status: string; seq: number } | undefined;
      if (!row) return "none";
      if (row.status !== "IN_QUEUE") return `${row.version}`;
      const { n } = this.stmt(`SELECT COUNT(*) AS n FROM jobs WHERE status = 'IN_QUEUE' AND seq < ?`).get(row.seq) as { n: number };
      return `${row.version}:${n}`;
    } catch {
      return "error";
    }
  }

  /** Tells subscribers; `moved` when queue positions or claimability may have changed. */
  private changed(id: string, moved: boolean): void {
    if (moved) {
      this.events.emit("queue");
      this.events.emit("claimable");
    } else {
      this.events.emit("job", id);
    }
  }
}

export function cancelledFailure(message = "The request was cancelled."): JobFailure {
  return { status: 499, body: { detail: message, error_type: "client_cancelled" }, message, errorType: "client_cancelled" };
}
