/**
 * The HTTP app: fal's sync, queue and storage APIs, stored files, the fal proxy route and the OpenAPI
 * document. It does not listen (the CLI does) and starts no worker (the CLI does).
 *
 * @example
 *   const app = await buildServer({ config, queue, storage, keys, logger });
 *   await app.listen({ host: config.host, port: config.port });
 */
import path from "node:path";
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { UploadSessions } from "../storage/uploads.js";
import { requireAuth } from "./auth.js";
import { pollLogLevel, type ServerContext, type ServerDeps } from "./context.js";
import { ENDPOINTS, findEndpoint } from "./endpoints.js";
import { registerErrorHandling, sendHttpError, toHttpError } from "./errors.js";
import { buildOpenApi } from "./openapi.js";
import { registerFileRoutes } from "./routes/files.js";
import { registerProxyRoutes, rewriteProxyUrl } from "./routes/proxy.js";
import { registerQueueRoutes } from "./routes/queue.js";
import { registerRunRoutes } from "./routes/run.js";
import { registerUploadDataRoutes, registerUploadInitiateRoutes } from "./routes/storage.js";
import { registerVoiceRoutes } from "./routes/voices.js";
import { jwks, loadSigningKey } from "./signing-key.js";
import { requestBase } from "./urls.js";

export type { ServerDeps } from "./context.js";

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    rewriteUrl: rewriteProxyUrl,
    forceCloseConnections: true,
    // Errors raised before routing (e.g. a malformed percent-encoding) get the same shapes as the rest.
    frameworkErrors: (error, _request, reply) => void sendHttpError(reply, toHttpError(error)),
    // Room for fal-style ids and long query strings; nothing else changes.
    routerOptions: { maxParamLength: 500 },
  });
  const ctx: ServerContext = {
    app,
    config,
    queue: deps.queue,
    storage: deps.storage,
    keys: deps.keys,
    logger: deps.logger,
    uploads: deps.uploads ?? new UploadSessions({ dataDir: config.dataDir, storage: deps.storage, maxBytes: config.uploadLimit }),
    sseKeepAliveMs: deps.sseKeepAliveMs ?? 15_000,
    openStreams: new Set(),
  };

  app.decorateRequest("principal", null);
  registerErrorHandling(app);

  // JSON bodies; an empty body (the client's PUT …/cancel sends Content-Type: application/json and no body) is no body.
  const defaultJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (String(body).trim() === "") return done(null, undefined);
    defaultJson(request, String(body), done);
  });

  app.addHook("onClose", async () => {
    for (const close of [...ctx.openStreams]) close();
  });

  for (const plugin of deps.plugins ?? []) await app.register(plugin);

  // Public: the API description, health, stored files, upload byte routes (authorized by their upload id), the proxy's own errors.
  app.get("/openapi.json", async (request, reply) => {
    const id = (request.query as Record<string, unknown>).endpoint_id;
    if (id === undefined) return buildOpenApi(ENDPOINTS, requestBase(request, config));
    const endpoint = typeof id === "string" ? findEndpoint(id) : undefined;
    if (!endpoint) {
      return sendHttpError(reply, { status: 404, body: { detail: `Endpoint '${String(id)}' not found. This server runs: ${ENDPOINTS.map((e) => e.id).join(", ")}.` }, message: "not found" });
    }
    return buildOpenApi([endpoint], requestBase(request, config));
  });
  app.get("/healthz", { logLevel: pollLogLevel(deps.logger) }, async () => ({ status: "ok" }));
  // The public key(s) that verify X-Fal-Webhook-Signature.
  const signingKey = deps.signingKey ?? (await loadSigningKey(config.dataDir, config.webhookSigningKey));
  app.get("/.well-known/jwks.json", async (_request, reply) => {
    reply.header("cache-control", "public, max-age=3600");
    return jwks(signingKey);
  });
  registerFileRoutes(app, ctx);
  registerProxyRoutes(app);
  registerUploadDataRoutes(app, ctx);
  registerVoiceRoutes(app, { config, speech: deps.speech });

  // Everything else needs a key.
  await app.register(async (secured) => {
    secured.addHook("onRequest", requireAuth({ keys: deps.keys, allowLoopbackWithoutKey: config.allowLoopbackWithoutKey }));
    // Per key (the caller authenticated above; its route-level hook runs after the scope's auth hook).
    if (config.rateLimitPerMinute > 0) {
      await secured.register(rateLimit, {
        max: config.rateLimitPerMinute,
        timeWindow: 60_000,
        keyGenerator: (request) => request.principal?.owner ?? request.ip,
        errorResponseBuilder: (_request, context) => Object.assign(
          new Error(`Rate limit exceeded: at most ${context.max} requests per minute per API key (MOUTHPIECE_RATE_LIMIT); retry in ${context.after}.`),
          { statusCode: 429 },
        ),
      });
    }
    registerUploadInitiateRoutes(secured, ctx);
    registerQueueRoutes(secured, ctx);
    registerRunRoutes(secured, ctx);
  });

  return app;
}

/** Where the embedded stores live: one SQLite file for jobs and keys. */
export function databaseFile(dataDir: string): string {
  return path.join(dataDir, "mouthpiece.db");
}
