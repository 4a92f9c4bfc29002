/**
 * Integration: the classical engine on real photos (face-api's shipped sample photos, via
 * test/support/face-fixtures.ts) with the real face analyzer (src/face).
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { LEFT_EYE_LOWER, LEFT_EYE_UPPER, LIPS_INNER_LOWER, LIPS_INNER_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER } from "../../src/face/landmarks.js";
import { createFaceAnalyzer, type FaceAnalyzer } from "../../src/face/index.js";
import type { Face } from "../../src/face/types.js";
import type { JobContext, RawImage } from "../../src/media/types.js";
import { NEUTRAL_FRAME, type MotionFrame } from "../../src/motion/types.js";
import type { EngineFrame, EngineJob } from "../../src/pipeline/engine.js";
import { ClassicalEngine } from "../../src/render/engine.js";
import { ringVertex } from "../../src/render/mesh.js";
import { FrameRenderer, lashStrength } from "../../src/render/renderer.js";
import { surfaceFromRgb } from "../../src/render/pixels.js";
import { loadOpenMouthFixture, loadPortraitFixture } from "../support/face-fixtures.js";
import { insidePolygon } from "./synthetic.js";

let analyzer: FaceAnalyzer;
before(async () => {
  analyzer = await createFaceAnalyzer();
});

const ctx = (): JobContext => ({ signal: new AbortController().signal, log: () => {}, progress: () => {} });
const frame = (f: Partial<MotionFrame>): MotionFrame => ({ ...NEUTRAL_FRAME, ...f });
const lum = (d: Uint8Array | Buffer, o: number) => 0.2126 * d[o] + 0.7152 * d[o + 1] + 0.0722 * d[o + 2];

async function facesOf(image: RawImage): Promise<Face[]> {
  const faces = await analyzer.detect(image);
  assert.ok(faces.length >= 1, "the analyzer finds the face");
  return faces;
}

/** Mean luminance over pixels strictly inside a polygon of target positions. */
function meanInside(data: Uint8Array | Buffer, w: number, h: number, pos: Float32Array, idx: number[]): { n: number; mean: number } {
  let n = 0, sum = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    if (!insidePolygon(pos, idx, x, y) || !insidePolygon(pos, idx, x, y - 1) || !insidePolygon(pos, idx, x, y + 1)) continue;
    n++;
    sum += lum(data, (y * w + x) * 3);
  }
  return { n, mean: n ? sum / n : 0 };
}

test("closed-mouth photo: jawOpen opens a dark synthesized mouth, the background stays, a blink closes the eyes", async () => {
  const fx = await loadPortraitFixture({ width: 640, height: 360 });
  const faces = await facesOf(fx.image);
  const { width: w, height: h } = fx.image;
  const r = new FrameRenderer(fx.image, [faces[0]], { acceleration: "regular", seed: 3, pixelFormat: "rgb24" });
  const fs = r.faces[0];
  assert.equal(fs.mouth.kind, "synth", "the fixture's lips are closed");

  r.render([frame({ jawOpen: 0.8 })]);
  const out = r.output();
  const hole = [...LIPS_INNER_UPPER, ...[...LIPS_INNER_LOWER].reverse()];
  const opened = meanInside(out, w, h, fs.target, hole);
  const photoLips = meanInside(fx.image.data, w, h, fs.target, hole);
  assert.ok(opened.n > 60, `the opening covers ${opened.n} pixels`);
  assert.ok(opened.mean < photoLips.mean - 20, `the opening (${opened.mean.toFixed(0)}) is darker than the lips were (${photoLips.mean.toFixed(0)})`);

  // Outside the outer ring nothing changed.
  const outer = Array.from({ length: fs.mesh.ringSize }, (_, i) => ringVertex(fs.mesh, fs.mesh.ringCount - 1, i));
  for (let y = 0; y < h; y += 2) for (let x = 0; x < w; x += 2) {
    if (insidePolygon(fs.mesh.src, outer, x, y)) continue;
    const o = (y * w + x) * 3;
    if (out[o] !== fx.image.data[o] || out[o + 1] !== fx.image.data[o + 1] || out[o + 2] !== fx.image.data[o + 2]) {
      assert.fail(`pixel ${x},${y} outside the outer ring changed`);
    }
  }

  r.render([frame({ blinkLeft: 1, blinkRight: 1 })]);
  const blink = r.output();
  for (const eye of [[...RIGHT_EYE_UPPER, ...[...RIGHT_EYE_LOWER].reverse()], [...LEFT_EYE_UPPER, ...[...LEFT_EYE_LOWER].reverse()]]) {
    let changed = 0, n = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      if (!insidePolygon(fs.mesh.src, eye, x, y)) continue;
      n++;
      const o = (y * w + x) * 3;
      if (Math.abs(lum(blink, o) - lum(fx.image.data, o)) > 12) changed++;
    }
    assert.ok(n > 20 && changed / n > 0.4, `the eye changes under the closing lid (${changed}/${n})`);
  }
  // Both eyes show dark lashes in the photo: a closed lid gets a lash line, well darker than the skin above it
  // (measured 0.23 and 0.33 of it; 0.43 and 0.63 without the lash line) ...
  assert.ok(fs.lash[0] > 0.3 && fs.lash[1] > 0.3, `lash strengths ${fs.lash}`);
  for (const eye of fs.rig.eyes) {
    const line = eye.upper.slice(2, -2).reduce((s, v) => s + lum(blink, (Math.round(fs.target[v * 2 + 1] - 0.5) * w + Math.round(fs.target[v * 2] - 0.5)) * 3), 0) / (eye.upper.length - 4);
    const skin = eye.upperRing2.reduce((s, v) => s + lum(blink, (Math.round(fs.target[v * 2 + 1] - 0.5) * w + Math.round(fs.target[v * 2] - 0.5)) * 3), 0) / eye.upperRing2.length;
    assert.ok(line < 0.4 * skin, `the closed lid's line (${line.toFixed(0)}) is darker than the skin above (${skin.toFixed(0)})`);
  }
  // ... a picture without lashes (uniform skin) gets none.
  const flat = surfaceFromRgb({ width: w, height: h, channels: 3, data: Buffer.alloc(w * h * 3, 180) });
  assert.equal(lashStrength(flat, fs.mesh.src, fs.rig.eyes[0]), 0);
});

test("open-mouth photo: its own teeth are reused, lipClose closes the mouth", async () => {
  const fx = await loadOpenMouthFixture({ width: 640, height: 360 });
  const faces = await facesOf(fx.image);
  const { width: w, height: h } = fx.image;
  const r = new FrameRenderer(fx.image, [faces[0]], { acceleration: "regular", seed: 3, pixelFormat: "rgb24" });
  const fs = r.faces[0];
  assert.equal(fs.mouth.kind, "photo", "the fixture's mouth is open");
  const hole = [...LIPS_INNER_UPPER, ...[...LIPS_INNER_LOWER].reverse()];
  const before = meanInside(fx.image.data, w, h, fs.mesh.src, hole);
  r.render([frame({ lipClose: 0.6 })]);
  const closed = meanInside(r.output(), w, h, fs.target, hole);
  assert.ok(closed.n < 0.1 * before.n, `the opening shrinks from ${before.n} to ${closed.n} pixels`);
  const gap = fs.target[14 * 2 + 1] - fs.target[13 * 2 + 1];
  assert.ok(Math.abs(gap) < 1, `inner lips meet (gap ${gap})`);
});

test("the engine end to end on a real face: frames differ, are deterministic, and start from the photo", async () => {
  const fx = await loadPortraitFixture({ width: 480, height: 270 });
  const faces = await facesOf(fx.image);
  const motion = (): MotionFrame[][] => [[frame({}), frame({ jawOpen: 0.6 }), frame({ jawOpen: 0.3, headYaw: 0.02 })]];
  const job: EngineJob = {
    image: fx.image, faces, numFrames: 3, fps: 25, seed: 5, prompt: "", acceleration: "high",
    tracks: [{ pcm: { sampleRate: 16000, samples: new Float32Array(1920) }, faceIndex: 0 }],
  };
  const run = async () => {
    const out: EngineFrame[] = [];
    for await (const f of (await new ClassicalEngine({ motion, pixelFormat: "rgb24" }).start(job, ctx())).frames()) out.push({ index: f.index, data: Buffer.from(f.data) });
    return out;
  };
  const a = await run();
  const b = await run();
  assert.ok(a[0].data.equals(fx.image.data), "neutral first frame = the photo");
  assert.ok(!a[1].data.equals(a[0].data) && !a[2].data.equals(a[1].data));
  a.forEach((f, i) => assert.ok(f.data.equals(b[i].data)));
});
