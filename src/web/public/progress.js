// Progress and logs from fal queue statuses. Pure functions: the page and the tests use them.

const RENDERED = /rendered\s+(\d+)\s*\/\s*(\d+)\s+frames?/i;

/**
 * Frames done of total, from a status: a `progress` field when the server sends one
 * ({done, total} | {frames_done, frames_total} | a 0..1 fraction with no total), else the last
 * "rendered N/M frames" line of the logs. Null when nothing tells.
 * @param {any} status
 * @param {Array<{message: string}>} [logs] all logs seen so far (the status may carry only new ones)
 * @returns {{done: number, total: number} | {fraction: number} | null}
 */
export function progressOf(status, logs) {
  const p = status && status.progress;
  if (p && typeof p === "object") {
    const done = num(p.done ?? p.frames_done ?? p.current);
    const total = num(p.total ?? p.frames_total);
    if (done !== undefined && total) return { done: Math.min(done, total), total };
  } else if (typeof p === "number" && p >= 0 && p <= 1) {
    return { fraction: p };
  }
  const all = logs ?? (status && Array.isArray(status.logs) ? status.logs : []);
  for (let i = all.length - 1; i >= 0; i--) {
    const m = RENDERED.exec(String(all[i] && all[i].message));
    if (m) {
      const done = Number(m[1]);
      const total = Number(m[2]);
      if (total > 0) return { done: Math.min(done, total), total };
    }
  }
  return null;
}

function num(v) {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/**
 * Adds the logs of one status to those already seen, once each (a stream may resend old lines).
 * @param {Array<{message: string, timestamp?: string, level?: string}>} seen
 * @param {any} status
 * @returns {boolean} whether anything was added
 */
export function mergeLogs(seen, status) {
  if (!status || !Array.isArray(status.logs)) return false;
  const keys = new Set(seen.map(logKey));
  let added = false;
  for (const line of status.logs) {
    if (!line || typeof line.message !== "string") continue;
    const key = logKey(line);
    if (keys.has(key)) continue;
    keys.add(key);
    seen.push(line);
    added = true;
  }
  return added;
}

function logKey(line) {
  return `${line.timestamp ?? ""}\u0000${line.level ?? ""}\u0000${line.message}`;
}

/** A status as a sentence for people. */
export function describeStatus(status) {
  switch (status && status.status) {
    case "IN_QUEUE": {
      const pos = status.queue_position;
      return typeof pos === "number" && pos > 0 ? `Waiting in the queue (${pos} ahead)` : "Waiting in the queue";
    }
    case "IN_PROGRESS":
      return "Rendering";
    case "COMPLETED":
      return "Finished";
    default:
      return status && status.status ? String(status.status).toLowerCase().replace(/_/g, " ") : "Submitting";
  }
}
