/**
 * GET /queue/{app}/requests/{id}/status/stream[?logs=1] — Server-Sent Events: one `data: {status json}`
 * event per change (status, queue position, new log lines), a `: keep-alive` comment every 15 s, and the
 * stream ends right after the COMPLETED event. With logs, each event carries only the lines that are new
 * since the previous event (the official client concatenates them); the first event carries all so far.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { JobHead } from "../../queue/types.js";
import type { ServerContext } from "../context.js";
import { statusBody } from "../status.js";
import type { QueueUrls } from "../urls.js";

export async function streamStatus(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  job: JobHead,
  urls: QueueUrls,
  logs: boolean,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
    "x-fal-request-id": job.id,
  });
  res.flushHeaders();

  let closed = false;
  let logsSent = 0;
  let last = "";
  let running = false;
  let again = false;

  const close = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    clearInterval(keepAlive);
    ctx.openStreams.delete(close);
    if (!res.writableEnded) res.end();
  };

  const send = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        if (closed) return;
        const current = await ctx.queue.head(job.id);
        if (!current) return close();
        const body = await statusBody(ctx.queue, current, urls, { logs, logsAfter: logsSent });
        const key = `${body.status}:${body.queue_position ?? ""}`;
        const newLogs = body.logs?.length ?? 0;
        if (key !== last || newLogs > 0 || last === "") {
          last = key;
          logsSent += newLogs;
          res.write(`data: ${JSON.stringify(body)}\n\n`);
        }
        if (current.status === "COMPLETED") return close();
      } while (again);
    } catch (err) {
      request.log.error({ err }, "status stream failed");
      close();
    } finally {
      running = false;
    }
  };

  const unsubscribe = ctx.queue.subscribe(job.id, () => void send());
  const keepAlive = setInterval(() => {
    if (!closed) res.write(": keep-alive\n\n");
  }, ctx.sseKeepAliveMs);
  res.on("close", close);
  ctx.openStreams.add(close);
  await send();
}
