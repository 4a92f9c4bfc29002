import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import ffmpegInstaller from "@ffmpeg-installer/ffmpeg";
import {
  cloneSurface, fullRect, newSurface, rgbxToRgb24, rgbxToYuv420, rgbxToYuv420Changed, surfaceFromRgb, yuvBytes,
} from "../../src/render/pixels.js";

function gradient(w: number, h: number): Buffer {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const o = (y * w + x) * 3;
    data[o] = (x * 255) / (w - 1);
    data[o + 1] = (y * 255) / (h - 1);
    data[o + 2] = 40 + ((x * 3 + y * 2) % 180);
  }
  return data;
}

test("yuv420p conversion matches ffmpeg's BT.709 limited-range conversion", () => {
  const w = 64, h = 48;
  const rgb = gradient(w, h);
  const ours = new Uint8Array(yuvBytes(w, h));
  const s = surfaceFromRgb({ width: w, height: h, channels: 3, data: rgb });
  rgbxToYuv420(s, ours, fullRect(s));
  const r = spawnSync(ffmpegInstaller.path, [
    "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", `${w}x${h}`, "-i", "pipe:0",
    "-vf", "scale=out_color_matrix=bt709:out_range=tv:flags=accurate_rnd+full_chroma_int,format=yuv420p", "-f", "rawvideo", "pipe:1",
  ], { input: rgb, maxBuffer: 1 << 20 });
  assert.equal(r.status, 0, r.stderr?.toString());
  const theirs = r.stdout;
  assert.equal(theirs.length, ours.length);
  let maxY = 0, sumC = 0;
  for (let i = 0; i < w * h; i++) maxY = Math.max(maxY, Math.abs(ours[i] - theirs[i]));
  for (let i = w * h; i < ours.length; i++) sumC += Math.abs(ours[i] - theirs[i]);
  assert.ok(maxY <= 1, `luma differs by up to ${maxY}`);
  // Chroma: ffmpeg sites chroma differently from our 2x2 mean (a fraction of a pixel): close on average.
  const meanC = sumC / (ours.length - w * h);
  assert.ok(meanC < 1.5, `chroma differs by ${meanC} on average`);
});

test("rectangle conversion touches only the (even-aligned) rectangle", () => {
  const w = 20, h = 10;
  const s = newSurface(w, h);
  s.px.fill(0x808080);
  const out = new Uint8Array(yuvBytes(w, h)).fill(7);
  rgbxToYuv420(s, out, { x0: 3, y0: 3, x1: 7, y1: 5 });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const inside = x >= 2 && x < 8 && y >= 2 && y < 6;
    assert.equal(out[y * w + x] !== 7, inside, `luma ${x},${y}`);
  }
  const rgb = new Uint8Array(w * h * 3).fill(1);
  rgbxToRgb24(s, rgb, { x0: 0, y0: 0, x1: 2, y1: 1 });
  assert.deepEqual([...rgb.subarray(0, 7)], [128, 128, 128, 128, 128, 128, 1]);
});

test("converting only the changed blocks gives the same yuv420p as converting the whole rectangle", () => {
  // Odd sizes: the last column and row of blocks are partial.
  for (const [w, h] of [[37, 23], [40, 30]]) {
    const frame = surfaceFromRgb({ width: w, height: h, channels: 3, data: gradient(w, h) });
    const shown = cloneSurface(frame);
    const full = new Uint8Array(yuvBytes(w, h));
    const partial = new Uint8Array(yuvBytes(w, h));
    rgbxToYuv420(frame, full, fullRect(frame));
    rgbxToYuv420(frame, partial, fullRect(frame));
    let seed = w * 31 + h;
    const rnd = () => ((seed = Math.imul(seed ^ (seed >>> 15), 2246822519) + 12345) >>> 0) / 4294967296;
    let converted = 0;
    for (let step = 0; step < 40; step++) {
      // Change a few pixels inside a random rectangle (some steps change nothing), then convert that rectangle.
      const x0 = Math.floor(rnd() * w), y0 = Math.floor(rnd() * h);
      const r = { x0, y0, x1: Math.min(w, x0 + 1 + Math.floor(rnd() * 12)), y1: Math.min(h, y0 + 1 + Math.floor(rnd() * 12)) };
      const changes = step % 5 === 0 ? 0 : 1 + Math.floor(rnd() * 6);
      for (let k = 0; k < changes; k++) {
        const x = r.x0 + Math.floor(rnd() * (r.x1 - r.x0)), y = r.y0 + Math.floor(rnd() * (r.y1 - r.y0));
        frame.px[y * w + x] = Math.floor(rnd() * 0xffffff);
      }
      rgbxToYuv420(frame, full, r);
      converted += rgbxToYuv420Changed(frame, shown, partial, r);
      assert.deepEqual(partial, full, `${w}x${h}, step ${step}`);
      assert.deepEqual(shown.px, frame.px, "shown follows the frame");
    }
    // Blocks without a change were skipped: far fewer conversions than blocks in the rectangles.
    assert.ok(converted > 0 && converted <= 40 * 6, `converted ${converted} blocks`);
  }
});
