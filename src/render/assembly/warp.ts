/**
 * AssemblyScript source of the rasterizer's WebAssembly kernel: drawTriangles of ../warp.ts on linear memory,
 * the same arithmetic operation by operation, so both give the same bytes (tested). Differences, none visible in
 * the output:
 * - each edge's span bound is walked from row to row in exact integers (quotient and remainder) instead of a
 *   division per row and edge;
 * - the bilinear blend of the safe inner loop runs in SIMD (16-bit lanes; same per-channel rounding).
 * Also, operation by operation: yuv420Changed (rgbxToYuv420Changed of ../pixels.ts), downsample (downsampleInto of
 * ../warp.ts), copyRect (of ../pixels.ts), upsample and shade (the mouth pass of ../renderer.ts: its patch from the
 * frame, and shadeEdges).
 * Built into ../warp-wasm.ts by build.mjs (`npm run build:wasm`); test/render/kernel.test.ts checks that the
 * committed binary is this source's.
 */

const SUB: f64 = 256;

/** JavaScript's Math.round: halves round up (toward +Infinity). */
@inline function jsRound(x: f64): f64 {
  const f = Math.floor(x);
  return x - f >= 0.5 ? f + 1 : f;
}

@inline function min3(a: f64, b: f64, c: f64): f64 {
  return a < b ? (a < c ? a : c) : b < c ? b : c;
}

@inline function max3(a: f64, b: f64, c: f64): f64 {
  return a > b ? (a > c ? a : c) : b > c ? b : c;
}

/** ceil(n / d) for d > 0, exact (through f64 as ../warp.ts computes it: exact for these magnitudes). */
@inline function ceilDiv(n: i64, d: i64): i64 {
  return <i64>Math.ceil(<f64>n / <f64>d);
}

/** floor(n / d) for d > 0, exact in integers. */
@inline function floorDiv(n: i64, d: i64): i64 {
  const q = n / d;
  return q * d > n ? q - 1 : q;
}

/** One bilinear sample: (sum of channel x weight + 64) >> 7 per channel, alpha 0. */
@inline function blend(tex: usize, i: i32, tw: i32, fx: i32, fy: i32): u32 {
  const w11 = (fx * fy + 64) >> 7;
  const w01 = fx - w11;
  const w10 = fy - w11;
  const w00 = 128 - fx - fy + w11;
  const K: u64 = 0x0001000100010001;
  let a = v128.load64_zero(tex + (<usize>i << 2));
  a = v128.load64_lane(tex + (<usize>(i + tw) << 2), a, 1);
  const wl = i64x2.replace_lane(i64x2.splat(<u64>w00 * K), 1, <u64>w01 * K);
  const wh = i64x2.replace_lane(i64x2.splat(<u64>w10 * K), 1, <u64>w11 * K);
  const s = i16x8.add(i16x8.mul(i16x8.extend_low_i8x16_u(a), wl), i16x8.mul(i16x8.extend_high_i8x16_u(a), wh));
  const t = i16x8.add(s, i8x16.shuffle(s, s, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15));
  const r = i16x8.shr_u(i16x8.add(t, i16x8.splat(64)), 7);
  return <u32>i32x4.extract_lane(i8x16.narrow_i16x8_u(r, r), 0) & 0xffffff;
}

/**
 * drawTriangles of ../warp.ts on linear memory. dst/src: f32 [x, y] per vertex; tris: u32 x3 per triangle;
 * order: u32 triangle indices (0: none, draw 0..total-1); tex/out: packed RGB u32; mask: u8 (0: none).
 * Returns the number of pixels written.
 */
export function drawTriangles(
  dst: usize, src: usize, tris: usize, order: usize, total: i32,
  tex: usize, tw: i32, th: i32, out: usize, ow: i32, oh: i32,
  clipX0: i32, clipY0: i32, clipX1: i32, clipY1: i32,
  front: i32, s: i32, ox: f64, oy: f64, mask: usize, maskValue: i32,
): i32 {
  const cx0 = max(0, clipX0);
  const cy0 = max(0, clipY0);
  const cx1 = min(ow, clipX1);
  const cy1 = min(oh, clipY1);
  if (cx1 <= cx0 || cy1 <= cy0) return 0;
  let drawn = 0;
  const uMax = max(0, (tw - 1) * 65536 - 1);
  const vMax = max(0, (th - 1) * 65536 - 1);
  const twOk = tw > 1 ? 1 : 0;
  const thOk = th > 1 ? tw : 0;
  const sf = <f64>s;
  const inv = 1 / sf;
  const fcx0 = <f64>cx0, fcy0 = <f64>cy0, fcx1 = <f64>cx1, fcy1 = <f64>cy1;

  for (let k = 0; k < total; k++) {
    const t = order ? load<u32>(order + (<usize>k << 2)) : <u32>k;
    const ia = load<u32>(tris + <usize>t * 12);
    let ib = load<u32>(tris + <usize>t * 12 + 4);
    let ic = load<u32>(tris + <usize>t * 12 + 8);
    let ax = (<f64>load<f32>(dst + (<usize>ia << 3)) - ox + 0.5) * sf - 0.5;
    let ay = (<f64>load<f32>(dst + (<usize>ia << 3) + 4) - oy + 0.5) * sf - 0.5;
    let bx = (<f64>load<f32>(dst + (<usize>ib << 3)) - ox + 0.5) * sf - 0.5;
    let by = (<f64>load<f32>(dst + (<usize>ib << 3) + 4) - oy + 0.5) * sf - 0.5;
    let cx = (<f64>load<f32>(dst + (<usize>ic << 3)) - ox + 0.5) * sf - 0.5;
    let cy = (<f64>load<f32>(dst + (<usize>ic << 3) + 4) - oy + 0.5) * sf - 0.5;
    const minX = min3(ax, bx, cx);
    const maxX = max3(ax, bx, cx);
    const minY = min3(ay, by, cy);
    const maxY = max3(ay, by, cy);
    if (!(maxX >= fcx0 - 1 && minX <= fcx1 && maxY >= fcy0 - 1 && minY <= fcy1)) continue;
    const Ax = <i64>jsRound(ax * SUB), Ay = <i64>jsRound(ay * SUB);
    let Bx = <i64>jsRound(bx * SUB), By = <i64>jsRound(by * SUB);
    let Cx = <i64>jsRound(cx * SUB), Cy = <i64>jsRound(cy * SUB);
    const fixedArea = (Bx - Ax) * (Cy - Ay) - (By - Ay) * (Cx - Ax);
    if (fixedArea == 0 || (front > 0 && fixedArea < 0) || (front < 0 && fixedArea > 0)) continue;
    if (fixedArea < 0) {
      let ti = ib; ib = ic; ic = ti;
      let tf = bx; bx = cx; cx = tf;
      tf = by; by = cy; cy = tf;
      let tl = Bx; Bx = Cx; Cx = tl;
      tl = By; By = Cy; Cy = tl;
    }
    let x0 = <i32>Math.ceil(minX - 0.01);
    let x1 = <i32>Math.floor(maxX + 0.01);
    let y0 = <i32>Math.ceil(minY - 0.01);
    let y1 = <i32>Math.floor(maxY + 0.01);
    if (x0 < cx0) x0 = cx0;
    if (y0 < cy0) y0 = cy0;
    if (x1 > cx1 - 1) x1 = cx1 - 1;
    if (y1 > cy1 - 1) y1 = cy1 - 1;
    if (x1 < x0 || y1 < y0) continue;

    const e0dx = Bx - Ax, e0dy = By - Ay;
    const e1dx = Cx - Bx, e1dy = Cy - By;
    const e2dx = Ax - Cx, e2dy = Ay - Cy;
    const bias0: f64 = e0dy > 0 || (e0dy == 0 && e0dx < 0) ? 0 : 1;
    const bias1: f64 = e1dy > 0 || (e1dy == 0 && e1dx < 0) ? 0 : 1;
    const bias2: f64 = e2dy > 0 || (e2dy == 0 && e2dx < 0) ? 0 : 1;

    const tax = <f64>load<f32>(dst + (<usize>ia << 3)), tay = <f64>load<f32>(dst + (<usize>ia << 3) + 4);
    const du0 = <f64>load<f32>(src + (<usize>ia << 3)) - tax, dv0 = <f64>load<f32>(src + (<usize>ia << 3) + 4) - tay;
    const du1 = <f64>load<f32>(src + (<usize>ib << 3)) - <f64>load<f32>(dst + (<usize>ib << 3));
    const dv1 = <f64>load<f32>(src + (<usize>ib << 3) + 4) - <f64>load<f32>(dst + (<usize>ib << 3) + 4);
    const du2 = <f64>load<f32>(src + (<usize>ic << 3)) - <f64>load<f32>(dst + (<usize>ic << 3));
    const dv2 = <f64>load<f32>(src + (<usize>ic << 3) + 4) - <f64>load<f32>(dst + (<usize>ic << 3) + 4);
    const ex1 = bx - ax, ey1 = by - ay, ex2 = cx - ax, ey2 = cy - ay;
    const det = ex1 * ey2 - ex2 * ey1;
    if (det == 0) continue;
    const idet = 1 / det;
    const ugx = ((du1 - du0) * ey2 - (du2 - du0) * ey1) * idet;
    const ugy = ((du2 - du0) * ex1 - (du1 - du0) * ex2) * idet;
    const vgx = ((dv1 - dv0) * ey2 - (dv2 - dv0) * ey1) * idet;
    const vgy = ((dv2 - dv0) * ex1 - (dv1 - dv0) * ex2) * idet;
    const uStep = <i32>jsRound((inv + ugx) * 65536);
    const vStep = <i32>jsRound(vgx * 65536);
    const copy = s == 1 && ugx == 0 && vgx == 0 && vgy == 0 && ugy == 0 && du0 == 0 && dv0 == 0;
    const sa = <f64>load<f32>(src + (<usize>ia << 3)), sb = <f64>load<f32>(src + (<usize>ib << 3)), sc = <f64>load<f32>(src + (<usize>ic << 3));
    const ta = <f64>load<f32>(src + (<usize>ia << 3) + 4), tb = <f64>load<f32>(src + (<usize>ib << 3) + 4), tc = <f64>load<f32>(src + (<usize>ic << 3) + 4);
    const safe = min3(sa, sb, sc) >= 1 && min3(ta, tb, tc) >= 1 && max3(sa, sb, sc) <= <f64>(tw - 3) && max3(ta, tb, tc) <= <f64>(th - 3);

    // Each edge bounds the row's span on one side: x >= q (edge going up, m > 0) or x <= -q (going down),
    // q = ceil(N / M), N = bias - c(y), M = |m|. c grows by dx * 256 per row, so q and its remainder
    // r = q * M - N follow exactly in integers: no division per row.
    const M0 = e0dy < 0 ? -e0dy * 256 : e0dy * 256, M1 = e1dy < 0 ? -e1dy * 256 : e1dy * 256, M2 = e2dy < 0 ? -e2dy * 256 : e2dy * 256;
    const Yf = <i64>y0 * 256;
    let c0 = e0dx * (Yf - Ay) + e0dy * Ax, c1 = e1dx * (Yf - By) + e1dy * Bx, c2 = e2dx * (Yf - Cy) + e2dy * Cx;
    const D0 = e0dx * 256, D1 = e1dx * 256, D2 = e2dx * 256;
    const ib0 = <i64>bias0, ib1 = <i64>bias1, ib2 = <i64>bias2;
    let q0: i64 = 0, r0: i64 = 0, dq0: i64 = 0, dr0: i64 = 0;
    let q1: i64 = 0, r1: i64 = 0, dq1: i64 = 0, dr1: i64 = 0;
    let q2: i64 = 0, r2: i64 = 0, dq2: i64 = 0, dr2: i64 = 0;
    if (M0) { const n = ib0 - c0; q0 = ceilDiv(n, M0); r0 = q0 * M0 - n; dq0 = floorDiv(D0, M0); dr0 = D0 - dq0 * M0; }
    if (M1) { const n = ib1 - c1; q1 = ceilDiv(n, M1); r1 = q1 * M1 - n; dq1 = floorDiv(D1, M1); dr1 = D1 - dq1 * M1; }
    if (M2) { const n = ib2 - c2; q2 = ceilDiv(n, M2); r2 = q2 * M2 - n; dq2 = floorDiv(D2, M2); dr2 = D2 - dq2 * M2; }

    for (let y = y0; y <= y1; y++) {
      let xl = <i64>x0;
      let xr = <i64>x1;
      let skip = false;
      if (e0dy < 0) { if (q0 > xl) xl = q0; } else if (e0dy > 0) { if (-q0 < xr) xr = -q0; } else if (c0 < ib0) skip = true;
      if (e1dy < 0) { if (q1 > xl) xl = q1; } else if (e1dy > 0) { if (-q1 < xr) xr = -q1; } else if (c1 < ib1) skip = true;
      if (e2dy < 0) { if (q2 > xl) xl = q2; } else if (e2dy > 0) { if (-q2 < xr) xr = -q2; } else if (c2 < ib2) skip = true;
      // Next row.
      c0 += D0; c1 += D1; c2 += D2;
      if (M0) { q0 -= dq0; r0 += dr0; if (r0 >= M0) { r0 -= M0; q0 -= 1; } }
      if (M1) { q1 -= dq1; r1 += dr1; if (r1 >= M1) { r1 -= M1; q1 -= 1; } }
      if (M2) { q2 -= dq2; r2 += dr2; if (r2 >= M2) { r2 -= M2; q2 -= 1; } }
      if (skip) continue;
      if (xr < xl) continue;
      const il = <i32>xl, ir = <i32>xr;
      const xlf = <f64>il;
      const len = ir - il + 1;
      drawn += len;
      const dxa = xlf - ax, dya = <f64>y - ay;
      const uF = (xlf + 0.5) * inv - 0.5 + ox + du0 + ugx * dxa + ugy * dya;
      const vF = (<f64>y + 0.5) * inv - 0.5 + oy + dv0 + vgx * dxa + vgy * dya;
      let U = <i32>jsRound(uF * 65536);
      let V = <i32>jsRound(vF * 65536);
      let o = out + (<usize>(y * ow + il) << 2);
      const end = o + (<usize>len << 2);
      if (copy) {
        memory.copy(o, tex + (<usize>((V >> 16) * tw + (U >> 16)) << 2), <usize>len << 2);
      } else if (safe) {
        for (; o < end; o += 4, U += uStep, V += vStep) {
          store<u32>(o, blend(tex, (V >> 16) * tw + (U >> 16), tw, (U >> 9) & 0x7f, (V >> 9) & 0x7f));
        }
      } else {
        for (; o < end; o += 4, U += uStep, V += vStep) {
          const uu = U < 0 ? 0 : U > uMax ? uMax : U;
          const vv = V < 0 ? 0 : V > vMax ? vMax : V;
          const fx = (uu >> 9) & 0x7f;
          const fy = (vv >> 9) & 0x7f;
          const i = (vv >> 16) * tw + (uu >> 16);
          const w11 = (fx * fy + 64) >> 7;
          const w01 = fx - w11;
          const w10 = fy - w11;
          const w00 = 128 - fx - fy + w11;
          const p00 = load<u32>(tex + (<usize>i << 2));
          const p01 = load<u32>(tex + (<usize>(i + twOk) << 2));
          const p10 = load<u32>(tex + (<usize>(i + thOk) << 2));
          const p11 = load<u32>(tex + (<usize>(i + thOk + twOk) << 2));
          const rb = (((p00 & 0xff00ff) * w00 + (p01 & 0xff00ff) * w01 + (p10 & 0xff00ff) * w10 + (p11 & 0xff00ff) * w11 + 0x400040) >> 7) & 0xff00ff;
          const g = (((p00 & 0xff00) * w00 + (p01 & 0xff00) * w01 + (p10 & 0xff00) * w10 + (p11 & 0xff00) * w11 + 0x4000) >> 7) & 0xff00;
          store<u32>(o, rb | g);
        }
      }
      if (mask) memory.fill(mask + <usize>(y * ow + il), <u8>maskValue, <usize>len);
    }
  }
  return drawn;
}

// BT.709 limited-range coefficients of ../pixels.ts (16.16 fixed point), as it computes them.
const YR = 11966, YG = 40254, YB = 4064;
const UR = -6596, UG = -22189, UB = 28784;
const VR = 28784, VG = -26145, VB = -2639;
const Y_OFF = (16 << 16) + 32768, C_OFF = (128 << 16) + 32768;

/**
 * rgbxToYuv420Changed of ../pixels.ts on linear memory: converts the 2x2 blocks of the even rectangle
 * (x0, y0)-(x1, y1) whose pixels in `px` differ from `shown`, updating `shown`. Returns the blocks converted.
 */
export function yuv420Changed(px: usize, shown: usize, out: usize, width: i32, height: i32, x0: i32, y0: i32, x1: i32, y1: i32): i32 {
  const cw = (width + 1) >> 1;
  const uBase = <usize>(width * height);
  const vBase = uBase + <usize>(cw * ((height + 1) >> 1));
  let converted = 0;
  for (let y = y0; y < y1; y += 2) {
    const y1ok = y + 1 < height;
    const row0 = y * width;
    const row1 = y1ok ? row0 + width : row0;
    const crow = (y >> 1) * cw;
    for (let x = x0; x < x1; x += 2) {
      const x1ok = x + 1 < width;
      const i0 = row0 + x, i1 = x1ok ? i0 + 1 : i0, i2 = row1 + x, i3 = x1ok ? i2 + 1 : i2;
      const a = load<u32>(px + (<usize>i0 << 2)), b = load<u32>(px + (<usize>i1 << 2));
      const c = load<u32>(px + (<usize>i2 << 2)), d = load<u32>(px + (<usize>i3 << 2));
      if (
        a == load<u32>(shown + (<usize>i0 << 2)) && b == load<u32>(shown + (<usize>i1 << 2)) &&
        c == load<u32>(shown + (<usize>i2 << 2)) && d == load<u32>(shown + (<usize>i3 << 2))
      ) continue;
      store<u32>(shown + (<usize>i0 << 2), a);
      store<u32>(shown + (<usize>i1 << 2), b);
      store<u32>(shown + (<usize>i2 << 2), c);
      store<u32>(shown + (<usize>i3 << 2), d);
      converted++;
      const ar = <i32>(a & 0xff), ag = <i32>((a >>> 8) & 0xff), ab = <i32>((a >>> 16) & 0xff);
      const br = <i32>(b & 0xff), bg = <i32>((b >>> 8) & 0xff), bb = <i32>((b >>> 16) & 0xff);
      const cr = <i32>(c & 0xff), cg = <i32>((c >>> 8) & 0xff), cb = <i32>((c >>> 16) & 0xff);
      const dr = <i32>(d & 0xff), dg = <i32>((d >>> 8) & 0xff), db = <i32>((d >>> 16) & 0xff);
      store<u8>(out + <usize>i0, <u8>((YR * ar + YG * ag + YB * ab + Y_OFF) >> 16));
      if (x1ok) store<u8>(out + <usize>i1, <u8>((YR * br + YG * bg + YB * bb + Y_OFF) >> 16));
      if (y1ok) {
        store<u8>(out + <usize>i2, <u8>((YR * cr + YG * cg + YB * cb + Y_OFF) >> 16));
        if (x1ok) store<u8>(out + <usize>i3, <u8>((YR * dr + YG * dg + YB * db + Y_OFF) >> 16));
      }
      const sr = ar + br + cr + dr, sg = ag + bg + cg + dg, sb = ab + bb + cb + db;
      const ci = <usize>(crow + (x >> 1));
      store<u8>(out + uBase + ci, <u8>((UR * sr + UG * sg + UB * sb + 4 * C_OFF) >> 18));
      store<u8>(out + vBase + ci, <u8>((VR * sr + VG * sg + VB * sb + 4 * C_OFF) >> 18));
    }
  }
  return converted;
}

/** The mouth patch from the frame: patch (pw x ph, s x s samples per pixel) pixel (x, y) = frame (bx0 + x / s, by0 + y / s). */
export function upsample(frame: usize, fw: i32, bx0: i32, by0: i32, patch: usize, pw: i32, ph: i32, s: i32): void {
  for (let y = 0; y < ph; y++) {
    const srow = (by0 + y / s) * fw + bx0;
    const drow = patch + (<usize>(y * pw) << 2);
    for (let x = 0; x < pw; x++) store<u32>(drow + (<usize>x << 2), load<u32>(frame + (<usize>(srow + x / s) << 2)));
  }
}

/** downsampleInto of ../warp.ts: the s x s sample blocks of `patch` averaged into `out`, inside the clip. */
export function downsample(
  patch: usize, pw: i32, ph: i32, s: i32, out: usize, ow: i32, oh: i32, originX: i32, originY: i32,
  clipX0: i32, clipY0: i32, clipX1: i32, clipY1: i32,
): void {
  const x0 = max(max(clipX0, originX), 0);
  const y0 = max(max(clipY0, originY), 0);
  const x1 = min(min(clipX1, originX + pw / s), ow);
  const y1 = min(min(clipY1, originY + ph / s), oh);
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
          const p = load<u32>(patch + (<usize>i << 2));
          r += <i32>(p & 0xff);
          g += <i32>((p >>> 8) & 0xff);
          b += <i32>((p >>> 16) & 0xff);
        }
      }
      store<u32>(out + (<usize>(y * ow + x) << 2), <u32>(((r + rnd) / n) | (((g + rnd) / n) << 8) | (((b + rnd) / n) << 16)));
    }
  }
}

@inline function clampI(v: i32, lo: i32, hi: i32): i32 {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * The blur and shading loops of the renderer's shadeEdges (../renderer.ts), the same arithmetic: two box blurs
 * of radius r of the mask (as 0/1 in the f32 array a, b as scratch, cs an f64 running sum per column) inside
 * the box (X0, Y0)-(X1, Y1) of the w-wide patch, then each sample darkened: inside the mask by kIn toward the
 * lips, outside it by kLip near the opening.
 */
export function shade(
  px: usize, mask: usize, a: usize, b: usize, cs: usize, w: i32,
  X0: i32, Y0: i32, X1: i32, Y1: i32, r: i32, kIn: f64, kLip: f64,
): void {
  for (let y = Y0; y < Y1; y++) {
    for (let x = X0, o = y * w; x < X1; x++) store<f32>(a + (<usize>(o + x) << 2), load<u8>(mask + <usize>(o + x)) ? 1 : 0);
  }
  const div = <f64>(2 * r + 1);
  for (let pass = 0; pass < 2; pass++) {
    for (let y = Y0; y < Y1; y++) {
      const o = y * w;
      let sum: f64 = 0;
      for (let x = X0 - r; x <= X0 + r; x++) sum += <f64>load<f32>(a + (<usize>(o + clampI(x, X0, X1 - 1)) << 2));
      for (let x = X0; x < X1; x++) {
        store<f32>(b + (<usize>(o + x) << 2), <f32>(sum / div));
        sum += <f64>load<f32>(a + (<usize>(o + clampI(x + r + 1, X0, X1 - 1)) << 2)) - <f64>load<f32>(a + (<usize>(o + clampI(x - r, X0, X1 - 1)) << 2));
      }
    }
    for (let x = X0; x < X1; x++) store<f64>(cs + (<usize>x << 3), 0);
    for (let y = Y0 - r; y <= Y0 + r; y++) {
      const o = clampI(y, Y0, Y1 - 1) * w;
      for (let x = X0; x < X1; x++) {
        const at = cs + (<usize>x << 3);
        store<f64>(at, load<f64>(at) + <f64>load<f32>(b + (<usize>(o + x) << 2)));
      }
    }
    for (let y = Y0; y < Y1; y++) {
      const o = y * w;
      const on = clampI(y + r + 1, Y0, Y1 - 1) * w;
      const op = clampI(y - r, Y0, Y1 - 1) * w;
      for (let x = X0; x < X1; x++) {
        const at = cs + (<usize>x << 3);
        const sum = load<f64>(at);
        store<f32>(a + (<usize>(o + x) << 2), <f32>(sum / div));
        store<f64>(at, sum + (<f64>load<f32>(b + (<usize>(on + x) << 2)) - <f64>load<f32>(b + (<usize>(op + x) << 2))));
      }
    }
  }
  for (let y = Y0; y < Y1; y++) {
    for (let i = y * w + X0, e = y * w + X1; i < e; i++) {
      const m = <f64>load<f32>(a + (<usize>i << 2));
      let f: f64;
      if (load<u8>(mask + <usize>i)) {
        f = 1 - kIn * min<f64>(1, 2 * (1 - m));
      } else {
        if (m <= 0.002) continue;
        f = 1 - kLip * min<f64>(1, 2.2 * m);
      }
      const p = load<u32>(px + (<usize>i << 2));
      const k = <u32>jsRound(f * 256);
      const rb = (((p & 0xff00ff) * k) >>> 8) & 0xff00ff;
      const g = ((((p >>> 8) & 0xff) * k) >>> 8) & 0xff;
      store<u32>(px + (<usize>i << 2), rb | (g << 8));
    }
  }
}

/** copyRect of ../pixels.ts: rows x0..x1 of y0..y1 from one w-wide surface to another. */
export function copyRect(from: usize, to: usize, w: i32, x0: i32, y0: i32, x1: i32, y1: i32): void {
  const bytes = <usize>(x1 - x0) << 2;
  for (let y = y0; y < y1; y++) {
    const o = <usize>(y * w + x0) << 2;
    memory.copy(to + o, from + o, bytes);
  }
}
