import assert from "node:assert/strict";
import { test } from "node:test";
import { LEFT_EYE_LOWER, LEFT_EYE_UPPER, LIPS_INNER_LOWER, LIPS_INNER_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER } from "../../src/face/landmarks.js";
import { NEUTRAL_FRAME, type MotionFrame } from "../../src/motion/types.js";
import { deform, newDeformScratch } from "../../src/render/deform.js";
import { buildWarpMesh, ringVertex } from "../../src/render/mesh.js";
import { newInteriorMesh, prepareMouth, updateInterior } from "../../src/render/mouth.js";
import { newSurface, surfaceFromRgb, yuvBytes, rgbxToYuv420, fullRect } from "../../src/render/pixels.js";
import { FrameRenderer } from "../../src/render/renderer.js";
import { buildRig } from "../../src/render/rig.js";
import { drawTriangles } from "../../src/render/warp.js";
import { insidePolygon, syntheticFace } from "./synthetic.js";

const W = 256, H = 256;
const synth = syntheticFace({ width: W, height: H, size: 160 });
const frame = (f: Partial<MotionFrame>): MotionFrame => ({ ...NEUTRAL_FRAME, ...f });

/** A few frames of varied motion (mouth, eyes, brows, head). */
const MOTION: MotionFrame[] = [
  frame({ jawOpen: 0.6, lipWidth: 0.3 }),
  frame({ jawOpen: 0.2, lipRound: 0.7, blinkLeft: 1, headYaw: 0.05 }),
  frame({ lipClose: 0.9, smile: 0.6, headPitch: 0.06, headRoll: -0.05, browRaise: 0.8 }),
  frame({ jawOpen: 1, headX: 0.05, headY: -0.03, gazeX: 0.3 }),
  frame({}),
];

test("zero motion: the frame is byte-identical to the photo (rgb24 and yuv420p)", () => {
  const rgb = new FrameRenderer(synth.image, [synth.face], { acceleration: "regular", seed: 1, pixelFormat: "rgb24" });
  rgb.render([NEUTRAL_FRAME]);
  assert.ok(Buffer.from(rgb.output()).equals(synth.image.data));
  rgb.render([MOTION[0]]);
  assert.ok(!Buffer.from(rgb.output()).equals(synth.image.data), "motion changes the frame");
  rgb.render([NEUTRAL_FRAME]);
  assert.ok(Buffer.from(rgb.output()).equals(synth.image.data), "and back to the photo exactly");

  const yuv = new FrameRenderer(synth.image, [synth.face], { acceleration: "high", seed: 1, pixelFormat: "yuv420p" });
  const expected = new Uint8Array(yuvBytes(W, H));
  const photo = surfaceFromRgb(synth.image);
  rgbxToYuv420(photo, expected, fullRect(photo));
  yuv.render([MOTION[3]]);
  yuv.render([NEUTRAL_FRAME]);
  assert.deepEqual(yuv.output(), expected);
});

test("pixels outside the outer ring never change", () => {
  const wide = syntheticFace({ width: 420, height: 260, size: 110, cx: 170, cy: 120 });
  const W = wide.image.width, H = wide.image.height;
  const synth = wide;
  const r = new FrameRenderer(synth.image, [synth.face], { acceleration: "regular", seed: 1, pixelFormat: "rgb24" });
  const mesh = r.faces[0].mesh;
  const outer = Array.from({ length: mesh.ringSize }, (_, i) => ringVertex(mesh, mesh.ringCount - 1, i));
  const outside = new Uint8Array(W * H);
  let count = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    if (!insidePolygon(mesh.src, outer, x, y)) { outside[y * W + x] = 1; count++; }
  }
  assert.ok(count > 5000, "a real background area is tested");
  let changedInside = 0;
  for (const m of MOTION) {
    r.render([m]);
    const out = r.output();
    for (let i = 0; i < W * H; i++) {
      const same = out[i * 3] === synth.image.data[i * 3] && out[i * 3 + 1] === synth.image.data[i * 3 + 1] && out[i * 3 + 2] === synth.image.data[i * 3 + 2];
      if (outside[i] && !same) assert.fail(`pixel ${i % W},${Math.floor(i / W)} outside the outer ring changed`);
      else if (!same) changedInside++;
    }
  }
  assert.ok(changedInside > 1000, "the face itself does move");
});

test("no cracks: a flat picture warped by any frame covers every pixel inside the outer ring", () => {
  const mesh = buildWarpMesh(synth.face.mesh, { width: W, height: H });
  const rig = buildRig(mesh, { width: W, height: H });
  const flat = newSurface(W, H);
  flat.px.fill(0x00c000);
  const mouth = prepareMouth(flat, rig, { scale: 1, seed: 1 });
  mouth.texture.px.fill(0x00c000); // the interior texture too, so any uncovered sample shows
  const interior = newInteriorMesh();
  const target = new Float32Array(mesh.vertexCount * 2);
  const scratch = newDeformScratch(rig);
  const outer = Array.from({ length: mesh.ringSize }, (_, i) => ringVertex(mesh, mesh.ringCount - 1, i));
  const SENTINEL = 0x0000ff;
  const split = mesh.ringTriCount * 3;
  // Pixel centres strictly inside the outer ring (not on its edges, where the picture border cuts it).
  const d = 0.51;
  const interiorPx: number[] = [];
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    if ([[0, 0], [d, d], [-d, d], [d, -d], [-d, -d]].every(([ox, oy]) => insidePolygon(mesh.src, outer, x + ox, y + oy))) interiorPx.push(y * W + x);
  }
  assert.ok(interiorPx.length > 0.5 * W * H);
  for (const m of MOTION) {
    deform(rig, m, target, scratch);
    updateInterior(mouth, rig, target, interior);
    const out = newSurface(W, H);
    out.px.fill(SENTINEL);
    const clip = fullRect(out);
    drawTriangles({ dst: target, src: mesh.src, tris: mesh.tris.subarray(0, split) }, flat, out, clip, { front: mesh.front });
    drawTriangles(interior.bands, flat, out, clip);
    drawTriangles(interior.inner, mouth.texture, out, clip);
    drawTriangles({ dst: target, src: mesh.src, tris: mesh.tris.subarray(split) }, flat, out, clip);
    for (const i of interiorPx) if (out.px[i] === SENTINEL) assert.fail(`crack at ${i % W},${Math.floor(i / W)} for ${JSON.stringify(m)}`);
  }
});

test("jawOpen opens a gap between the inner lips, filled by a dark interior", () => {
  const r = new FrameRenderer(synth.image, [synth.face], { acceleration: "regular", seed: 1, pixelFormat: "rgb24" });
  r.render([frame({ jawOpen: 0.9 })]);
  const t = r.faces[0].target;
  const hole = [...LIPS_INNER_UPPER, ...[...LIPS_INNER_LOWER].reverse()];
  const out = r.output();
  let n = 0, lum = 0, lipLike = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    // Pixels well inside the opening (the polygon's centre rows).
    if (!insidePolygon(t, hole, x, y) || !insidePolygon(t, hole, x, y - 1) || !insidePolygon(t, hole, x, y + 1)) continue;
    const o = (y * W + x) * 3;
    n++;
    lum += 0.2126 * out[o] + 0.7152 * out[o + 1] + 0.0722 * out[o + 2];
    const s = synth.image.data;
    if (Math.abs(s[o] - synth.colours.lip[0]) < 30 || Math.abs(s[o] - synth.colours.skin[0]) < 30) lipLike++;
  }
  assert.ok(n > 40, `the opening covers ${n} pixels`);
  assert.ok(lipLike / n > 0.8, "in the photo those pixels were lips or skin");
  const mean = lum / n;
  // The interior (teeth + dark cavity) differs from the lips: the cavity is much darker on average.
  assert.ok(mean < 0.75 * (0.2126 * synth.colours.lip[0] + 0.7152 * synth.colours.lip[1] + 0.0722 * synth.colours.lip[2]) || mean < 60, `mean luminance in the opening ${mean}`);
  assert.equal(r.faces[0].mouth.kind, "synth");
});

test("a blink turns the eye towards skin colour", () => {
  const r = new FrameRenderer(synth.image, [synth.face], { acceleration: "regular", seed: 1, pixelFormat: "rgb24" });
  r.render([frame({ blinkLeft: 1, blinkRight: 1 })]);
  const out = r.output();
  const src = r.faces[0].mesh.src;
  for (const eye of [[...RIGHT_EYE_UPPER, ...[...RIGHT_EYE_LOWER].reverse()], [...LEFT_EYE_UPPER, ...[...LEFT_EYE_LOWER].reverse()]]) {
    let before = 0, after = 0, n = 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      if (!insidePolygon(src, eye, x, y)) continue;
      const o = (y * W + x) * 3;
      const d = (b: Uint8Array | Buffer) => Math.hypot(b[o] - synth.colours.skin[0], b[o + 1] - synth.colours.skin[1], b[o + 2] - synth.colours.skin[2]);
      before += d(synth.image.data);
      after += d(out);
      n++;
    }
    assert.ok(n > 20);
    assert.ok(after / n < 0.5 * (before / n), `distance to skin colour ${before / n} -> ${after / n}`);
  }
});

test("same input, same bytes (and supersampling changes only the mouth pass)", () => {
  const a = new FrameRenderer(synth.image, [synth.face], { acceleration: "none", seed: 7, pixelFormat: "yuv420p" });
  const b = new FrameRenderer(synth.image, [synth.face], { acceleration: "none", seed: 7, pixelFormat: "yuv420p" });
  for (const m of MOTION) {
    a.render([m]);
    b.render([m]);
    assert.deepEqual(a.output(), b.output());
  }
});

test("a face cut by the picture's border and a tiny face render without errors or NaN", () => {
  for (const opts of [{ cx: 20, cy: 230, size: 160 }, { cx: 128, cy: 128, size: 30 }]) {
    const s = syntheticFace({ width: W, height: H, ...opts });
    const r = new FrameRenderer(s.image, [s.face], { acceleration: "none", seed: 2, pixelFormat: "yuv420p" });
    for (const m of MOTION) {
      r.render([m]);
      for (const v of r.faces[0].target) assert.ok(Number.isFinite(v));
    }
    r.render([NEUTRAL_FRAME]);
    const expected = new Uint8Array(yuvBytes(W, H));
    const photo = surfaceFromRgb(s.image);
    rgbxToYuv420(photo, expected, fullRect(photo));
    assert.deepEqual(r.output(), expected, "back to the photo exactly");
  }
});
