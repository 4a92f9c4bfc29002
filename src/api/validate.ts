/**
 * Request input validation with the endpoint's zod schema; failures become a 422 InputError in
 * FastAPI's shape. When the caller sent no `seed`, the parsed input has none either (the schema's
 * default is dropped), so the pipeline picks a random one, as fal documents ("If None, a random seed is chosen").
 *
 * @example
 *   const input = parseInput(findEndpoint("fal-ai/ai-avatar")!, request.body); // throws InputError
 */
import type { EndpointDef } from "./endpoints.js";
import { InputError } from "../errors.js";
import { zodToDetail } from "./errors.js";

export function parseInput(endpoint: EndpointDef, body: unknown): Record<string, unknown> {
  let source = body;
  const noSeed = isObject(body) && (body.seed === undefined || body.seed === null);
  if (isObject(body) && body.seed === null) {
    const { seed: _dropped, ...rest } = body;
    source = rest;
  }
  const parsed = endpoint.input.safeParse(source);
  if (!parsed.success) throw new InputError(zodToDetail(parsed.error));
  const input = { ...(parsed.data as Record<string, unknown>) };
  if (noSeed) delete input.seed;
  return input;
}

/** The webhook URL from `?fal_webhook=`, checked to be an absolute http(s) URL. */
export function parseWebhook(value: unknown): string | undefined {
  if (value === undefined || value === "") return undefined;
  const text = Array.isArray(value) ? value[0] : value;
  try {
    const url = new URL(String(text));
    if (url.protocol === "http:" || url.protocol === "https:") return url.toString();
  } catch {
    // fall through
  }
  throw new InputError([{ loc: ["query", "fal_webhook"], msg: "Input should be an absolute http(s) URL", type: "url_parsing" }]);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
