/**
 * The worker loop: `concurrency` slots, each claiming the next job, running it through the JobRunner
 * with a JobContext (AbortSignal, log, progress), and ending it as COMPLETED with the output, a failure,
 * or cancelled. Progress lands in the status logs ("rendered 50/145 frames", every 10 %).
 * Cancellation aborts the run's signal at once (in-process subscribers; heartbeats catch other processes).
 * stop() aborts running jobs and gives them back to the queue, so a restart runs them again.
 *
 * @example
 *   const worker = startWorker({ queue, runner, concurrency: config.workerConcurrency, logger });
 *   await worker.stop();
 */
import type { Logger } from "pino";
import { findEndpoint, VideoOutput } from "../api/endpoints.js";
import { failureFromError } from "../api/errors.js";
import { CancelledError } from "../errors.js";
import type { JobContext } from "../media/types.js";
import type { JobRunner } from "../pipeline/types.js";
import { workerId as makeWorkerId } from "./identity.js";
import { cancelledFailure } from "./sqlite.js";
import type { Job, JobQueue, LogLevel } from "./types.js";
import { startWebhookDispatcher, type WebhookDispatcherOptions, type WebhookDispatcher } from "./webhook.js";

export interface WorkerOptions {
  queue: JobQueue;
  runner: JobRunner;
  concurrency: number;
  logger: Logger;
  /** Base of the slots' worker ids. Default "<hostname>:<pid>:<token>". */
  workerId?: (slot: number) => string;
  /** How often an idle slot looks for work without being woken. Default 1000 ms. */
  pollMs?: number;
  /** Lease renewal and cross-process cancel check. Default 1000 ms. */
  heartbeatMs?: number;
  /** How often to re-queue jobs whose worker died. Default 5000 ms. */
  recoverEveryMs?: number;
  /** Attempts before a job that keeps killing its worker fails. Default 3. */
  maxAttempts?: number;
  /** How long stop() waits for aborted runs to return. Default 10 s. */
  stopTimeoutMs?: number;
  /**
   * Completion webhooks: how to sign and send them (the signing key, allowPrivateUrls, retry delays).
   * Without it this worker sends none (another process may; deliveries wait in the queue).
   */
  webhooks?: Omit<WebhookDispatcherOptions, "queue" | "logger">;
}

export interface Worker {
  /** Jobs running now. */
  readonly active: number;
  stop(): Promise<void>;
}

type StopReason = "cancel" | "shutdown" | "lost";
const LEVELS: Record<string, LogLevel> = { info: "INFO", warn: "WARN", error: "ERROR", debug: "DEBUG" };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function startWorker(options: WorkerOptions): Worker {
  const { queue, runner, logger } = options;
  const pollMs = options.pollMs ?? 1000;
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const maxAttempts = options.maxAttempts ?? 3;
  const idOf = options.workerId ?? ((slot: number) => makeWorkerId(slot));
  const running = new Map<string, (reason: StopReason) => void>();
  let stopped = false;
  let wakers: (() => void)[] = [];

  const wake = () => {
    const w = wakers;
    wakers = [];
    for (const f of w) f();
  };
  const offClaimable = queue.onClaimable(wake);
  const idle = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, pollMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      wakers.push(done);
    });

  const recover = async () => {
    try {
      const n = await queue.recover({ maxAttempts });
      if (n > 0) logger.warn({ requeued: n }, "re-queued requests whose worker stopped");
    } catch (err) {
      if (!stopped) logger.error({ err }, "recovering jobs failed");
    }
  };

  let webhooks: WebhookDispatcher | undefined;

  async function runJob(job: Job, slotId: string): Promise<void> {
    const log = logger.child({ requestId: job.id, endpoint: job.endpointId });
    const controller = new AbortController();
    let reason: StopReason | undefined;
    const abort = (why: StopReason) => {
      if (reason) return;
      reason = why;
      controller.abort(new CancelledError(why === "cancel" ? "The request was cancelled." : "The worker is stopping."));
    };
    running.set(job.id, abort);
    const unsubscribe = queue.subscribe(job.id, () => {
      void queue.get(job.id).then((j) => j?.cancelRequested && abort("cancel"), () => undefined);
    });
    const heartbeat = setInterval(() => {
      queue.heartbeat(job.id, slotId).then(
        (h) => (!h.owned ? abort("lost") : h.cancelRequested ? abort("cancel") : undefined),
        (err: unknown) => log.warn({ err }, "heartbeat failed"),
      );
    }, heartbeatMs);
    if (job.cancelRequested) abort("cancel");

    const appendLog = (message: string, level: LogLevel = "INFO") =>
      queue.appendLog(job.id, message, level).catch((err: unknown) => log.warn({ err }, "could not store a log line"));
    let lastDecile = -1;
    const ctx: JobContext = {
      signal: controller.signal,
      log: (message, level = "info") => void appendLog(message, LEVELS[level] ?? "INFO"),
      progress: (done, total) => {
        void queue.progress(job.id, done, total).catch(() => undefined);
        const decile = total > 0 ? Math.min(10, Math.floor((done * 10) / total)) : 0;
        if (decile > lastDecile) {
          lastDecile = decile;
          void appendLog(`rendered ${done}/${total} frames`);
        }
      },
    };

    const started = performance.now();
    let result: unknown;
    let error: unknown;
    try {
      const endpoint = findEndpoint(job.endpointId);
      if (!endpoint) throw new Error(`Unknown endpoint ${job.endpointId}`);
      await appendLog(job.attempts > 1 ? `Started again (attempt ${job.attempts}).` : "Started.");
      log.info({ attempt: job.attempts }, "request started");
      result = await runner({ requestId: job.id, endpoint, input: job.input }, ctx);
      const valid = VideoOutput.safeParse(result);
      if (!valid.success) throw new Error(`the pipeline returned an invalid output (${valid.error.issues[0]?.message ?? "?"})`);
    } catch (err) {
      error = err;
    } finally {
      clearInterval(heartbeat);
      unsubscribe();
      running.delete(job.id);
    }
    const seconds = Math.round((performance.now() - started)) / 1000;

    if (reason === "shutdown") {
      await queue.release(job.id, slotId);
      log.info("request given back to the queue (worker stopping)");
      return;
    }
    if (reason === "lost") {
      log.warn("lost the lease on this request; another worker runs it");
      return;
    }
    let finished: boolean;
    if (reason === "cancel" || (error instanceof CancelledError && controller.signal.aborted)) {
      await appendLog(`Cancelled after ${seconds.toFixed(1)} s.`);
      finished = await queue.fail(job.id, slotId, cancelledFailure(), { cancelled: true, inferenceTime: seconds });
      log.info("request cancelled");
    } else if (error !== undefined) {
      const failure = failureFromError(error, job.id);
      await appendLog(`Failed: ${failure.message}`, "ERROR");
      finished = await queue.fail(job.id, slotId, failure, { inferenceTime: seconds });
      if (failure.status >= 500) log.error({ err: error }, "request failed");
      else log.info({ status: failure.status, detail: failure.message }, "request rejected by the pipeline");
    } else {
      await appendLog(`Completed in ${seconds.toFixed(1)} s.`);
      finished = await queue.complete(job.id, slotId, result, seconds);
      log.info({ seconds }, "request completed");
    }
    if (finished && job.webhookUrl) webhooks?.kick();
  }

  async function slot(index: number): Promise<void> {
    const slotId = idOf(index);
    while (!stopped) {
      let job: Job | undefined;
      try {
        job = await queue.claim(slotId);
      } catch (err) {
        if (stopped) return;
        logger.error({ err }, "claiming a job failed");
        await sleep(pollMs);
        continue;
      }
      if (!job) {
        await idle();
        continue;
      }
      try {
        await runJob(job, slotId);
      } catch (err) {
        logger.error({ err, requestId: job.id }, "worker error");
      }
    }
  }

  const recoverTimer = setInterval(() => void recover(), options.recoverEveryMs ?? 5000);
  recoverTimer.unref();
  const slots = (async () => {
    await recover();
    if (options.webhooks && !stopped) webhooks = startWebhookDispatcher({ ...options.webhooks, queue, logger });
    await Promise.all(Array.from({ length: Math.max(0, options.concurrency) }, (_, i) => slot(i)));
  })();

  return {
    get active() {
      return running.size;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(recoverTimer);
      offClaimable();
      wake();
      for (const abort of running.values()) abort("shutdown");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([slots, new Promise<void>((r) => (timer = setTimeout(r, options.stopTimeoutMs ?? 10_000)))]);
      clearTimeout(timer);
      await webhooks?.stop();
    },
  };
}
