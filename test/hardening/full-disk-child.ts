/**
 * Child of storage.test.ts, started under `ulimit -f` so that the kernel refuses writes past a file size (EFBIG),
 * as a full disk refuses them (ENOSPC): the embedded queue, local storage and a worker whose runner stores a video
 * two ways, streamed (`put`) and copied from a finished file (`putFile`, the pipeline's way). Prints each job's end
 * as one JSON line: `node --import tsx full-disk-child.ts <dataDir> <sourceFile> <streamBytes>`.
 */
import path from "node:path";
import { Readable } from "node:stream";
import { pino } from "pino";
import type { JobRunner } from "../../src/pipeline/types.js";
import { SqliteJobQueue } from "../../src/queue/sqlite.js";
import { startWorker } from "../../src/queue/worker.js";
import { LocalStorage } from "../../src/storage/local.js";

const [dataDir, sourceFile, streamBytes] = process.argv.slice(2);
const storage = new LocalStorage({ dataDir, baseUrl: "http://127.0.0.1:8000" });
const queue = SqliteJobQueue.open({ file: path.join(dataDir, "q.db") });

const runner: JobRunner = async (job) => {
  const how = (job.input as { how: string }).how;
  const stored = how === "stream"
    ? await storage.put({ body: Readable.from(chunks(Number(streamBytes))), contentType: "video/mp4", fileName: "video.mp4" })
    : await storage.putFile({ path: sourceFile, contentType: "video/mp4", fileName: "video.mp4" });
  return { video: { url: stored.url, content_type: "video/mp4", file_name: "video.mp4", file_size: stored.size }, seed: 1 };
};

function* chunks(total: number): Generator<Buffer> {
  for (let sent = 0; sent < total; sent += 64 * 1024) yield Buffer.alloc(Math.min(64 * 1024, total - sent), 7);
}

const worker = startWorker({ queue, runner, concurrency: 1, logger: pino({ level: "silent" }), pollMs: 20 });
for (const how of ["stream", "file"]) {
  const job = await queue.submit({ endpointId: "fal-ai/ai-avatar", owner: "local", input: { how } });
  let done = await queue.get(job.id);
  for (let i = 0; i < 500 && done?.status !== "COMPLETED"; i++) {
    await new Promise((r) => setTimeout(r, 20));
    done = await queue.get(job.id);
  }
  console.log(JSON.stringify({ how, id: job.id, status: done?.status, outcome: done?.outcome, failure: done?.failure }));
}
await worker.stop();
await queue.close();
