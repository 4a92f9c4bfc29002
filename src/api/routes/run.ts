/**
 * POST /{endpoint_id} — fal.run semantics: the request goes through the same queue (so renders never
 * exceed the worker's concurrency) and the answer waits for it: 200 with the output, or the failure's
 * status and body (e.g. 422 {detail: [...]}). If the caller hangs up first, the request is cancelled
 * (as fal does for direct connections). Header x-fal-request-id names the request.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import type { Job } from "../../queue/types.js";
import { acceptRequest } from "../accept.js";
import { toCallerUrls, type ServerContext } from "../context.js";
import { sendHttpError } from "../errors.js";

/** Resolves with the completed job, or undefined when the caller left or the server is closing. */
export function waitForCompletion(ctx: ServerContext, id: string, reply: FastifyReply): Promise<Job | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (job: Job | undefined) => {
      if (settled) return;
      settled = true;
      unsubscribe();
      ctx.openStreams.delete(onShutdown);
      reply.raw.off("close", onClose);
      resolve(job);
    };
    const check = async () => {
      try {
        const job = await ctx.queue.get(id);
        if (job?.status === "COMPLETED") finish(job);
      } catch (err) {
        reply.log.error({ err }, "waiting for a request failed");
      }
    };
    const onClose = () => {
      if (settled || reply.raw.writableFinished) return;
      reply.log.info({ requestId: id }, "caller disconnected; cancelling the request");
      void ctx.queue.cancel(id).catch(() => undefined);
      finish(undefined);
    };
    const onShutdown = () => finish(undefined);
    const unsubscribe = ctx.queue.subscribe(id, () => void check());
    ctx.openStreams.add(onShutdown);
    reply.raw.on("close", onClose);
    void check();
  });
}

export function registerRunRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post("/*", async (request, reply) => {
    const endpointId = (request.params as { "*": string })["*"].replace(/\/+$/, "");
    const job = await acceptRequest(ctx, request, endpointId);
    reply.header("x-fal-request-id", job.id);
    const done = await waitForCompletion(ctx, job.id, reply);
    if (!done) {
      if (reply.raw.destroyed) return reply;
      return sendHttpError(reply, {
        status: 503,
        body: { detail: `The server is shutting down; request ${job.id} stays queued. Fetch it later with GET /queue/${endpointId}/requests/${job.id}.` },
        message: "shutting down",
      });
    }
    if (done.outcome === "OK") return reply.code(200).send(toCallerUrls(ctx, request, done.result));
    const f = done.failure!;
    return sendHttpError(reply, { status: f.status, body: f.body as { detail: unknown }, message: f.message, errorType: f.errorType });
  });
}
