/**
 * The mouth interior, drawn in the hole of the inner-lip polygon.
 *
 * The interior is a small mesh of 11 columns (one per inner-lip column, corner to corner) with 4 points
 * each: upper lip, end of the upper teeth, start of the lower teeth, lower lip. The upper teeth move with
 * the upper lip and the lower teeth with the lower lip (they are translated, never stretched); only the
 * dark cavity between them stretches. When the mouth is closed the teeth slide behind each other (the
 * upper teeth in front).
 *
 * - The photo's mouth is open: the interior is the photo's own pixels (its teeth bands are measured per
 *   column from the brightness along the column).
 * - The photo's mouth is closed: an interior is synthesized once per job, at the mouth's pixel scale: upper
 *   teeth with a thin gum line, per-tooth shading, darker gaps and corners, lower teeth, a dark throat
 *   gradient from deep red-brown to near black, a tongue; colours from the photo's lips and skin, blurred
 *   and noised to the photo's own sharpness and noise around the mouth.
 *
 * @example
 *   const mouth = prepareMouth(photo, rig, { scale: 2, seed });
 *   const interior = newInteriorMesh();
 *   updateInterior(mouth, rig, targetPositions, interior);   // per frame, then draw interior like triangles
 */
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { LIPS_INNER_LOWER, LIPS_INNER_UPPER } from "../face/landmarks.js";
import type { Rect, Surface } from "./pixels.js";
import { newSurface } from "./pixels.js";
import { LIP_COLUMNS, LOWER_LIP_ROWS, UPPER_LIP_ROWS, type Rig } from "./rig.js";

export interface MouthInterior {
  kind: "photo" | "synth";
  /** What the interior samples: the photo itself, or the synthesized interior. */
  texture: Surface;
  /** Texture pixels per target pixel along a column. */
  texScale: number;
  /** Per column: visible upper-teeth and lower-teeth band heights (target px). */
  upperBand: Float32Array;
  lowerBand: Float32Array;
  /** Per column: texture position of the top (upper lip) and bottom (lower lip) end, and unit direction. */
  texTop: Float32Array;
  texBottom: Float32Array;
  texDir: Float32Array;
  /** How strongly to shade the lips' inner edges and the interior under the lips (0..1). */
  edgeShade: number;
  /** Colours sampled from the photo (packed RGBX), for reports and tests. */
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
  /** Inner-lip gap (px) above which the photo's mouth counts as open; default max(2, 6% of the mouth width). */
  openThreshold?: number;
}

/** The interior mesh, rebuilt per frame: 11 columns x 4 points, 60 triangles. */
export interface InteriorMesh {
  dst: Float32Array;
  src: Float32Array;
  tris: Uint16Array;
}

export function newInteriorMesh(): InteriorMesh {
  const tris: number[] = [];
  for (let i = 0; i + 1 < LIP_COLUMNS; i++) {
    for (let k = 0; k < 3; k++) {
      const a = i * 4 + k, b = a + 1, c = (i + 1) * 4 + k, d = c + 1;
      tris.push(a, c, b, b, c, d);
    }
  }
  return { dst: new Float32Array(LIP_COLUMNS * 4 * 2), src: new Float32Array(LIP_COLUMNS * 4 * 2), tris: Uint16Array.from(tris) };
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
export function prepareMouth(photo: Surface, rig: Rig, opts: MouthOptions): MouthInterior {
  const { src } = rig.mesh;
  const mw2 = Math.hypot(src[308 * 2] - src[78 * 2], src[308 * 2 + 1] - src[78 * 2 + 1]);
  const width = Math.max(4, mw2);
  const threshold = opts.openThreshold ?? Math.max(2, 0.06 * width);

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
  const lipColour = pack(...lip);
  const skinColour = pack(...skin);

  const common = { lipColour, skinColour, blur, noise };
  if (rig.photoGapCentre > threshold) return photoInterior(photo, rig, common);
  return synthInterior(rig, width, lip, skin, opts, common);
}

function photoInterior(photo: Surface, rig: Rig, common: Pick<MouthInterior, "lipColour" | "skinColour" | "blur" | "noise">): MouthInterior {
  const { src } = rig.mesh;
  const n = LIP_COLUMNS;
  const texTop = new Float32Array(n * 2), texBottom = new Float32Array(n * 2), texDir = new Float32Array(n * 2);
  const upperBand = new Float32Array(n), lowerBand = new Float32Array(n);
  // Brightness threshold between the dark cavity and the teeth, from the hole's own pixels.
  const cols: number[][] = [];
  const all: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = LIPS_INNER_UPPER[i], l = LIPS_INNER_LOWER[i];
    const ux = src[u * 2], uy = src[u * 2 + 1], lx = src[l * 2], ly = src[l * 2 + 1];
    texTop[i * 2] = ux; texTop[i * 2 + 1] = uy;
    texBottom[i * 2] = lx; texBottom[i * 2 + 1] = ly;
    const len = Math.hypot(lx - ux, ly - uy);
    const dxn = len > 1e-6 ? (lx - ux) / len : rig.down2[0], dyn = len > 1e-6 ? (ly - uy) / len : rig.down2[1];
    texDir[i * 2] = dxn; texDir[i * 2 + 1] = dyn;
    const col: number[] = [];
    for (let t = 0; t <= len; t += 1) {
      const c = sample(photo, ux + dxn * t, uy + dyn * t);
      const y = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
      const sat = Math.max(...c) - Math.min(...c);
      const v = y - 0.5 * sat; // teeth: bright and grey; lips and cavity: darker or red
      col.push(v);
      all.push(v);
    }
    cols.push(col);
  }
  const lo = quantileOf(all, 0.1), hi = quantileOf(all, 0.9);
  const thr = lo + 0.5 * (hi - lo);
  const contrast = hi - lo;
  for (let i = 0; i < n; i++) {
    const col = cols[i];
    if (contrast < 25 || col.length < 3) continue; // no distinct teeth: the whole gap stretches as cavity
    // A bright run that starts near an end (within a quarter of the column or 3 px: the lip edge itself is
    // darker) is a band of teeth; the band is counted from the lip, so it moves with it.
    const reach = Math.max(3, Math.round(col.length / 4));
    let a = 0;
    let t = 0;
    while (t < reach && t < col.length && !(col[t] > thr)) t++;
    if (t < reach && t < col.length) {
      while (t < col.length && col[t] > thr) t++;
      a = t;
    }
    let b = 0;
    let k = col.length - 1;
    while (col.length - 1 - k < reach && k >= 0 && !(col[k] > thr)) k--;
    if (col.length - 1 - k < reach && k >= 0 && k >= a) {
      while (k >= a && col[k] > thr) k--;
      b = col.length - 1 - k;
    }
    if (a + b > col.length - 1) { const s = (col.length - 1) / (a + b); a *= s; b *= s; }
    upperBand[i] = a;
    lowerBand[i] = b;
  }
  // Smooth across columns (median of 3).
  const med3 = (arr: Float32Array) => {
    const c = arr.slice();
    for (let i = 1; i < n - 1; i++) arr[i] = [c[i - 1], c[i], c[i + 1]].sort((p, q) => p - q)[1];
  };
  med3(upperBand);
  med3(lowerBand);
  return {
    kind: "photo", texture: photo, texScale: 1, upperBand, lowerBand, texTop, texBottom, texDir,
    edgeShade: 0.35, ...common,
  };
}

/** Tooth boundaries along the arch, as lateral positions 0..1 of the inner mouth half-width. */
const UPPER_TEETH = [0, 0.37, 0.64, 0.88, 1.08, 1.3];
const UPPER_LENGTH = [1, 0.9, 0.96, 0.86, 0.8];
const LOWER_TEETH = [0, 0.22, 0.47, 0.74, 0.97, 1.2];

function synthInterior(
  rig: Rig, width: number, lip: [number, number, number], skin: [number, number, number], opts: MouthOptions,
  common: Pick<MouthInterior, "lipColour" | "skinColour" | "blur" | "noise">,
): MouthInterior {
  const n = LIP_COLUMNS;
  const s = Math.max(1, opts.scale);
  // Target-pixel sizes: visible upper and lower teeth, cavity.
  const hU = 0.13 * width, hL = 0.085 * width;
  const cav = 0.34 * width;
  const tw = Math.max(8, Math.round(width * s));
  const th = Math.max(8, Math.round((hU + hL + cav) * s));
  const upperBand = new Float32Array(n), lowerBand = new Float32Array(n);
  const texTop = new Float32Array(n * 2), texBottom = new Float32Array(n * 2), texDir = new Float32Array(n * 2);
  const bandU = (t: number) => hU * Math.pow(Math.max(0, 1 - t * t), 0.3) * (0.75 + 0.25 * (1 - Math.abs(t)));
  const bandL = (t: number) => hL * Math.pow(Math.max(0, 1 - t * t), 0.5);
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
  const lipL = Math.max(1, 0.2126 * lip[0] + 0.7152 * lip[1] + 0.0722 * lip[2]);
  const teethL = clamp(skinL * 1.0 + 12, 70, 228);
  const tint = skin.map((c) => 0.88 + 0.12 * (c / Math.max(1, skinL)));
  const teeth = [teethL * tint[0], teethL * tint[1] * 0.985, teethL * tint[2] * 0.94];
  const gum = [lip[0] * 1.05, lip[1] * 0.8, lip[2] * 0.85];
  const cavEdge = [lip[0] * 0.42, lip[1] * 0.26, lip[2] * 0.26];
  const cavDeep = [Math.min(22, lip[0] * 0.1) + 2, Math.min(12, lip[1] * 0.06) + 1, Math.min(12, lip[2] * 0.06) + 1];
  const tongue = [lip[0] * 0.82 + 12, lip[1] * 0.55, lip[2] * 0.58];
  void lipL;

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
      // Cavity: dark, darkest at the back-centre (throat), red-brown near the lips and teeth.
      const cy = (y / (th - 1) - 0.5) / 0.42;
      const deep = Math.exp(-((t / 0.75) ** 2) - cy * cy) * (1 - 0.4 * at);
      let c = [0, 1, 2].map((ch) => cavEdge[ch] + (cavDeep[ch] - cavEdge[ch]) * clamp(deep * 1.25, 0, 1));
      const sideDark = 1 - 0.45 * at ** 3;
      c = c.map((v) => v * sideDark);
      // Tongue: a low mound above the lower teeth, seen when the mouth is wide open.
      const tyc = th - (bandL(0) + 0.1 * width) * s;
      const ty = (y - tyc) / (0.16 * width * s);
      const tx = t / 0.62;
      const tq = tx * tx + ty * ty;
      if (tq < 1 && y > tyc - 0.16 * width * s) {
        const edge = smoothstep(1, 0.55, tq);
        const light = 0.55 + 0.45 * smoothstep(-1, 0.6, ty);
        c = c.map((v, ch) => v + (tongue[ch] * light * sideDark - v) * edge * 0.9);
      }
      // Lower teeth: top edges at the band's top, in the upper teeth's shadow.
      const lb = bandL(t);
      if (yb < lb) {
        const { q, k, edgeDist } = toothShade(at, LOWER_TEETH, halfPx / s);
        const len = lb * (1 - 0.22 * (1 - Math.sin(Math.PI * q)) ** 2);
        if (yb < len) {
          const gapShade = 0.6 + 0.4 * smoothstep(0, 0.9, edgeDist);
          const round = 0.85 + 0.15 * Math.sin(Math.PI * q);
          const depth = 0.62 * (1 - 0.5 * at ** 2) * (1 - 0.08 * k);
          const edgeFade = 0.85 + 0.15 * smoothstep(0, 0.35 * lb, len - yb);
          const v = gapShade * round * depth * edgeFade;
          c = teeth.map((ch) => ch * v);
        }
      }
      // Upper teeth: gum line at the very top, teeth below, edges rounded per tooth.
      const ub = bandU(t);
      const { q, k, edgeDist } = toothShade(at, UPPER_TEETH, halfPx / s);
      const len = ub * UPPER_LENGTH[Math.min(k, UPPER_LENGTH.length - 1)] * (1 - 0.18 * (1 - Math.sin(Math.PI * q)) ** 3);
      if (yt < len) {
        const gapShade = 0.55 + 0.45 * smoothstep(0, 1.0, edgeDist);
        const round = 0.86 + 0.14 * Math.sin(Math.PI * q);
        const corner = 1 - 0.6 * at ** 1.8;
        const lipShadow = 0.62 + 0.38 * smoothstep(0, 0.45 * ub, yt);
        const edgeFade = 0.82 + 0.18 * smoothstep(0, 0.2 * ub, len - yt); // translucent biting edge
        const v = gapShade * round * corner * lipShadow * edgeFade * (1 - 0.04 * k);
        c = teeth.map((ch) => ch * v);
        const gumT = 1 - smoothstep(0.03 * width, 0.07 * width, yt);
        if (gumT > 0) c = c.map((v0, ch) => v0 + (gum[ch] * corner * 0.7 - v0) * gumT);
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
    kind: "synth", texture: tex, texScale: s, upperBand, lowerBand, texTop, texBottom, texDir,
    edgeShade: 1, ...common,
  };
}

/**
 * Builds this frame's interior mesh from the target positions of the warp mesh's vertices.
 * Column i: upper lip point, end of the visible upper teeth, start of the visible lower teeth, lower lip point.
 */
export function updateInterior(m: MouthInterior, rig: Rig, target: Float32Array, out: InteriorMesh): void {
  const n = LIP_COLUMNS;
  const [d2x, d2y] = rig.down2;
  const ts = m.texScale;
  for (let i = 0; i < n; i++) {
    const u = LIPS_INNER_UPPER[i], l = LIPS_INNER_LOWER[i];
    const ux = target[u * 2], uy = target[u * 2 + 1], lx = target[l * 2], ly = target[l * 2 + 1];
    let ex = lx - ux, ey = ly - uy;
    // The gap counts along the face's down direction (lips crossing over give 0).
    const g = Math.max(0, ex * d2x + ey * d2y);
    const len = Math.hypot(ex, ey);
    if (len > 1e-6) { ex /= len; ey /= len; } else { ex = d2x; ey = d2y; }
    const a = Math.min(g, m.upperBand[i]);
    const b = Math.min(m.lowerBand[i], Math.max(0, g - a));
    const o = i * 8;
    const dst = out.dst, src = out.src;
    dst[o] = ux; dst[o + 1] = uy;
    dst[o + 2] = ux + ex * a; dst[o + 3] = uy + ey * a;
    dst[o + 4] = lx - ex * b; dst[o + 5] = ly - ey * b;
    dst[o + 6] = lx; dst[o + 7] = ly;
    const tx0 = m.texTop[i * 2], ty0 = m.texTop[i * 2 + 1];
    const tx1 = m.texBottom[i * 2], ty1 = m.texBottom[i * 2 + 1];
    const tdx = m.texDir[i * 2], tdy = m.texDir[i * 2 + 1];
    const lb = m.lowerBand[i] * ts;
    src[o] = tx0; src[o + 1] = ty0;
    src[o + 2] = tx0 + tdx * a * ts; src[o + 3] = ty0 + tdy * a * ts;
    // The lower teeth rise from behind the lower lip: their top edge shows first.
    src[o + 4] = tx1 - tdx * lb; src[o + 5] = ty1 - tdy * lb;
    src[o + 6] = tx1 - tdx * (lb - b * ts); src[o + 7] = ty1 - tdy * (lb - b * ts);
  }
}
