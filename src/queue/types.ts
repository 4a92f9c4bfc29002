/**
 * The job queue in domain verbs: the API side (submit, get, position, cancel, logs, subscribe) and the
 * worker side (claim, heartbeat, appendLog, progress, complete, fail, release, recover).
 * SQLite (sqlite.ts, embedded, default) implements it today; a BullMQ/Redis one can tomorrow, held to
 * the same contract tests (test/queue/contract.ts).
 *
 * @example
 *   const job = await queue.submit({ endpointId: "fal-ai/ai-avatar", owner: "local", input });
 *   const stop = queue.subscribe(job.id, () => refresh());
 */

/** fal's three queue states. A cancelled or failed request is COMPLETED with an outcome. */
export type JobStatus = "IN_QUEUE" | "IN_PROGRESS" | "COMPLETED";
export type JobOutcome = "OK" | "ERROR" | "CANCELLED";
export type LogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR";

/** One log line, in the shape fal's status answers carry. */
export interface JobLog {
  message: string;
  level: LogLevel;
  source: "USER";
  /** ISO 8601. */
  timestamp: string;
}

/** Why a request did not produce output: the HTTP status and JSON body its result route answers with. */
export interface JobFailure {
  status: number;
  body: unknown;
  /** A one-line summary (status answers' `error`, webhooks' `error`). */
  message: string;
  /** fal's machine-readable category, e.g. "client_cancelled", "runner_server_error". */
  errorType?: string;
}

export interface Job {
  id: string;
  endpointId: string;
  /** Who submitted it ("key:<id>", "env:<hash>", "local"); only they can see it. */
  owner: string;
  input: Record<string, unknown>;
  webhookUrl?: string;
  status: JobStatus;
  /** Set once COMPLETED. */
  outcome?: JobOutcome;
  /** The endpoint's output JSON (outcome OK). */
  result?: unknown;
  /** outcome ERROR or CANCELLED. */
  failure?: JobFailure;
  cancelRequested: boolean;
  /** How many times a worker started it (more than 1 after a crash). */
  attempts: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Seconds the last attempt ran (COMPLETED only). */
  inferenceTime?: number;
  progress?: { done: number; total: number };
  /** How many log lines the job has. */
  logCount: number;
  /**
   * The completion webhook (jobs with a webhookUrl): undefined while a delivery is still to be made,
   * "sent" once the receiver answered 2xx, "failed" once every retry failed.
   */
  webhookState?: "sent" | "failed";
  /** Delivery attempts made so far (0 until the first). */
  webhookAttempts: number;
  /** When the next delivery attempt is due (ISO 8601); set only while a delivery is pending. */
  webhookNextAttemptAt?: string;
  /** Why the last attempt failed, e.g. "receiver answered 503". */
  webhookError?: string;
}

/** A job without its payloads. */
export type JobHead = Omit<Job, "input" | "result">;

/** The outcome of one webhook delivery attempt (see JobQueue.recordWebhookAttempt). */
export interface WebhookAttempt {
  ok: boolean;
  /** Failed attempts only: when to try again (epoch ms). Omitted: give up (webhookState "failed"). */
  nextAttemptAt?: number;
  /** Failed attempts only: a one-line reason, kept as webhookError. */
  error?: string;
}

export interface SubmitRequest {
  endpointId: string;
  owner: string;
  input: Record<string, unknown>;
  webhookUrl?: string;
}

export type CancelResult = "CANCELLATION_REQUESTED" | "ALREADY_COMPLETED" | "NOT_FOUND";

export interface Heartbeat {
  /** False when this worker no longer holds the job (its lease expired and it was re-queued). */
  owned: boolean;
  cancelRequested: boolean;
}

export interface JobQueue {
  // ---- API side ----
  submit(request: SubmitRequest): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  /**
   * The job without its payloads (input, result): what a status poll, a status stream or a cancel needs. Cheaper
   * than get, and it never reads a data-URI input of many megabytes.
   */
  head(id: string): Promise<JobHead | undefined>;
  /** Requests ahead of this one (0 = next to run), or undefined unless it is IN_QUEUE. */
  position(id: string): Promise<number | undefined>;
  /** Queued: ends it at once as CANCELLED. Running: flags it; the worker aborts the run. */
  cancel(id: string): Promise<CancelResult>;
  /** Log lines after the first `after` ones (all by default), oldest first. */
  logs(id: string, after?: number): Promise<JobLog[]>;
  /** An owner's requests, newest first (the playground's history). */
  listByOwner(owner: string, limit?: number): Promise<Job[]>;
  /**
   * Optional: how many of an owner's requests are not COMPLETED (the per-key cap on submissions). Without it
   * the API counts among listByOwner(owner, 2 x cap), which is slower and approximate.
   */
  countUnfinished?(owner: string): Promise<number>;
  /**
   * Calls `listener` after anything that may change this job's status, position or logs (also other
   * jobs' moves, which shift positions). Listeners re-read what they need. Returns an unsubscribe function.
   */
  subscribe(id: string, listener: () => void): () => void;

  // ---- worker side ----
  /** Takes the oldest queued job (re-queued ones keep their place) and leases it to `workerId`. */
  claim(workerId: string): Promise<Job | undefined>;
  /** Extends the lease; reports cancellation and lost ownership. */
  heartbeat(id: string, workerId: string): Promise<Heartbeat>;
  appendLog(id: string, message: string, level?: LogLevel): Promise<void>;
  progress(id: string, done: number, total: number): Promise<void>;
  /** Ends the job with output; false when this worker no longer holds it. */
  complete(id: string, workerId: string, result: unknown, inferenceTime: number): Promise<boolean>;
  /** Ends the job with a failure (outcome ERROR, or CANCELLED when `cancelled`). */
  fail(id: string, workerId: string, failure: JobFailure, options?: { cancelled?: boolean; inferenceTime?: number }): Promise<boolean>;
  /** Gives a running job back to the queue, in its old place (a worker shutting down). */
  release(id: string, workerId: string): Promise<void>;
  /**
   * Re-queues jobs whose worker is gone (its lease expired, or its process on this host died);
   * fails those that already took `maxAttempts` attempts. Returns how many were re-queued.
   */
  recover(options?: { maxAttempts?: number }): Promise<number>;
  /** Calls `listener` when a job becomes claimable (to wake idle workers). */
  onClaimable(listener: () => void): () => void;

  // ---- webhook deliveries (persisted: a restart drops none) ----
  /**
   * Claims the webhook deliveries that are due at `now` (epoch ms), oldest due first, at most `limit`
   * (default 20). A job's delivery becomes due the moment it is COMPLETED (any outcome: OK, ERROR,
   * CANCELLED, or failed by recover) if it has a webhookUrl; it stays pending until recordWebhookAttempt
   * says it was sent or given up. Claiming pushes each claimed delivery's next attempt to now + leaseMs
   * (default 60 s), so a second poller (another process) does not send it at the same time, and a
   * sender that dies mid-delivery leaves it due again once the lease runs out.
   */
  claimDueWebhooks(now: number, options?: { limit?: number; leaseMs?: number }): Promise<Job[]>;
  /**
   * Records one delivery attempt: counts it (webhookAttempts + 1); ok -> webhookState "sent" (never due
   * again); failed with nextAttemptAt -> due again at that time, error kept in webhookError; failed
   * without nextAttemptAt -> webhookState "failed" (never due again). Unknown ids are ignored.
   */
  recordWebhookAttempt(id: string, attempt: WebhookAttempt): Promise<void>;

  // ---- retention (queue/retention.ts) ----
  /**
   * Deletes at most `limit` (default 500) requests that finished before `before` (epoch ms), oldest first, each
   * with its logs, so that get, head and logs no longer know them; returns how many. Requests that still owe a
   * webhook delivery are kept until it is sent or given up; queued and running ones are never touched.
   */
  purgeFinished(before: number, limit?: number): Promise<number>;
  close(): Promise<void>;
}
