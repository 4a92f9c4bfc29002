import assert from "node:assert/strict";
import path from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { CancelledError, ProcessError } from "../../src/errors.js";
import {
  buildEncodeArgs, encodeStillBaseline, encodeVideo, frameBytes, OrderedFrameWriter, PipeClosedError, progressFromBlock,
  ProgressParser, stillFrameStream, writeChunk, x264Settings, type EncodeProgress,
} from "../../src/media/encode.js";
import { runProcess } from "../../src/media/ffmpeg.js";
import { probeMedia } from "../../src/media/probe.js";
import type { JobContext } from "../../src/media/types.js";
import type { FrameStream, PixelFormat } from "../../src/pipeline/engine.js";
import { bins, makeTone, tempDir } from "../support/media-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

const ctxOf = (signal = new AbortController().signal): JobContext => ({ signal, log: () => {}, progress: () => {} });

/** Frames whose content changes (a moving bar), in any pixel format; `delayMs` per frame; `stopAt` yields fewer. */
function movingStream(width: number, height: number, n: number, pixelFormat: PixelFormat = "rgb24",
  opts: { delayMs?: number; stopAt?: number; throwAt?: number } = {}): FrameStream {
  const size = frameBytes(pixelFormat, width, height);
  return {
    pixelFormat, width, height,
    async *frames() {
      for (let i = 0; i < Math.min(n, opts.stopAt ?? n); i++) {
        if (opts.throwAt === i) throw new Error("engine exploded");
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
        const data = Buffer.alloc(size, 40);
        const bar = (i * 3) % (width - 2);
        if (pixelFormat !== "yuv420p") {
          const ch = pixelFormat === "rgba" ? 4 : 3;
          for (let y = 0; y < height; y++) data.fill(230, (y * width + bar) * ch, (y * width + bar + 2) * ch);
        } else for (let y = 0; y < height; y++) data.fill(230, y * width + bar, y * width + bar + 2);
        yield { index: i, data };
      }
    },
  };
}

async function ffprobeStreams(file: string) {
  const { stdout } = await runProcess(bins.ffprobe, ["-v", "error", "-print_format", "json", "-show_streams", file], { label: "ffprobe" });
  return (JSON.parse(stdout.toString()) as { streams: Record<string, unknown>[] }).streams;
}

describe("settings and arguments (pure)", () => {
  it("maps acceleration to x264 presets, slower = better", () => {
    assert.deepEqual(x264Settings("none"), { preset: "medium", crf: 18, threads: 2 });
    assert.deepEqual(x264Settings("regular"), { preset: "veryfast", crf: 20, threads: 2 });
    assert.deepEqual(x264Settings("high"), { preset: "superfast", crf: 22, threads: 2 });
  });

  it("sizes frames per pixel format", () => {
    assert.equal(frameBytes("rgb24", 854, 480), 854 * 480 * 3);
    assert.equal(frameBytes("rgba", 4, 2), 32);
    assert.equal(frameBytes("yuv420p", 854, 480), 854 * 480 * 1.5);
    assert.equal(frameBytes("yuv420p", 3, 3), 9 + 2 * 4);
  });

  it("builds rawvideo-in, H.264 + AAC out, exact frame count, faststart", () => {
    const args = buildEncodeArgs({ width: 854, height: 480, pixelFormat: "rgb24", fps: 25, audioPath: "/t/a.wav",
      outPath: "/t/o.mp4", x264: { preset: "veryfast", crf: 20, threads: 2 } });
    const after = (flag: string) => args[args.indexOf(flag) + 1];
    assert.deepEqual(args.slice(args.indexOf("-f"), args.indexOf("pipe:0") + 1),
      ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "854x480", "-framerate", "25", "-thread_queue_size", "16", "-i", "pipe:0"]);
    assert.equal(args[args.indexOf("pipe:0") + 2], "/t/a.wav");
    assert.deepEqual([after("-c:v"), after("-preset"), after("-crf"), after("-threads"), after("-c:a"), after("-movflags")],
      ["libx264", "veryfast", "20", "2", "aac", "+faststart"]);
    assert.ok(!args.includes("-frames:v") && !args.includes("-shortest"), "nothing may cut the audio short");
    assert.equal(args[args.lastIndexOf("-pix_fmt") + 1], "yuv420p");
    assert.match(after("-vf"), /out_color_matrix=bt709/);
    assert.equal(args.at(-1), "/t/o.mp4");
    assert.equal(after("-progress"), "pipe:1");

    const silent = buildEncodeArgs({ width: 64, height: 48, pixelFormat: "yuv420p", fps: 25, outPath: "/t/o.mp4",
      x264: x264Settings("high") });
    assert.ok(!silent.includes("-c:a") && !silent.includes("-vf") && !silent.includes("1:a:0"));
    assert.throws(() => buildEncodeArgs({ width: 63, height: 48, pixelFormat: "rgb24", fps: 25, outPath: "o", x264: x264Settings("high") }), /even/);
  });

  it("parses -progress blocks split across chunks", () => {
    const p = new ProgressParser();
    assert.deepEqual(p.push("frame=12\nfps=24.5\nout_time_us=480000\nspe"), []);
    const got: EncodeProgress[] = p.push("ed=1.5x\nprogress=continue\nframe=41\nout_time_ms=1640000\nspeed=N/A\nprogress=end\n");
    assert.deepEqual(got, [
      { frame: 12, fps: 24.5, outTimeSec: 0.48, speed: 1.5, done: false },
      { frame: 41, fps: undefined, outTimeSec: 1.64, speed: undefined, done: true },
    ]);
    assert.equal(progressFromBlock({ out_time: "00:01:02.500000", progress: "continue" }).outTimeSec, 62.5);
    assert.equal(progressFromBlock({ out_time_us: "-9223372036854775807", progress: "continue" }).outTimeSec, undefined);
  });
});

describe("back-pressure and ordering", () => {
  /** A sink that takes `delayMs` per chunk with a tiny buffer, recording what it got. */
  const slowSink = (delayMs: number, hwm = 8) => {
    const got: Buffer[] = [];
    const w = new Writable({
      highWaterMark: hwm,
      write(chunk: Buffer, _e, cb) {
        got.push(Buffer.from(chunk));
        setTimeout(cb, delayMs);
      },
    });
    return { w, got };
  };

  it("writeChunk waits for drain when the buffer is full", async () => {
    const { w, got } = slowSink(20);
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) {
      await writeChunk(w, Buffer.alloc(100, i));
      assert.equal(w.writableNeedDrain, false, "resolved only once drained");
    }
    assert.ok(Date.now() - t0 >= 40, "waited for the slow consumer");
    assert.equal(got.length, 3);
    w.destroy();
    await assert.rejects(writeChunk(w, Buffer.alloc(1)), PipeClosedError);
  });

  it("writeChunk rejects when the stream is destroyed while waiting", async () => {
    const { w } = slowSink(1000);
    const p = writeChunk(w, Buffer.alloc(100));
    setTimeout(() => w.destroy(), 20);
    await assert.rejects(p, PipeClosedError);
  });

  it("OrderedFrameWriter writes in index order and checks frames", async () => {
    const { w, got } = slowSink(1, 1 << 20);
    const writer = new OrderedFrameWriter(w, 4, 5, 3);
    // Frame 1 must wait for frame 0: the writer keeps a copy (an engine may reuse the buffer for its next frame).
    const early = Buffer.alloc(4, 1);
    await writer.push({ index: 1, data: early });
    assert.equal(writer.written, 0);
    early.fill(7);
    await writer.push({ index: 0, data: Buffer.alloc(4, 0) });
    await writer.push({ index: 2, data: Buffer.alloc(4, 2) });
    assert.equal(writer.written, 3);
    assert.deepEqual(got.map((b) => b[0]), [0, 1, 2]);
    await assert.rejects(writer.push({ index: 1, data: Buffer.alloc(4) }), /sent twice/);
    await assert.rejects(writer.push({ index: 3, data: Buffer.alloc(5) }), /has 5 bytes, expected 4/);
    await assert.rejects(writer.push({ index: 9, data: Buffer.alloc(4) }), /outside 0..4/);
    const w2 = new OrderedFrameWriter(slowSink(1).w, 4, 100, 3);
    await assert.rejects(w2.push({ index: 3, data: Buffer.alloc(4) }), /more than 3 frames ahead/);
  });
});

describe("encodeVideo (real ffmpeg)", () => {
  it("encodes exactly num_frames at 25 fps with an AAC track of the same length", async () => {
    const wav = path.join(dir, "a.wav");
    await makeTone(wav, 1.2, { rate: 48000 });
    const outPath = path.join(dir, "out.mp4");
    const progress: EncodeProgress[] = [];
    const r = await encodeVideo({ stream: movingStream(64, 48, 30), numFrames: 30, fps: 25, audioPath: wav, outPath,
      acceleration: "regular", bins, ctx: ctxOf(), onProgress: (p) => progress.push(p) });
    assert.equal(r.frames, 30);
    assert.ok(r.size > 0);
    const info = await probeMedia(outPath, bins, { countFrames: true });
    assert.match(info.formatName, /mp4/);
    assert.deepEqual([info.video?.codec, info.video?.width, info.video?.height, info.video?.fps, info.video?.frames], ["h264", 64, 48, 25, 30]);
    assert.equal(info.audio?.codec, "aac");
    assert.ok(Math.abs((info.audio?.durationSec ?? 0) - 1.2) <= 1024 / 48000 + 1e-6, `audio ${info.audio?.durationSec}`);
    const streams = await ffprobeStreams(outPath);
    assert.equal(streams[0].pix_fmt, "yuv420p");
    assert.equal(streams[0].color_space, "bt709");
    assert.equal(progress.at(-1)?.done, true);
    assert.equal(progress.at(-1)?.frame, 30);
  });

  it("takes yuv420p and rgba frames, and stops at num_frames when the engine yields more", async () => {
    for (const fmt of ["yuv420p", "rgba"] as const) {
      const outPath = path.join(dir, `${fmt}.mp4`);
      const r = await encodeVideo({ stream: movingStream(32, 32, 50, fmt), numFrames: 41, fps: 25, outPath, acceleration: "high", bins, ctx: ctxOf() });
      assert.equal(r.frames, 41);
      const info = await probeMedia(outPath, bins, { countFrames: true });
      assert.equal(info.video?.frames, 41);
      assert.equal(info.audio, undefined);
    }
  });

  it("fails clearly when the engine yields too few frames or throws", async () => {
    await assert.rejects(encodeVideo({ stream: movingStream(32, 32, 30, "rgb24", { stopAt: 10 }), numFrames: 30, fps: 25,
      outPath: path.join(dir, "few.mp4"), acceleration: "high", bins, ctx: ctxOf() }), /the engine yielded 10 frames, expected 30/);
    await assert.rejects(encodeVideo({ stream: movingStream(32, 32, 30, "rgb24", { throwAt: 5 }), numFrames: 30, fps: 25,
      outPath: path.join(dir, "boom.mp4"), acceleration: "high", bins, ctx: ctxOf() }), /engine exploded/);
  });

  it("reports ffmpeg's own error, quoting its stderr", async () => {
    await assert.rejects(encodeVideo({ stream: movingStream(32, 32, 30), numFrames: 30, fps: 25, audioPath: path.join(dir, "missing.wav"),
      outPath: path.join(dir, "x.mp4"), acceleration: "high", bins, ctx: ctxOf() }),
      (e: unknown) => e instanceof ProcessError && /ffmpeg \(encode\) failed.*missing\.wav: No such file/.test(e.message));
  });

  it("stops within 1 s of a cancel, mid-encode", async () => {
    const ac = new AbortController();
    let abortedAt = 0;
    let encoded = 0;
    const p = encodeVideo({ stream: movingStream(64, 48, 500, "rgb24", { delayMs: 10 }), numFrames: 500, fps: 25,
      outPath: path.join(dir, "cancel.mp4"), acceleration: "high", bins, ctx: ctxOf(ac.signal), onProgress: (q) => (encoded = q.frame) });
    setTimeout(() => {
      abortedAt = Date.now();
      ac.abort();
    }, 400);
    await assert.rejects(p, CancelledError);
    assert.ok(abortedAt > 0, "it was still running when cancelled");
    assert.ok(Date.now() - abortedAt < 1000);
    assert.ok(encoded < 500);
  });

  it("encodeStillBaseline measures a still picture", async () => {
    const image = { width: 64, height: 48, channels: 3 as const, data: Buffer.alloc(64 * 48 * 3, 128) };
    const r = await encodeStillBaseline({ image, numFrames: 41, acceleration: "regular", bins, outPath: path.join(dir, "still.mp4") });
    assert.equal(r.frames, 41);
    assert.ok(r.fps > 0 && r.ms > 0);
    const info = await probeMedia(r.outPath, bins, { countFrames: true });
    assert.equal(info.video?.frames, 41);
    assert.equal(stillFrameStream(image, 3).pixelFormat, "rgb24");
  });
});
