/**
 * The URLs this server hands out. Direct callers get this server's own URLs (config.publicUrl, else the
 * scheme and Host of their request). Callers that came through the fal proxy route get fal's own URLs
 * (https://queue.fal.run/…), which the official client sends back through the proxy unchanged.
 * File URLs are always this server's, since clients fetch them directly.
 *
 * @example
 *   const urls = queueUrls(request, config, "fal-ai/ai-avatar/multi", id);
 *   // { response_url: "http://127.0.0.1:8000/queue/fal-ai/ai-avatar/requests/<id>", status_url, cancel_url }
 */
import type { FastifyRequest } from "fastify";
import type { Config } from "../config.js";

export const PROXY_PATH = "/api/fal/proxy";

/** This server's base URL as the caller sees it (no trailing slash). */
export function requestBase(request: FastifyRequest, config: Pick<Config, "publicUrl">): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, "");
  return `${request.protocol}://${request.host}`;
}

/** Whether the request arrived through the fal proxy route (its URL was rewritten). */
export function viaProxy(request: FastifyRequest): boolean {
  const original = request.originalUrl ?? request.url;
  return original === PROXY_PATH || original.startsWith(`${PROXY_PATH}?`) || original.startsWith(`${PROXY_PATH}/`);
}

/** "owner/alias" of an endpoint id: status, result and cancel are addressed by it, as on fal. */
export function appIdOf(endpointId: string): string {
  const second = endpointId.indexOf("/", endpointId.indexOf("/") + 1);
  return second < 0 ? endpointId : endpointId.slice(0, second);
}

export interface QueueUrls {
  response_url: string;
  status_url: string;
  cancel_url: string;
}

export function queueUrls(request: FastifyRequest, config: Pick<Config, "publicUrl">, endpointId: string, requestId: string): QueueUrls {
  const base = viaProxy(request) ? "https://queue.fal.run" : `${requestBase(request, config)}/queue`;
  const response = `${base}/${appIdOf(endpointId)}/requests/${requestId}`;
  return { response_url: response, status_url: `${response}/status`, cancel_url: `${response}/cancel` };
}

/** Deep-copies `value`, replacing the prefix `from` of every string that starts with it by `to`. */
export function rebaseUrls<T>(value: T, from: string, to: string): T {
  if (from === to) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return v.startsWith(from) ? to + v.slice(from.length) : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}
