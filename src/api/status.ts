/**
 * fal's status object for a job: {status, request_id, response_url, status_url, cancel_url} plus
 * queue_position (IN_QUEUE), logs (when asked for, else null) and, once COMPLETED, metrics.inference_time
 * and — for a failed or cancelled request — `error` and `error_type`.
 *
 * @example
 *   const body = await statusBody(queue, job, urls, { logs: true });
 */
import type { Job, JobHead, JobLog, JobQueue } from "../queue/types.js";
import type { QueueUrls } from "./urls.js";

export interface StatusBody extends QueueUrls {
  status: Job["status"];
  request_id: string;
  queue_position?: number;
  logs: JobLog[] | null;
  metrics?: { inference_time: number | null };
  error?: string;
  error_type?: string;
}

export interface StatusOptions {
  /** Include logs. */
  logs: boolean;
  /** Only log lines after this many (the SSE stream sends each line once). */
  logsAfter?: number;
}

export async function statusBody(queue: JobQueue, job: JobHead, urls: QueueUrls, options: StatusOptions): Promise<StatusBody> {
  const body: StatusBody = { status: job.status, request_id: job.id, ...urls, logs: null };
  if (job.status === "IN_QUEUE") {
    const position = await queue.position(job.id);
    // Claimed between the two reads: report it as next rather than omitting the field.
    body.queue_position = position ?? 0;
  }
  if (options.logs) body.logs = await queue.logs(job.id, options.logsAfter ?? 0);
  if (job.status === "COMPLETED") {
    body.metrics = { inference_time: job.inferenceTime ?? null };
    if (job.outcome !== "OK" && job.failure) {
      body.error = job.failure.message;
      if (job.failure.errorType) body.error_type = job.failure.errorType;
    }
  }
  return body;
}
