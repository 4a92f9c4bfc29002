/**
 * Video inputs of the dubbing endpoint: src/media/decode.ts on real files made by ffmpeg (rotation metadata, VFR,
 * VP9/WebM), and the video-to-video runner's length rule (ping-pong) on a video whose every frame is numbered by
 * its grey level.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { findEndpoint } from "../../src/api/endpoints.js";
import { loadConfig } from "../../src/config.js";
import { decodeVideoFrames, openVideoInput } from "../../src/media/decode.js";
import { runProcess } from "../../src/media/ffmpeg.js";
import type { RawImage } from "../../src/media/types.js";
import { createPipelineRunner } from "../../src/pipeline/index.js";
import { pingPongIndex } from "../../src/pipeline/video.js";
import { readVideoFrames } from "../support/judge.js";
import { bins, FolderStorage, makeTone, memoryLogger, recordingContext, tempDir } from "../support/media-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
before(async () => {
  ({ dir, cleanup } = await tempDir("mp-decode-"));
});
after(async () => {
  await cleanup?.();
});

const ffmpeg = (args: string[]) => runProcess(bins.ffmpeg, ["-nostdin", "-v", "error", "-y", ...args], { label: "ffmpeg (fixture)" });

async function decodeAll(file: string, width: number, height: number): Promise<RawImage[]> {
  const out: RawImage[] = [];
  for await (const f of decodeVideoFrames(file, { bins, width, height, fps: 25 })) out.push(f);
  return out;
}

/** Mean RGB of a rectangle. */
function meanRgb(img: RawImage, x0: number, y0: number, x1: number, y1: number): [number, number, number] {
  const s = [0, 0, 0];
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const p = (y * img.width + x) * 3;
      for (let c = 0; c < 3; c++) s[c] += img.data[p + c];
      n++;
    }
  }
  return [s[0] / n, s[1] / n, s[2] / n];
}

describe("video decode (src/media/decode.ts)", () => {
  it("applies rotation metadata: a 320x240 MP4 turned 90° displays 240x320 and decodes upright into the 3:4 bucket", async () => {
    const plain = path.join(dir, "plain.mp4");
    const rotated = path.join(dir, "rotated.mp4");
    // Coded picture: left half red, right half blue.
    await ffmpeg(["-f", "lavfi", "-i", "color=red:s=160x240:d=1:r=30", "-f", "lavfi", "-i", "color=blue:s=160x240:d=1:r=30",
      "-filter_complex", "[0][1]hstack", "-c:v", "libx264", "-pix_fmt", "yuv420p", plain]);
    await ffmpeg(["-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90", rotated]);
    const input = await openVideoInput(rotated, "video_url", { bins, resolution: "480p" });
    assert.equal(input.stream.width, 320);
    assert.notEqual(input.stream.rotation, 0);
    assert.deepEqual([input.sourceWidth, input.sourceHeight], [240, 320]);
    assert.deepEqual([input.width, input.height], [480, 640]);
    const frames = await decodeAll(rotated, input.width, input.height);
    assert.equal(frames.length, 25);
    // The display matrix turns the picture 90° counter-clockwise: the coded right half (blue) is on top.
    const top = meanRgb(frames[10], 100, 20, 380, 280);
    const bottom = meanRgb(frames[10], 100, 360, 380, 620);
    assert.ok(top[2] > 200 && top[0] < 40, `top ${top}`);
    assert.ok(bottom[0] > 200 && bottom[2] < 40, `bottom ${bottom}`);
    // The unrotated file decodes the other way round: left red, right blue, in the 4:3 bucket.
    const p = await openVideoInput(plain, "video_url", { bins, resolution: "480p" });
    assert.deepEqual([p.width, p.height], [640, 480]);
    const pf = await decodeAll(plain, p.width, p.height);
    assert.ok(meanRgb(pf[0], 20, 100, 300, 380)[0] > 200);
    assert.ok(meanRgb(pf[0], 340, 100, 620, 380)[2] > 200);
  });

  it("resamples variable frame rate to 25 fps by time: 30 fps for 1 s then 10 fps for 1 s → 50 frames, the switch at frame 25", async () => {
    const vfr = path.join(dir, "vfr.mp4");
    // 40 frames: 0-29 dark at 1/30 s steps, 30-39 bright at 1/10 s steps (timestamps kept: VFR).
    await ffmpeg([
      "-f", "lavfi", "-i", "color=c=0x202020:s=320x240:r=30:d=1", "-f", "lavfi", "-i", "color=c=0xe0e0e0:s=320x240:r=30:d=0.3334",
      "-filter_complex", "[0][1]concat=n=2:v=1,setpts='if(lt(N,30),N/30,1+(N-30)/10)/TB'",
      "-vsync", "vfr", "-c:v", "libx264", "-pix_fmt", "yuv420p", vfr,
    ]);
    const input = await openVideoInput(vfr, "video_url", { bins, resolution: "480p" });
    const frames = await decodeAll(vfr, input.width, input.height);
    // The last frame's display time is up to the container (the 10 fps part's last frame starts at 1.9 s).
    assert.ok(frames.length >= 46 && frames.length <= 50, `${frames.length} frames`);
    const grey = frames.map((f) => meanRgb(f, 0, 0, f.width, f.height)[1]);
    assert.ok(grey.slice(0, 24).every((g) => g < 60), grey.map(Math.round).join(" "));
    assert.ok(grey.slice(26).every((g) => g > 190), grey.map(Math.round).join(" "));
  });

  it("decodes VP9/WebM (30 fps, 16:9) to 25 fps frames of the 16:9 bucket", async () => {
    const webm = path.join(dir, "clip.webm");
    await ffmpeg(["-f", "lavfi", "-i", "color=c=0x2060c0:s=320x180:r=30:d=2", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", webm]);
    const input = await openVideoInput(webm, "video_url", { bins, resolution: "480p" });
    assert.equal(input.stream.codec, "vp9");
    assert.deepEqual([input.width, input.height], [854, 480]);
    const frames = await decodeAll(webm, input.width, input.height);
    assert.ok(Math.abs(frames.length - 50) <= 1, `${frames.length} frames`);
    const [r, g, b] = meanRgb(frames[20], 0, 0, 854, 480);
    assert.ok(Math.abs(r - 0x20) < 12 && Math.abs(g - 0x60) < 12 && Math.abs(b - 0xc0) < 12, `${r} ${g} ${b}`);
  });

  it("stops early (maxFrames), cancels on abort, and rejects a file without video naming the field", async () => {
    const webm = path.join(dir, "clip.webm");
    const frames: RawImage[] = [];
    for await (const f of decodeVideoFrames(webm, { bins, width: 854, height: 480, fps: 25, maxFrames: 7 })) frames.push(f);
    assert.equal(frames.length, 7);
    // Aborting mid-stream stops ffmpeg and rejects with CancelledError.
    const controller = new AbortController();
    let got = 0;
    await assert.rejects((async () => {
      for await (const _ of decodeVideoFrames(webm, { bins, width: 854, height: 480, fps: 25, signal: controller.signal })) {
        if (++got === 3) controller.abort();
      }
    })(), (err: Error) => err.name === "CancelledError");
    assert.ok(got >= 3 && got < 50, `${got} frames before the abort took effect`);
    const wav = path.join(dir, "tone.wav");
    await makeTone(wav, 1);
    await assert.rejects(openVideoInput(wav, "video_url", { bins, resolution: "480p" }), (err: Error) => /video_url/.test(err.message));
  });
});

describe("length rule: ping-pong", () => {
  it("pingPongIndex plays forwards then backwards, never jumping", () => {
    assert.deepEqual(Array.from({ length: 12 }, (_, i) => pingPongIndex(i, 4)), [0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1]);
    assert.deepEqual([pingPongIndex(0, 1), pingPongIndex(5, 1)], [0, 0]);
    for (let i = 1; i < 500; i++) assert.ok(Math.abs(pingPongIndex(i, 37) - pingPongIndex(i - 1, 37)) === 1);
  });

  it("a 2 s video without a face, num_frames 145: the runner ping-pongs it (frames numbered by a moving bar) and keeps the new audio", async () => {
    const numbered = path.join(dir, "numbered.mp4");
    // Frame n has a white bar at x = 6n .. 6n + 5 (n = 0..49) on black.
    await ffmpeg(["-f", "lavfi", "-i", "color=black:s=320x240:r=25:d=2", "-vf", "geq=lum='if(between(X,6*N,6*N+5),235,16)':cb=128:cr=128",
      "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p", numbered]);
    const tone = path.join(dir, "tone6.wav");
    await makeTone(tone, 6);
    const storage = new FolderStorage(path.join(dir, "storage"));
    const run = createPipelineRunner({ config: loadConfig({}, { dataDir: "/tmp/mouthpiece-test-unused" }), storage, logger: memoryLogger() });
    const ctx = recordingContext();
    const endpoint = findEndpoint("fal-ai/infinitalk/video-to-video");
    assert.ok(endpoint);
    const out = await run({ requestId: "pingpong", endpoint, input: {
      video_url: `data:video/mp4;base64,${(await readFile(numbered)).toString("base64")}`,
      audio_url: `data:audio/wav;base64,${(await readFile(tone)).toString("base64")}`,
      prompt: "", num_frames: 145, resolution: "480p", seed: 1, acceleration: "high",
    } }, ctx);
    const video = storage.pathOf(storage.keyFromUrl(out.video.url) as string);
    // The bar's centre (mean x of the bright columns of a band of rows) → the source frame number.
    const barAt = (f: RawImage) => {
      let sx = 0, n = 0;
      for (let x = 0; x < f.width; x++) {
        if (f.data[(240 * f.width + x) * 3 + 1] > 128) { sx += x + 0.5; n++; }
      }
      return n > 0 ? sx / n : NaN;
    };
    const shown: number[] = [];
    for await (const f of readVideoFrames(video)) shown.push(Math.round((barAt(f) / (f.width / 320) - 3) / 6));
    assert.equal(shown.length, 145);
    const expected = Array.from({ length: 145 }, (_, i) => pingPongIndex(i, 50));
    const wrong = shown.filter((s, i) => Math.abs(s - expected[i]) > 0).length;
    assert.equal(wrong, 0, `decoded frame numbers ${shown.join(" ")}`);
    const messages = ctx.logs.map((l) => l.message);
    assert.ok(messages.some((m) => /no face found in the video/.test(m)), messages.join("\n"));
    assert.ok(messages.some((m) => /50 frames at 25 fps, num_frames is 145: it plays forwards and backwards/.test(m)), messages.join("\n"));
    const last = ctx.progressCalls[ctx.progressCalls.length - 1];
    assert.ok(last && last[0] === last[1], `progress ends at total: ${JSON.stringify(last)}`);
  });
});
