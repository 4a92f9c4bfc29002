import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { LIPS_INNER_LOWER, LIPS_INNER_UPPER } from "../../src/face/landmarks.js";
import { NEUTRAL_FRAME, type MotionFrame } from "../../src/motion/types.js";
import { deform, newDeformScratch } from "../../src/render/deform.js";
import { buildWarpMesh, ringVertex, separatingPlanes, RING_START } from "../../src/render/mesh.js";
import { buildRig } from "../../src/render/rig.js";
import { syntheticFace } from "./synthetic.js";

const W = 256, H = 256;
const { face } = syntheticFace({ width: W, height: H, size: 160 });
const mesh = buildWarpMesh(face.mesh, { width: W, height: H });
const rig = buildRig(mesh, { width: W, height: H });

function run(f: Partial<MotionFrame>): Float32Array {
  const out = new Float32Array(mesh.vertexCount * 2);
  deform(rig, { ...NEUTRAL_FRAME, ...f }, out, newDeformScratch(rig));
  return out;
}
const dy = (out: Float32Array, v: number) => out[v * 2 + 1] - mesh.src[v * 2 + 1];
const dx = (out: Float32Array, v: number) => out[v * 2] - mesh.src[v * 2];

test("the mesh: face triangles plus rings inside the picture, outer ring last", () => {
  assert.equal(mesh.ringCount, 3);
  assert.ok(mesh.tris.length / 3 >= 880 + mesh.ringTriCount, "all 880 face triangles are kept");
  assert.deepEqual(mesh.irisInserted, [true, true]);
  for (let v = RING_START; v < mesh.vertexCount; v++) {
    assert.ok(mesh.src[v * 2] >= 0 && mesh.src[v * 2] <= W - 1 && mesh.src[v * 2 + 1] >= 0 && mesh.src[v * 2 + 1] <= H - 1);
  }
  // Rings grow outwards.
  const c = mesh.centre;
  for (let i = 0; i < mesh.ringSize; i++) {
    const r = [0, 1, 2].map((k) => Math.hypot(mesh.src[ringVertex(mesh, k, i) * 2] - c.x, mesh.src[ringVertex(mesh, k, i) * 2 + 1] - c.y));
    assert.ok(r[0] < r[1] && r[1] < r[2], `ring radii at ${i}: ${r}`);
  }
});

test("separating planes keep two faces' rings apart", () => {
  const a = syntheticFace({ width: 400, height: 200, size: 120, cx: 100, cy: 100 }).face;
  const b = syntheticFace({ width: 400, height: 200, size: 120, cx: 280, cy: 100 }).face;
  const centres = [a, b].map((f) => ({ x: f.box.x + f.box.width / 2, y: f.box.y + f.box.height / 2, radius: f.box.width / 2 }));
  const ma = buildWarpMesh(a.mesh, { width: 400, height: 200, clip: separatingPlanes(centres, 0) });
  const mb = buildWarpMesh(b.mesh, { width: 400, height: 200, clip: separatingPlanes(centres, 1) });
  let maxA = -Infinity, minB = Infinity;
  for (let v = 0; v < ma.vertexCount; v++) maxA = Math.max(maxA, ma.src[v * 2]);
  for (let v = 0; v < mb.vertexCount; v++) minB = Math.min(minB, mb.src[v * 2]);
  assert.ok(maxA < minB, `face A reaches x=${maxA}, face B starts at x=${minB}`);
});

test("the all-zero frame gives exactly the photo's positions", () => {
  const out = run({});
  assert.deepEqual(out, mesh.src);
});

test("outer ring never moves and every position is finite, for any frame (property)", () => {
  const unit = fc.double({ min: -1, max: 1, noNaN: true });
  fc.assert(
    fc.property(
      fc.record({
        jawOpen: fc.double({ min: 0, max: 1, noNaN: true }), lipWidth: unit, lipRound: fc.double({ min: 0, max: 1, noNaN: true }),
        lipClose: fc.double({ min: 0, max: 1, noNaN: true }), smile: unit, blinkLeft: fc.double({ min: 0, max: 1, noNaN: true }),
        blinkRight: fc.double({ min: 0, max: 1, noNaN: true }), browRaise: fc.double({ min: 0, max: 1, noNaN: true }),
        headYaw: fc.double({ min: -0.3, max: 0.3, noNaN: true }), headPitch: fc.double({ min: -0.3, max: 0.3, noNaN: true }),
        headRoll: fc.double({ min: -0.3, max: 0.3, noNaN: true }), headX: fc.double({ min: -0.1, max: 0.1, noNaN: true }),
        headY: fc.double({ min: -0.1, max: 0.1, noNaN: true }), gazeX: fc.double({ min: -0.5, max: 0.5, noNaN: true }),
        gazeY: fc.double({ min: -0.5, max: 0.5, noNaN: true }),
      }),
      (f) => {
        const a = run(f);
        const b = run(f);
        assert.deepEqual(a, b, "deterministic");
        for (let i = 0; i < a.length; i++) assert.ok(Number.isFinite(a[i]));
        for (let i = 0; i < mesh.ringSize; i++) {
          const v = ringVertex(mesh, mesh.ringCount - 1, i);
          assert.equal(a[v * 2], mesh.src[v * 2]);
          assert.equal(a[v * 2 + 1], mesh.src[v * 2 + 1]);
        }
      },
    ),
    { numRuns: 60 },
  );
});

test("jawOpen lowers the chin and lower lip, not the eyes or forehead, and opens the lips", () => {
  const out = run({ jawOpen: 0.8 });
  assert.ok(dy(out, 152) > 4, `chin moves down ${dy(out, 152)}`);
  assert.ok(dy(out, 14) > 3, `lower lip moves down ${dy(out, 14)}`);
  assert.ok(dy(out, 14) > dy(out, 13) + 3, "the lips part");
  for (const v of [10, 159, 386, 168]) assert.equal(dy(out, v), 0, `point ${v} stays`);
  const gap = out[14 * 2 + 1] - out[13 * 2 + 1];
  assert.ok(gap > 0.2 * rig.innerMouthWidth && gap <= rig.maxGap + 1, `gap ${gap}`);
});

test("lipClose closes an open photo mouth", () => {
  const open = syntheticFace({ width: W, height: H, size: 160, mouthOpen: 0.06 }).face;
  const m = buildWarpMesh(open.mesh, { width: W, height: H });
  const r = buildRig(m, { width: W, height: H });
  assert.ok(r.photoGapCentre > 5);
  const out = new Float32Array(m.vertexCount * 2);
  deform(r, { ...NEUTRAL_FRAME, lipClose: 0.6 }, out, newDeformScratch(r));
  for (let i = 1; i < 10; i++) {
    const u = LIPS_INNER_UPPER[i], l = LIPS_INNER_LOWER[i];
    const before = m.src[l * 2 + 1] - m.src[u * 2 + 1];
    const after = out[l * 2 + 1] - out[u * 2 + 1];
    assert.ok(Math.abs(after) < 0.5, `column ${i}: gap ${before} -> ${after}`);
  }
});

test("lipWidth moves the corners outwards, lipRound inwards", () => {
  const wide = run({ lipWidth: 1 });
  assert.ok(dx(wide, 61) < -1 && dx(wide, 291) > 1);
  const round = run({ lipRound: 1 });
  assert.ok(dx(round, 61) > 1 && dx(round, 291) < -1);
  const smile = run({ smile: 1 });
  assert.ok(dy(smile, 61) < -1 && dy(smile, 291) < -1, "smile lifts the corners");
});

test("a blink brings the upper lid down to the lower lid", () => {
  const out = run({ blinkLeft: 1, blinkRight: 1 });
  for (const [u, l] of [[159, 145], [386, 374]]) {
    const before = mesh.src[l * 2 + 1] - mesh.src[u * 2 + 1];
    const after = out[l * 2 + 1] - out[u * 2 + 1];
    assert.ok(before > 3 && Math.abs(after) < 0.05 * before, `lid gap ${before} -> ${after}`);
  }
  const half = run({ blinkRight: 0.5 });
  assert.ok(dy(half, 159) > 0 && dy(half, 386) === 0, "blinkRight is the subject's right eye only");
});

test("head rotation follows the sign conventions and fades to the outer ring", () => {
  const yaw = run({ headYaw: 0.1 });
  assert.ok(dx(yaw, 1) > 1, "+yaw turns the nose toward the image right");
  const pitch = run({ headPitch: 0.1 });
  assert.ok(dy(pitch, 1) > 1, "+pitch moves the nose down");
  const roll = run({ headRoll: 0.1 });
  assert.ok(dy(roll, 454) > dy(roll, 234) + 1, "+roll tilts clockwise");
  const r0 = ringVertex(mesh, 0, 5), r1 = ringVertex(mesh, 1, 5);
  const m0 = Math.hypot(dx(roll, r0), dy(roll, r0)), m1 = Math.hypot(dx(roll, r1), dy(roll, r1));
  assert.ok(m0 > m1 && m1 > 0, `ring motion falls off outwards: ${m0} > ${m1}`);
});
