/**
 * Typed errors. Stages throw these; the HTTP edge (src/api/errors.ts) turns them into fal's shapes:
 * 422 {detail: [{loc, msg, type}]}, 401, 404, 413. Anything else is a 500 with a generic message.
 */

export interface ErrorDetail {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** The request's input is wrong: a field, a file that cannot be decoded, a value out of range. */
export class InputError extends Error {
  readonly status = 422;
  constructor(readonly detail: ErrorDetail[]) {
    super(detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; "));
    this.name = "InputError";
  }

  /** One field, one reason. `loc` is the path below "body", e.g. ["image_url"]. */
  static field(field: string | (string | number)[], msg: string, type = "value_error"): InputError {
    const loc = ["body", ...(Array.isArray(field) ? field : [field])];
    return new InputError([{ loc, msg, type }]);
  }
}

/** Something is larger than a configured limit. */
export class TooLargeError extends Error {
  readonly status = 413;
  constructor(message: string, readonly field?: string) {
    super(message);
    this.name = "TooLargeError";
  }
}

export class NotFoundError extends Error {
  readonly status = 404;
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}

export class AuthError extends Error {
  readonly status = 401;
  constructor(message = "Missing or invalid credentials: send 'Authorization: Key <your key>'.") {
    super(message);
    this.name = "AuthError";
  }
}

/** The job was cancelled (its AbortSignal fired). Not a failure: the request ends as cancelled. */
export class CancelledError extends Error {
  constructor(message = "The request was cancelled.") {
    super(message);
    this.name = "CancelledError";
  }
}

/** A child process (ffmpeg, ffprobe) failed; carries the tail of its stderr. */
export class ProcessError extends Error {
  constructor(message: string, readonly stderr: string, readonly exitCode: number | null) {
    super(`${message}${stderr ? `: ${stderr.trim().split("\n").slice(-5).join(" | ")}` : ""}`);
    this.name = "ProcessError";
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}
