/**
 * A real cluster for tests: Redis (redis-server), S3 (s3rver), and `mouthpiece` CLI processes — API nodes
 * (`serve --no-worker`) and workers (`worker`), each with its own data dir (they share nothing but Redis
 * and the bucket). Processes log JSON lines (pino); `lines` collects them for assertions.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { freePort, startRedis, startS3, type RedisServer, type S3Server } from "./servers.js";

/** The real CLI (real pipeline). */
export const REAL_ENTRY = path.resolve("src/cli/entry.ts");
/** The real CLI with the server tests' runner injected (fast fake renders, "fail:input" prompts). */
export const TEST_ENTRY = path.resolve("test/api/serve-process.ts");

export interface Proc {
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  lines: Record<string, unknown>[];
  stderr: string;
  exited: Promise<number | null>;
}

export interface Cluster {
  redis: RedisServer;
  s3: S3Server;
  /** The API key every node accepts. */
  key: string;
  env: Record<string, string>;
  spawnApi(port: number, options?: { entry?: string }): Promise<Proc>;
  spawnWorker(options?: { entry?: string; env?: Record<string, string> }): Proc;
  stop(): Promise<void>;
}

export async function waitUp(url: string, proc: Proc, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc.child.exitCode !== null) throw new Error(`the process exited with ${proc.child.exitCode}: ${proc.stderr}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

export async function startCluster(options: { queueParams?: string } = {}): Promise<Cluster> {
  const redis = await startRedis();
  const s3 = await startS3();
  const key = "clusterkey:0123456789abcdef";
  const dirs: string[] = [];
  const procs: Proc[] = [];
  const base = {
    MOUTHPIECE_QUEUE: `${redis.url}?prefix=cluster${options.queueParams ?? ""}`,
    MOUTHPIECE_STORAGE: s3.storageUrl,
    ...s3.env,
    MOUTHPIECE_API_KEYS: key,
    MOUTHPIECE_RATE_LIMIT: "0",
    MOUTHPIECE_ALLOW_PRIVATE_URLS: "1",
    LOG_LEVEL: "info",
  };
  let publicUrl: string | undefined;

  function spawnProc(entry: string, args: string[], env: Record<string, string>): Proc {
    const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], {
      env: { ...process.env, ...base, ...(publicUrl ? { MOUTHPIECE_PUBLIC_URL: publicUrl } : {}), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const proc: Proc = { child, lines: [], stderr: "", exited: new Promise((r) => child.once("exit", (code) => r(code))) };
    let partial = "";
    child.stdout!.on("data", (d: Buffer) => {
      partial += d.toString();
      const parts = partial.split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        try {
          proc.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not JSON
        }
      }
    });
    child.stderr!.on("data", (d: Buffer) => (proc.stderr += d.toString()));
    procs.push(proc);
    return proc;
  }

  const dataDir = async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), "mp-node-"));
    dirs.push(d);
    return d;
  };

  return {
    redis,
    s3,
    key,
    env: base,
    async spawnApi(port, opts = {}) {
      publicUrl ??= `http://127.0.0.1:${port}`;
      return spawnProc(opts.entry ?? REAL_ENTRY, ["--data-dir", await dataDir(), "serve", "--no-worker", "--port", String(port)], {});
    },
    spawnWorker(opts = {}) {
      // Each worker on its own (throwaway) data dir: only Redis and the bucket are shared.
      const dir = path.join(os.tmpdir(), `mp-worker-${process.pid}-${procs.length}-${Date.now()}`);
      dirs.push(dir);
      return spawnProc(opts.entry ?? REAL_ENTRY, ["--data-dir", dir, "worker"], { MOUTHPIECE_WORKERS: "1", ...opts.env });
    },
    async stop() {
      for (const p of procs) {
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
        await p.exited;
      }
      await s3.stop();
      await redis.stop();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    },
  };
}

export { freePort };

/** A WAV (16 kHz mono s16le) of a tone whose loudness rises and falls like syllables. */
export function speechLikeWav(seconds: number): Buffer {
  const rate = 16_000;
  const n = Math.round(seconds * rate);
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const envelope = Math.max(0, Math.sin(2 * Math.PI * 4 * t)) ** 2;
    const sample = envelope * (0.5 * Math.sin(2 * Math.PI * 180 * t) + 0.3 * Math.sin(2 * Math.PI * 720 * t));
    data.writeInt16LE(Math.round(sample * 20_000), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write("RIFF", 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVE", 8);
  header.write("fmt ", 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
