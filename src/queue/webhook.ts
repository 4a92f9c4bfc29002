/**
 * The completion webhook: when a request was submitted with ?fal_webhook=URL, POST once
 *   {request_id, gateway_request_id, status: "OK" | "ERROR", payload, error}
 * where payload is the output (OK) or the failure's body (ERROR), error a one-line reason (ERROR only).
 * One attempt with a 10 s timeout for now (signing and retries come later).
 *
 * @example
 *   await deliverWebhook(job, { fetch, logger });
 */
import type { Logger } from "pino";
import type { Job } from "./types.js";

export interface WebhookBody {
  request_id: string;
  gateway_request_id: string;
  status: "OK" | "ERROR";
  payload: unknown;
  error: string | null;
}

export function webhookBody(job: Job): WebhookBody {
  const ok = job.outcome === "OK";
  return {
    request_id: job.id,
    gateway_request_id: job.id,
    status: ok ? "OK" : "ERROR",
    payload: ok ? job.result : job.failure?.body ?? null,
    error: ok ? null : job.failure?.message ?? "The request did not complete.",
  };
}

/** Sends the webhook; resolves true when the receiver answered 2xx. Never throws. */
export async function deliverWebhook(job: Job, deps: { fetch?: typeof fetch; logger: Logger; timeoutMs?: number }): Promise<boolean> {
  if (!job.webhookUrl) return false;
  const doFetch = deps.fetch ?? fetch;
  try {
    const res = await doFetch(job.webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "mouthpiece-webhook/0.1", "x-fal-request-id": job.id },
      body: JSON.stringify(webhookBody(job)),
      signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000),
    });
    await res.body?.cancel().catch(() => undefined);
    if (!res.ok) deps.logger.warn({ requestId: job.id, status: res.status }, "webhook receiver answered an error");
    return res.ok;
  } catch (err) {
    deps.logger.warn({ requestId: job.id, err: (err as Error).message }, "webhook delivery failed");
    return false;
  }
}
