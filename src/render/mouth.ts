/**
 * The mouth interior, drawn in the hole of the inner-lip polygon.
 *
 * Per inner-lip column (11, corner to corner) the photo's hole is read top to bottom as: a band of upper
 * lip that the face model left inside the hole, the interior (upper teeth, cavity, lower teeth), and a band
 * of lower lip. The lip bands move with their lips (translated; squeezed only when the lips close further
 * than in the photo); the upper teeth move with the upper lip and the lower teeth with the lower lip (never
 * stretched: when the gap shrinks they slide behind each other, upper teeth in front); only the dark cavity
 * stretches.
 *
 * - The photo's mouth is open (its hole shows teeth or a dark cavity, not just lip): the interior is the
 *   photo's own pixels (teeth bands measured per column from brightness).
 * - The photo's mouth is closed (the hole holds only lip: the two lip bands meet at the darkest line): an
 *   interior is synthesized once per job, at the mouth's pixel scale: upper teeth with a thin gum line,
 *   per-tooth shading, darker gaps and corners, lower teeth, a dark throat gradient from deep red-brown to
 *   near black, a tongue; colours from the photo's lips and skin, blurred and noised to the photo's own
 *   sharpness and noise around the mouth. It opens at the line where the lips meet.
 *
 * @example
 *   const mouth = prepareMouth(photo, rig, { scale: 2, seed });
 *   const mesh = newInteriorMesh();
 *   updateInterior(mouth, rig, targetPositions, mesh); // per frame; draw mesh.bands (photo), mesh.inner (texture)
 */
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { LIPS_INNER_LOWER, LIPS_INNER_UPPER } from "../face/landmarks.js";
import type { Rect, Surface } from "./pixels.js";
import { newSurface } from "./pixels.js";
import { LIP_COLUMNS, LOWER_LIP_ROWS, UPPER_LIP_ROWS, type Rig } from "./rig.js";
import type { TriangleSet } from "./warp.js";

export interface MouthInterior {
  kind: "photo" | "synth";
  /** What the interior samples: the photo's interior (cavity smoothed) or the synthesized interior. */
  texture: Surface;
  /**
   * Photo path: the same layout without smoothing, drawn while the cavity is barely stretched (the smoothed
   * one would visibly change the photo's own mouth); in between the two are blended (cached per level).
   */
  rawTexture: Surface | null;
  /** Interior height of the photo's opening per column (photo px), for the stretch ratio. */
  srcInterior: Float32Array;
  /** Texture pixels per target pixel along a column. */
  texScale: number;
  /** Per column, in the photo: top (upper lip) and bottom (lower lip) end, unit direction, and the lip bands. */
  srcTop: Float32Array;
  srcBottom: Float32Array;
  srcDir: Float32Array;
  lipTop: Float32Array;
  lipBottom: Float32Array;
  /** Per column: visible upper-teeth and lower-teeth band heights (target px). */
  upperBand: Float32Array;
  lowerBand: Float32Array;
  /** Per column: the interior's top and bottom end in the texture, and unit direction. */
  texTop: Float32Array;
  texBottom: Float32Array;
  texDir: Float32Array;
  /** Interior height (target px) shown before the lower teeth start to rise into view. */
  cavityMin: number;
  /** How strongly to shade the lips' inner edges and the interior under the lips (0..1). */
  edgeShade: number;
  /** Colours sampled from the photo (packed RGB), for reports and tests. */
  lipColour: number;
  skinColour: number;
  /** The photo's estimated blur (Gaussian sigma, px) and noise (sigma, 0..255) around the mouth. */
  blur: number;
  noise: number;
}

export interface MouthOptions {
  /** Supersampling of the mouth pass (the synthesized texture is made at this scale). */
  scale: number;
  seed: number;
}

/** Points per column of the interior mesh: upper lip, lip band end, upper teeth end, lower teeth start, lip band start, lower lip. */
const PER_COLUMN = 6;

/** The interior mesh, rebuilt per frame: lip bands (sampled from the photo) and the interior proper. */
export interface InteriorMesh {
  dst: Float32Array;
  bands: TriangleSet;
  inner: TriangleSet;
  /** This frame's interior height over the photo's at the middle column (1 = as in the photo). */
  stretch: number;
}

export function newInteriorMesh(): InteriorMesh {
  const band: number[] = [];
  const inner: number[] = [];
  for (let i = 0; i + 1 < LIP_COLUMNS; i++) {
    for (let k = 0; k < PER_COLUMN - 1; k++) {
      const a = i * PER_COLUMN + k, b = a + 1, c = (i + 1) * PER_COLUMN + k, d = c + 1;
      (k === 0 || k === PER_COLUMN - 2 ? band : inner).push(a, c, b, b, c, d);
    }
  }
  const dst = new Float32Array(LIP_COLUMNS * PER_COLUMN * 2);
  return {
    dst,
    bands: { dst, src: new Float32Array(LIP_COLUMNS * PER_COLUMN * 2), tris: Uint16Array.from(band) },
    inner: { dst, src: new Float32Array(LIP_COLUMNS * PER_COLUMN * 2), tris: Uint16Array.from(inner) },
    stretch: 1,
  };
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
const smoothstep = (e0: number, e1: number, x: number) => {
  const t = clamp((x - e0) / (e1 - e0), 0, 1);
  return t * t * (3 - 2 * t);
};
const R = (p: number) => p & 0xff;
const G = (p: number) => (p >>> 8) & 0xff;
const B = (p: number) => (p >>> 16) & 0xff;
const pack = (r: number, g: number, b: number) =>
  clamp(Math.round(r), 0, 255) | (clamp(Math.round(g), 0, 255) << 8) | (clamp(Math.round(b), 0, 255) << 16);
const luma = (p: number) => 0.2126 * R(p) + 0.7152 * G(p) + 0.0722 * B(p);

/** Bilinear sample of a surface at (x, y) as [r, g, b]. */
function sample(s: Surface, x: number, y: number): [number, number, number] {
  const xi = clamp(Math.floor(x), 0, s.width - 2), yi = clamp(Math.floor(y), 0, s.height - 2);
  const fx = clamp(x - xi, 0, 1), fy = clamp(y - yi, 0, 1);
  const i = yi * s.width + xi;
  const p = [s.px[i], s.px[i + 1], s.px[i + s.width], s.px[i + s.width + 1]];
  const w = [(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy];
  let r = 0, g = 0, b = 0;
  for (let k = 0; k < 4; k++) { r += R(p[k]) * w[k]; g += G(p[k]) * w[k]; b += B(p[k]) * w[k]; }
  return [r, g, b];
}

/** Mean colour of small (3x3) neighbourhoods around some points. */
function meanColour(s: Surface, pts: [number, number][]): [number, number, number] {
  let r = 0, g = 0, b = 0, n = 0;
  for (const [x, y] of pts) {
    for (let j = -1; j <= 1; j++) {
      for (let i = -1; i <= 1; i++) {
        const c = sample(s, x + i, y + j);
        r += c[0]; g += c[1]; b += c[2]; n++;
      }
    }
  }
  return n ? [r / n, g / n, b / n] : [128, 128, 128];
}

function luminancePatch(s: Surface, box: Rect): { w: number; h: number; l: Float32Array } {
  const w = Math.max(0, box.x1 - box.x0), h = Math.max(0, box.y1 - box.y0);
  const l = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) l[y * w + x] = luma(s.px[(box.y0 + y) * s.width + box.x0 + x]);
  return { w, h, l };
}

function gaussianBlur(l: Float32Array, w: number, h: number, sigma: number): Float32Array {
  if (sigma <= 0.05) return l.slice();
  const r = Math.max(1, Math.ceil(sigma * 3));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) { k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma)); sum += k[i + r]; }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  const tmp = new Float32Array(w * h), out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let a = 0;
      for (let i = -r; i <= r; i++) a += k[i + r] * l[y * w + clamp(x + i, 0, w - 1)];
      tmp[y * w + x] = a;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let a = 0;
      for (let i = -r; i <= r; i++) a += k[i + r] * tmp[clamp(y + i, 0, h - 1) * w + x];
      out[y * w + x] = a;
    }
  }
  return out;
}

function quantileOf(values: Float32Array | number[], q: number): number {
  const a = Float64Array.from(values).sort();
  if (a.length === 0) return 0;
  return a[Math.min(a.length - 1, Math.max(0, Math.floor(q * (a.length - 1))))];
}

/**
 * The photo's blur around a box: the Gaussian sigma (px) of its strongest edges, from how much a known
 * extra blur (sigma 1) lowers their gradient: for an edge of blur s0 the gradient falls by s0 / sqrt(s0^2 + 1).
 */
export function estimateBlur(s: Surface, box: Rect): number {
  const { w, h, l } = luminancePatch(s, box);
  if (w < 8 || h < 8) return 0.7;
  const grad = (img: Float32Array) => {
    const g: number[] = [];
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        const gx = (img[y * w + x + 1] - img[y * w + x - 1]) / 2, gy = (img[(y + 1) * w + x] - img[(y - 1) * w + x]) / 2;
        g.push(Math.hypot(gx, gy));
      }
    }
    return g;
  };
  const g1 = quantileOf(grad(l), 0.97);
  const g2 = quantileOf(grad(gaussianBlur(l, w, h, 1)), 0.97);
  if (g1 < 4) return 1;
  const r = clamp(g2 / g1, 0.2, 0.96);
  return clamp(r / Math.sqrt(1 - r * r), 0.4, 3);
}

/** The photo's noise sigma (0..255 units) in a box: robust (median) Laplacian energy. */
export function estimateNoise(s: Surface, box: Rect): number {
  const { w, h, l } = luminancePatch(s, box);
  if (w < 5 || h < 5) return 0;
  const vals: number[] = [];
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      vals.push(Math.abs(l[i - 1] + l[i + 1] + l[i - w] + l[i + w] - 4 * l[i]));
    }
  }
  return clamp((1.4826 * quantileOf(vals, 0.5)) / Math.sqrt(20), 0, 8);
}

function boxAround(rig: Rig, indices: readonly number[], pad: number, s: Surface): Rect {
  const { src } = rig.mesh;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const v of indices) {
    x0 = Math.min(x0, src[v * 2]); x1 = Math.max(x1, src[v * 2]);
    y0 = Math.min(y0, src[v * 2 + 1]); y1 = Math.max(y1, src[v * 2 + 1]);
  }
  return {
    x0: clamp(Math.floor(x0 - pad), 0, s.width), y0: clamp(Math.floor(y0 - pad), 0, s.height),
    x1: clamp(Math.ceil(x1 + pad), 0, s.width), y1: clamp(Math.ceil(y1 + pad), 0, s.height),
  };
}

/** Prepares the interior of one face: reuse the photo's open mouth, or synthesize one. */
interface ColumnScan {
  top: [number, number];
  bottom: [number, number];
  dir: [number, number];
  len: number;
  /** Photo colour every pixel along the column, from the upper lip down. */
  rgb: [number, number, number][];
}

function scanColumns(photo: Surface, rig: Rig): ColumnScan[] {
  const { src } = rig.mesh;
  const scans: ColumnScan[] = [];
  for (let i = 0; i < LIP_COLUMNS; i++) {
    const u = LIPS_INNER_UPPER[i], l = LIPS_INNER_LOWER[i];
    const ux = src[u * 2], uy = src[u * 2 + 1], lx = src[l * 2], ly = src[l * 2 + 1];
    const along = (lx - ux) * rig.down2[0] + (ly - uy) * rig.down2[1];
    const len = along > 0 ? Math.hypot(lx - ux, ly - uy) : 0;
    const dx = len > 1e-6 ? (lx - ux) / len : rig.down2[0], dy = len > 1e-6 ? (ly - uy) / len : rig.down2[1];
    const rgb: [number, number, number][] = [];
    for (let t = 0; t <= len; t += 1) rgb.push(sample(photo, ux + dx * t, uy + dy * t));
    scans.push({ top: [ux, uy], bottom: [lx, ly], dir: [dx, dy], len, rgb });
  }
  return scans;
}

const lum3 = (c: readonly number[]) => 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];

/** Prepares the interior of one face: reuse the photo's open mouth, or synthesize one. */
export function prepareMouth(photo: Surface, rig: Rig, opts: MouthOptions): MouthInterior {
  const { src } = rig.mesh;
  const width = Math.max(4, Math.hypot(src[308 * 2] - src[78 * 2], src[308 * 2 + 1] - src[78 * 2 + 1]));

  // Colours: lips (between the inner and outer contours) and skin (cheeks, chin).
  const lipPts: [number, number][] = [];
  for (const rows of [UPPER_LIP_ROWS, LOWER_LIP_ROWS]) {
    for (let i = 2; i <= 8; i++) {
      const a = rows[1][i], b = rows[2][i];
      lipPts.push([(src[a * 2] + src[b * 2]) / 2, (src[a * 2 + 1] + src[b * 2 + 1]) / 2]);
    }
  }
  const lip = meanColour(photo, lipPts);
  const skin = meanColour(photo, [205, 425, 50, 280, 199, 175, 200, 18].map((v) => [src[v * 2], src[v * 2 + 1]] as [number, number]));
  const mouthBox = boxAround(rig, [...UPPER_LIP_ROWS[3], ...LOWER_LIP_ROWS[3]], 0.15 * width, photo);
  const blur = estimateBlur(photo, mouthBox);
  const cheekBox = boxAround(rig, [205, 50, 187, 123, 36], 1, photo);
  const noise = estimateNoise(photo, cheekBox);
  const common = { lipColour: pack(...lip), skinColour: pack(...skin), blur, noise };

  // What the face model's hole holds in the photo, per column: lip bands at both ends, and between them?
  const scans = scanColumns(photo, rig);
  const lipL = Math.max(1, lum3(lip));
  const lipLike = (c: readonly number[]) =>
    Math.hypot(c[0] - lip[0], c[1] - lip[1], c[2] - lip[2]) < Math.max(24, 0.3 * lipL) && lum3(c) > 0.6 * lipL;
  const n = LIP_COLUMNS;
  const lipTop = new Float32Array(n), lipBottom = new Float32Array(n), middle = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const { rgb, len } = scans[i];
    let a = 0;
    while (a < rgb.length && lipLike(rgb[a])) a++;
    let b = 0;
    while (b < rgb.length - a && lipLike(rgb[rgb.length - 1 - b])) b++;
    lipTop[i] = Math.min(a, len);
    lipBottom[i] = Math.min(b, Math.max(0, len - lipTop[i]));
    middle[i] = Math.max(0, len - lipTop[i] - lipBottom[i]);
  }
  const centralMiddle = quantileOf(Array.from(middle.subarray(3, 8)), 0.5);
  const open = centralMiddle > Math.max(2, 0.06 * width);
  if (open) {
    med3(lipTop);
    med3(lipBottom);
    for (let i = 0; i < n; i++) {
      const len = scans[i].len;
      if (lipTop[i] + lipBottom[i] > len) { const k = len / (lipTop[i] + lipBottom[i]); lipTop[i] *= k; lipBottom[i] *= k; }
    }
    return photoInterior(photo, rig, width, opts, scans, lipTop, lipBottom, common);
  }
  // Closed in the photo: the lips meet at the darkest line of each column.
  for (let i = 0; i < n; i++) {
    const { rgb, len } = scans[i];
    if (rgb.length < 2) { lipTop[i] = len / 2; lipBottom[i] = len / 2; continue; }
    let best = 0, bestL = Infinity;
    for (let t = 0; t < rgb.length; t++) {
      const l = lum3(rgb[Math.max(0, t - 1)]) + 2 * lum3(rgb[t]) + lum3(rgb[Math.min(rgb.length - 1, t + 1)]);
      if (l < bestL) { bestL = l; best = t; }
    }
    lipTop[i] = Math.min(best, len);
    lipBottom[i] = Math.max(0, len - lipTop[i]);
  }
  return synthInterior(rig, width, lip, skin, opts, scans, lipTop, lipBottom, common);
}

/**
 * Texture positions for the face triangles: the photo's positions, except that the inner-lip points of an
 * open photo mouth are pulled ~1 px into the lip, so that lip triangles never carry the teeth or cavity
 * pixels that straddle the model's contour (they would show as a bright seam when the lips close).
 */
export function faceTexturePositions(rig: Rig, mouth: MouthInterior): Float32Array {
  const src = rig.mesh.src;
  const tex = src.slice();
  if (mouth.kind !== "photo") return tex;
  for (const rows of [UPPER_LIP_ROWS, LOWER_LIP_ROWS]) {
    for (let i = 0; i < LIP_COLUMNS; i++) {
      const v = rows[0][i], w = rows[1][i];
      const dx = src[w * 2] - src[v * 2], dy = src[w * 2 + 1] - src[v * 2 + 1];
      const d = Math.hypot(dx, dy);
      if (d < 1e-6) continue;
      const k = Math.min(1.5, 0.4 * d) / d;
      tex[v * 2] = src[v * 2] + dx * k;
      tex[v * 2 + 1] = src[v * 2 + 1] + dy * k;
    }
  }
  return tex;
}

/** Median of 3 along the columns, in place (ends unchanged). */
function med3(arr: Float32Array): void {
  const c = arr.slice();
  for (let i = 1; i < arr.length - 1; i++) arr[i] = [c[i - 1], c[i], c[i + 1]].sort((p, q) => p - q)[1];
}

type Common = Pick<MouthInterior, "lipColour" | "skinColour" | "blur" | "noise">;

function sourceColumns(scans: ColumnScan[]) {
  const n = scans.length;
  const srcTop = new Float32Array(n * 2), srcBottom = new Float32Array(n * 2), srcDir = new Float32Array(n * 2);
  scans.forEach((c, i) => {
    srcTop.set(c.top, i * 2);
    srcBottom.set(c.bottom, i * 2);
    srcDir.set(c.dir, i * 2);
  });
  return { srcTop, srcBottom, srcDir };
}

function photoInterior(
  photo: Surface, rig: Rig, width: number, opts: MouthOptions, scans: ColumnScan[], lipTop: Float32Array, lipBottom: Float32Array,
  common: Common,
): MouthInterior {
  const n = scans.length;
  const { srcTop, srcBottom, srcDir } = sourceColumns(scans);
  // The interior part of each column in the photo (between the lip bands).
  const segTop = new Float32Array(n * 2), segBottom = new Float32Array(n * 2);
  const upperBand = new Float32Array(n), lowerBand = new Float32Array(n);
  // The interior part of each column, and a brightness threshold between the dark cavity and the teeth.
  const cols: number[][] = [];
  const all: number[] = [];
  for (let i = 0; i < n; i++) {
    const { top, bottom, dir, rgb } = scans[i];
    segTop[i * 2] = top[0] + dir[0] * lipTop[i];
    segTop[i * 2 + 1] = top[1] + dir[1] * lipTop[i];
    segBottom[i * 2] = bottom[0] - dir[0] * lipBottom[i];
    segBottom[i * 2 + 1] = bottom[1] - dir[1] * lipBottom[i];
    const col: number[] = [];
    for (let t = Math.ceil(lipTop[i]); t < rgb.length - Math.ceil(lipBottom[i]); t++) {
      const c = rgb[t];
      const v = lum3(c) - 0.5 * (Math.max(...c) - Math.min(...c)); // teeth: bright and grey
      col.push(v);
      all.push(v);
    }
    cols.push(col);
  }
  const lo = quantileOf(all, 0.1), hi = quantileOf(all, 0.9);
  const thr = lo + 0.35 * (hi - lo);
  const contrast = hi - lo;
  for (let i = 0; i < n; i++) {
    const col = cols[i];
    if (contrast < 25 || col.length < 3) continue; // no distinct teeth: the whole gap stretches as cavity
    // Upper teeth: everything down to the last bright sample in the upper 60% of the column; lower teeth:
    // everything up from the first bright sample in the lower 40%. Bands are counted from the lip band, so
    // they move with their lip, and the cavity between them (the only part that stretches) stays dark.
    const split = Math.round(col.length * 0.6);
    let a = 0;
    for (let t = 0; t < split; t++) if (col[t] > thr) a = t + 1;
    let b = 0;
    for (let t = col.length - 1; t >= Math.max(split, a); t--) if (col[t] > thr) b = col.length - t;
    upperBand[i] = a;
    lowerBand[i] = b;
  }
  med3(upperBand);
  med3(lowerBand);
  const texture = photoTexture(photo, rig, width, opts.scale, segTop, segBottom, srcDir, upperBand, lowerBand);
  const srcInterior = new Float32Array(n);
  for (let i = 0; i < n; i++) srcInterior[i] = Math.max(0, scans[i].len - lipTop[i] - lipBottom[i]);
  return {
    kind: "photo", ...texture, srcInterior, srcTop, srcBottom, srcDir, lipTop, lipBottom, upperBand, lowerBand,
    cavityMin: 0, edgeShade: 0.35, ...common,
  };
}

/**
 * The photo's open mouth resampled into the interior's canonical layout (x: corner to corner, rows: upper
 * teeth from the top, lower teeth at the bottom, cavity between), at `scale` texture pixels per picture
 * pixel. The teeth keep the photo's pixels; the cavity, the only part that stretches, is smoothed (a
 * stretched photo cavity turns every speck into a streak).
 */
function photoTexture(
  photo: Surface, rig: Rig, width: number, scale: number, top: Float32Array, bottom: Float32Array, dir: Float32Array,
  upperBand: Float32Array, lowerBand: Float32Array,
): Pick<MouthInterior, "texture" | "rawTexture" | "texScale" | "texTop" | "texBottom" | "texDir"> {
  const n = LIP_COLUMNS;
  const s = Math.max(1, scale);
  const len = new Float32Array(n);
  for (let i = 0; i < n; i++) len[i] = Math.max(0, (bottom[i * 2] - top[i * 2]) * dir[i * 2] + (bottom[i * 2 + 1] - top[i * 2 + 1]) * dir[i * 2 + 1]);
  const tw = Math.max(8, Math.round(width * s));
  let maxLen = 0;
  for (let i = 0; i < n; i++) maxLen = Math.max(maxLen, len[i], upperBand[i] + lowerBand[i] + 2);
  const th = Math.max(8, Math.round(maxLen * s) + 2);
  const xs = Array.from(rig.lipT, (t) => ((t + 1) / 2) * (tw - 1));
  const tex = newSurface(tw, th);
  const raw = newSurface(tw, th);
  const rr = new Float32Array(tw * th), gg = new Float32Array(tw * th), bb = new Float32Array(tw * th);
  const cavity = new Float32Array(tw * th); // 1 in the cavity, 0 on teeth
  for (let x = 0; x < tw; x++) {
    let i = 0;
    while (i < n - 2 && x > xs[i + 1]) i++;
    const f = xs[i + 1] > xs[i] ? clamp((x - xs[i]) / (xs[i + 1] - xs[i]), 0, 1) : 0;
    const lerp = (arr: Float32Array, k: number, stride = 1) => arr[i * stride + k] * (1 - f) + arr[(i + 1) * stride + k] * f;
    const tx = lerp(top, 0, 2), ty = lerp(top, 1, 2), dx = lerp(dir, 0, 2), dy = lerp(dir, 1, 2);
    const L = lerp(len, 0), ub = Math.min(lerp(upperBand, 0), L), lb = Math.min(lerp(lowerBand, 0), Math.max(0, L - ub));
    for (let y = 0; y < th; y++) {
      const ty0 = y / s, tb = (th - 1 - y) / s;
      let d: number;
      let cav = 0;
      if (ty0 < ub) d = ty0;
      else if (tb < lb) d = L - tb;
      else {
        const span = th - 1 - (ub + lb) * s;
        const g = span > 0 ? (y - ub * s) / span : 0;
        d = ub + clamp(g, 0, 1) * Math.max(0, L - ub - lb);
        cav = 1;
      }
      const c = sample(photo, tx + dx * d, ty + dy * d);
      const o = y * tw + x;
      rr[o] = c[0]; gg[o] = c[1]; bb[o] = c[2];
      raw.px[o] = pack(c[0], c[1], c[2]);
      cavity[o] = cav;
    }
  }
  // Smooth the cavity (soft transition into the teeth).
  const sigma = Math.max(1, 0.05 * width * s);
  const r2 = gaussianBlur(rr, tw, th, sigma), g2 = gaussianBlur(gg, tw, th, sigma), b2 = gaussianBlur(bb, tw, th, sigma);
  const m2 = gaussianBlur(cavity, tw, th, Math.max(0.7, 0.6 * s));
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const o = y * tw + x;
      const w = m2[o];
      // Deeper inside, darker: the middle of the cavity and the corners.
      const t = (x / (tw - 1)) * 2 - 1;
      const cy = (y / (th - 1) - 0.5) / 0.45;
      const depth = 1 - w * (0.45 * Math.exp(-cy * cy) + 0.3 * Math.abs(t) ** 2);
      tex.px[o] = pack(
        (rr[o] + (r2[o] - rr[o]) * w) * depth, (gg[o] + (g2[o] - gg[o]) * w) * depth, (bb[o] + (b2[o] - bb[o]) * w) * depth,
      );
    }
  }
  const texTop = new Float32Array(n * 2), texBottom = new Float32Array(n * 2), texDir = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    texTop[i * 2] = xs[i]; texTop[i * 2 + 1] = 0;
    texBottom[i * 2] = xs[i]; texBottom[i * 2 + 1] = th - 1;
    texDir[i * 2] = 0; texDir[i * 2 + 1] = 1;
  }
  return { texture: tex, rawTexture: raw, texScale: s, texTop, texBottom, texDir };
}

/** Tooth boundaries along the arch, as lateral positions 0..1 of the inner mouth half-width. */
const UPPER_TEETH = [0, 0.37, 0.64, 0.88, 1.08, 1.3];
const UPPER_LENGTH = [1, 0.9, 0.96, 0.86, 0.8];
const LOWER_TEETH = [0, 0.22, 0.47, 0.74, 0.97, 1.2];
/** Lower teeth sit in the upper teeth's shadow: darker and warmer. */
const LOWER_TINT = [1, 0.95, 0.84];

function synthInterior(
  rig: Rig, width: number, lip: [number, number, number], skin: [number, number, number], opts: MouthOptions,
  scans: ColumnScan[], lipTop: Float32Array, lipBottom: Float32Array, common: Common,
): MouthInterior {
  const n = LIP_COLUMNS;
  const s = Math.max(1, opts.scale);
  // Target-pixel sizes: visible upper and lower teeth, cavity.
  const hU = 0.13 * width, hL = 0.055 * width;
  const cav = 0.34 * width;
  const tw = Math.max(8, Math.round(width * s));
  const th = Math.max(8, Math.round((hU + hL + cav) * s));
  const upperBand = new Float32Array(n), lowerBand = new Float32Array(n);
  const texTop = new Float32Array(n * 2), texBottom = new Float32Array(n * 2), texDir = new Float32Array(n * 2);
  const bandU = (t: number) => hU * Math.pow(Math.max(0, 1 - t * t), 0.3) * (0.8 + 0.2 * (1 - Math.abs(t)));
  // Lower teeth: narrower arch, mostly hidden towards the corners.
  const bandL = (t: number) => hL * Math.pow(Math.max(0, 1 - (t / 0.62) ** 2), 0.6);
  for (let i = 0; i < n; i++) {
    const t = rig.lipT[i];
    const x = ((t + 1) / 2) * (tw - 1);
    upperBand[i] = bandU(t);
    lowerBand[i] = bandL(t);
    texTop[i * 2] = x; texTop[i * 2 + 1] = 0;
    texBottom[i * 2] = x; texBottom[i * 2 + 1] = th - 1;
    texDir[i * 2] = 0; texDir[i * 2 + 1] = 1;
  }

  // Colours. Teeth: near white at the skin's brightness, tinted a little by the skin; shadowed inside.
  const skinL = 0.2126 * skin[0] + 0.7152 * skin[1] + 0.0722 * skin[2];
  const teethL = clamp(skinL * 1.12 + 18, 80, 235);
  const tint = skin.map((c) => 0.9 + 0.1 * (c / Math.max(1, skinL)));
  const teeth = [teethL * tint[0], teethL * tint[1] * 0.98, teethL * tint[2] * 0.93];
  const gum = [lip[0] * 0.95, lip[1] * 0.7, lip[2] * 0.75];
  const cavEdge = [lip[0] * 0.3, lip[1] * 0.17, lip[2] * 0.17];
  const cavDeep = [Math.min(14, lip[0] * 0.06) + 2, Math.min(8, lip[1] * 0.04) + 1, Math.min(8, lip[2] * 0.04) + 1];
  const tongue = [lip[0] * 0.72, lip[1] * 0.45, lip[2] * 0.48];

  const tex = newSurface(tw, th);
  const rr = new Float32Array(tw * th), gg = new Float32Array(tw * th), bb = new Float32Array(tw * th);
  const toothShade = (at: number, bounds: number[], px: number): { q: number; k: number; edgeDist: number } => {
    let k = 0;
    while (k + 2 < bounds.length && at > bounds[k + 1]) k++;
    const a = bounds[k], b = bounds[k + 1];
    const q = clamp((at - a) / (b - a), 0, 1);
    return { q, k, edgeDist: Math.min(q, 1 - q) * (b - a) * px };
  };
  const halfPx = (tw - 1) / 2; // texture px per unit of t
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const t = (x / (tw - 1)) * 2 - 1;
      const at = Math.abs(t);
      const yt = y / s; // target px from the top
      const yb = (th - 1 - y) / s; // target px from the bottom
      const i = y * tw + x;
      // Cavity: dark; red-brown just under the teeth and lips, near black at the back and the sides.
      const cy = (y / (th - 1) - 0.45) / 0.4;
      const deep = clamp(Math.exp(-((t / 0.8) ** 2) - cy * cy) * 1.3 + 0.6 * at ** 2, 0, 1);
      let c = [0, 1, 2].map((ch) => cavEdge[ch] + (cavDeep[ch] - cavEdge[ch]) * deep);
      const sideDark = 1 - 0.5 * at ** 2.5;
      c = c.map((v) => v * sideDark);
      // The corners (commissures) are shadowed lip, not a black hole.
      const cornerMix = smoothstep(0.78, 1, at);
      if (cornerMix > 0) c = c.map((v, ch) => v + (lip[ch] * 0.42 - v) * cornerMix);
      // Tongue: a low mound behind the lower teeth, in shadow, seen when the mouth is wide open.
      const tyc = th - (bandL(0) + 0.08 * width) * s;
      const ty = (y - tyc) / (0.13 * width * s);
      const tx = t / 0.55;
      const tq = tx * tx + ty * ty;
      if (tq < 1 && ty > -1) {
        const edge = smoothstep(1, 0.45, tq);
        const light = 0.35 + 0.4 * smoothstep(-1, 0.7, ty);
        c = c.map((v, ch) => v + (tongue[ch] * light * sideDark - v) * edge * 0.85);
      }
      // Lower teeth: top edges at the band's top, in the upper teeth's shadow.
      const lb = bandL(t);
      if (yb < lb) {
        const { q, k, edgeDist } = toothShade(at, LOWER_TEETH, halfPx / s);
        const len = lb * (1 - 0.25 * (1 - Math.sin(Math.PI * q)) ** 2);
        if (yb < len) {
          const gapShade = 0.7 + 0.3 * smoothstep(0, 0.8, edgeDist);
          const round = 0.88 + 0.12 * Math.sin(Math.PI * q);
          const depth = 0.72 * (1 - 0.45 * at ** 2) * (1 - 0.06 * k);
          const lipShadow = 0.75 + 0.25 * smoothstep(0, 0.6 * lb, len - yb);
          const v = gapShade * round * depth * lipShadow;
          const mix = smoothstep(0, 0.8, len - yb); // soft top edge
          c = c.map((v0, ch) => v0 + (teeth[ch] * LOWER_TINT[ch] * v - v0) * mix);
        }
      }
      // Upper teeth: gum line at the very top, teeth below, edges rounded per tooth.
      const ub = bandU(t);
      const { q, k, edgeDist } = toothShade(at, UPPER_TEETH, halfPx / s);
      const len = ub * UPPER_LENGTH[Math.min(k, UPPER_LENGTH.length - 1)] * (1 - 0.16 * (1 - Math.sin(Math.PI * q)) ** 3);
      if (yt < len) {
        const gapShade = 0.66 + 0.34 * smoothstep(0, 0.9, edgeDist);
        const round = 0.9 + 0.1 * Math.sin(Math.PI * q);
        const corner = 1 - 0.55 * at ** 2.2;
        const lipShadow = 0.72 + 0.28 * smoothstep(0, 0.3 * ub, yt);
        const edgeFade = 0.86 + 0.14 * smoothstep(0, 0.18 * ub, len - yt); // translucent biting edge
        const v = gapShade * round * corner * lipShadow * edgeFade * (1 - 0.03 * k);
        const mix = smoothstep(0, 0.8, len - yt); // soft biting edge
        c = c.map((v0, ch) => v0 + (teeth[ch] * v - v0) * mix);
        const gumT = 1 - smoothstep(0.02 * width, 0.05 * width, yt);
        if (gumT > 0) c = c.map((v0, ch) => v0 + (gum[ch] * corner * 0.75 - v0) * gumT);
      }
      rr[i] = c[0]; gg[i] = c[1]; bb[i] = c[2];
    }
  }
  // Match the photo: blur to its sharpness (the texture is s x finer), then its noise (seeded).
  const sigma = Math.sqrt(Math.max(0, common.blur * common.blur - 0.25)) * s;
  const r2 = gaussianBlur(rr, tw, th, sigma), g2 = gaussianBlur(gg, tw, th, sigma), b2 = gaussianBlur(bb, tw, th, sigma);
  const rng = xoroshiro128plus((opts.seed ^ 0x6d6f7574) | 0);
  const gauss = () => {
    const u1 = uniformFloat64(rng);
    const u2 = uniformFloat64(rng);
    return Math.sqrt(-2 * Math.log(Math.max(1e-12, u1))) * Math.cos(2 * Math.PI * u2);
  };
  // Noise is averaged over s x s samples when the patch is downsampled: scale it up by s.
  const amp = common.noise * s;
  for (let i = 0; i < tw * th; i++) {
    const nz = amp > 0 ? gauss() * amp : 0;
    tex.px[i] = pack(r2[i] + nz, g2[i] + nz, b2[i] + nz);
  }
  return {
    kind: "synth", texture: tex, rawTexture: null, srcInterior: new Float32Array(n), texScale: s, ...sourceColumns(scans), lipTop, lipBottom,
    upperBand, lowerBand, texTop, texBottom, texDir, cavityMin: 0.1 * width, edgeShade: 1, ...common,
  };
}

/**
 * Builds this frame's interior mesh from the target positions of the warp mesh's vertices. Per column:
 * upper lip point, end of the upper lip band, end of the visible upper teeth, start of the visible lower
 * teeth, start of the lower lip band, lower lip point.
 */
export function updateInterior(m: MouthInterior, rig: Rig, target: Float32Array, out: InteriorMesh): void {
  const n = LIP_COLUMNS;
  const [d2x, d2y] = rig.down2;
  const ts = m.texScale;
  const dst = out.dst, bs = out.bands.src, is = out.inner.src;
  for (let i = 0; i < n; i++) {
    const u = LIPS_INNER_UPPER[i], l = LIPS_INNER_LOWER[i];
    const ux = target[u * 2], uy = target[u * 2 + 1], lx = target[l * 2], ly = target[l * 2 + 1];
    let ex = lx - ux, ey = ly - uy;
    const len = Math.hypot(ex, ey);
    // Lips that crossed over have no gap.
    const g = ex * d2x + ey * d2y > 0 ? len : 0;
    if (len > 1e-6) { ex /= len; ey /= len; } else { ex = d2x; ey = d2y; }
    const aS = m.lipTop[i], bS = m.lipBottom[i];
    const k = aS + bS > g ? g / (aS + bS) : 1; // lips closing further than in the photo: squeeze the bands
    const a = aS * k, b = bS * k;
    const h = Math.max(0, g - a - b);
    if (i === 5) out.stretch = m.srcInterior[i] > 0.5 ? h / m.srcInterior[i] : Infinity;
    const a2 = Math.min(h, m.upperBand[i]);
    const b2 = Math.min(m.lowerBand[i], Math.max(0, h - a2 - m.cavityMin));
    const o = i * PER_COLUMN * 2;
    dst[o] = ux; dst[o + 1] = uy;
    dst[o + 2] = ux + ex * a; dst[o + 3] = uy + ey * a;
    dst[o + 4] = ux + ex * (a + a2); dst[o + 5] = uy + ey * (a + a2);
    dst[o + 6] = lx - ex * (b + b2); dst[o + 7] = ly - ey * (b + b2);
    dst[o + 8] = lx - ex * b; dst[o + 9] = ly - ey * b;
    dst[o + 10] = lx; dst[o + 11] = ly;
    // Lip bands, from the photo.
    const sx0 = m.srcTop[i * 2], sy0 = m.srcTop[i * 2 + 1], sx1 = m.srcBottom[i * 2], sy1 = m.srcBottom[i * 2 + 1];
    const sdx = m.srcDir[i * 2], sdy = m.srcDir[i * 2 + 1];
    bs[o] = sx0; bs[o + 1] = sy0;
    bs[o + 2] = sx0 + sdx * aS; bs[o + 3] = sy0 + sdy * aS;
    bs[o + 8] = sx1 - sdx * bS; bs[o + 9] = sy1 - sdy * bS;
    bs[o + 10] = sx1; bs[o + 11] = sy1;
    // The interior: upper teeth from the top, lower teeth rising from behind the lower lip (top edge first).
    const tx0 = m.texTop[i * 2], ty0 = m.texTop[i * 2 + 1], tx1 = m.texBottom[i * 2], ty1 = m.texBottom[i * 2 + 1];
    const tdx = m.texDir[i * 2], tdy = m.texDir[i * 2 + 1];
    const lb = m.lowerBand[i] * ts;
    is[o + 2] = tx0; is[o + 3] = ty0;
    is[o + 4] = tx0 + tdx * a2 * ts; is[o + 5] = ty0 + tdy * a2 * ts;
    is[o + 6] = tx1 - tdx * lb; is[o + 7] = ty1 - tdy * lb;
    is[o + 8] = tx1 - tdx * (lb - b2 * ts); is[o + 9] = ty1 - tdy * (lb - b2 * ts);
  }
}

/** Blend levels between the raw and the smoothed photo interior. */
const BLEND_LEVELS = 8;

/**
 * The texture to draw the interior with this frame: the synthesized one, or for a photo interior the raw
 * photo pixels while the cavity is stretched by less than 10 %, the smoothed cavity from 60 % on, blended
 * in between (blends are cached per level, so this allocates at most BLEND_LEVELS surfaces per job).
 */
export function interiorTexture(m: MouthInterior, stretch: number, cache: Map<number, Surface>): Surface {
  const raw = m.rawTexture;
  if (!raw) return m.texture;
  const t = smoothstep(1.1, 1.6, stretch);
  const level = Math.round(t * BLEND_LEVELS);
  if (level <= 0) return raw;
  if (level >= BLEND_LEVELS) return m.texture;
  let s = cache.get(level);
  if (!s) {
    s = newSurface(raw.width, raw.height);
    const k = Math.round((level / BLEND_LEVELS) * 256);
    const a = raw.px, b = m.texture.px, o = s.px;
    for (let i = 0; i < o.length; i++) {
      const p = a[i], q = b[i];
      const rb = ((((p & 0xff00ff) * (256 - k) + (q & 0xff00ff) * k) >>> 8) & 0xff00ff);
      const g = ((((p >>> 8) & 0xff) * (256 - k) + ((q >>> 8) & 0xff) * k) >>> 8) & 0xff;
      o[i] = rb | (g << 8);
    }
    cache.set(level, s);
  }
  return s;
}
