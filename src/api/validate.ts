/**
 * Request input validation with the endpoint's zod schema; failures become a 422 InputError in
 * FastAPI's shape. When the caller sent no `seed`, the parsed input has none either (the schema's
 * default is dropped), so the pipeline picks a random one, as fal documents ("If None, a random seed is chosen").
 *
 * @example
 *   const input = parseInput(findEndpoint("fal-ai/ai-avatar")!, request.body); // throws InputError
 */
import net from "node:net";
import { addressRefusal } from "../media/safe-fetch.js";
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

/**
 * The webhook URL from `?fal_webhook=`, checked to be an absolute http(s) URL whose host is not, on its face, an
 * address this server must not call: an IP literal of a refused class (loopback, private, link-local, …) or a
 * localhost name, unless `allowPrivate` (config.allowPrivateUrls). Host names are checked again, on every resolved
 * address, when the webhook is delivered (media/safe-fetch.ts); refusing the obvious ones here tells the caller at
 * once instead of failing the delivery two hours of retries later.
 */
export function parseWebhook(value: unknown, options: { allowPrivate: boolean }): string | undefined {
  if (value === undefined || value === "") return undefined;
  const text = Array.isArray(value) ? value[0] : value;
  let url: URL | undefined;
  try {
    url = new URL(String(text));
  } catch {
    // refused below
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new InputError([{ loc: ["query", "fal_webhook"], msg: "Input should be an absolute http(s) URL", type: "url_parsing" }]);
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const why = net.isIP(host)
    ? addressRefusal(host, options.allowPrivate)
    : !options.allowPrivate && (host === "localhost" || host.endsWith(".localhost")) ? "localhost is a loopback name" : undefined;
  if (why) {
    throw new InputError([{
      loc: ["query", "fal_webhook"],
      msg: `This server does not call webhooks on ${host} (${why}): use a publicly reachable receiver, or run the server with MOUTHPIECE_ALLOW_PRIVATE_URLS=1 to allow private hosts.`,
      type: "value_error",
    }]);
  }
  return url.toString();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
