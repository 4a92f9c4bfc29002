// The page's calls to the server: the public fal-compatible API plus the playground routes.
import { createParser } from "./vendor/eventsource-parser.js";

const KEY_STORAGE = "mouthpiece.key";

/** The API key set in the page (kept in this browser only), or "". */
export function getKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) ?? "";
  } catch {
    return "";
  }
}

export function setKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    /* private mode: the key lasts for this page only */
  }
}

/** Headers for every same-origin call: the playground session, and the key when one is set. */
export function authHeaders() {
  const headers = { "x-mouthpiece-playground": "1" };
  const key = getKey();
  if (key) headers.authorization = `Key ${key}`;
  return headers;
}

function sameOrigin(url) {
  return new URL(url, location.href).origin === location.origin;
}

/** An error from the server, with fal's `detail` when it sent one. */
export class ApiError extends Error {
  constructor(status, detail, message) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
}

function messageOf(status, detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).filter((l) => l !== "body").join(".")}: ${d.msg}`).join("; ");
  }
  if (status === 401) return "This server needs an API key: set one under “API key” at the top.";
  return `The server answered ${status}`;
}

/** fetch + JSON, throwing ApiError for non-2xx answers. */
export async function fetchJson(url, init = {}) {
  const headers = { ...(sameOrigin(url) ? authHeaders() : {}), ...(init.headers || {}) };
  if (init.body !== undefined && typeof init.body === "string") headers["content-type"] = "application/json";
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  if (!res.ok) {
    const detail = body && typeof body === "object" ? (body.detail ?? body.error ?? body.message) : body;
    throw new ApiError(res.status, detail, messageOf(res.status, detail));
  }
  return body;
}

export const getConfig = () => fetchJson("/api/playground/config");

export const listRequests = () => fetchJson("/api/playground/requests?limit=100").then((r) => r.requests);

export const detectFaces = (imageUrl, signal) =>
  fetchJson("/api/playground/faces", { method: "POST", body: JSON.stringify({ image_url: imageUrl }), signal });

/**
 * Uploads a file through the storage API (initiate, then PUT the bytes) and returns its URL.
 * @param {File} file
 * @param {{uploadInitiate: string}} routes
 * @param {(fraction: number) => void} [onProgress]
 */
export async function uploadFile(file, routes, onProgress) {
  const contentType = file.type || "application/octet-stream";
  const init = await fetchJson(routes.uploadInitiate, {
    method: "POST",
    body: JSON.stringify({ content_type: contentType, file_name: file.name || "upload" }),
  });
  await new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", init.upload_url);
    xhr.setRequestHeader("content-type", contentType);
    if (sameOrigin(init.upload_url)) {
      for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    };
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve(undefined)
        : reject(new ApiError(xhr.status, xhr.responseText, `Upload failed (${xhr.status}): ${xhr.responseText.slice(0, 200)}`));
    xhr.onerror = () => reject(new Error("Upload failed: the connection was lost"));
    xhr.send(file);
  });
  return init.file_url;
}

/** Submits a request to the queue: {request_id, status_url, response_url, cancel_url, queue_position}. */
export const submit = (routes, endpointId, input) =>
  fetchJson(`${routes.queue}/${endpointId}`, { method: "POST", body: JSON.stringify(input) });

export const cancel = (queued) => fetchJson(queued.cancel_url, { method: "PUT" });

export const result = (queued) => fetchJson(queued.response_url);

const FINAL = new Set(["COMPLETED", "FAILED", "ERROR", "CANCELLED", "CANCELED"]);

/**
 * Follows a request until it ends, calling onStatus with every status. Reads the SSE status stream;
 * falls back to polling the status URL when the stream is unavailable or ends early.
 * @returns {Promise<any>} the final status
 */
export async function watch(queued, onStatus, signal) {
  let last;
  const seen = (status) => {
    last = status;
    onStatus(status);
  };
  try {
    await streamStatus(queued, seen, signal);
  } catch (err) {
    if (signal && signal.aborted) throw err;
  }
  while (!(last && FINAL.has(last.status))) {
    if (signal && signal.aborted) throw new DOMException("Stopped", "AbortError");
    seen(await fetchJson(`${queued.status_url}${queued.status_url.includes("?") ? "&" : "?"}logs=1`, { signal }));
    if (!FINAL.has(last.status)) await new Promise((r) => setTimeout(r, 1000));
  }
  return last;
}

async function streamStatus(queued, onStatus, signal) {
  const url = new URL(queued.status_url, location.href);
  url.pathname = `${url.pathname.replace(/\/$/, "")}/stream`;
  url.searchParams.set("logs", "1");
  const res = await fetch(url, { headers: { ...authHeaders(), accept: "text/event-stream" }, signal });
  if (!res.ok || !res.body || !(res.headers.get("content-type") || "").includes("text/event-stream")) {
    throw new Error(`no status stream (${res.status})`);
  }
  let done = false;
  const parser = createParser({
    onEvent(event) {
      try {
        const status = JSON.parse(event.data);
        onStatus(status);
        if (FINAL.has(status.status)) done = true;
      } catch {
        /* a keep-alive or a line that is not JSON */
      }
    },
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  while (!done) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    parser.feed(value);
  }
  if (done) await reader.cancel().catch(() => {});
}
