/**
 * The OpenAPI 3.0 document, generated from the zod schemas (z.toJSONSchema), one endpoint or all:
 * for each endpoint its sync route (POST /{id}), queue submit (POST /queue/{id}) and the queue's
 * status / stream / result / cancel routes under its owner/alias, with input and output schemas.
 *
 * @example
 *   const doc = buildOpenApi(ENDPOINTS.filter((e) => e.id === "fal-ai/ai-avatar"), "http://127.0.0.1:8000");
 */
import { z } from "zod";
import { FileOutput, VideoOutput, type EndpointDef } from "./endpoints.js";
import { appIdOf } from "./urls.js";

type Json = Record<string, unknown>;

/** "fal-ai/ai-avatar/multi-text" → "AiAvatarMultiText". */
function schemaName(id: string): string {
  return id
    .split("/")
    .slice(1)
    .join("-")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join("");
}

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Json {
  const out = z.toJSONSchema(schema, { target: "openapi-3.0", io, unrepresentable: "any" }) as Json;
  delete out.$schema;
  return out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ "application/json": { schema } });

const ValidationError = {
  type: "object",
  properties: {
    detail: {
      type: "array",
      items: {
        type: "object",
        required: ["loc", "msg", "type"],
        properties: {
          loc: { type: "array", items: { oneOf: [{ type: "string" }, { type: "integer" }] } },
          msg: { type: "string" },
          type: { type: "string" },
        },
      },
    },
  },
};
const PlainError = { type: "object", properties: { detail: { type: "string" }, error_type: { type: "string" } } };
/** fal's status object (also the compiled serializer of the status routes, src/api/routes/queue.ts). */
export const QueueStatus = {
  type: "object",
  required: ["status", "request_id", "response_url", "status_url", "cancel_url"],
  properties: {
    status: { type: "string", enum: ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"] },
    request_id: { type: "string" },
    response_url: { type: "string" },
    status_url: { type: "string" },
    cancel_url: { type: "string" },
    queue_position: { type: "integer", description: "Requests ahead of this one (IN_QUEUE only)." },
    logs: {
      type: "array",
      nullable: true,
      items: {
        type: "object",
        properties: {
          message: { type: "string" },
          level: { type: "string", enum: ["DEBUG", "INFO", "WARN", "ERROR"] },
          source: { type: "string", enum: ["USER"] },
          timestamp: { type: "string", format: "date-time" },
        },
      },
    },
    metrics: { type: "object", properties: { inference_time: { type: "number", nullable: true } } },
    error: { type: "string", description: "COMPLETED requests that failed or were cancelled: why." },
    error_type: { type: "string" },
  },
};

const errors = {
  "401": { description: "Missing or invalid `Authorization: Key …`", content: json(ref("HTTPError")) },
  "404": { description: "Unknown endpoint or request", content: json(ref("HTTPError")) },
  "413": { description: "Body larger than the limit", content: json(ref("HTTPError")) },
  "422": { description: "Invalid input", content: json(ref("HTTPValidationError")) },
};

function requestPaths(appId: string): Json {
  const params = [{ name: "request_id", in: "path", required: true, schema: { type: "string" } }];
  const logs = { name: "logs", in: "query", required: false, schema: { type: "integer", enum: [0, 1] }, description: "1 to include logs" };
  const base = `/queue/${appId}/requests/{request_id}`;
  return {
    [`${base}/status`]: {
      get: {
        summary: "Request status",
        parameters: [...params, logs],
        responses: {
          "200": { description: "COMPLETED", content: json(ref("QueueStatus")) },
          "202": { description: "IN_QUEUE or IN_PROGRESS", content: json(ref("QueueStatus")) },
          "404": errors["404"],
        },
      },
    },
    [`${base}/status/stream`]: {
      get: {
        summary: "Request status as Server-Sent Events, until COMPLETED",
        parameters: [...params, logs],
        responses: { "200": { description: "`data: {QueueStatus}` events", content: { "text/event-stream": { schema: { type: "string" } } } }, "404": errors["404"] },
      },
    },
    [`${base}/cancel`]: {
      put: {
        summary: "Cancel a queued or running request",
        parameters: params,
        responses: {
          "202": { description: "CANCELLATION_REQUESTED", content: json({ type: "object", properties: { status: { type: "string" } } }) },
          "400": { description: "ALREADY_COMPLETED", content: json({ type: "object", properties: { status: { type: "string" } } }) },
          "404": { description: "NOT_FOUND", content: json({ type: "object", properties: { status: { type: "string" } } }) },
        },
      },
    },
  };
}

export function buildOpenApi(endpoints: readonly EndpointDef[], serverUrl?: string): Json {
  const schemas: Json = {
    File: jsonSchema(FileOutput, "output"),
    HTTPValidationError: ValidationError,
    HTTPError: PlainError,
    QueueStatus,
  };
  const paths: Json = {};
  const apps = new Set<string>();
  for (const e of endpoints) {
    const name = schemaName(e.id);
    schemas[`${name}Input`] = jsonSchema(e.input, "input");
    schemas[`${name}Output`] = jsonSchema(VideoOutput, "output");
    const body = { required: true, content: json(ref(`${name}Input`)) };
    paths[`/${e.id}`] = {
      post: {
        operationId: `run${name}`,
        summary: `${e.title} (waits for the result)`,
        requestBody: body,
        responses: { "200": { description: "The output", content: json(ref(`${name}Output`)) }, ...errors },
      },
    };
    paths[`/queue/${e.id}`] = {
      post: {
        operationId: `submit${name}`,
        summary: `${e.title} (queue)`,
        parameters: [{ name: "fal_webhook", in: "query", required: false, schema: { type: "string", format: "uri" }, description: "POSTed once when the request completes" }],
        requestBody: body,
        responses: { "200": { description: "Queued", content: json(ref("QueueStatus")) }, ...errors },
      },
    };
    paths[`/queue/${appIdOf(e.id)}/requests/{request_id}`] ??= {
      get: {
        summary: "Request result",
        parameters: [{ name: "request_id", in: "path", required: true, schema: { type: "string" } }],
        responses: {
          "200": { description: "The output", content: json({ type: "object" }) },
          "400": { description: "Still in progress", content: json(ref("HTTPError")) },
          "422": { description: "The request's input was rejected while it ran", content: json(ref("HTTPValidationError")) },
          "499": { description: "The request was cancelled", content: json(ref("HTTPError")) },
          "500": { description: "The request failed", content: json(ref("HTTPError")) },
        },
      },
    };
    apps.add(appIdOf(e.id));
  }
  for (const appId of apps) Object.assign(paths, requestPaths(appId));
  return {
    openapi: "3.0.3",
    info: {
      title: endpoints.length === 1 ? `Mouthpiece: ${endpoints[0].id}` : "Mouthpiece",
      version: "0.1.0",
      description: "fal-compatible talking-avatar endpoints. Authorization: `Key <key>`.",
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    components: {
      securitySchemes: { apiKeyAuth: { type: "apiKey", in: "header", name: "Authorization", description: "Key <your key>" } },
      schemas,
    },
    security: [{ apiKeyAuth: [] }],
    paths,
  };
}
