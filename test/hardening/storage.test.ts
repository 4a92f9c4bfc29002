/**
 * A storage write that fails midway (a disk error while the video is written) ends the request with a clear
 * 500 naming the cause, and leaves no partial file: nothing under files/, nothing left in the temp dir.
 * Once with the error raised by the data's source, once with the kernel itself refusing the write.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import type { JobRunner } from "../../src/pipeline/types.js";
import { SqliteJobQueue } from "../../src/queue/sqlite.js";
import { startWorker } from "../../src/queue/worker.js";
import { LocalStorage } from "../../src/storage/local.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function listFiles(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe("storage failures", () => {
  it("a write that fails midway fails the request clearly and leaves no partial file", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-store-"));
    dirs.push(dataDir);
    const storage = new LocalStorage({ dataDir, baseUrl: "http://127.0.0.1:8000" });
    const queue = SqliteJobQueue.open({ file: path.join(dataDir, "q.db") });
    let written = 0;
    const runner: JobRunner = async () => {
      // 256 KiB arrive, then the device fails (ENOSPC), as a full disk would.
      const body = new Readable({
        read() {
          if (written >= 256 * 1024) {
            this.destroy(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }));
            return;
          }
          written += 64 * 1024;
          this.push(Buffer.alloc(64 * 1024, 1));
        },
      });
      const stored = await storage.put({ body, contentType: "video/mp4", fileName: "video.mp4" });
      return { video: { url: stored.url, content_type: "video/mp4", file_name: "video.mp4", file_size: stored.size }, seed: 1 };
    };
    const worker = startWorker({ queue, runner, concurrency: 1, logger: pino({ level: "silent" }), pollMs: 20 });
    const job = await queue.submit({ endpointId: "fal-ai/ai-avatar", owner: "local", input: {} });
    let done = await queue.get(job.id);
    for (let i = 0; i < 250 && done?.status !== "COMPLETED"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      done = await queue.get(job.id);
    }
    await worker.stop();
    await queue.close();
    assert.equal(written, 256 * 1024, "the write really started");
    assert.equal(done?.outcome, "ERROR");
    assert.equal(done?.failure?.status, 500);
    assert.match(done?.failure?.message ?? "", /ENOSPC: no space left on device/);
    assert.match(done?.failure?.message ?? "", new RegExp(job.id));
    const stored = (await listFiles(dataDir)).filter((f) => !/q\.db/.test(path.basename(f)));
    assert.deepEqual(stored, [], "no partial file anywhere in the data dir (files/ or tmp/)");
  });

  it("a write the file system refuses (the kernel's EFBIG past `ulimit -f`, as ENOSPC on a full disk) fails both ways of storing, with no partial file", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-store-"));
    dirs.push(dataDir);
    // The source of putFile is written here, outside the limit; the child may write at most 1 MiB per file.
    const source = path.join(os.tmpdir(), `mp-store-src-${process.pid}.mp4`);
    await writeFile(source, Buffer.alloc(4 << 20, 9));
    dirs.push(source);
    const child = spawn("bash", ["-c", 'ulimit -f 1024 && exec "$0" "$@"', process.execPath, "--import", "tsx", path.resolve("test/hardening/full-disk-child.ts"), dataDir, source, String(4 << 20)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, "close")) as [number | null];
    assert.equal(code, 0, `the child ended cleanly, it did not crash: ${stderr}`);
    const ends = stdout.trim().split("\n").map((l) => JSON.parse(l) as { how: string; id: string; outcome?: string; failure?: { status: number; message: string } });
    assert.deepEqual(ends.map((e) => e.how), ["stream", "file"]);
    for (const end of ends) {
      assert.equal(end.outcome, "ERROR", `${end.how}: the request failed`);
      assert.equal(end.failure?.status, 500);
      assert.match(end.failure?.message ?? "", /EFBIG: file too large/, `${end.how}: the cause is named`);
      assert.match(end.failure?.message ?? "", new RegExp(end.id));
      assert.ok(!end.failure?.message.includes(os.tmpdir()), `${end.how}: the server's paths stay in its log, out of the answer: ${end.failure?.message}`);
    }
    const stored = (await listFiles(dataDir)).filter((f) => !/q\.db/.test(path.basename(f)));
    assert.deepEqual(stored, [], "no partial file anywhere in the data dir (files/ or tmp/)");
  });
});
