/**
 * A synthetic frontal face for the renderer's unit tests: the 478-point mesh laid out from the face model's
 * canonical UV468 layout (with a simple ellipsoid depth), and a matching picture drawn from the mesh's own
 * contours: textured background, skin, red lips, white eyes with a dark iris, brows.
 */
import {
  FACE_OVAL, LEFT_BROW_UPPER, LEFT_EYE_LOWER, LEFT_EYE_UPPER, LIPS_INNER_LOWER, LIPS_INNER_UPPER, LIPS_OUTER_LOWER,
  LIPS_OUTER_UPPER, RIGHT_BROW_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER,
} from "../../src/face/landmarks.js";
import { FACE_UV } from "../../src/face/topology.js";
import type { Face } from "../../src/face/types.js";
import type { RawImage } from "../../src/media/types.js";
import { LOWER_LIP_ROWS } from "../../src/render/rig.js";

export interface SyntheticOptions {
  width?: number;
  height?: number;
  /** Face size (the UV square's side) in pixels. */
  size?: number;
  cx?: number;
  cy?: number;
  /** Opens the mouth of the picture: lower lip and chin moved down by this fraction of the size. */
  mouthOpen?: number;
}

export interface Synthetic {
  image: RawImage;
  face: Face;
  colours: { skin: [number, number, number]; lip: [number, number, number]; sclera: [number, number, number] };
}

const SKIN: [number, number, number] = [214, 168, 140];
const LIP: [number, number, number] = [176, 72, 78];
const SCLERA: [number, number, number] = [236, 236, 232];
const IRIS: [number, number, number] = [60, 42, 30];
const BROW: [number, number, number] = [70, 50, 40];
const CAVITY: [number, number, number] = [40, 12, 14];

/** A deterministic hash noise in [-1, 1]. */
function noise(x: number, y: number): number {
  let h = (x * 374761393 + y * 668265263) | 0;
  h = Math.imul(h ^ (h >>> 13), 1274126177);
  return (((h ^ (h >>> 16)) >>> 0) / 4294967295) * 2 - 1;
}

function inside(px: number, py: number, xs: number[], ys: number[]): boolean {
  let c = false;
  for (let i = 0, j = xs.length - 1; i < xs.length; j = i++) {
    if (ys[i] > py !== ys[j] > py && px < ((xs[j] - xs[i]) * (py - ys[i])) / (ys[j] - ys[i]) + xs[i]) c = !c;
  }
  return c;
}

export function syntheticFace(opts: SyntheticOptions = {}): Synthetic {
  const width = opts.width ?? 256;
  const height = opts.height ?? 256;
  const size = opts.size ?? 160;
  const cx = opts.cx ?? width / 2;
  const cy = opts.cy ?? height / 2;
  const open = opts.mouthOpen ?? 0;
  const mesh = new Float32Array(478 * 3);
  for (let i = 0; i < 468; i++) {
    const u = FACE_UV[i * 2], v = FACE_UV[i * 2 + 1];
    mesh[i * 3] = cx + (u - 0.5) * size;
    mesh[i * 3 + 1] = cy + (v - 0.5) * size;
    const r = ((u - 0.5) / 0.5) ** 2 + ((v - 0.55) / 0.5) ** 2;
    mesh[i * 3 + 2] = size * (0.25 - 0.4 * Math.sqrt(Math.max(0, 1 - r)));
  }
  if (open > 0) {
    // Lower lip rows (columns 1..9) and everything below the mouth move down.
    const lower = new Set<number>();
    for (const row of LOWER_LIP_ROWS) for (let i = 1; i < 10; i++) lower.add(row[i]);
    const mouthY = cy + (0.694 - 0.5) * size;
    for (let i = 0; i < 468; i++) {
      const y = mesh[i * 3 + 1];
      const u = FACE_UV[i * 2];
      if (lower.has(i)) mesh[i * 3 + 1] += open * size * Math.sqrt(Math.max(0, 1 - ((u - 0.5) / 0.1) ** 2));
      else if (y > mouthY + 0.02 * size) mesh[i * 3 + 1] += open * size * Math.max(0, 1 - (y - mouthY) / (0.4 * size));
    }
  }
  // Irises: centre and 4 rim points per eye (468.. = subject's left eye, 473.. = subject's right eye).
  const eyeCentre = (contour: readonly number[]) => {
    let x = 0, y = 0;
    for (const i of contour) { x += mesh[i * 3]; y += mesh[i * 3 + 1]; }
    return [x / contour.length, y / contour.length];
  };
  const irisR = 0.022 * size;
  for (const [base, contour] of [[468, [...LEFT_EYE_UPPER, ...LEFT_EYE_LOWER]], [473, [...RIGHT_EYE_UPPER, ...RIGHT_EYE_LOWER]]] as const) {
    const [x, y] = eyeCentre(contour);
    const pts = [[x, y], [x + irisR, y], [x, y - irisR], [x - irisR, y], [x, y + irisR]];
    pts.forEach(([px, py], k) => {
      mesh[(base + k) * 3] = px;
      mesh[(base + k) * 3 + 1] = py;
      mesh[(base + k) * 3 + 2] = -0.1 * size;
    });
  }

  const poly = (idx: readonly number[]) => [idx.map((i) => mesh[i * 3]), idx.map((i) => mesh[i * 3 + 1])] as [number[], number[]];
  const oval = poly(FACE_OVAL);
  const lipsOuter = poly([...LIPS_OUTER_UPPER, ...[...LIPS_OUTER_LOWER].reverse()]);
  const lipsInner = poly([...LIPS_INNER_UPPER, ...[...LIPS_INNER_LOWER].reverse()]);
  const eyes = [poly([...RIGHT_EYE_UPPER, ...[...RIGHT_EYE_LOWER].reverse()]), poly([...LEFT_EYE_UPPER, ...[...LEFT_EYE_LOWER].reverse()])];
  const irises = [[mesh[473 * 3], mesh[473 * 3 + 1]], [mesh[468 * 3], mesh[468 * 3 + 1]]];
  const brows = [RIGHT_BROW_UPPER, LEFT_BROW_UPPER].map((b) => b.map((i) => [mesh[i * 3], mesh[i * 3 + 1]]));

  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const px = x, py = y;
      // Background: a smooth gradient with stripes and noise, so that any movement changes pixels.
      let c: [number, number, number] = [
        60 + 40 * Math.sin(x / 7) + 20 * noise(x, y),
        90 + 30 * Math.cos(y / 5),
        120 + 50 * Math.sin((x + y) / 11),
      ];
      if (inside(px, py, ...oval)) {
        const shade = 1 - 0.25 * (((x - cx) / (0.5 * size)) ** 2);
        c = [SKIN[0] * shade + 6 * noise(x, y), SKIN[1] * shade + 6 * noise(y, x), SKIN[2] * shade + 6 * noise(x + 1, y)];
        for (const b of brows) {
          for (const [bx, by] of b) if (Math.hypot(px - bx, py - by) < 0.018 * size) c = [...BROW];
        }
        if (inside(px, py, ...lipsOuter)) c = [LIP[0] + 5 * noise(x, y), LIP[1], LIP[2]];
        if (open > 0 && inside(px, py, ...lipsInner)) c = [...CAVITY];
        eyes.forEach((e, k) => {
          if (inside(px, py, ...e)) {
            c = [...SCLERA];
            if (Math.hypot(px - irises[k][0], py - irises[k][1]) < irisR * 1.1) c = [...IRIS];
          }
        });
      }
      const o = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) data[o + ch] = Math.max(0, Math.min(255, Math.round(c[ch])));
    }
  }
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let i = 0; i < 468; i++) {
    minX = Math.min(minX, mesh[i * 3]); maxX = Math.max(maxX, mesh[i * 3]);
    minY = Math.min(minY, mesh[i * 3 + 1]); maxY = Math.max(maxY, mesh[i * 3 + 1]);
  }
  return {
    image: { width, height, channels: 3, data },
    face: { box: { x: minX, y: minY, width: maxX - minX, height: maxY - minY }, score: 0.99, mesh, pose: { yaw: 0, pitch: 0, roll: 0 } },
    colours: { skin: SKIN, lip: LIP, sclera: SCLERA },
  };
}

/** Is pixel (x, y) inside the polygon of mesh points `idx` at positions `pos` ([x, y] per vertex)? */
export function insidePolygon(pos: ArrayLike<number>, idx: readonly number[], x: number, y: number): boolean {
  return inside(x, y, idx.map((i) => pos[i * 2]), idx.map((i) => pos[i * 2 + 1]));
}
