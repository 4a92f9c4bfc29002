/**
 * Face tracking for video (src/face/track.ts): the One Euro filter, and FaceTracker on synthetic frames with a
 * simple real detector (the bounding box of the red pixels of whatever picture or crop it is given): key frames,
 * interpolation, cuts, lost faces, pass-through frames.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FaceTracker, OneEuroFilter, smoothMeshes } from "../../src/face/track.js";
import type { Face } from "../../src/face/types.js";
import type { RawImage } from "../../src/media/types.js";

const W = 160;
const H = 90;

/** A frame: grey background `bg`, a red 20x24 square at (x, y) unless x is null. */
function frame(bg: number, x: number | null, y = 30): RawImage {
  const data = Buffer.alloc(W * H * 3, bg);
  if (x !== null) {
    for (let r = y; r < y + 24; r++) {
      for (let c = x; c < x + 20; c++) {
        const p = (r * W + c) * 3;
        data[p] = 255;
        data[p + 1] = 0;
        data[p + 2] = 0;
      }
    }
  }
  return { width: W, height: H, channels: 3, data };
}

/** "Detects" the red square: a face whose mesh fills its bounding box (a 22x22 grid of points). */
class RedSquareDetector {
  calls = 0;
  sizes: number[] = [];
  async detect(image: RawImage): Promise<Face[]> {
    this.calls++;
    this.sizes.push(image.width * image.height);
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const p = (y * image.width + x) * image.channels;
        if (image.data[p] > 200 && image.data[p + 1] < 50) {
          x0 = Math.min(x0, x); x1 = Math.max(x1, x + 1);
          y0 = Math.min(y0, y); y1 = Math.max(y1, y + 1);
        }
      }
    }
    if (!(x1 > x0)) return [];
    const mesh = new Float32Array(478 * 3);
    for (let k = 0; k < 478; k++) {
      mesh[k * 3] = x0 + ((k % 22) / 21) * (x1 - x0);
      mesh[k * 3 + 1] = y0 + (Math.min(21, Math.floor(k / 22)) / 21) * (y1 - y0);
    }
    return [{ box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, score: 0.9, mesh, pose: { yaw: 0, pitch: 0, roll: 0 } }];
  }
}

describe("One Euro filter", () => {
  it("smooths jitter of a still signal and follows a fast move with little lag", () => {
    const f = new OneEuroFilter(1, 0.05, 1);
    let noisyVar = 0, smoothVar = 0;
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
    for (let i = 0; i < 200; i++) {
      const v = 100 + 2 * rand();
      const s = f.filter(v, i / 25);
      if (i > 20) {
        noisyVar += (v - 100) ** 2;
        smoothVar += (s - 100) ** 2;
      }
    }
    assert.ok(smoothVar < noisyVar / 4, `variance ${smoothVar.toFixed(2)} vs ${noisyVar.toFixed(2)}`);
    // A move of 10 px per frame: after a few frames the filter is within 10% of a step behind.
    const g = new OneEuroFilter(1, 0.05, 1);
    let out = 0;
    for (let i = 0; i < 30; i++) out = g.filter(10 * i, i / 25);
    assert.ok(Math.abs(out - 290) < 10, `at 290: ${out.toFixed(1)}`);
    // Without the speed term (beta 0) the same move lags far more.
    const slow = new OneEuroFilter(1, 0, 1);
    let lagged = 0;
    for (let i = 0; i < 30; i++) lagged = slow.filter(10 * i, i / 25);
    assert.ok(290 - lagged > 3 * Math.abs(290 - out), `beta 0: ${lagged.toFixed(1)}`);
  });

  it("smoothMeshes runs forwards and backwards: no lag on a straight move", () => {
    const meshes = Array.from({ length: 20 }, (_, i) => Float32Array.from([i * 3, 0, 0]));
    const t = meshes.map((_, i) => i / 25);
    const s = smoothMeshes(meshes, t, { minCutoff: 1, beta: 0, dCutoff: 1 });
    assert.ok(Math.abs(s[10][0] - 30) < 0.5, `middle ${s[10][0]}`);
  });
});

/** A frame with a textured red patch (fixed texture that moves with it) at (x, y) on a grey background. */
function texturedFrame(x: number, y: number): RawImage {
  const data = Buffer.alloc(W * H * 3, 90);
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const tex = Array.from({ length: 48 * 40 }, () => [Math.floor(rand() * 45), Math.floor(rand() * 255)]);
  // Drawn with sub-pixel position by bilinear weights of the texture (smooth blocks of 4x4 texels).
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const u = c - x, v = r - y;
      if (u < 0 || v < 0 || u >= 40 || v >= 48) continue;
      const tu = Math.min(9, Math.floor(u / 4)), tv = Math.min(11, Math.floor(v / 4));
      const [g, b] = tex[tv * 10 + tu];
      const p = (r * W + c) * 3;
      data[p] = 255;
      data[p + 1] = g;
      data[p + 2] = b;
    }
  }
  return { width: W, height: H, channels: 3, data };
}

describe("FaceTracker", () => {
  it("optical flow follows the face between key frames where interpolation cannot (a back-and-forth move)", async () => {
    // x(i) = 60 + 12 sin(2 pi i / 16): at every key frame (every 8) the patch is back at x = 60.
    const xAt = (i: number) => Math.round(60 + 12 * Math.sin((2 * Math.PI * i) / 16));
    const errors: Record<string, number> = {};
    for (const flow of [true, false]) {
      const tracker = new FaceTracker(new RedSquareDetector(), { keyInterval: 8, flow, minCutoff: 5, beta: 0.5 });
      for (let i = 0; i < 33; i++) await tracker.push(texturedFrame(xAt(i), 20));
      const track = tracker.finish();
      let worst = 0;
      for (let i = 0; i < 33; i++) worst = Math.max(worst, Math.abs((track.faces[i]?.box.x ?? NaN) - xAt(i)));
      errors[String(flow)] = worst;
    }
    console.log(`worst error with flow ${errors.true.toFixed(2)} px, without ${errors.false.toFixed(2)} px`);
    assert.ok(errors.true < 1.5, `with flow: worst error ${errors.true.toFixed(2)} px`);
    assert.ok(errors.false > 6, `without flow: worst error ${errors.false.toFixed(2)} px`);
  });

  it("detects on key frames, interpolates between them, re-detects after a cut, and drops a lost face", async () => {
    const det = new RedSquareDetector();
    const tracker = new FaceTracker(det, { keyInterval: 8, minCutoff: 5, beta: 0.5 });
    const truth: (number | null)[] = [];
    for (let i = 0; i < 60; i++) {
      // Shot 1 (dark): the square moves right 1 px a frame. Shot 2 (light, from 30): elsewhere, still, then gone from 44.
      const x = i < 30 ? 10 + i : i < 44 ? 110 : null;
      truth.push(x);
      await tracker.push(frame(i < 30 ? 30 : 220, x, i < 30 ? 30 : 50));
    }
    await tracker.flush();
    const track = tracker.finish();
    assert.deepEqual(track.cuts, [30]);
    // Every 8 frames, the last frame before the cut (29) and the first after it (30).
    assert.deepEqual(track.keyFrames, [0, 8, 16, 24, 29, 30, 38, 46, 54]);
    // Key frames 8-24 looked in crops around the last face, not in the whole frame.
    assert.ok(det.sizes.slice(1, 4).every((s) => s < W * H), `detector inputs ${det.sizes.join(" ")}`);
    for (let i = 0; i < 30; i++) {
      const f = track.faces[i];
      assert.ok(f, `frame ${i}`);
      assert.ok(Math.abs(f.box.x - (10 + i)) < 0.75, `frame ${i}: x ${f.box.x.toFixed(2)}`);
    }
    assert.notEqual(track.segments[29], track.segments[30]);
    for (let i = 30; i < 44; i++) assert.ok(track.faces[i] && Math.abs(track.faces[i]!.box.x - 110) < 0.5 && Math.abs(track.faces[i]!.box.y - 50) < 0.5, `frame ${i}`);
    // The key frame at 46 finds nothing: from there on, no face (the frames pass through).
    for (let i = 46; i < 60; i++) assert.equal(track.faces[i], null, `frame ${i}`);
    assert.notEqual(track.segments[45], track.segments[46]);
  });

  it("a video without a face: every frame null, the detector tries the whole frame every key frame", async () => {
    const det = new RedSquareDetector();
    const tracker = new FaceTracker(det, { keyInterval: 5 });
    for (let i = 0; i < 12; i++) await tracker.push(frame(100, null));
    const track = tracker.finish();
    assert.ok(track.faces.every((f) => f === null));
    assert.equal(det.calls, 3);
    assert.ok(det.sizes.every((s) => s === W * H));
  });
});
