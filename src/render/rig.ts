/**
 * The rig of one face, computed once per job: the head's 3D frame, the jaw pivot, the lip columns, the eye
 * lids, and smooth per-vertex weight fields (harmonic: each free vertex is the mean of its mesh neighbours,
 * with fixed values on features), which say how much each vertex follows the jaw, the mouth corners, the
 * cheeks, the brows and the head. deform.ts turns a MotionFrame into vertex positions with it.
 *
 * Axes are 3D in the picture's frame (x right, y down, z away from the camera, face-model depth units ~ px).
 */
import {
  FACE_OVAL, JAW_LINE, LEFT_BROW_LOWER, LEFT_BROW_UPPER, LEFT_EYE_LOWER, LEFT_EYE_LOWER_RING1, LEFT_EYE_LOWER_RING2,
  LEFT_EYE_UPPER, LEFT_EYE_UPPER_RING1, LEFT_EYE_UPPER_RING2, LIPS_INNER_LOWER, LIPS_INNER_UPPER, LIPS_MID_LOWER,
  LIPS_MID_UPPER, LIPS_OUTER_LOWER, LIPS_OUTER_UPPER, LIPS_SEMI_INNER_LOWER, LIPS_SEMI_INNER_UPPER, NOSE_BASE,
  NOSE_BRIDGE, RIGHT_BROW_LOWER, RIGHT_BROW_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_LOWER_RING1, RIGHT_EYE_LOWER_RING2,
  RIGHT_EYE_UPPER, RIGHT_EYE_UPPER_RING1, RIGHT_EYE_UPPER_RING2,
} from "../face/landmarks.js";
import { FACE_POINTS, IRIS_VERTEX_LEFT, IRIS_VERTEX_RIGHT, RING_START, type WarpMesh } from "./mesh.js";

export type Vec3 = [number, number, number];

/** Lip rows from the mouth opening outwards: inner edge, semi-inner, middle, outer edge (11 points each). */
export const UPPER_LIP_ROWS: readonly (readonly number[])[] = [LIPS_INNER_UPPER, LIPS_SEMI_INNER_UPPER, LIPS_MID_UPPER, LIPS_OUTER_UPPER];
export const LOWER_LIP_ROWS: readonly (readonly number[])[] = [LIPS_INNER_LOWER, LIPS_SEMI_INNER_LOWER, LIPS_MID_LOWER, LIPS_OUTER_LOWER];
/** Points per lip contour (corner, 9 columns, corner). */
export const LIP_COLUMNS = 11;

export interface EyeRig {
  upper: Uint32Array;
  lower: Uint32Array;
  upperRing1: Uint32Array;
  upperRing2: Uint32Array;
  lowerRing1: Uint32Array;
  lowerRing2: Uint32Array;
  /** Closed-lid position of each upper lid point ([i*2]) and lower lid point ([(n+i)*2]), photo pixels. */
  meet: Float32Array;
  /** 0..1: how far a blink is trusted (0 for an eye seen too obliquely or already closed). */
  trust: number;
  /** Iris vertex and its barycentric anchor in an eye triangle (for moving with the lids). */
  iris: number;
  irisTri: Uint32Array;
  irisBary: Float32Array;
  /** Eye width in picture pixels. */
  width: number;
}

export interface Rig {
  mesh: WarpMesh;
  /** Unit axes of the head: right (subject's left, image right when frontal), up, forward (toward camera). */
  right: Vec3;
  up: Vec3;
  forward: Vec3;
  /** The face's "down" direction in the picture (unit 2D). */
  down2: [number, number];
  /** Jaw hinge point and head rotation centre (3D). */
  pivot: Vec3;
  headCentre: Vec3;
  /** Sign fixes so that + yaw/pitch/roll follow the MotionFrame conventions. */
  axisSign: { jaw: number; yaw: number; pitch: number; roll: number };
  /** Mouth corner distance (3D), inner-corner distance, face height (brows to chin), face width (3D). */
  mouthWidth: number;
  innerMouthWidth: number;
  faceHeight: number;
  faceWidth: number;
  /** Inner-lip gap opened per radian of jaw rotation (px/rad, along down2), and chin travel per radian. */
  gapPerRad: number;
  chinPerRad: number;
  /** Largest jaw rotation the picture can carry (radians, from the photo's own opening). */
  maxJawOpen: number;
  /** Largest inner-lip gap reached at jawOpen = 1 (px). */
  maxGap: number;
  /** Lip columns: lateral position (-1..1) of each of the 11 columns, the photo's gap per column. */
  lipT: Float32Array;
  lipProfile: Float32Array;
  photoGap: Float32Array;
  /** The photo's opening at the centre (px) and as a fraction of the inner mouth width. */
  photoGapCentre: number;
  /** Per-vertex fields. */
  jaw: Float32Array;
  stretch: Float32Array;
  corner: Float32Array;
  cheek: Float32Array;
  brow: Float32Array;
  lips: Float32Array;
  head: Float32Array;
  eyes: [EyeRig, EyeRig];
}

export const sub3 = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const dot3 = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross3 = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
export const norm3 = (a: Vec3) => Math.hypot(a[0], a[1], a[2]);
export const scale3 = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
export const add3 = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
export const unit3 = (a: Vec3): Vec3 => scale3(a, 1 / (norm3(a) || 1));

/** Rotation matrix (row-major 3x3) about a unit axis by angle a (Rodrigues). */
export function axisRotation(axis: Vec3, a: number, out: Float64Array = new Float64Array(9)): Float64Array {
  const [x, y, z] = axis;
  const c = Math.cos(a), s = Math.sin(a), t = 1 - c;
  out[0] = c + x * x * t; out[1] = x * y * t - z * s; out[2] = x * z * t + y * s;
  out[3] = y * x * t + z * s; out[4] = c + y * y * t; out[5] = y * z * t - x * s;
  out[6] = z * x * t - y * s; out[7] = z * y * t + x * s; out[8] = c + z * z * t;
  return out;
}

/** out = a * b for row-major 3x3 matrices; `out` must be a different array from `a` and `b`. */
export function mulMat3(a: Float64Array, b: Float64Array, out: Float64Array): Float64Array {
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) out[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
  }
  return out;
}

function applyMat3(m: Float64Array, v: Vec3): Vec3 {
  return [m[0] * v[0] + m[1] * v[1] + m[2] * v[2], m[3] * v[0] + m[4] * v[1] + m[5] * v[2], m[6] * v[0] + m[7] * v[1] + m[8] * v[2]];
}

const smoothstep = (e0: number, e1: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
};

/**
 * Harmonic interpolation over the mesh graph: vertices with fixed[v] = 1 keep values[v]; every other vertex
 * converges to the mean of its neighbours (successive over-relaxation). Returns a new array.
 */
export function harmonicField(mesh: WarpMesh, fixed: Uint8Array, values: Float32Array, iterations = 400): Float32Array {
  const n = mesh.vertexCount;
  const f = Float32Array.from(values);
  const { adjStart, adj } = mesh;
  // Start free vertices from the mean of the fixed values (faster convergence).
  let sum = 0, cnt = 0;
  for (let v = 0; v < n; v++) if (fixed[v]) { sum += values[v]; cnt++; }
  const start = cnt ? sum / cnt : 0;
  for (let v = 0; v < n; v++) if (!fixed[v]) f[v] = start;
  const omega = 1.7;
  for (let it = 0; it < iterations; it++) {
    for (let v = 0; v < n; v++) {
      if (fixed[v]) continue;
      const a = adjStart[v], b = adjStart[v + 1];
      if (b === a) continue;
      let s = 0;
      for (let k = a; k < b; k++) s += f[adj[k]];
      f[v] += omega * (s / (b - a) - f[v]);
    }
  }
  return f;
}

export interface RigOptions {
  /** Picture size (the jaw must not push the chin out of it). */
  width: number;
  height: number;
}

/** Builds the rig of a face from its warp mesh and the face model's points ([x, y, z] x 478). */
export function buildRig(mesh: WarpMesh, opts: RigOptions): Rig {
  const n = mesh.vertexCount;
  const { src, z } = mesh;
  const P = (i: number): Vec3 => [src[i * 2], src[i * 2 + 1], z[i]];
  const mid = (a: number, b: number): Vec3 => scale3(add3(P(a), P(b)), 0.5);

  // Head frame.
  const right = unit3(sub3(P(263), P(33)));
  let up = sub3(P(10), P(152));
  up = unit3(sub3(up, scale3(right, dot3(up, right))));
  const forward = cross3(right, up);
  const d2 = Math.hypot(up[0], up[1]) || 1;
  const down2: [number, number] = [-up[0] / d2, -up[1] / d2];

  const mouthWidth = Math.max(1, norm3(sub3(P(291), P(61))));
  const innerMouthWidth = Math.max(1, norm3(sub3(P(308), P(78))));
  const faceHeight = Math.max(1, norm3(sub3(P(152), P(168))) * 1.35);
  const faceWidth = Math.max(1, norm3(sub3(P(454), P(234))));
  const mouthCentre = mid(13, 14);
  const innerCentre = mid(78, 308);
  const local = (i: number) => {
    const r = sub3(P(i), mouthCentre);
    return { lx: dot3(r, right) / (mouthWidth / 2), ly: -dot3(r, up) / (mouthWidth / 2) };
  };
  const vNose = local(2).ly;
  const vCorner = (local(61).ly + local(291).ly) / 2;

  const lipsUpperCols = new Set<number>();
  const lipsLowerCols = new Set<number>();
  const corners = new Set<number>();
  for (const row of UPPER_LIP_ROWS) { corners.add(row[0]); corners.add(row[10]); for (let i = 1; i < 10; i++) lipsUpperCols.add(row[i]); }
  for (const row of LOWER_LIP_ROWS) { corners.add(row[0]); corners.add(row[10]); for (let i = 1; i < 10; i++) lipsLowerCols.add(row[i]); }
  const allLips = new Set([...lipsUpperCols, ...lipsLowerCols, ...corners]);
  const oval = new Set<number>(FACE_OVAL);
  const eyeSets = [RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, LEFT_EYE_UPPER, LEFT_EYE_LOWER];
  const eyeMargins = new Set<number>(eyeSets.flat());
  const noseSet = new Set<number>([...NOSE_BASE, ...NOSE_BRIDGE]);
  const outerRingStart = RING_START + (mesh.ringCount - 1) * mesh.ringSize;

  const fixed = new Uint8Array(n);
  const values = new Float32Array(n);
  const set = (v: number, x: number) => { fixed[v] = 1; values[v] = x; };
  const reset = () => { fixed.fill(0); values.fill(0); };

  // Jaw: lower lip and chin follow fully, upper face not at all; the corners half-way.
  reset();
  for (let v = 0; v < FACE_POINTS; v++) if (local(v).ly < vNose) set(v, 0);
  for (const v of noseSet) set(v, 0);
  for (const v of lipsUpperCols) set(v, 0);
  for (const v of lipsLowerCols) set(v, 1);
  for (const v of corners) set(v, 0.4);
  for (const v of JAW_LINE) set(v, smoothstep(vNose, vCorner + 0.3 * (vCorner - vNose), local(v).ly));
  set(IRIS_VERTEX_RIGHT, 0);
  set(IRIS_VERTEX_LEFT, 0);
  for (let v = outerRingStart; v < n; v++) set(v, 0);
  const jaw = harmonicField(mesh, fixed, values);

  // Mouth-corner fields: signed lateral stretch and corner lift. Zero on the oval, nose, eyes and above.
  const lateralBoundary = () => {
    reset();
    for (let v = 0; v < FACE_POINTS; v++) if (local(v).ly < vNose - 0.15) set(v, 0);
    for (const v of oval) set(v, 0);
    for (const v of noseSet) set(v, 0);
    for (const v of eyeMargins) set(v, 0);
    set(IRIS_VERTEX_RIGHT, 0);
    set(IRIS_VERTEX_LEFT, 0);
    for (let v = RING_START; v < n; v++) set(v, 0);
  };
  const tOf = (v: number) => Math.max(-1, Math.min(1, local(v).lx));
  lateralBoundary();
  for (const v of allLips) set(v, tOf(v));
  for (const row of [...UPPER_LIP_ROWS, ...LOWER_LIP_ROWS]) { set(row[0], Math.sign(tOf(row[0])) || -1); set(row[10], Math.sign(tOf(row[10])) || 1); }
  const stretch = harmonicField(mesh, fixed, values);
  lateralBoundary();
  for (const v of allLips) set(v, tOf(v) * tOf(v));
  for (const v of corners) set(v, 1);
  const corner = harmonicField(mesh, fixed, values);
  lateralBoundary();
  for (const v of allLips) set(v, 1);
  const lips = harmonicField(mesh, fixed, values, 200);

  // Cheeks (smile lifts them a little).
  reset();
  for (const v of [205, 425, 50, 280, 187, 411, 123, 352, 36, 266, 101, 330, 118, 347]) set(v, 1);
  for (const v of oval) set(v, 0);
  for (const v of allLips) set(v, 0);
  for (const v of noseSet) set(v, 0);
  for (const v of eyeMargins) set(v, 0);
  set(IRIS_VERTEX_RIGHT, 0);
  set(IRIS_VERTEX_LEFT, 0);
  for (let v = RING_START; v < n; v++) set(v, 0);
  const cheek = harmonicField(mesh, fixed, values, 200);

  // Brows (and the forehead and upper lids a little).
  reset();
  const eyeLevel = (local(159).ly + local(386).ly) / 2;
  for (let v = 0; v < FACE_POINTS; v++) if (local(v).ly > eyeLevel + 0.1) set(v, 0);
  for (const v of [...RIGHT_BROW_UPPER, ...RIGHT_BROW_LOWER, ...LEFT_BROW_UPPER, ...LEFT_BROW_LOWER]) set(v, 1);
  for (const v of [...RIGHT_EYE_UPPER_RING2, ...LEFT_EYE_UPPER_RING2]) set(v, 0.35);
  for (const v of [...RIGHT_EYE_UPPER_RING1, ...LEFT_EYE_UPPER_RING1]) set(v, 0.12);
  for (const v of eyeMargins) set(v, 0);
  for (const v of [...RIGHT_EYE_LOWER_RING1, ...LEFT_EYE_LOWER_RING1, ...RIGHT_EYE_LOWER_RING2, ...LEFT_EYE_LOWER_RING2]) set(v, 0);
  for (const v of NOSE_BRIDGE) if (v !== 168 && v !== 6) set(v, 0);
  for (const v of [10, 338, 109, 297, 67]) set(v, 0.2);
  set(IRIS_VERTEX_RIGHT, 0);
  set(IRIS_VERTEX_LEFT, 0);
  for (let v = RING_START; v < n; v++) set(v, 0);
  const brow = harmonicField(mesh, fixed, values, 200);

  // Head: the face follows fully, the rings less and less (the neck less than the hair), the outer ring not.
  const head = new Float32Array(n);
  for (let v = 0; v < RING_START; v++) head[v] = 1;
  const { centre } = mesh;
  for (let r = 0; r < mesh.ringCount; r++) {
    const frac = mesh.ringCount > 1 ? 1 - r / (mesh.ringCount - 1) : 0;
    for (let k = 0; k < mesh.ringSize; k++) {
      const v = RING_START + r * mesh.ringSize + k;
      const dx = src[v * 2] - centre.x, dy = src[v * 2 + 1] - centre.y;
      const len = Math.hypot(dx, dy) || 1;
      const towardNeck = smoothstep(0.25, 0.85, (dx * down2[0] + dy * down2[1]) / len);
      head[v] = Math.pow(frac, 1.2) * (0.95 - 0.4 * towardNeck);
    }
  }

  // Jaw hinge: between the ear points, a little below; head centre: between the ears.
  const ears = mid(234, 454);
  const pivot = add3(ears, scale3(up, -0.08 * faceHeight));
  const headCentre = add3(ears, scale3(forward, -0.15 * faceWidth));

  // Signs: + jaw rotation moves the lower lip down; + yaw moves the nose tip toward image right; + pitch moves
  // it down; + roll moves the image-right side of the face down.
  const rotDelta = (axis: Vec3, centreP: Vec3, p: Vec3, a: number) => sub3(add3(centreP, applyMat3(axisRotation(axis, a), sub3(p, centreP))), p);
  const jawSign = dot3(rotDelta(right, pivot, P(14), 0.05), up) < 0 ? 1 : -1;
  const yawSign = rotDelta(up, headCentre, P(1), 0.05)[0] > 0 ? 1 : -1;
  const pitchSign = rotDelta(right, headCentre, P(1), 0.05)[1] > 0 ? 1 : -1;
  const rollSign = rotDelta(forward, headCentre, P(454), 0.05)[1] > 0 ? 1 : -1;
  const alongDown = (d: Vec3) => d[0] * down2[0] + d[1] * down2[1];
  const gapPerRad = Math.max(1e-3, alongDown(rotDelta(right, pivot, P(14), jawSign * 0.01)) / 0.01);
  const chinPerRad = Math.max(1e-3, rotDelta(right, pivot, P(152), jawSign * 0.01)[1] / 0.01);

  // Lip columns.
  const lipT = new Float32Array(LIP_COLUMNS);
  const lipProfile = new Float32Array(LIP_COLUMNS);
  const photoGap = new Float32Array(LIP_COLUMNS);
  for (let i = 0; i < LIP_COLUMNS; i++) {
    const u = LIPS_INNER_UPPER[i], l = LIPS_INNER_LOWER[i];
    const m = scale3(add3(P(u), P(l)), 0.5);
    lipT[i] = Math.max(-1, Math.min(1, dot3(sub3(m, innerCentre), right) / (innerMouthWidth / 2)));
    if (i === 0) lipT[i] = -1;
    if (i === LIP_COLUMNS - 1) lipT[i] = 1;
    // Opening profile: a lens, pointed at the corners.
    lipProfile[i] = Math.pow(Math.max(0, 1 - lipT[i] * lipT[i]), 1.15);
    photoGap[i] = columnGap(src, u, l, down2);
  }
  const photoGapCentre = Math.max(photoGap[4], photoGap[5], photoGap[6], 0);
  const maxGap = Math.max(photoGapCentre, 0.5 * innerMouthWidth);
  // The chin must stay inside the picture.
  const chinRoom = opts.height - 2 - src[152 * 2 + 1];
  const maxJawOpen = Math.max(0, Math.min(0.35, chinRoom / chinPerRad));

  const eyes: [EyeRig, EyeRig] = [
    eyeRig(mesh, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER_RING1, RIGHT_EYE_UPPER_RING2, RIGHT_EYE_LOWER_RING1, RIGHT_EYE_LOWER_RING2, IRIS_VERTEX_RIGHT, 0),
    eyeRig(mesh, LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_EYE_UPPER_RING1, LEFT_EYE_UPPER_RING2, LEFT_EYE_LOWER_RING1, LEFT_EYE_LOWER_RING2, IRIS_VERTEX_LEFT, 1),
  ];

  return {
    mesh, right, up, forward, down2, pivot, headCentre,
    axisSign: { jaw: jawSign, yaw: yawSign, pitch: pitchSign, roll: rollSign },
    mouthWidth, innerMouthWidth, faceHeight, faceWidth, gapPerRad, chinPerRad, maxJawOpen, maxGap,
    lipT, lipProfile, photoGap, photoGapCentre,
    jaw, stretch, corner, cheek, brow, lips, head, eyes,
  };
}

/** Gap between an upper and a lower inner-lip point along the face's down direction (px). */
export function columnGap(pos: Float32Array, upper: number, lower: number, down2: readonly [number, number]): number {
  return (pos[lower * 2] - pos[upper * 2]) * down2[0] + (pos[lower * 2 + 1] - pos[upper * 2 + 1]) * down2[1];
}

function eyeRig(
  mesh: WarpMesh, upper: readonly number[], lower: readonly number[], ur1: readonly number[], ur2: readonly number[],
  lr1: readonly number[], lr2: readonly number[], iris: number, side: 0 | 1,
): EyeRig {
  const { src, z } = mesh;
  // Where the lids meet when closed: a smooth curve 72 % of the way from the upper to the lower lid,
  // parameterised by the position along the eye's corner-to-corner axis. Every lid point goes to the curve
  // at its own axis position, so the eye's triangles collapse onto one smooth line (no slivers of white).
  const ax = src[upper[0] * 2], ay = src[upper[0] * 2 + 1];
  const bx = src[upper[upper.length - 1] * 2], by = src[upper[upper.length - 1] * 2 + 1];
  const ex = bx - ax, ey = by - ay;
  const el2 = ex * ex + ey * ey || 1;
  const param = (v: number) => ((src[v * 2] - ax) * ex + (src[v * 2 + 1] - ay) * ey) / el2;
  const along = (lid: readonly number[], t: number): [number, number] => {
    const pts = lid.map((v) => ({ t: param(v), x: src[v * 2], y: src[v * 2 + 1] })).sort((p, q) => p.t - q.t);
    if (t <= pts[0].t) return [pts[0].x, pts[0].y];
    for (let k = 0; k + 1 < pts.length; k++) {
      if (t <= pts[k + 1].t) {
        const f = pts[k + 1].t > pts[k].t ? (t - pts[k].t) / (pts[k + 1].t - pts[k].t) : 0;
        return [pts[k].x + f * (pts[k + 1].x - pts[k].x), pts[k].y + f * (pts[k + 1].y - pts[k].y)];
      }
    }
    const last = pts[pts.length - 1];
    return [last.x, last.y];
  };
  const closed = (t: number): [number, number] => {
    const u = along(upper, t), l = along(lower, t);
    return [u[0] + 0.72 * (l[0] - u[0]), u[1] + 0.72 * (l[1] - u[1])];
  };
  // meet: target of upper[i] at [i*2], of lower[i] at [(n + i)*2].
  const n = upper.length;
  const meet = new Float32Array(n * 4);
  let opening = 0;
  for (let i = 0; i < n; i++) {
    const u = upper[i], l = lower[i];
    const cu = i === 0 || i === n - 1 ? [src[u * 2], src[u * 2 + 1]] : closed(param(u));
    const cl = i === 0 || i === n - 1 ? [src[l * 2], src[l * 2 + 1]] : closed(param(l));
    meet[i * 2] = cu[0]; meet[i * 2 + 1] = cu[1];
    meet[(n + i) * 2] = cl[0]; meet[(n + i) * 2 + 1] = cl[1];
    opening = Math.max(opening, Math.hypot(src[l * 2] - src[u * 2], src[l * 2 + 1] - src[u * 2 + 1]));
  }
  const a = upper[0], b = upper[upper.length - 1];
  const w2 = Math.hypot(src[b * 2] - src[a * 2], src[b * 2 + 1] - src[a * 2 + 1]);
  const w3 = Math.hypot(src[b * 2] - src[a * 2], src[b * 2 + 1] - src[a * 2 + 1], z[b] - z[a]) || 1;
  // Foreshortening cos(angle): below ~0.3 the lid contour is not trustworthy.
  const trust = smoothstep(0.3, 0.55, w2 / w3) * smoothstep(0.6, 1.5, opening);
  // Iris anchor: the triangle that the mesh split around the iris vertex.
  const irisTri = new Uint32Array(3);
  const irisBary = new Float32Array([1 / 3, 1 / 3, 1 / 3]);
  if (mesh.irisInserted[side]) {
    const { tris } = mesh;
    const around: number[] = [];
    for (let t = 0; t < tris.length; t += 3) {
      if (tris[t] === iris || tris[t + 1] === iris || tris[t + 2] === iris) {
        for (let k = 0; k < 3; k++) if (tris[t + k] !== iris && !around.includes(tris[t + k])) around.push(tris[t + k]);
      }
    }
    if (around.length === 3) {
      irisTri.set(around);
      const [p, q, r] = around;
      const area = (x1: number, y1: number, x2: number, y2: number, x3: number, y3: number) => (x2 - x1) * (y3 - y1) - (y2 - y1) * (x3 - x1);
      const X = (v: number) => src[v * 2], Y = (v: number) => src[v * 2 + 1];
      const A = area(X(p), Y(p), X(q), Y(q), X(r), Y(r));
      if (Math.abs(A) > 1e-6) {
        const l0 = area(X(iris), Y(iris), X(q), Y(q), X(r), Y(r)) / A;
        const l1 = area(X(p), Y(p), X(iris), Y(iris), X(r), Y(r)) / A;
        irisBary.set([l0, l1, 1 - l0 - l1]);
      }
    }
  }
  return {
    upper: Uint32Array.from(upper), lower: Uint32Array.from(lower),
    upperRing1: Uint32Array.from(ur1), upperRing2: Uint32Array.from(ur2),
    lowerRing1: Uint32Array.from(lr1), lowerRing2: Uint32Array.from(lr2),
    meet, trust, iris: mesh.irisInserted[side] ? iris : -1, irisTri, irisBary, width: w2,
  };
}
