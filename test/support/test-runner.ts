/**
 * A small JobRunner for the server's tests: it checks that each file input is readable (data: URI or this
 * server's storage) and logs its size, "renders" num_frames with a short sleep per frame (honouring the
 * AbortSignal, reporting progress), then makes a real MP4 with ffmpeg (testsrc2 at the requested
 * resolution, num_frames/25 s, with a sine AAC track) and stores it.
 * Prompts "fail:input" and "fail:crash" make it throw an InputError or a plain Error.
 *
 * To run the server tests against the real pipeline, change `createRunner` below to the pipeline's:
 *   export { pipelineRunner as createRunner } from "../../src/cli/main.js";
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import ffmpegInstaller from "@ffmpeg-installer/ffmpeg";
import { FPS } from "../../src/api/endpoints.js";
import type { RunnerFactory } from "../../src/cli/serve.js";
import { CancelledError, InputError, ProcessError } from "../../src/errors.js";
import type { JobRunner } from "../../src/pipeline/types.js";
import type { Storage } from "../../src/storage/types.js";

export interface TestRunnerOptions {
  storage: Storage;
  /** Sleep per frame. Default 10 ms (145 frames ≈ 1.5 s). */
  msPerFrame?: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });

function ffmpeg(args: string[], signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegInstaller.path, args, { stdio: ["ignore", "ignore", "pipe"], signal });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err) => reject(signal.aborted ? new CancelledError() : err));
    child.on("close", (code) => (code === 0 ? resolve() : reject(signal.aborted ? new CancelledError() : new ProcessError("ffmpeg failed", stderr, code))));
  });
}

export function createTestRunner(options: TestRunnerOptions): JobRunner {
  const msPerFrame = options.msPerFrame ?? 10;
  return async ({ endpoint, input, requestId }, ctx) => {
    ctx.log(`test runner: ${endpoint.id} ${requestId}`);
    for (const field of endpoint.fileFields) {
      const url = input[field];
      if (typeof url !== "string") continue;
      if (url.startsWith("data:")) {
        const comma = url.indexOf(",");
        const meta = url.slice(5, comma);
        const bytes = meta.endsWith(";base64") ? Buffer.from(url.slice(comma + 1), "base64").length : decodeURIComponent(url.slice(comma + 1)).length;
        ctx.log(`${field}: ${bytes} bytes ${meta.split(";")[0] || "text/plain"} (data)`);
        continue;
      }
      const key = options.storage.keyFromUrl(url);
      if (key) {
        const file = await options.storage.stat(key);
        if (!file) throw InputError.field(field, `The file ${url} is not in storage; upload it again.`);
        ctx.log(`${field}: ${file.size} bytes ${file.contentType} (storage)`);
        continue;
      }
      ctx.log(`${field}: ${url} (not fetched by the test runner)`);
    }
    if (input.prompt === "fail:input") throw InputError.field("image_url", "No face found in the image; use a photo where one face is clearly visible.");
    if (input.prompt === "fail:crash") throw new Error("test runner crashed on purpose");

    const frames = Number(input.num_frames);
    for (let i = 1; i <= frames; i++) {
      if (ctx.signal.aborted) throw new CancelledError();
      await sleep(msPerFrame, ctx.signal);
      ctx.progress(i, frames);
    }
    if (ctx.signal.aborted) throw new CancelledError();

    const [w, h] = input.resolution === "720p" ? [1280, 720] : [854, 480];
    const seconds = (frames / FPS).toFixed(3);
    const dir = await mkdtemp(path.join(os.tmpdir(), "mp-test-runner-"));
    try {
      const out = path.join(dir, "video.mp4");
      await ffmpeg([
        "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", `testsrc2=size=${w}x${h}:rate=${FPS}:duration=${seconds}`,
        "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=44100:duration=${seconds}`,
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        "-movflags", "+faststart", out,
      ], ctx.signal);
      const stored = await options.storage.putFile({ path: out, contentType: "video/mp4", fileName: "video.mp4" });
      const seed = typeof input.seed === "number" ? input.seed : Math.floor(Math.random() * 2 ** 32);
      return {
        video: { url: stored.url, content_type: stored.contentType, file_name: stored.fileName, file_size: stored.size },
        seed,
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
}

/** The runner the server's end-to-end tests use (one line to switch to the real pipeline). */
export const createRunner: RunnerFactory = ({ storage }) => createTestRunner({ storage });
