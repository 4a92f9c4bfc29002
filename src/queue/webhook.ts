/**
 * Completion webhooks, delivered and signed the way fal does. When a request was submitted with
 * ?fal_webhook=URL, once it completes this POSTs
 *   {request_id, gateway_request_id, status: "OK" | "ERROR", payload, error}
 * (payload: the output when OK, the failure's body when ERROR; payload null and `payload_error` set when the
 * payload cannot be serialized or is too large) with the headers
 *   X-Fal-Webhook-Request-Id, X-Fal-Webhook-User-Id (the job's owner), X-Fal-Webhook-Timestamp (epoch s),
 *   X-Fal-Webhook-Signature: hex ED25519 signature of
 *     request_id + "\n" + user_id + "\n" + timestamp + "\n" + sha256_hex(raw body)
 * verifiable with the public key served at /.well-known/jwks.json.
 *
 * Deliveries live in the JobQueue (claimDueWebhooks / recordWebhookAttempt), so a restart drops none. The
 * dispatcher polls for due ones and retries failures with backoff: 10 attempts over about 2 hours
 * (FAL_RETRY_DELAYS_MS), then gives up (webhookState "failed").
 *
 * @example
 *   const dispatcher = startWebhookDispatcher({ queue, logger, sender: { signingKey, allowPrivateUrls } });
 *   dispatcher.kick(); // a job just completed
 *   await dispatcher.stop();
 */
import { createHash, sign as edSign, type KeyObject } from "node:crypto";
import type { Logger } from "pino";
import { safeRequest, type SafeFetchPolicy } from "../media/safe-fetch.js";
import type { Job, JobQueue } from "./types.js";

export interface WebhookBody {
  request_id: string;
  gateway_request_id: string;
  status: "OK" | "ERROR";
  payload: unknown;
  error: string | null;
  /** Set (and payload null) when the payload could not be sent. */
  payload_error?: string;
}

/** Delays after failed attempts 1..9 (attempt 10 is the last): 15 s ... 50 min, 1 h 59 min in all. */
export const FAL_RETRY_DELAYS_MS: readonly number[] = Object.freeze([
  15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_200_000, 1_800_000, 3_000_000,
]);

/** Largest serialized payload sent; over it the webhook carries payload null and payload_error. */
export const MAX_WEBHOOK_PAYLOAD_BYTES = 10 * 1024 * 1024;

/** The webhook's JSON body, serialized (the exact bytes that are signed and sent). */
export function webhookBody(job: Job, maxPayloadBytes = MAX_WEBHOOK_PAYLOAD_BYTES): string {
  const ok = job.outcome === "OK";
  const body: WebhookBody = {
    request_id: job.id,
    gateway_request_id: job.id,
    status: ok ? "OK" : "ERROR",
    payload: null,
    error: ok ? null : job.failure?.message ?? "The request did not complete.",
  };
  const payload = ok ? job.result : job.failure?.body ?? null;
  let serialized: string | undefined;
  try {
    serialized = JSON.stringify(payload ?? null);
  } catch (err) {
    body.payload_error = `The payload could not be serialized to JSON (${(err as Error).message}); fetch the result from the response URL.`;
  }
  if (serialized !== undefined && Buffer.byteLength(serialized) > maxPayloadBytes) {
    body.payload_error = `The payload is ${Buffer.byteLength(serialized)} bytes, over the ${maxPayloadBytes}-byte webhook limit; fetch the result from the response URL.`;
    serialized = undefined;
  }
  if (serialized === undefined) return JSON.stringify(body);
  // Splice the already-serialized payload in (no second stringify of a large object).
  const head = JSON.stringify({ ...body, payload: 0 });
  const at = head.indexOf('"payload":0') + '"payload":'.length;
  return `${head.slice(0, at)}${serialized}${head.slice(at + 1)}`;
}

/** The bytes fal signs: request_id \n user_id \n timestamp \n sha256_hex(body). */
export function signedMessage(requestId: string, userId: string, timestamp: string, rawBody: string | Buffer): Buffer {
  const digest = createHash("sha256").update(rawBody).digest("hex");
  return Buffer.from(`${requestId}\n${userId}\n${timestamp}\n${digest}`, "utf8");
}

/** The X-Fal-Webhook-* headers for one delivery. */
export function webhookHeaders(job: Job, rawBody: string, privateKey: KeyObject, nowMs = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const signature = edSign(null, signedMessage(job.id, job.owner, timestamp, rawBody), privateKey).toString("hex");
  return {
    "x-fal-webhook-request-id": job.id,
    "x-fal-webhook-user-id": job.owner,
    "x-fal-webhook-timestamp": timestamp,
    "x-fal-webhook-signature": signature,
  };
}

export interface WebhookSenderOptions {
  /** The ED25519 private key (src/api/signing-key.ts keeps it in the data dir). */
  signingKey: KeyObject;
  /** Allow receivers on private/loopback addresses (config.allowPrivateUrls). Default false. */
  allowPrivateUrls?: boolean;
  /** Per attempt, connection to end of the answer. Default 10 s. */
  timeoutMs?: number;
  /** Tests: resolve host names (the same address checks apply). */
  lookup?: SafeFetchPolicy["lookup"];
}

export interface DeliveryResult {
  ok: boolean;
  /** Why it failed, e.g. "receiver answered HTTP 503". */
  error?: string;
}

/** One delivery attempt. Never throws. Redirects are not followed (a 3xx is a failure). */
export async function deliverWebhook(job: Job, options: WebhookSenderOptions): Promise<DeliveryResult> {
  if (!job.webhookUrl) return { ok: false, error: "the request has no webhook URL" };
  let url: URL;
  try {
    url = new URL(job.webhookUrl);
  } catch {
    return { ok: false, error: "the webhook URL is not a URL" };
  }
  const body = webhookBody(job);
  try {
    const res = await safeRequest(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "mouthpiece-webhook/0.2",
        ...webhookHeaders(job, body, options.signingKey),
      },
      body,
      timeoutMs: options.timeoutMs ?? 10_000,
      maxRedirects: 0,
    }, { allowPrivate: options.allowPrivateUrls ?? false, lookup: options.lookup });
    res.body.resume();
    if (res.status >= 200 && res.status < 300) return { ok: true };
    return { ok: false, error: `receiver answered HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

export interface WebhookDispatcherOptions {
  queue: JobQueue;
  logger: Logger;
  sender: WebhookSenderOptions;
  /** Delays after failed attempts; its length + 1 is the number of attempts. Default FAL_RETRY_DELAYS_MS. */
  retryDelaysMs?: readonly number[];
  /** How often to look for due deliveries (retries, other processes' completions). Default 1000 ms. */
  pollMs?: number;
  /** How long a claimed delivery is held before another poller may take it. Default 60 s. */
  leaseMs?: number;
  /** Deliveries sent at once. Default 4. */
  parallel?: number;
}

export interface WebhookDispatcher {
  /** Look for due deliveries now (a job just completed). */
  kick(): void;
  /** Stops polling and waits for deliveries in flight. */
  stop(): Promise<void>;
}

/** Polls the queue for due deliveries, sends them, records each attempt with its retry time. */
export function startWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { queue, logger } = options;
  const delays = options.retryDelaysMs ?? FAL_RETRY_DELAYS_MS;
  const parallel = options.parallel ?? 4;
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;

  async function deliverOne(job: Job): Promise<void> {
    const result = await deliverWebhook(job, options.sender);
    const attempt = job.webhookAttempts + 1;
    if (result.ok) {
      await queue.recordWebhookAttempt(job.id, { ok: true });
      logger.info({ requestId: job.id, attempt }, "webhook delivered");
      return;
    }
    const delay = delays[attempt - 1];
    if (delay === undefined) {
      await queue.recordWebhookAttempt(job.id, { ok: false, error: result.error });
      logger.warn({ requestId: job.id, attempt, err: result.error }, "webhook delivery failed; giving up");
    } else {
      await queue.recordWebhookAttempt(job.id, { ok: false, error: result.error, nextAttemptAt: Date.now() + delay });
      logger.warn({ requestId: job.id, attempt, retryInMs: delay, err: result.error }, "webhook delivery failed; will retry");
    }
  }

  async function drain(): Promise<void> {
    do {
      again = false;
      for (;;) {
        if (stopped) return;
        const due = await queue.claimDueWebhooks(Date.now(), { limit: parallel, leaseMs: options.leaseMs });
        if (due.length === 0) break;
        await Promise.all(due.map((job) => deliverOne(job).catch((err: unknown) => logger.error({ err, requestId: job.id }, "webhook bookkeeping failed"))));
      }
    } while (again && !stopped);
  }

  const kick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = drain()
      .catch((err: unknown) => {
        if (!stopped) logger.error({ err }, "webhook dispatcher failed");
      })
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(kick, options.pollMs ?? 1000);
  timer.unref();
  kick();

  return {
    kick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
