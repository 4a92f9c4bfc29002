/**
 * The triangle rasterizer of the mesh warp. For every target triangle it maps each covered pixel back to the
 * source triangle (an affine map) and samples the texture bilinearly.
 *
 * - Coverage is exact: edge functions in integer fixed point (1/256 pixel) with a consistent tie rule, so
 *   triangles that share an edge never leave a crack and never draw a pixel twice.
 * - The map is computed as target position + interpolated displacement (source - target): a triangle that
 *   did not move samples its own pixels exactly (fraction 0), so unchanged parts stay byte-identical.
 * - Inner loops run on packed RGB words in 16.16 fixed point with 7-bit bilinear weights; red and blue are
 *   blended in one integer multiply (two 16-bit lanes).
 * - Short loops are written out (the mask fill, the copy of an unmoved span): TypedArray.fill/set/subarray are
 *   calls with a fixed cost that spans of a few pixels do not repay.
 * - `scale` renders a supersampled patch (s x s samples per target pixel) for anti-aliased edges;
 *   `downsampleInto` averages it back.
 *
 * @example
 *   drawTriangles({ dst, src, tris, order }, photo, frame, region, { front: 1 });
 */
import type { Rect, Surface } from "./pixels.js";

export interface TriangleSet {
  /** Target positions, [x0, y0, x1, y1, ...] in target pixels (pixel centres at integers). */
  dst: Float32Array;
  /** Texture positions per vertex, same layout, in texture pixels. */
  src: Float32Array;
  /** Vertex indices, three per triangle. */
  tris: Uint16Array | Uint32Array;
  /** Triangles to draw, in this order (indices of triangles, not of vertices); default all in order. */
  order?: Uint32Array;
  /** How many entries of `order` (or triangles) to draw; default all. */
  count?: number;
}

export interface DrawOptions {
  /**
   * Orientation filter: +1 draws only triangles whose target signed area (x right, y down) is positive,
   * -1 only negative ones, 0 both. Use it to drop triangles that fold over in the target.
   */
  front?: 1 | -1 | 0;
  /** Supersampling factor of `out` relative to target pixels (integer >= 1); default 1. */
  scale?: number;
  /** Target pixel that `out`'s pixel (0, 0) covers (with scale > 1: its top-left sample block). */
  originX?: number;
  originY?: number;
  /** Optional coverage mask the size of `out`: each drawn pixel gets `maskValue`. */
  mask?: Uint8Array;
  maskValue?: number;
}

const SUB = 256; // edge-function fixed point: 1/256 pixel

/**
 * Draws triangles of `set` from `tex` into `out`, only inside `clip` (in `out` pixels). Pixels outside the
 * triangles are not touched. Returns the number of pixels written.
 */
export function drawTriangles(set: TriangleSet, tex: Surface, out: Surface, clip: Rect, opts: DrawOptions = {}): number {
  const front = opts.front ?? 0;
  const s = opts.scale ?? 1;
  const ox = opts.originX ?? 0;
  const oy = opts.originY ?? 0;
  const mask = opts.mask;
  const maskValue = opts.maskValue ?? 255;
  const { dst, src, tris } = set;
  const order = set.order;
  const total = set.count ?? (order ? order.length : tris.length / 3);
  const cx0 = Math.max(0, clip.x0);
  const cy0 = Math.max(0, clip.y0);
  const cx1 = Math.min(out.width, clip.x1);
  const cy1 = Math.min(out.height, clip.y1);
  if (cx1 <= cx0 || cy1 <= cy0) return 0;
  let drawn = 0;

  const tw = tex.width;
  const th = tex.height;
  const tpx = tex.px;
  const opx = out.px;
  const ow = out.width;
  // Texture coordinates are clamped so that the 2x2 footprint stays inside the texture.
  const uMax = Math.max(0, (tw - 1) * 65536 - 1);
  const vMax = Math.max(0, (th - 1) * 65536 - 1);
  const twOk = tw > 1 ? 1 : 0;
  const thOk = th > 1 ? tw : 0;
  // out pixel (X, Y) is at target position ((X + 0.5) / s - 0.5 + ox, ...).
  const inv = 1 / s;

  for (let k = 0; k < total; k++) {
    const t = order ? order[k] : k;
    let ia = tris[t * 3];
    let ib = tris[t * 3 + 1];
    let ic = tris[t * 3 + 2];
    // Vertices in out-pixel coordinates.
    let ax = (dst[ia * 2] - ox + 0.5) * s - 0.5;
    let ay = (dst[ia * 2 + 1] - oy + 0.5) * s - 0.5;
    let bx = (dst[ib * 2] - ox + 0.5) * s - 0.5;
    let by = (dst[ib * 2 + 1] - oy + 0.5) * s - 0.5;
    let cx = (dst[ic * 2] - ox + 0.5) * s - 0.5;
    let cy = (dst[ic * 2 + 1] - oy + 0.5) * s - 0.5;
    // Quick reject against the clip rectangle (also drops NaN positions).
    const minX = ax < bx ? (ax < cx ? ax : cx) : bx < cx ? bx : cx;
    const maxX = ax > bx ? (ax > cx ? ax : cx) : bx > cx ? bx : cx;
    const minY = ay < by ? (ay < cy ? ay : cy) : by < cy ? by : cy;
    const maxY = ay > by ? (ay > cy ? ay : cy) : by > cy ? by : cy;
    if (!(maxX >= cx0 - 1 && minX <= cx1 && maxY >= cy0 - 1 && minY <= cy1)) continue;
    // Fixed-point vertices; orientation and coverage are decided on these exact integers.
    let Ax = Math.round(ax * SUB), Ay = Math.round(ay * SUB);
    let Bx = Math.round(bx * SUB), By = Math.round(by * SUB);
    let Cx = Math.round(cx * SUB), Cy = Math.round(cy * SUB);
    const fixedArea = (Bx - Ax) * (Cy - Ay) - (By - Ay) * (Cx - Ax);
    if (fixedArea === 0 || (front > 0 && fixedArea < 0) || (front < 0 && fixedArea > 0)) continue;
    if (fixedArea < 0) {
      // Normalise to positive orientation (swap b and c).
      let tmp = ib; ib = ic; ic = tmp;
      tmp = bx; bx = cx; cx = tmp;
      tmp = by; by = cy; cy = tmp;
      tmp = Bx; Bx = Cx; Cx = tmp;
      tmp = By; By = Cy; Cy = tmp;
    }
    // Bounding box in out pixels, clipped.
    let x0 = Math.ceil(minX - 0.01);
    let x1 = Math.floor(maxX + 0.01);
    let y0 = Math.ceil(minY - 0.01);
    let y1 = Math.floor(maxY + 0.01);
    if (x0 < cx0) x0 = cx0;
    if (y0 < cy0) y0 = cy0;
    if (x1 > cx1 - 1) x1 = cx1 - 1;
    if (y1 > cy1 - 1) y1 = cy1 - 1;
    if (x1 < x0 || y1 < y0) continue;

    // Edge P->Q: E(X, Y) = (Qx - Px) * (Y - Py) - (Qy - Py) * (X - Px). With positive orientation every
    // inside point has E >= 0 for all three edges; ties (E == 0) go to the owning edge only (bias 0, else 1).
    const e0dx = Bx - Ax, e0dy = By - Ay; // edge A->B, opposite C
    const e1dx = Cx - Bx, e1dy = Cy - By; // edge B->C, opposite A
    const e2dx = Ax - Cx, e2dy = Ay - Cy; // edge C->A, opposite B
    // Tie rule: an edge owns its boundary pixels when its direction lies in a half-open half circle.
    const bias0 = e0dy > 0 || (e0dy === 0 && e0dx < 0) ? 0 : 1;
    const bias1 = e1dy > 0 || (e1dy === 0 && e1dx < 0) ? 0 : 1;
    const bias2 = e2dy > 0 || (e2dy === 0 && e2dx < 0) ? 0 : 1;

    // Displacement (texture - target position) as an affine function of out pixel coordinates.
    const tax = dst[ia * 2], tay = dst[ia * 2 + 1];
    const du0 = src[ia * 2] - tax, dv0 = src[ia * 2 + 1] - tay;
    const du1 = src[ib * 2] - dst[ib * 2], dv1 = src[ib * 2 + 1] - dst[ib * 2 + 1];
    const du2 = src[ic * 2] - dst[ic * 2], dv2 = src[ic * 2 + 1] - dst[ic * 2 + 1];
    // Solve d(X, Y) = d0 + gx * (X - ax) + gy * (Y - ay) from the three vertices.
    const ex1 = bx - ax, ey1 = by - ay, ex2 = cx - ax, ey2 = cy - ay;
    const det = ex1 * ey2 - ex2 * ey1;
    if (det === 0) continue;
    const idet = 1 / det;
    const ugx = ((du1 - du0) * ey2 - (du2 - du0) * ey1) * idet;
    const ugy = ((du2 - du0) * ex1 - (du1 - du0) * ex2) * idet;
    const vgx = ((dv1 - dv0) * ey2 - (dv2 - dv0) * ey1) * idet;
    const vgy = ((dv2 - dv0) * ex1 - (dv1 - dv0) * ex2) * idet;
    // Texture position per out pixel: u = (X + 0.5)/s - 0.5 + ox + d_u(X, Y).
    const uStepF = inv + ugx;
    const vStepF = vgx;
    const uStep = Math.round(uStepF * 65536);
    const vStep = Math.round(vStepF * 65536);
    const identityStep = s === 1 && ugx === 0 && vgx === 0;
    // Texture footprint of the triangle: clamping is only needed when it touches the texture's last row/column.
    const sxMin = Math.min(src[ia * 2], src[ib * 2], src[ic * 2]), sxMax = Math.max(src[ia * 2], src[ib * 2], src[ic * 2]);
    const syMin = Math.min(src[ia * 2 + 1], src[ib * 2 + 1], src[ic * 2 + 1]), syMax = Math.max(src[ia * 2 + 1], src[ib * 2 + 1], src[ic * 2 + 1]);
    const safe = sxMin >= 1 && syMin >= 1 && sxMax <= tw - 3 && syMax <= th - 3;

    for (let y = y0; y <= y1; y++) {
      const Y = y * SUB;
      // Along the row each edge function is E(x) = c + m * x (X = x * SUB); keep x where E >= bias.
      let xl = x0;
      let xr = x1;
      {
        const c = e0dx * (Y - Ay) + e0dy * Ax;
        const m = -e0dy * SUB;
        if (m > 0) { const v = Math.ceil((bias0 - c) / m); if (v > xl) xl = v; }
        else if (m < 0) { const v = Math.floor((bias0 - c) / m); if (v < xr) xr = v; }
        else if (c < bias0) continue;
      }
      {
        const c = e1dx * (Y - By) + e1dy * Bx;
        const m = -e1dy * SUB;
        if (m > 0) { const v = Math.ceil((bias1 - c) / m); if (v > xl) xl = v; }
        else if (m < 0) { const v = Math.floor((bias1 - c) / m); if (v < xr) xr = v; }
        else if (c < bias1) continue;
      }
      {
        const c = e2dx * (Y - Cy) + e2dy * Cx;
        const m = -e2dy * SUB;
        if (m > 0) { const v = Math.ceil((bias2 - c) / m); if (v > xl) xl = v; }
        else if (m < 0) { const v = Math.floor((bias2 - c) / m); if (v < xr) xr = v; }
        else if (c < bias2) continue;
      }
      if (xr < xl) continue;
      drawn += xr - xl + 1;

      // Texture coordinates at the span start, 16.16.
      const dxa = xl - ax, dya = y - ay;
      const uF = (xl + 0.5) * inv - 0.5 + ox + du0 + ugx * dxa + ugy * dya;
      const vF = (y + 0.5) * inv - 0.5 + oy + dv0 + vgx * dxa + vgy * dya;
      let U = Math.round(uF * 65536);
      let V = Math.round(vF * 65536);
      let o = y * ow + xl;
      if (identityStep && vgy === 0 && ugy === 0 && du0 === 0 && dv0 === 0) {
        // Exact copy: the triangle did not move.
        const i0 = (V >> 16) * tw + (U >> 16);
        const len = xr - xl + 1;
        for (let j = 0; j < len; j++) opx[o + j] = tpx[i0 + j];
        if (mask) for (let j = o, e = o + len; j < e; j++) mask[j] = maskValue;
        continue;
      }
      if (safe) {
        for (let x = xl; x <= xr; x++, o++, U += uStep, V += vStep) {
          const fx = (U >> 9) & 0x7f;
          const fy = (V >> 9) & 0x7f;
          const i = (V >> 16) * tw + (U >> 16);
          const w11 = (fx * fy + 64) >> 7;
          const w01 = fx - w11;
          const w10 = fy - w11;
          const w00 = 128 - fx - fy + w11;
          const p00 = tpx[i];
          const p01 = tpx[i + 1];
          const p10 = tpx[i + tw];
          const p11 = tpx[i + tw + 1];
          const rb =
            (((p00 & 0xff00ff) * w00 + (p01 & 0xff00ff) * w01 + (p10 & 0xff00ff) * w10 + (p11 & 0xff00ff) * w11 +
              0x400040) >> 7) & 0xff00ff;
          // Green in place (bits 8..15): same rounding as ((sum + 64) >> 7) << 8.
          const g =
            (((p00 & 0xff00) * w00 + (p01 & 0xff00) * w01 + (p10 & 0xff00) * w10 + (p11 & 0xff00) * w11 + 0x4000) >>> 7) &
            0xff00;
          opx[o] = rb | g;
        }
        if (mask) for (let j = y * ow + xl, e = y * ow + xr + 1; j < e; j++) mask[j] = maskValue;
        continue;
      }
      for (let x = xl; x <= xr; x++, o++, U += uStep, V += vStep) {
        const uu = U < 0 ? 0 : U > uMax ? uMax : U;
        const vv = V < 0 ? 0 : V > vMax ? vMax : V;
        // 7-bit bilinear weights (sum 128): every product stays inside int32.
        const fx = (uu >> 9) & 0x7f;
        const fy = (vv >> 9) & 0x7f;
        const i = (vv >> 16) * tw + (uu >> 16);
        const w11 = (fx * fy + 64) >> 7;
        const w01 = fx - w11;
        const w10 = fy - w11;
        const w00 = 128 - fx - fy + w11;
        const p00 = tpx[i];
        const p01 = tpx[i + twOk];
        const p10 = tpx[i + thOk];
        const p11 = tpx[i + thOk + twOk];
        const rb =
          (((p00 & 0xff00ff) * w00 + (p01 & 0xff00ff) * w01 + (p10 & 0xff00ff) * w10 + (p11 & 0xff00ff) * w11 +
            0x400040) >> 7) & 0xff00ff;
        const g =
          (((p00 & 0xff00) * w00 + (p01 & 0xff00) * w01 + (p10 & 0xff00) * w10 + (p11 & 0xff00) * w11 + 0x4000) >>> 7) &
          0xff00;
        opx[o] = rb | g;
      }
      if (mask) for (let j = y * ow + xl, e = y * ow + xr + 1; j < e; j++) mask[j] = maskValue;
    }
  }
  return drawn;
}

/**
 * Averages an s x s supersampled patch into `out`: patch pixel (X, Y) block covers out pixel
 * (originX + floor(X / s), originY + floor(Y / s)). Only the out pixels inside `clip` are written.
 */
export function downsampleInto(patch: Surface, s: number, out: Surface, originX: number, originY: number, clip: Rect): void {
  const pw = patch.width;
  const ppx = patch.px;
  const opx = out.px;
  const x0 = Math.max(clip.x0, originX, 0);
  const y0 = Math.max(clip.y0, originY, 0);
  const x1 = Math.min(clip.x1, originX + Math.floor(patch.width / s), out.width);
  const y1 = Math.min(clip.y1, originY + Math.floor(patch.height / s), out.height);
  const n = s * s;
  const rnd = n >> 1;
  for (let y = y0; y < y1; y++) {
    const py = (y - originY) * s;
    for (let x = x0; x < x1; x++) {
      const px0 = (x - originX) * s;
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < s; j++) {
        let i = (py + j) * pw + px0;
        for (let k = 0; k < s; k++, i++) {
          const p = ppx[i];
          r += p & 0xff;
          g += (p >>> 8) & 0xff;
          b += (p >>> 16) & 0xff;
        }
      }
      opx[y * out.width + x] =
        ((r + rnd) / n) | (((g + rnd) / n) << 8) | (((b + rnd) / n) << 16);
    }
  }
}
