/**
 * ffmpeg and ffprobe as child processes: where the binaries are, and one spawn helper whose handle reports a
 * typed state (running | quit-successfully | quit-with-error), keeps the tail of stderr for error messages,
 * and kills the child when the job's AbortSignal fires.
 *
 * Argument lists are built by pure functions in the modules that use them (probe.ts, audio.ts, encode.ts).
 *
 * @example
 *   const bins = resolveBinaries(config);
 *   const { stdout } = await runProcess(bins.ffprobe, ["-version"], { label: "ffprobe" });
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import type { Readable, Writable } from "node:stream";
import type { Config } from "../config.js";
import { CancelledError, ProcessError } from "../errors.js";

export interface MediaBinaries {
  ffmpeg: string;
  ffprobe: string;
}

/** The ffmpeg/ffprobe paths: the configured ones, else the binaries shipped in @ffmpeg-installer/@ffprobe-installer. */
export function resolveBinaries(config: Pick<Config, "ffmpegPath" | "ffprobePath">): MediaBinaries {
  const require = createRequire(import.meta.url);
  const ffmpeg = config.ffmpegPath ?? (require("@ffmpeg-installer/ffmpeg") as { path: string }).path;
  const ffprobe = config.ffprobePath ?? (require("@ffprobe-installer/ffprobe") as { path: string }).path;
  return { ffmpeg, ffprobe };
}

export type ProcessState =
  | { status: "running" }
  | { status: "quit-successfully" }
  | {
      status: "quit-with-error";
      /** null when the process was ended by a signal. */
      exitCode: number | null;
      signal: NodeJS.Signals | null;
      /** The last lines of stderr (at most STDERR_TAIL_BYTES). */
      stderrTail: string;
      /** True when the job's AbortSignal killed it. */
      aborted: boolean;
    };

export interface SpawnOptions {
  /** A name for messages, e.g. "ffmpeg (encode)". */
  label: string;
  signal?: AbortSignal;
  /** "pipe" to write to the child's stdin (frames); default "ignore". */
  stdin?: "pipe" | "ignore";
  /** Called with each chunk of stdout; when absent stdout is collected and returned by `done`. */
  onStdout?: (chunk: Buffer) => void;
  /** Largest stdout collected when onStdout is absent; past it the child is killed and `done` rejects. */
  maxStdoutBytes?: number;
}

export interface ProcessHandle {
  readonly child: ChildProcess;
  /** The child's stdin when opened with stdin: "pipe". */
  readonly stdin: Writable | null;
  state(): ProcessState;
  stderrTail(): string;
  /**
   * Settles when the process has exited: resolves with collected stdout on exit code 0, rejects with
   * CancelledError when the AbortSignal killed it, else with ProcessError quoting stderr.
   */
  readonly done: Promise<Buffer>;
  /** Ends the process now (SIGKILL); `done` then rejects. */
  kill(): void;
}

export const STDERR_TAIL_BYTES = 8192;

/** Keeps the last `limit` bytes of a stream of text. */
export function appendTail(tail: string, chunk: string, limit = STDERR_TAIL_BYTES): string {
  const joined = tail + chunk;
  return joined.length > limit ? joined.slice(joined.length - limit) : joined;
}

/** Spawns a process and returns a handle; see ProcessHandle. Never throws synchronously for a missing binary: `done` rejects. */
export function spawnProcess(bin: string, args: readonly string[], options: SpawnOptions): ProcessHandle {
  const { label, signal } = options;
  let state: ProcessState = { status: "running" };
  let stderr = "";
  let aborted = false;
  let overflow = false;
  const stdoutChunks: Buffer[] = [];
  let stdoutBytes = 0;
  const maxStdout = options.maxStdoutBytes ?? 512 * 1024 * 1024;

  const child = spawn(bin, args as string[], {
    stdio: [options.stdin ?? "ignore", "pipe", "pipe"],
    windowsHide: true,
  });

  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  const onAbort = () => {
    aborted = true;
    kill();
  };
  if (signal) {
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  }

  (child.stderr as Readable).setEncoding("utf8");
  (child.stderr as Readable).on("data", (chunk: string) => {
    stderr = appendTail(stderr, chunk);
  });
  (child.stdout as Readable).on("data", (chunk: Buffer) => {
    if (options.onStdout) {
      options.onStdout(chunk);
      return;
    }
    stdoutBytes += chunk.length;
    if (stdoutBytes > maxStdout) {
      overflow = true;
      kill();
      return;
    }
    stdoutChunks.push(chunk);
  });
  // A child that dies while we write frames makes stdin emit EPIPE; the exit status carries the real error.
  child.stdin?.on("error", () => {});

  const done = new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    const finish = (code: number | null, sig: NodeJS.Signals | null, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      if (!spawnError && code === 0 && !aborted && !overflow) {
        state = { status: "quit-successfully" };
        resolve(Buffer.concat(stdoutChunks));
        return;
      }
      state = { status: "quit-with-error", exitCode: code, signal: sig, stderrTail: stderr, aborted };
      if (aborted) reject(new CancelledError());
      else if (spawnError) reject(new ProcessError(`${label} could not start (${bin}): ${spawnError.message}`, "", null));
      else if (overflow) reject(new ProcessError(`${label} wrote more than ${maxStdout} bytes`, stderr, code));
      else reject(new ProcessError(`${label} failed (${code === null ? `signal ${sig}` : `exit code ${code}`})`, stderr, code));
    };
    child.once("error", (err) => finish(null, null, err));
    // 'close' (not 'exit'): stdio is fully read, so the stderr tail and stdout are complete.
    child.once("close", (code, sig) => finish(code, sig));
  });

  // Callers often await `done` only after feeding stdin: a failure meanwhile must not count as unhandled.
  done.catch(() => {});

  return {
    child,
    stdin: child.stdin,
    state: () => state,
    stderrTail: () => stderr,
    done,
    kill,
  };
}

/** Spawns and waits: resolves with stdout (and the stderr tail) on success; rejects like ProcessHandle.done. */
export async function runProcess(
  bin: string,
  args: readonly string[],
  options: SpawnOptions,
): Promise<{ stdout: Buffer; stderr: string }> {
  const handle = spawnProcess(bin, args, options);
  const stdout = await handle.done;
  return { stdout, stderr: handle.stderrTail() };
}
