// Copy-paste code for the current form: JavaScript with the official @fal-ai/client, and cURL.
// Pure functions of the form's input; they run against this server as they are.

/**
 * @typedef {object} SnippetOptions
 * @property {string} origin       this server, e.g. "http://127.0.0.1:8000"
 * @property {string} endpointId   e.g. "fal-ai/ai-avatar"
 * @property {Record<string, unknown>} input  the request body the form would submit
 * @property {string} [key]        the API key set in the page; without one, the loopback playground session
 * @property {{queue: string, falProxy: string}} routes
 */

const SESSION_HEADER = "x-mouthpiece-playground";

/** JavaScript (Node 20+ or a browser module) with @fal-ai/client through this server's proxy route. */
export function jsSnippet(/** @type {SnippetOptions} */ o) {
  const proxyUrl = `${o.origin}${o.routes.falProxy}`;
  const auth = o.key
    ? `  credentials: ${JSON.stringify(o.key)},\n`
    : [
        "  // No key: this machine's own playground session (loopback only).",
        '  // From another machine, use credentials: "<your key>" instead.',
        "  requestMiddleware: async (request) => ({",
        "    ...request,",
        `    headers: { ...request.headers, ${JSON.stringify(SESSION_HEADER)}: "1" },`,
        "  }),",
        "",
      ].join("\n");
  const input = indent(pretty(o.input), "  ").trimStart();
  return [
    'import { fal } from "@fal-ai/client";',
    "",
    "fal.config({",
    `${auth}  proxyUrl: { url: ${JSON.stringify(proxyUrl)}, when: "always" },`,
    "});",
    "",
    `const result = await fal.subscribe(${JSON.stringify(o.endpointId)}, {`,
    `  input: ${input},`,
    "  logs: true,",
    "  onQueueUpdate: (update) => {",
    '    if (update.status === "IN_PROGRESS") update.logs.forEach((log) => console.log(log.message));',
    "  },",
    "});",
    "console.log(result.data.video.url);",
    "",
  ].join("\n");
}

/** A bash script: submit, follow the status stream, print the result. Needs only curl and sed. */
export function curlSnippet(/** @type {SnippetOptions} */ o) {
  const header = o.key ? `Authorization: Key ${o.key}` : `${SESSION_HEADER}: 1`;
  const h = `-H ${shellQuote(header)}`;
  const submitUrl = `${o.origin}${o.routes.queue}/${o.endpointId}`;
  return [
    o.key ? "" : "# No key: this machine's own playground session (loopback only).\n",
    `RESPONSE=$(curl -sS -X POST ${shellQuote(submitUrl)} \\`,
    `  ${h} \\`,
    "  -H 'Content-Type: application/json' \\",
    `  -d ${shellQuote(pretty(o.input))})`,
    'echo "$RESPONSE"',
    `STATUS_URL=$(printf '%s' "$RESPONSE" | sed -E 's/.*"status_url": *"([^"]*)".*/\\1/')`,
    `RESPONSE_URL=$(printf '%s' "$RESPONSE" | sed -E 's/.*"response_url": *"([^"]*)".*/\\1/')`,
    "",
    "# Live status and logs (Server-Sent Events) until the request completes",
    `curl -sSN "$STATUS_URL/stream?logs=1" ${h}`,
    "",
    '# The result: {"video": {"url": ...}, "seed": ...}',
    `curl -sS "$RESPONSE_URL" ${h}`,
    "",
  ]
    .filter((line, i) => i > 0 || line !== "")
    .join("\n");
}

/** JSON with two-space indents, arrays of numbers kept on one line. */
export function pretty(value) {
  return JSON.stringify(value, null, 2).replace(/\[\s*((?:-?[\d.eE+-]+,\s*)*-?[\d.eE+-]+)\s*\]/g, (_m, items) =>
    `[${items.split(/,\s*/).join(", ")}]`,
  );
}

/** Single-quotes a string for a POSIX shell. */
export function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

function indent(text, pad) {
  return text
    .split("\n")
    .map((line) => pad + line)
    .join("\n");
}
