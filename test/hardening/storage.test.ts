/**
 * A storage write that fails midway (a disk error while the video is written) ends the request with a clear
 * 500 naming the cause, and leaves no partial file: nothing under files/, nothing left in the temp dir.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
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
});
