/**
 * fal's queue API:
 *   POST /queue/{endpoint_id}[?fal_webhook=URL]         → 200 {status: "IN_QUEUE", request_id, *_url, queue_position}
 *   GET  /queue/{app}/requests/{id}/status[?logs=1]     → 202 while IN_QUEUE / IN_PROGRESS, 200 when COMPLETED
 *   GET  /queue/{app}/requests/{id}                     → the output (or the failure's status and body)
 *   PUT  /queue/{app}/requests/{id}/cancel              → 202 CANCELLATION_REQUESTED | 400 ALREADY_COMPLETED | 404 NOT_FOUND
 * {app} is owner/alias (what the official client sends, e.g. fal-ai/ai-avatar for fal-ai/ai-avatar/multi-text)
 * or the full endpoint id. The status stream (…/status/stream) lives in stream.ts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { acceptRequest } from "../accept.js";
import { findOwnJob, pollLogLevel, toCallerUrls, type ServerContext } from "../context.js";
import { sendHttpError } from "../errors.js";
import { QueueStatus } from "../openapi.js";
import { statusBody } from "../status.js";
import { queueUrls } from "../urls.js";
import { streamStatus } from "./stream.js";

export type QueueAction = "result" | "status" | "stream" | "cancel";

/** Splits "<app>/requests/<id>[/status[/stream]|/cancel]". */
export function parseRequestPath(rest: string): { app: string; requestId: string; action: QueueAction } | undefined {
  const m = /^(.+?)\/requests\/([^/]+)(\/status(\/stream)?|\/cancel)?\/?$/.exec(rest);
  if (!m) return undefined;
  const action: QueueAction = m[4] ? "stream" : m[3] === "/status" ? "status" : m[3] === "/cancel" ? "cancel" : "result";
  return { app: m[1], requestId: m[2], action };
}

const wantsLogs = (request: FastifyRequest) => {
  const v = (request.query as Record<string, unknown>).logs;
  return v === "1" || v === "true";
};

/**
 * GET …/status: the job's status object, 202 until COMPLETED, then 200. The most frequent request of all (clients
 * poll it), so it has its own routes (path parameters, no regular expression) with a response schema: Fastify
 * serializes the body with a compiled serializer instead of JSON.stringify.
 */
async function answerStatus(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply, appPath: string, requestId: string) {
  const job = await findOwnJob(ctx, request, appPath, requestId);
  if (!job) return requestNotFound(reply, requestId);
  reply.header("x-fal-request-id", job.id);
  const body = await statusBody(ctx.queue, job, queueUrls(request, ctx.config, job.endpointId, job.id), { logs: wantsLogs(request) });
  return reply.code(job.status === "COMPLETED" ? 200 : 202).send(body);
}

export function registerQueueRoutes(app: FastifyInstance, ctx: ServerContext): void {
  // {app} is owner/alias or a full endpoint id of three segments (e.g. fal-ai/infinitalk/single-text).
  const statusRoute = { logLevel: pollLogLevel(ctx.logger), schema: { response: { 200: QueueStatus, 202: QueueStatus } } };
  type AppParams = { owner: string; alias: string; sub?: string; requestId: string };
  const appPath = (p: AppParams) => (p.sub === undefined ? `${p.owner}/${p.alias}` : `${p.owner}/${p.alias}/${p.sub}`);
  for (const path of ["/queue/:owner/:alias/requests/:requestId/status", "/queue/:owner/:alias/:sub/requests/:requestId/status"]) {
    app.get<{ Params: AppParams }>(path, statusRoute, (request, reply) => answerStatus(ctx, request, reply, appPath(request.params), request.params.requestId));
  }

  app.post("/queue/*", async (request, reply) => {
    const endpointId = (request.params as { "*": string })["*"].replace(/\/+$/, "");
    const job = await acceptRequest(ctx, request, endpointId);
    const body = await statusBody(ctx.queue, job, queueUrls(request, ctx.config, job.endpointId, job.id), { logs: false });
    const { logs: _logs, ...rest } = body;
    reply.header("x-fal-request-id", job.id);
    return reply.code(200).send(rest);
  });

  app.get("/queue/*", async (request, reply) => {
    const parsed = parseRequestPath((request.params as { "*": string })["*"]);
    if (!parsed || parsed.action === "cancel") return notFound(reply, request);
    // (Status paths the routes above do not take, e.g. with a trailing slash.)
    if (parsed.action === "status") return answerStatus(ctx, request, reply, parsed.app, parsed.requestId);
    const job = await findOwnJob(ctx, request, parsed.app, parsed.requestId);
    if (!job) return requestNotFound(reply, parsed.requestId);
    reply.header("x-fal-request-id", job.id);
    const urls = queueUrls(request, ctx.config, job.endpointId, job.id);
    if (parsed.action === "stream") return streamStatus(ctx, request, reply, job, urls, wantsLogs(request));
    // result
    if (job.status !== "COMPLETED") {
      return sendHttpError(reply, {
        status: 400,
        body: { detail: `Request is still in progress (${job.status}); poll its status_url until COMPLETED, then fetch the result.` },
        message: "still in progress",
      });
    }
    if (job.outcome === "OK") return reply.code(200).send(toCallerUrls(ctx, request, (await ctx.queue.get(job.id))?.result));
    const failure = job.failure!;
    return sendHttpError(reply, { status: failure.status, body: failure.body as { detail: unknown }, message: failure.message, errorType: failure.errorType });
  });

  app.put("/queue/*", async (request, reply) => {
    const parsed = parseRequestPath((request.params as { "*": string })["*"]);
    if (!parsed || parsed.action !== "cancel") return notFound(reply, request);
    const job = await findOwnJob(ctx, request, parsed.app, parsed.requestId);
    if (!job) return reply.code(404).send({ status: "NOT_FOUND" });
    reply.header("x-fal-request-id", job.id);
    const result = await ctx.queue.cancel(job.id);
    if (result === "CANCELLATION_REQUESTED") request.log.info({ requestId: job.id }, "cancellation requested");
    const code = result === "CANCELLATION_REQUESTED" ? 202 : result === "ALREADY_COMPLETED" ? 400 : 404;
    return reply.code(code).send({ status: result });
  });
}

/** 404 for a request id that does not exist or is not the caller's (the two look the same). */
function requestNotFound(reply: FastifyReply, requestId: string) {
  return sendHttpError(reply, { status: 404, body: { detail: `Request ${requestId} not found.` }, message: "not found" });
}

function notFound(reply: FastifyReply, request: FastifyRequest) {
  return sendHttpError(reply, {
    status: 404,
    body: { detail: `Not found: ${request.method} ${request.url.split("?")[0]}. Queue routes: POST /queue/{endpoint_id}, GET …/requests/{id}[/status[/stream]], PUT …/requests/{id}/cancel.` },
    message: "not found",
  });
}
