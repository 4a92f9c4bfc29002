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

export async function acceptRequest(ctx: ServerContext, request: FastifyRequest, endpointId: string): Promise<Job> {
  const endpoint = findEndpoint(endpointId);
  if (!endpoint) throw unknownEndpoint(endpointId);
  const query = request.query as Record<string, unknown>;
  const webhookUrl = parseWebhook(query.fal_webhook);
  const input = toStorageUrls(ctx, request, parseInput(endpoint, request.body));
  const job = await ctx.queue.submit({ endpointId: endpoint.id, owner: request.principal!.owner, input, webhookUrl });
  request.log.info({ requestId: job.id, endpoint: endpoint.id }, "request queued");
  return job;
}
