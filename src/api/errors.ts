/**
 * The ONE error mapper: typed errors (src/errors.ts), zod issues and Fastify's own errors become fal's
 * shapes — 422 {detail: [{loc, msg, type}]} (FastAPI/pydantic style), {detail: "…"} for the rest, with
 * `error_type` (and the X-Fal-Error-Type header) where fal has a category for it.
 *
 * @example
 *   const { status, body } = toHttpError(err);
 *   registerErrorHandling(app);
 */
import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { AuthError, CancelledError, InputError, NotFoundError, ProcessError, TooLargeError, type ErrorDetail } from "../errors.js";
import type { JobFailure } from "../queue/types.js";

export interface HttpError {
  status: number;
  body: { detail: unknown; error_type?: string };
  /** One line for logs, status answers and webhooks. */
  message: string;
  errorType?: string;
}

const quote = (v: unknown) => (typeof v === "string" ? `'${v}'` : String(v));
function orList(values: readonly unknown[]): string {
  const q = values.map(quote);
  return q.length <= 1 ? q.join("") : `${q.slice(0, -1).join(", ")} or ${q[q.length - 1]}`;
}

const TYPE_NAMES: Record<string, [string, string]> = {
  string: ["a valid string", "string_type"],
  number: ["a valid number", "float_type"],
  int: ["a valid integer", "int_type"],
  boolean: ["a valid boolean", "bool_type"],
  array: ["a valid list", "list_type"],
  tuple: ["a valid list", "list_type"],
  object: ["a valid dictionary", "dict_type"],
};

/** One zod issue in pydantic's words (the messages fal's FastAPI apps answer with). */
function issueToDetail(issue: z.core.$ZodIssue, prefix: (string | number)[]): ErrorDetail {
  const loc = [...prefix, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))];
  const received = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "invalid_type": {
      if (loc.length === prefix.length && issue.expected === "object") {
        return { loc, msg: "Input should be a valid dictionary or object to extract fields from", type: "model_attributes_type" };
      }
      if (issue.message.endsWith("received undefined")) return { loc, msg: "Field required", type: "missing" };
      if (issue.expected === "int" && (typeof received === "number" || issue.message.endsWith("received number"))) {
        return { loc, msg: "Input should be a valid integer, got a number with a fractional part", type: "int_from_float" };
      }
      const [what, type] = TYPE_NAMES[issue.expected] ?? [`a valid ${issue.expected}`, `${issue.expected}_type`];
      return { loc, msg: `Input should be ${what}`, type };
    }
    case "too_small": {
      const min = Number(issue.minimum);
      if (issue.origin === "string") return { loc, msg: `String should have at least ${min} character${min === 1 ? "" : "s"}`, type: "string_too_short" };
      if (issue.origin === "array") return { loc, msg: `List should have at least ${min} item${min === 1 ? "" : "s"} after validation`, type: "too_short" };
      return issue.inclusive
        ? { loc, msg: `Input should be greater than or equal to ${min}`, type: "greater_than_equal" }
        : { loc, msg: `Input should be greater than ${min}`, type: "greater_than" };
    }
    case "too_big": {
      const max = Number(issue.maximum);
      if (issue.origin === "string") return { loc, msg: `String should have at most ${max} character${max === 1 ? "" : "s"}`, type: "string_too_long" };
      if (issue.origin === "array") return { loc, msg: `List should have at most ${max} item${max === 1 ? "" : "s"} after validation`, type: "too_long" };
      return issue.inclusive
        ? { loc, msg: `Input should be less than or equal to ${max}`, type: "less_than_equal" }
        : { loc, msg: `Input should be less than ${max}`, type: "less_than" };
    }
    case "invalid_value":
      return { loc, msg: `Input should be ${orList(issue.values)}`, type: issue.values.length === 1 ? "literal_error" : "enum" };
    default:
      return { loc, msg: issue.message, type: "value_error" };
  }
}

/** zod issues as FastAPI's `detail` list; `loc` starts with "body". */
export function zodToDetail(error: z.ZodError, prefix: (string | number)[] = ["body"]): ErrorDetail[] {
  return error.issues.map((i) => issueToDetail(i, prefix));
}

function plain(status: number, detail: string, errorType?: string): HttpError {
  return { status, body: errorType ? { detail, error_type: errorType } : { detail }, message: detail, errorType };
}

/** Any thrown value as an HTTP answer. Unknown errors become a generic 500 (the server log has the rest). */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof InputError) {
    return { status: 422, body: { detail: err.detail }, message: err.message };
  }
  if (err instanceof z.ZodError) {
    const detail = zodToDetail(err);
    return { status: 422, body: { detail }, message: detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; ") };
  }
  if (err instanceof TooLargeError) return plain(413, err.message);
  if (err instanceof NotFoundError) return plain(404, err.message);
  if (err instanceof AuthError) return plain(401, err.message);
  if (err instanceof CancelledError) return plain(499, err.message, "client_cancelled");
  if (err instanceof ProcessError) return plain(500, err.message, "runner_server_error");
  const fe = err as Partial<FastifyError> | undefined;
  switch (fe?.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return plain(413, "Request body is too large; send large files by URL or upload them first (POST /storage/upload/initiate).");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return plain(415, "Unsupported Content-Type; send the input as application/json.");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return { status: 422, body: { detail: [{ loc: ["body"], msg: "Field required", type: "missing" }] }, message: "body: Field required" };
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return {
        status: 422,
        body: { detail: [{ loc: ["body"], msg: `JSON decode error: ${fe.message ?? "invalid JSON"}`, type: "json_invalid" }] },
        message: "body: JSON decode error",
      };
  }
  if (typeof fe?.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    return plain(fe.statusCode, fe.message ?? "Bad request");
  }
  if (err instanceof SyntaxError && /JSON/.test(err.message)) {
    return { status: 422, body: { detail: [{ loc: ["body"], msg: `JSON decode error: ${err.message}`, type: "json_invalid" }] }, message: "body: JSON decode error" };
  }
  return plain(500, "Internal Server Error", "internal_error");
}

/**
 * An internal error's message as a client may read it. A Node system error names the server's own files
 * ("EFBIG: file too large, copyfile '/var/lib/…' -> '…'"); the client gets the cause and the call, the log the paths.
 */
function clientMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const { code, syscall } = err as NodeJS.ErrnoException;
  const at = typeof code === "string" && typeof syscall === "string" ? err.message.indexOf(`, ${syscall}`) : -1;
  return at >= 0 ? err.message.slice(0, at + 2 + syscall!.length) : err.message;
}

/** A job's failure (what its result route and webhook will answer) from the error its run threw. */
export function failureFromError(err: unknown, requestId: string): JobFailure {
  const http = toHttpError(err);
  if (http.status === 500 && http.errorType === "internal_error") {
    const message = `The request failed with an internal error (${clientMessage(err)}); request id ${requestId}.`;
    return { status: 500, body: { detail: message, error_type: "runner_server_error" }, message, errorType: "runner_server_error" };
  }
  return { status: http.status, body: http.body, message: http.message, errorType: http.errorType };
}

export function sendHttpError(reply: FastifyReply, http: HttpError): FastifyReply {
  if (http.errorType) reply.header("x-fal-error-type", http.errorType);
  return reply.code(http.status).type("application/json").send(http.body);
}

/** Installs the error and not-found handlers on the app. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const http = toHttpError(err);
    if (http.status >= 500) request.log.error({ err }, "request failed");
    else request.log.info({ status: http.status, detail: http.message }, "request rejected");
    return sendHttpError(reply, http);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0];
    return sendHttpError(reply, plain(404, `Not found: ${request.method} ${path}. See GET /openapi.json for the routes.`));
  });
}
