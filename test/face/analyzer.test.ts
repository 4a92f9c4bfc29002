import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import sharp from "sharp";
import { createFaceAnalyzer, type FaceAnalyzer } from "../../src/face/analyzer.js";
import * as L from "../../src/face/landmarks.js";
import type { Box, Face } from "../../src/face/types.js";
import { CancelledError, InputError } from "../../src/errors.js";
import type { RawImage } from "../../src/media/types.js";
import { loadGroupFixture, loadOpenMouthFixture, loadPortraitFixture, type FaceFixture } from "../support/face-fixtures.js";

let analyzer: FaceAnalyzer;
let portrait: FaceFixture;
let portraitFaces: Face[];

before(async () => {
  analyzer = await createFaceAnalyzer();
  portrait = await loadPortraitFixture();
  portraitFaces = await analyzer.detect(portrait.image);
});

function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  return (w * h) / (a.width * a.height + b.width * b.height - w * h);
}

const inside = (b: Box, x: number, y: number) => x >= b.x && x <= b.x + b.width && y >= b.y && y <= b.y + b.height;

/** RMS distance between the x/y of some points of two meshes. */
function rms(a: Float32Array, b: Float32Array, points: readonly number[], dx = 0, dy = 0): number {
  let s = 0;
  for (const i of points) s += (a[i * 3] - b[i * 3] - dx) ** 2 + (a[i * 3 + 1] - b[i * 3 + 1] - dy) ** 2;
  return Math.sqrt(s / points.length);
}

const FEATURES = [...L.LIPS_ALL, ...L.RIGHT_EYE_UPPER, ...L.RIGHT_EYE_LOWER, ...L.LEFT_EYE_UPPER, ...L.LEFT_EYE_LOWER];

test("finds the one face of the portrait with its mesh on the face", () => {
  assert.equal(portraitFaces.length, 1);
  const [face] = portraitFaces;
  assert.equal(face.mesh.length, 478 * 3);
  assert.ok(face.mesh.every(Number.isFinite));
  assert.ok(face.score > 0.5 && face.score <= 1, `score ${face.score}`);
  assert.ok(iou(face.box, portrait.faces[0]) > 0.8, `box ${JSON.stringify(face.box)} vs ${JSON.stringify(portrait.faces[0])}`);
  for (const i of FEATURES) {
    assert.ok(inside(face.box, face.mesh[i * 3], face.mesh[i * 3 + 1]), `point ${i} outside the box`);
  }
  // Features in their places: eyes above the nose tip above the mouth above the chin; subject's right on the image left.
  const y = (i: number) => face.mesh[i * 3 + 1];
  const x = (i: number) => face.mesh[i * 3];
  assert.ok(y(L.RIGHT_EYE_UPPER_MID) < y(L.NOSE_TIP) && y(L.NOSE_TIP) < y(L.LIP_UPPER_OUTER_MID));
  assert.ok(y(L.LIP_LOWER_OUTER_MID) < y(L.CHIN));
  assert.ok(x(L.RIGHT_EYE_OUTER_CORNER) < x(L.RIGHT_EYE_INNER_CORNER));
  assert.ok(x(L.RIGHT_EYE_INNER_CORNER) < x(L.LEFT_EYE_INNER_CORNER));
  assert.ok(x(L.MOUTH_CORNER_RIGHT) < x(L.MOUTH_CORNER_LEFT));
  // A face looking roughly at the camera, not tilted.
  assert.ok(Math.abs(face.pose.yaw) < 0.5 && Math.abs(face.pose.pitch) < 0.5 && Math.abs(face.pose.roll) < 0.3, JSON.stringify(face.pose));
  // Interocular distance fits the face (about 40% of the face width).
  const iod = L.interocularDistance(face.mesh);
  assert.ok(iod > face.box.width * 0.25 && iod < face.box.width * 0.6, `iod ${iod}`);
});

test("iris centres sit inside their own eye's lids (human's iris numbering)", () => {
  const [face] = portraitFaces;
  for (const [center, upper, lower] of [
    [L.RIGHT_IRIS_CENTER, L.RIGHT_EYE_UPPER, L.RIGHT_EYE_LOWER],
    [L.LEFT_IRIS_CENTER, L.LEFT_EYE_UPPER, L.LEFT_EYE_LOWER],
  ] as const) {
    const xs = [...upper].map((i) => face.mesh[i * 3]);
    const ys = [...upper, ...lower].map((i) => face.mesh[i * 3 + 1]);
    const cx = face.mesh[center * 3];
    const cy = face.mesh[center * 3 + 1];
    assert.ok(cx > Math.min(...xs) && cx < Math.max(...xs), `iris ${center} x ${cx} outside [${Math.min(...xs)}, ${Math.max(...xs)}]`);
    assert.ok(cy > Math.min(...ys) - 2 && cy < Math.max(...ys) + 2, `iris ${center} y ${cy}`);
  }
});

test("closed lips have a small inner-lip gap, open lips a large one", async (t) => {
  const gap = (f: Face) => L.distance2d(f.mesh, L.LIP_UPPER_INNER_MID, L.LIP_LOWER_INNER_MID) / L.interocularDistance(f.mesh);
  const closed = gap(portraitFaces[0]);
  const open = await analyzer.detect((await loadOpenMouthFixture()).image);
  assert.equal(open.length, 1);
  t.diagnostic(`inner-lip gap / interocular: closed ${closed.toFixed(3)}, open ${gap(open[0]).toFixed(3)}`);
  assert.ok(closed < 0.07, `closed gap ${closed}`);
  assert.ok(gap(open[0]) > 0.12, `open gap ${gap(open[0])}`);
});

test("finds the three faces of the group picture, largest first", async () => {
  const group = await loadGroupFixture();
  const faces = await analyzer.detect(group.image);
  assert.equal(faces.length, 3);
  for (let i = 1; i < faces.length; i++) {
    assert.ok(faces[i - 1].box.width * faces[i - 1].box.height >= faces[i].box.width * faces[i].box.height);
  }
  for (const expected of group.faces) {
    assert.ok(faces.some((f) => iou(f.box, expected) > 0.7), `no face at ${JSON.stringify(expected)}`);
  }
});

test("mesh coordinates follow the picture: a shifted copy gives the shifted mesh", async (t) => {
  // Put the portrait on a larger canvas, 37 px right and 23 px down: every point must move by (37, 23).
  const { width, height, data } = portrait.image;
  const W = width + 60;
  const H = height + 40;
  const canvas = Buffer.alloc(W * H * 3, 128);
  for (let y = 0; y < height; y++) data.copy(canvas, ((y + 23) * W + 37) * 3, y * width * 3, (y + 1) * width * 3);
  const faces = await analyzer.detect({ width: W, height: H, channels: 3, data: canvas });
  assert.equal(faces.length, 1);
  const err = rms(faces[0].mesh, portraitFaces[0].mesh, FEATURES, 37, 23);
  t.diagnostic(`lips+eyes rms after undoing the shift: ${err.toFixed(2)} px`);
  assert.ok(err < 1.5, `shifted mesh off by ${err.toFixed(2)} px rms`);
});

test("mesh coordinates follow the picture: a half-size copy gives the halved mesh", async (t) => {
  const half = await sharp(portrait.png).resize(640, 360, { kernel: "lanczos3" }).removeAlpha().raw().toBuffer();
  const faces = await analyzer.detect({ width: 640, height: 360, channels: 3, data: half });
  assert.equal(faces.length, 1);
  const scaled = portraitFaces[0].mesh.map((v) => v / 2);
  const err = rms(faces[0].mesh, scaled, FEATURES);
  t.diagnostic(`lips+eyes rms against the halved full-size mesh: ${err.toFixed(2)} px`);
  assert.ok(err < 1.5, `half-size mesh off by ${err.toFixed(2)} px rms (at 640x360)`);
});

test("a tilted face gets a tilted mesh (the refinement turns its crops upright)", async (t) => {
  // Turn the portrait 15 degrees clockwise: the eye line and the roll must turn by about as much.
  const { data, info } = await sharp(portrait.png).rotate(15, { background: "#808080" }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const faces = await analyzer.detect({ width: info.width, height: info.height, channels: 3, data });
  assert.equal(faces.length, 1);
  const eyeLine = (f: Face) => {
    const a = L.point(f.mesh, L.RIGHT_EYE_OUTER_CORNER);
    const b = L.point(f.mesh, L.LEFT_EYE_OUTER_CORNER);
    return (Math.atan2(b.y - a.y, b.x - a.x) * 180) / Math.PI;
  };
  const turn = eyeLine(faces[0]) - eyeLine(portraitFaces[0]);
  const rollTurn = ((faces[0].pose.roll - portraitFaces[0].pose.roll) * 180) / Math.PI;
  t.diagnostic(`eye line turned ${turn.toFixed(1)} deg, roll ${rollTurn.toFixed(1)} deg`);
  assert.ok(Math.abs(turn - 15) < 3, `eye line turned ${turn}`);
  assert.ok(Math.abs(rollTurn - 15) < 4, `roll turned ${rollTurn}`);
});

test("RGBA input gives the same faces as RGB", async () => {
  const { width, height, data } = portrait.image;
  const rgba = Buffer.alloc(width * height * 4, 255);
  for (let p = 0, q = 0; p < data.length; p += 3, q += 4) data.copy(rgba, q, p, p + 3);
  const faces = await analyzer.detect({ width, height, channels: 4, data: rgba });
  assert.equal(faces.length, 1);
  assert.deepEqual(Array.from(faces[0].mesh), Array.from(portraitFaces[0].mesh));
});

test("a picture without a face gives no faces", async () => {
  const width = 320;
  const height = 240;
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251; // a fine texture, no face
  assert.deepEqual(await analyzer.detect({ width, height, channels: 3, data }), []);
});

test("bad pictures are input errors; an aborted job is cancelled", async () => {
  const bad: RawImage = { width: 10, height: 10, channels: 3, data: Buffer.alloc(10) };
  await assert.rejects(analyzer.detect(bad), InputError);
  await assert.rejects(analyzer.detect({ width: 4, height: 4, channels: 3, data: Buffer.alloc(48) }), InputError);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(analyzer.detect(portrait.image, { signal: controller.signal }), CancelledError);
});

test("detect frees its tensors", async () => {
  const tf = createRequire(import.meta.url)("@tensorflow/tfjs-core") as { memory(): { numTensors: number } };
  const before = tf.memory().numTensors;
  await analyzer.detect(portrait.image);
  assert.equal(tf.memory().numTensors, before);
});

test("the analyzer reports its topology and runtime", () => {
  assert.equal(analyzer.triangles.length % 3, 0);
  assert.equal(analyzer.uv.length, 936);
  assert.equal(analyzer.info.backend, "wasm");
  assert.match(analyzer.info.human, /^3\./);
});
