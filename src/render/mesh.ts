/**
 * The warp mesh of one face: the face model's own triangles (MediaPipe's 468-point triangulation, whose
 * inner-lip polygon is a hole where the mouth interior is drawn), the two iris centres inserted into the eye
 * triangles (so the gaze can move), and rings of anchor points around the face out into hair and neck. The
 * outermost ring is fixed: nothing outside it ever moves.
 *
 * Seen from the side the face model folds over itself (the far cheek lies behind the nose). So the
 * triangles are drawn far to near (painter's order, by depth: what is nearer covers what is behind it), and
 * the rings are laid out around the 2D outline of all points (their convex hull), not around the
 * model's oval, which on the far side lies inside the visible face.
 *
 * @example
 *   const mesh = buildWarpMesh(face.mesh, { width, height });
 *   // mesh.src: x, y per vertex; mesh.tris: triangles in draw order (rings first, then face far to near)
 */
import { FACE_OVAL, LEFT_EYE_LOWER, LEFT_EYE_UPPER, LEFT_IRIS_CENTER, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER, RIGHT_IRIS_CENTER } from "../face/landmarks.js";
import { FACE_TRIANGLES } from "../face/topology.js";

/** Points of the face model that are mesh vertices (the 10 iris points are not, except the two centres). */
export const FACE_POINTS = 468;
/** Vertex indices of the inserted iris centres: subject's right eye (image left), subject's left eye. */
export const IRIS_VERTEX_RIGHT = 468;
export const IRIS_VERTEX_LEFT = 469;
/** First ring vertex. */
export const RING_START = 470;

/** A half-plane nx * x + ny * y <= c (image pixels) that a face's rings must stay inside. */
export interface HalfPlane {
  nx: number;
  ny: number;
  c: number;
}

export interface MeshOptions {
  /** Size of the picture (ring points stay inside it). */
  width: number;
  height: number;
  /** Ring distances as multiples of the face outline's radius, innermost first; the last ring is fixed. */
  ringScales?: readonly number[];
  /** Points per ring. */
  ringSize?: number;
  /** Half-planes the rings must stay inside (keeps the rings of neighbouring faces apart). */
  clip?: readonly HalfPlane[];
}

export const DEFAULT_RING_SCALES: readonly number[] = [1.2, 1.5, 1.9];
export const DEFAULT_RING_SIZE = 48;

export interface WarpMesh {
  vertexCount: number;
  /** Photo position of every vertex, [x0, y0, x1, y1, ...] in pixels. */
  src: Float32Array;
  /** Depth of every vertex (the face model's z, pixel-like units, larger = farther). */
  z: Float32Array;
  ringSize: number;
  ringCount: number;
  /** Triangles in draw order: ring triangles first (`ringTriCount` of them), then face triangles far to near. */
  tris: Uint32Array;
  ringTriCount: number;
  /** Orientation (sign of the signed area, x right / y down) of triangles that face the camera. */
  front: 1 | -1;
  /** Centre of the face outline (ring centre). */
  centre: { x: number; y: number };
  /** Vertex neighbourhoods over the whole topology (CSR): neighbours of v are adj[adjStart[v] .. adjStart[v+1]). */
  adjStart: Uint32Array;
  adj: Uint32Array;
  /** Whether each iris centre was inserted into an eye triangle (a closed or hidden eye has none). */
  irisInserted: [boolean, boolean];
}

/** Index of point `i` of ring `r`. */
export function ringVertex(mesh: Pick<WarpMesh, "ringSize">, r: number, i: number): number {
  return RING_START + r * mesh.ringSize + i;
}

function signedArea(src: Float32Array, a: number, b: number, c: number): number {
  return (src[b * 2] - src[a * 2]) * (src[c * 2 + 1] - src[a * 2 + 1]) - (src[b * 2 + 1] - src[a * 2 + 1]) * (src[c * 2] - src[a * 2]);
}

/** Convex hull (counter-clockwise in x right / y down terms irrelevant) of 2D points, monotone chain. */
export function convexHull(xs: ArrayLike<number>, ys: ArrayLike<number>): number[] {
  const n = xs.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => xs[a] - xs[b] || ys[a] - ys[b]);
  const cross = (o: number, a: number, b: number) => (xs[a] - xs[o]) * (ys[b] - ys[o]) - (ys[a] - ys[o]) * (xs[b] - xs[o]);
  const lower: number[] = [];
  for (const p of idx) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: number[] = [];
  for (let k = idx.length - 1; k >= 0; k--) {
    const p = idx[k];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

/** Distance from (cx, cy) along (dx, dy) to the boundary of a convex polygon containing the point. */
function rayToPolygon(px: number[], py: number[], cx: number, cy: number, dx: number, dy: number): number {
  let best = 0;
  const n = px.length;
  for (let i = 0; i < n; i++) {
    const ax = px[i] - cx, ay = py[i] - cy;
    const bx = px[(i + 1) % n] - cx, by = py[(i + 1) % n] - cy;
    const ex = bx - ax, ey = by - ay;
    const den = dx * ey - dy * ex;
    if (Math.abs(den) < 1e-12) continue;
    const t = (ax * ey - ay * ex) / den;
    const s = (ax * dy - ay * dx) / den;
    if (t > 0 && s >= -1e-9 && s <= 1 + 1e-9) best = Math.max(best, t);
  }
  return best;
}

/** Largest t >= 0 such that (cx, cy) + t (dx, dy) stays inside the picture and the half-planes. */
function rayLimit(cx: number, cy: number, dx: number, dy: number, w: number, h: number, clip: readonly HalfPlane[]): number {
  let t = Infinity;
  if (dx > 1e-12) t = Math.min(t, (w - 1 - cx) / dx);
  if (dx < -1e-12) t = Math.min(t, (0 - cx) / dx);
  if (dy > 1e-12) t = Math.min(t, (h - 1 - cy) / dy);
  if (dy < -1e-12) t = Math.min(t, (0 - cy) / dy);
  for (const p of clip) {
    const along = p.nx * dx + p.ny * dy;
    if (along > 1e-12) t = Math.min(t, (p.c - (p.nx * cx + p.ny * cy)) / along);
  }
  return Math.max(0, t);
}

/**
 * Builds the warp mesh of a face from its 478 (or 468) point mesh [x, y, z, ...] in picture pixels.
 */
export function buildWarpMesh(points: ArrayLike<number>, opts: MeshOptions): WarpMesh {
  if (points.length < FACE_POINTS * 3) throw new RangeError(`face mesh has ${points.length / 3} points, need ${FACE_POINTS}`);
  const scales = opts.ringScales ?? DEFAULT_RING_SCALES;
  const ringSize = opts.ringSize ?? DEFAULT_RING_SIZE;
  const ringCount = scales.length;
  const clip = opts.clip ?? [];
  const vertexCount = RING_START + ringCount * ringSize;
  const src = new Float32Array(vertexCount * 2);
  const z = new Float32Array(vertexCount);
  for (let i = 0; i < FACE_POINTS; i++) {
    src[i * 2] = points[i * 3];
    src[i * 2 + 1] = points[i * 3 + 1];
    z[i] = points[i * 3 + 2];
  }
  // Iris centres (or the eye's centroid when the mesh has no iris points).
  const irisSource: [number, readonly number[]][] = [
    [RIGHT_IRIS_CENTER, [...RIGHT_EYE_UPPER, ...RIGHT_EYE_LOWER]],
    [LEFT_IRIS_CENTER, [...LEFT_EYE_UPPER, ...LEFT_EYE_LOWER]],
  ];
  irisSource.forEach(([p, eye], k) => {
    const v = RING_START - 2 + k;
    if (points.length >= (p + 1) * 3) {
      src[v * 2] = points[p * 3];
      src[v * 2 + 1] = points[p * 3 + 1];
      z[v] = points[p * 3 + 2];
    } else {
      let x = 0, y = 0, zz = 0;
      for (const e of eye) { x += points[e * 3]; y += points[e * 3 + 1]; zz += points[e * 3 + 2]; }
      src[v * 2] = x / eye.length;
      src[v * 2 + 1] = y / eye.length;
      z[v] = zz / eye.length;
    }
  });

  // Orientation of camera-facing triangles: the sign of the total signed area.
  let total = 0;
  for (let t = 0; t < FACE_TRIANGLES.length; t += 3) total += signedArea(src, FACE_TRIANGLES[t], FACE_TRIANGLES[t + 1], FACE_TRIANGLES[t + 2]);
  const front: 1 | -1 = total >= 0 ? 1 : -1;

  // All face triangles (those facing away are drawn first by the painter's order and only show where
  // nothing nearer covers: along a fold they fill what would otherwise be a crack), iris centres inserted.
  let faceTris: number[] = Array.from(FACE_TRIANGLES);
  const allTopology: number[] = Array.from(FACE_TRIANGLES);
  const irisInserted: [boolean, boolean] = [false, false];
  for (let k = 0; k < 2; k++) {
    const v = RING_START - 2 + k;
    const eye = new Set<number>(k === 0 ? [...RIGHT_EYE_UPPER, ...RIGHT_EYE_LOWER] : [...LEFT_EYE_UPPER, ...LEFT_EYE_LOWER]);
    // The eye triangle that holds the iris centre best (largest smallest barycentric coordinate); the
    // centre is pulled strictly inside it (landmarks are coarse: the centre may sit on an edge).
    let found = -1;
    let bestMin = -0.25;
    let bary: [number, number, number] = [1 / 3, 1 / 3, 1 / 3];
    for (let t = 0; t < faceTris.length; t += 3) {
      const a = faceTris[t], b = faceTris[t + 1], c = faceTris[t + 2];
      if (!eye.has(a) || !eye.has(b) || !eye.has(c)) continue;
      const area = signedArea(src, a, b, c);
      if (area * front < 0.5) continue;
      const l0 = signedArea(src, v, b, c) / area, l1 = signedArea(src, a, v, c) / area, l2 = 1 - l0 - l1;
      const lo = Math.min(l0, l1, l2);
      if (lo > bestMin) { bestMin = lo; found = t; bary = [l0, l1, l2]; }
    }
    if (found >= 0 && bestMin < 0.12) {
      const [a, b, c] = [faceTris[found], faceTris[found + 1], faceTris[found + 2]];
      const l = bary.map((x) => Math.max(0.12, x));
      const sum = l[0] + l[1] + l[2];
      src[v * 2] = (l[0] * src[a * 2] + l[1] * src[b * 2] + l[2] * src[c * 2]) / sum;
      src[v * 2 + 1] = (l[0] * src[a * 2 + 1] + l[1] * src[b * 2 + 1] + l[2] * src[c * 2 + 1]) / sum;
    }
    if (found >= 0) {
      const [a, b, c] = [faceTris[found], faceTris[found + 1], faceTris[found + 2]];
      faceTris = faceTris.slice(0, found).concat([a, b, v, b, c, v, c, a, v], faceTris.slice(found + 3));
      allTopology.push(a, b, v, b, c, v, c, a, v);
      irisInserted[k] = true;
    }
  }
  // Painter's order: far (large z) first.
  const faceCount = faceTris.length / 3;
  const depth = new Float64Array(faceCount);
  for (let t = 0; t < faceCount; t++) depth[t] = z[faceTris[t * 3]] + z[faceTris[t * 3 + 1]] + z[faceTris[t * 3 + 2]];
  const faceOrder = Array.from({ length: faceCount }, (_, t) => t).sort((p, q) => depth[q] - depth[p] || p - q);

  // Rings around the convex hull of the face points.
  const xs = new Float64Array(FACE_POINTS), ys = new Float64Array(FACE_POINTS);
  for (let i = 0; i < FACE_POINTS; i++) { xs[i] = src[i * 2]; ys[i] = src[i * 2 + 1]; }
  const hull = convexHull(xs, ys);
  const hx = hull.map((i) => xs[i]), hy = hull.map((i) => ys[i]);
  // Centre: the hull's vertex mean (inside a convex polygon).
  const cx = hx.reduce((s, v) => s + v, 0) / hx.length;
  const cy = hy.reduce((s, v) => s + v, 0) / hy.length;
  let zMean = 0;
  for (const i of FACE_OVAL) zMean += z[i];
  zMean /= FACE_OVAL.length;
  const angles = new Float64Array(ringSize);
  for (let j = 0; j < ringSize; j++) angles[j] = -Math.PI + ((j + 0.5) * 2 * Math.PI) / ringSize;
  for (let j = 0; j < ringSize; j++) {
    const dx = Math.cos(angles[j]), dy = Math.sin(angles[j]);
    const base = Math.max(1, rayToPolygon(hx, hy, cx, cy, dx, dy));
    const limit = rayLimit(cx, cy, dx, dy, opts.width, opts.height, clip);
    const radii = scales.map((s) => Math.min(s * base, limit));
    for (let r = ringCount - 2; r >= 0; r--) radii[r] = Math.max(0, Math.min(radii[r], radii[r + 1] - 1));
    for (let r = 0; r < ringCount; r++) {
      const v = RING_START + r * ringSize + j;
      src[v * 2] = Math.min(opts.width - 1, Math.max(0, cx + dx * radii[r]));
      src[v * 2 + 1] = Math.min(opts.height - 1, Math.max(0, cy + dy * radii[r]));
      z[v] = zMean;
    }
  }

  // Ring triangles: oval (sorted by angle) zipped to ring 0, then quads between rings.
  const ringTris: number[] = [];
  const push = (a: number, b: number, c: number) => {
    const s = signedArea(src, a, b, c);
    if (s * front >= 0) ringTris.push(a, b, c);
    else ringTris.push(a, c, b);
  };
  const angleOf = (v: number) => Math.atan2(src[v * 2 + 1] - cy, src[v * 2] - cx);
  const oval = [...FACE_OVAL].sort((p, q) => angleOf(p) - angleOf(q));
  const ovalAng = oval.map(angleOf);
  const m = oval.length;
  let i = 0, j = 0;
  const unA = (k: number) => ovalAng[k % m] + 2 * Math.PI * Math.floor(k / m);
  const unB = (k: number) => angles[k % ringSize] + 2 * Math.PI * Math.floor(k / ringSize);
  while (i < m || j < ringSize) {
    const a = oval[i % m], b = RING_START + (j % ringSize);
    if (j >= ringSize || (i < m && unA(i + 1) <= unB(j + 1))) {
      push(a, b, oval[(i + 1) % m]);
      i++;
    } else {
      push(a, b, RING_START + ((j + 1) % ringSize));
      j++;
    }
  }
  for (let r = 0; r + 1 < ringCount; r++) {
    for (let k = 0; k < ringSize; k++) {
      const a = RING_START + r * ringSize + k, b = RING_START + r * ringSize + ((k + 1) % ringSize);
      const c = a + ringSize, d = b + ringSize;
      push(a, b, d);
      push(a, d, c);
    }
  }

  const tris = new Uint32Array(ringTris.length + faceTris.length);
  tris.set(ringTris);
  let o = ringTris.length;
  for (const t of faceOrder) {
    tris[o++] = faceTris[t * 3];
    tris[o++] = faceTris[t * 3 + 1];
    tris[o++] = faceTris[t * 3 + 2];
  }

  // Neighbourhoods over the whole topology (including triangles dropped for drawing).
  const sets: Set<number>[] = Array.from({ length: vertexCount }, () => new Set<number>());
  const link = (list: ArrayLike<number>) => {
    for (let t = 0; t + 2 < list.length; t += 3) {
      const a = list[t], b = list[t + 1], c = list[t + 2];
      sets[a].add(b); sets[a].add(c); sets[b].add(a); sets[b].add(c); sets[c].add(a); sets[c].add(b);
    }
  };
  link(allTopology);
  link(ringTris);
  const adjStart = new Uint32Array(vertexCount + 1);
  for (let v = 0; v < vertexCount; v++) adjStart[v + 1] = adjStart[v] + sets[v].size;
  const adj = new Uint32Array(adjStart[vertexCount]);
  for (let v = 0; v < vertexCount; v++) adj.set([...sets[v]].sort((p, q) => p - q), adjStart[v]);

  return {
    vertexCount,
    src,
    z,
    ringSize,
    ringCount,
    tris,
    ringTriCount: ringTris.length / 3,
    front,
    centre: { x: cx, y: cy },
    adjStart,
    adj,
    irisInserted,
  };
}

/** Half-planes that keep face `k`'s rings on its side of the perpendicular bisectors to the other faces. */
export function separatingPlanes(centres: readonly { x: number; y: number; radius: number }[], k: number, margin = 2): HalfPlane[] {
  const me = centres[k];
  const planes: HalfPlane[] = [];
  centres.forEach((other, j) => {
    if (j === k) return;
    const dx = other.x - me.x, dy = other.y - me.y;
    const d = Math.hypot(dx, dy);
    if (d < 1e-6) return;
    const nx = dx / d, ny = dy / d;
    // Split the gap between the two faces in proportion to their sizes.
    const share = me.radius / Math.max(1e-6, me.radius + other.radius);
    const at = d * share;
    planes.push({ nx, ny, c: nx * me.x + ny * me.y + at - margin });
  });
  return planes;
}
