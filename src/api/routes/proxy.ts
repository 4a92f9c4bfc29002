/**
 * /api/fal/proxy — the route the official client's `proxyUrl` points at. The client sends every call
 * there with the real fal URL in `x-fal-target-url`; this server maps that URL onto its own routes
 * before routing (Fastify's rewriteUrl), so bodies, auth and SSE streams pass through untouched:
 *   https://fal.run/{endpoint_id}            → POST /{endpoint_id}
 *   https://queue.fal.run/{path}             → /queue/{path}
 *   https://rest.fal.ai/storage/{path}       → /storage/{path}
 * A missing header answers 400, a target outside those hosts 412 (as fal's own server proxy does).
 */
import type { IncomingMessage } from "node:http";
import type { FastifyInstance } from "fastify";
import { sendHttpError } from "../errors.js";
import { PROXY_PATH } from "../urls.js";

export const TARGET_URL_HEADER = "x-fal-target-url";
const UNSUPPORTED = `${PROXY_PATH}/unsupported`;

/** The local path (with query) that serves a fal target URL, or undefined when none does. */
export function localPathFor(targetUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(targetUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  const path = url.pathname.replace(/\/{2,}/g, "/");
  switch (url.hostname) {
    case "fal.run":
      return path.length > 1 ? `${path}${url.search}` : undefined;
    case "queue.fal.run":
      return path.length > 1 ? `/queue${path}${url.search}` : undefined;
    case "rest.fal.ai":
      return path.startsWith("/storage/") ? `${path}${url.search}` : UNSUPPORTED;
    default:
      return undefined;
  }
}

/** Fastify's rewriteUrl: proxy calls with a servable target become that local route. */
export function rewriteProxyUrl(req: IncomingMessage): string {
  const url = req.url ?? "/";
  if (url !== PROXY_PATH && !url.startsWith(`${PROXY_PATH}?`)) return url;
  const header = req.headers[TARGET_URL_HEADER];
  const target = Array.isArray(header) ? header[0] : header;
  if (!target) return url;
  return localPathFor(target) ?? url;
}

export function registerProxyRoutes(app: FastifyInstance): void {
  // Reached only when rewriteProxyUrl could not map the call.
  app.route({
    method: ["GET", "POST", "PUT", "DELETE"],
    url: PROXY_PATH,
    handler: async (request, reply) => {
      const header = request.headers[TARGET_URL_HEADER];
      if (!header) {
        return sendHttpError(reply, { status: 400, body: { detail: `Missing the ${TARGET_URL_HEADER} header.` }, message: "missing target" });
      }
      return sendHttpError(reply, {
        status: 412,
        body: { detail: `Invalid ${TARGET_URL_HEADER}: ${String(header).slice(0, 200)}; this proxy serves fal.run, queue.fal.run and rest.fal.ai/storage targets.` },
        message: "invalid target",
      });
    },
  });
  app.route({
    method: ["GET", "POST", "PUT", "DELETE"],
    url: UNSUPPORTED,
    handler: async (request, reply) =>
      sendHttpError(reply, {
        status: 404,
        body: { detail: `${request.headers[TARGET_URL_HEADER]} is not served by Mouthpiece (only rest.fal.ai/storage/… is).` },
        message: "unsupported target",
      }),
  });
}
