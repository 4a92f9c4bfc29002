/**
 * Admits one request to the queue: known endpoint, valid input (422 otherwise), optional webhook, file
 * URLs that point at this server rewritten to storage's own, owner = the caller.
 *
 * @example
 *   const job = await acceptRequest(ctx, request, "fal-ai/ai-avatar");
 */
import type { FastifyRequest } from "fastify";
import { NotFoundError } from "../errors.js";
import type { Job } from "../queue/types.js";
import { ENDPOINTS, findEndpoint } from "./endpoints.js";
import { toStorageUrls, type ServerContext } from "./context.js";
import { parseInput, parseWebhook } from "./validate.js";

export function unknownEndpoint(endpointId: string): NotFoundError {
  return new NotFoundError(`Endpoint '${endpointId}' not found. This server runs: ${ENDPOINTS.map((e) => e.id).join(", ")}.`);
}

/** Answered 429: the caller already has as many unfinished requests as config.maxQueuedPerKey allows. */
export class QueueFullError extends Error {
  readonly statusCode = 429;
  constructor(readonly cap: number) {
    super(`Too many unfinished requests: this API key already has ${cap} queued or running (MOUTHPIECE_MAX_QUEUED_PER_KEY); wait for some to complete, or cancel some, then submit again.`);
    this.name = "QueueFullError";
  }
}

/**
 * Refuses a submission when the owner has config.maxQueuedPerKey unfinished requests: exactly with the
 * queue's countUnfinished, else counted among the owner's newest 2 x cap requests (listByOwner), which holds
 * every unfinished one unless the owner finished more than `cap` requests newer than an older unfinished one.
 */
export async function checkQueueCap(ctx: ServerContext, owner: string): Promise<void> {
  const cap = ctx.config.maxQueuedPerKey;
  if (cap <= 0) return;
  let open = 0;
  if (ctx.queue.countUnfinished) {
    open = await ctx.queue.countUnfinished(owner);
  } else {
    for (const job of await ctx.queue.listByOwner(owner, cap * 2)) if (job.status !== "COMPLETED") open++;
  }
  if (open >= cap) throw new QueueFullError(cap);
}

export async function acceptRequest(ctx: ServerContext, request: FastifyRequest, endpointId: string): Promise<Job> {
  const endpoint = findEndpoint(endpointId);
  if (!endpoint) throw unknownEndpoint(endpointId);
  const query = request.query as Record<string, unknown>;
  const webhookUrl = parseWebhook(query.fal_webhook, { allowPrivate: ctx.config.allowPrivateUrls });
  const input = toStorageUrls(ctx, request, parseInput(endpoint, request.body));
  const owner = request.principal!.owner;
  await checkQueueCap(ctx, owner);
  const job = await ctx.queue.submit({ endpointId: endpoint.id, owner, input, webhookUrl });
  request.log.info({ requestId: job.id, endpoint: endpoint.id }, "request queued");
  return job;
}
