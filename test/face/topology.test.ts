import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";
import { FACE_TRIANGLES, FACE_UV } from "../../src/face/topology.js";
import * as L from "../../src/face/landmarks.js";

const require = createRequire(import.meta.url);

test("committed topology equals the installed @vladmandic/human tables", () => {
  const file = path.join(path.dirname(require.resolve("@vladmandic/human")), "human.node-wasm.js");
  const { Human } = require(file) as {
    Human: new (c?: object) => { faceTriangulation: number[]; faceUVMap: [number, number][] };
  };
  const human = new Human({ backend: "wasm" });
  assert.deepEqual(Array.from(FACE_TRIANGLES), human.faceTriangulation);
  assert.equal(FACE_UV.length, 468 * 2);
  for (let i = 0; i < 468; i++) {
    assert.ok(Math.abs(FACE_UV[i * 2] - human.faceUVMap[i][0]) < 1e-6);
    assert.ok(Math.abs(FACE_UV[i * 2 + 1] - human.faceUVMap[i][1]) < 1e-6);
  }
});

test("triangles index the 468 mesh points and every point is used", () => {
  assert.equal(FACE_TRIANGLES.length % 3, 0);
  const used = new Set(FACE_TRIANGLES);
  assert.equal(Math.max(...used), 467);
  assert.equal(used.size, 468);
});

test("the mouth is a hole in the mesh and MOUTH_TRIANGLES fills it", () => {
  const inner = new Set<number>([...L.LIPS_INNER_UPPER, ...L.LIPS_INNER_LOWER]);
  for (let i = 0; i < FACE_TRIANGLES.length; i += 3) {
    const t = [FACE_TRIANGLES[i], FACE_TRIANGLES[i + 1], FACE_TRIANGLES[i + 2]];
    assert.ok(!t.every((v) => inner.has(v)), `triangle ${t} spans the mouth`);
  }
  // Area of the filled mouth polygon in UV space equals the sum of MOUTH_TRIANGLES' areas, all positive.
  const uv = (i: number) => [FACE_UV[i * 2], FACE_UV[i * 2 + 1]];
  const M = L.MOUTH_TRIANGLES;
  assert.equal(M.length, 18 * 3);
  let sum = 0;
  let sign = 0;
  for (let i = 0; i < M.length; i += 3) {
    const [a, b, c] = [uv(M[i]), uv(M[i + 1]), uv(M[i + 2])];
    const area = ((b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1])) / 2;
    if (sign === 0) sign = Math.sign(area);
    assert.equal(Math.sign(area), sign, "consistent winding");
    sum += Math.abs(area);
  }
  const ring = [...L.LIPS_INNER_UPPER, ...[...L.LIPS_INNER_LOWER].reverse().slice(1, -1)];
  let poly = 0;
  for (let i = 0; i < ring.length; i++) {
    const [p, q] = [uv(ring[i]), uv(ring[(i + 1) % ring.length])];
    poly += p[0] * q[1] - q[0] * p[1];
  }
  assert.ok(Math.abs(Math.abs(poly / 2) - sum) < 1e-9, `${poly / 2} vs ${sum}`);
});

test("landmark groups sit where their names say on the canonical layout", () => {
  const u = (i: number) => FACE_UV[i * 2];
  const v = (i: number) => FACE_UV[i * 2 + 1];
  // Subject's right = image left.
  assert.ok(u(L.RIGHT_EYE_OUTER_CORNER) < u(L.RIGHT_EYE_INNER_CORNER));
  assert.ok(u(L.RIGHT_EYE_INNER_CORNER) < u(L.LEFT_EYE_INNER_CORNER));
  assert.ok(u(L.LEFT_EYE_INNER_CORNER) < u(L.LEFT_EYE_OUTER_CORNER));
  assert.ok(u(L.MOUTH_CORNER_RIGHT) < u(L.MOUTH_CORNER_LEFT));
  // Contours run image-left to image-right; upper above lower.
  for (const [up, lo] of [
    [L.LIPS_OUTER_UPPER, L.LIPS_OUTER_LOWER],
    [L.LIPS_INNER_UPPER, L.LIPS_INNER_LOWER],
    [L.LIPS_MID_UPPER, L.LIPS_MID_LOWER],
    [L.LIPS_SEMI_INNER_UPPER, L.LIPS_SEMI_INNER_LOWER],
    [L.RIGHT_EYE_UPPER, L.RIGHT_EYE_LOWER],
    [L.LEFT_EYE_UPPER, L.LEFT_EYE_LOWER],
    [L.RIGHT_EYE_UPPER_RING1, L.RIGHT_EYE_LOWER_RING1],
    [L.LEFT_EYE_UPPER_RING1, L.LEFT_EYE_LOWER_RING1],
    [L.RIGHT_EYE_UPPER_RING2, L.RIGHT_EYE_LOWER_RING2],
    [L.LEFT_EYE_UPPER_RING2, L.LEFT_EYE_LOWER_RING2],
  ] as const) {
    assert.equal(up.length, lo.length);
    assert.equal(up[0], lo[0]);
    assert.equal(up[up.length - 1], lo[lo.length - 1]);
    for (let i = 1; i < up.length; i++) {
      assert.ok(u(up[i]) > u(up[i - 1]), `upper ${up} not left to right at ${up[i]}`);
      assert.ok(u(lo[i]) > u(lo[i - 1]), `lower ${lo} not left to right at ${lo[i]}`);
    }
    for (let i = 1; i < up.length - 1; i++) assert.ok(v(up[i]) < v(lo[i]), `${up[i]} not above ${lo[i]}`);
  }
  // Order of features top to bottom.
  assert.ok(v(L.FOREHEAD_TOP) < v(L.RIGHT_BROW_UPPER[3]));
  assert.ok(v(L.RIGHT_BROW_LOWER[3]) < v(L.RIGHT_EYE_UPPER_MID));
  assert.ok(v(L.RIGHT_EYE_LOWER_MID) < v(L.NOSE_TIP));
  assert.ok(v(L.NOSE_TIP) < v(L.LIP_UPPER_OUTER_MID));
  assert.ok(v(L.LIP_UPPER_OUTER_MID) < v(L.LIP_UPPER_INNER_MID));
  assert.ok(v(L.LIP_UPPER_INNER_MID) <= v(L.LIP_LOWER_INNER_MID));
  assert.ok(v(L.LIP_LOWER_INNER_MID) < v(L.LIP_LOWER_OUTER_MID));
  assert.ok(v(L.LIP_LOWER_OUTER_MID) < v(L.CHIN));
  // Jaw line runs left ear -> chin -> right ear.
  assert.equal(L.JAW_LINE[0], L.FACE_SIDE_RIGHT);
  assert.equal(L.JAW_LINE[L.JAW_LINE.length - 1], L.FACE_SIDE_LEFT);
  assert.ok(u(L.FACE_SIDE_RIGHT) < 0.2 && u(L.FACE_SIDE_LEFT) > 0.8);
  assert.equal(new Set(L.FACE_OVAL).size, L.FACE_OVAL.length);
  for (const i of L.JAW_LINE) assert.ok((L.FACE_OVAL as readonly number[]).includes(i));
});
