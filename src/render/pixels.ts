/**
 * Pixel surfaces of the renderer: packed RGBX in a Uint32Array (one 32-bit word per pixel, R in the low
 * byte: little-endian), rectangles, and conversions to the encoder's formats (rgb24 and BT.709 limited-range
 * yuv420p, converted per rectangle so that a persistent output buffer only changes where the picture did).
 *
 * @example
 *   const photo = surfaceFromRgb(image);            // RawImage (rgb or rgba) -> Surface
 *   const yuv = new Uint8Array(yuvBytes(w, h));
 *   rgbxToYuv420(photo, yuv, fullRect(photo));
 */
import { endianness } from "node:os";
import type { RawImage } from "../media/types.js";

if (endianness() !== "LE") throw new Error("the renderer packs pixels little-endian (R in the low byte)");

/**
 * A picture as packed words: px[y * width + x] = R | G << 8 | B << 16 (top byte 0, so every value is a
 * small integer for the JavaScript engine: no boxed doubles in the inner loops).
 */
export interface Surface {
  width: number;
  height: number;
  px: Uint32Array;
}

/** A half-open pixel rectangle [x0, x1) x [y0, y1); empty when x1 <= x0 or y1 <= y0. */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export const EMPTY_RECT: Readonly<Rect> = Object.freeze({ x0: 0, y0: 0, x1: 0, y1: 0 });

export function isEmpty(r: Rect): boolean {
  return r.x1 <= r.x0 || r.y1 <= r.y0;
}

export function fullRect(s: { width: number; height: number }): Rect {
  return { x0: 0, y0: 0, x1: s.width, y1: s.height };
}

export function unionRect(a: Rect, b: Rect): Rect {
  if (isEmpty(a)) return { ...b };
  if (isEmpty(b)) return { ...a };
  return { x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) };
}

export function intersectRect(a: Rect, b: Rect): Rect {
  const r = { x0: Math.max(a.x0, b.x0), y0: Math.max(a.y0, b.y0), x1: Math.min(a.x1, b.x1), y1: Math.min(a.y1, b.y1) };
  return isEmpty(r) ? { ...EMPTY_RECT } : r;
}

/** Grows a rectangle to even coordinates (for 2x2 chroma blocks), clipped to the surface. */
export function evenRect(r: Rect, width: number, height: number): Rect {
  if (isEmpty(r)) return { ...EMPTY_RECT };
  return {
    x0: Math.max(0, r.x0 & ~1),
    y0: Math.max(0, r.y0 & ~1),
    x1: Math.min(width, (r.x1 + 1) & ~1),
    y1: Math.min(height, (r.y1 + 1) & ~1),
  };
}

export function newSurface(width: number, height: number): Surface {
  return { width, height, px: new Uint32Array(width * height) };
}

export function cloneSurface(s: Surface): Surface {
  return { width: s.width, height: s.height, px: s.px.slice() };
}

/** Packs a decoded picture (rgb or rgba rows) into a new surface. */
export function surfaceFromRgb(image: RawImage): Surface {
  const { width, height, channels, data } = image;
  if (data.length < width * height * channels) {
    throw new RangeError(`image data holds ${data.length} bytes, expected ${width * height * channels}`);
  }
  const s = newSurface(width, height);
  const px = s.px;
  for (let i = 0, j = 0, n = width * height; i < n; i++, j += channels) {
    px[i] = data[j] | (data[j + 1] << 8) | (data[j + 2] << 16);
  }
  return s;
}

/** Copies a rectangle of `from` into `to` (same size surfaces). */
export function copyRect(from: Surface, to: Surface, r: Rect): void {
  if (isEmpty(r)) return;
  const w = from.width;
  for (let y = r.y0; y < r.y1; y++) {
    const o = y * w;
    to.px.set(from.px.subarray(o + r.x0, o + r.x1), o + r.x0);
  }
}

/** Writes a rectangle of a surface into packed rgb24 bytes of the same size. */
export function rgbxToRgb24(s: Surface, out: Uint8Array, r: Rect): void {
  if (isEmpty(r)) return;
  const { width, px } = s;
  for (let y = r.y0; y < r.y1; y++) {
    let i = y * width + r.x0;
    let j = i * 3;
    for (let x = r.x0; x < r.x1; x++, i++, j += 3) {
      const p = px[i];
      out[j] = p & 0xff;
      out[j + 1] = (p >>> 8) & 0xff;
      out[j + 2] = (p >>> 16) & 0xff;
    }
  }
}

/** Bytes of a yuv420p frame (planes Y, U, V; chroma at half size rounded up). */
export function yuvBytes(width: number, height: number): number {
  return width * height + 2 * ((width + 1) >> 1) * ((height + 1) >> 1);
}

// BT.709, limited range, in 16.16 fixed point.
const YR = Math.round(0.2126 * 219 / 255 * 65536);
const YG = Math.round(0.7152 * 219 / 255 * 65536);
const YB = Math.round(0.0722 * 219 / 255 * 65536);
const UR = Math.round((-0.2126 / 1.8556) * 224 / 255 * 65536);
const UG = Math.round((-0.7152 / 1.8556) * 224 / 255 * 65536);
const UB = Math.round(0.5 * 224 / 255 * 65536);
const VR = Math.round(0.5 * 224 / 255 * 65536);
const VG = Math.round((-0.7152 / 1.5748) * 224 / 255 * 65536);
const VB = Math.round((-0.0722 / 1.5748) * 224 / 255 * 65536);
const Y_OFF = (16 << 16) + 32768;
const C_OFF = (128 << 16) + 32768;

/**
 * Converts a rectangle of a surface into a yuv420p frame buffer (BT.709, limited range). The rectangle is
 * grown to even coordinates; chroma is the 2x2 mean. Bytes outside the (grown) rectangle are not touched.
 */
export function rgbxToYuv420(s: Surface, out: Uint8Array, rect: Rect): void {
  const { width, height, px } = s;
  const r = evenRect(rect, width, height);
  if (isEmpty(r)) return;
  const cw = (width + 1) >> 1;
  const uBase = width * height;
  const vBase = uBase + cw * ((height + 1) >> 1);
  for (let y = r.y0; y < r.y1; y += 2) {
    const y1ok = y + 1 < height;
    const row0 = y * width;
    const row1 = y1ok ? row0 + width : row0;
    const crow = (y >> 1) * cw;
    for (let x = r.x0; x < r.x1; x += 2) {
      const x1ok = x + 1 < width;
      const a = px[row0 + x];
      const b = x1ok ? px[row0 + x + 1] : a;
      const c = px[row1 + x];
      const d = x1ok ? px[row1 + x + 1] : c;
      const ar = a & 0xff, ag = (a >>> 8) & 0xff, ab = (a >>> 16) & 0xff;
      const br = b & 0xff, bg = (b >>> 8) & 0xff, bb = (b >>> 16) & 0xff;
      const cr = c & 0xff, cg = (c >>> 8) & 0xff, cb = (c >>> 16) & 0xff;
      const dr = d & 0xff, dg = (d >>> 8) & 0xff, db = (d >>> 16) & 0xff;
      out[row0 + x] = (YR * ar + YG * ag + YB * ab + Y_OFF) >> 16;
      if (x1ok) out[row0 + x + 1] = (YR * br + YG * bg + YB * bb + Y_OFF) >> 16;
      if (y1ok) {
        out[row1 + x] = (YR * cr + YG * cg + YB * cb + Y_OFF) >> 16;
        if (x1ok) out[row1 + x + 1] = (YR * dr + YG * dg + YB * db + Y_OFF) >> 16;
      }
      // 2x2 mean (sums of 4), so coefficients are divided by 4 via >> 18.
      const sr = ar + br + cr + dr, sg = ag + bg + cg + dg, sb = ab + bb + cb + db;
      const ci = crow + (x >> 1);
      out[uBase + ci] = (UR * sr + UG * sg + UB * sb + 4 * C_OFF) >> 18;
      out[vBase + ci] = (VR * sr + VG * sg + VB * sb + 4 * C_OFF) >> 18;
    }
  }
}

/**
 * rgbxToYuv420 for a frame that changes in place: only the 2x2 blocks of `rect` (grown to even coordinates) whose
 * pixels differ from `shown` are converted, and `shown` is updated to them. `shown` must hold the RGB pixels that
 * `out` was last converted from (a clone of the first converted picture, then kept by this function), so the result
 * is the same as converting the whole rectangle. Returns the number of blocks converted.
 * (A talking face changes about a third of the blocks of its moved region from one frame to the next.)
 * The block conversion repeats rgbxToYuv420's on purpose: moved into one shared function, V8 does not inline it and
 * a full 480p conversion takes 11 ms instead of 3-4 ms (measured, same bytes).
 */
export function rgbxToYuv420Changed(s: Surface, shown: Surface, out: Uint8Array, rect: Rect): number {
  const { width, height, px } = s;
  const sp = shown.px;
  const r = evenRect(rect, width, height);
  if (isEmpty(r)) return 0;
  const cw = (width + 1) >> 1;
  const uBase = width * height;
  const vBase = uBase + cw * ((height + 1) >> 1);
  let converted = 0;
  for (let y = r.y0; y < r.y1; y += 2) {
    const y1ok = y + 1 < height;
    const row0 = y * width;
    const row1 = y1ok ? row0 + width : row0;
    const crow = (y >> 1) * cw;
    for (let x = r.x0; x < r.x1; x += 2) {
      const x1ok = x + 1 < width;
      const i0 = row0 + x, i1 = x1ok ? i0 + 1 : i0, i2 = row1 + x, i3 = x1ok ? i2 + 1 : i2;
      const a = px[i0], b = px[i1], c = px[i2], d = px[i3];
      if (a === sp[i0] && b === sp[i1] && c === sp[i2] && d === sp[i3]) continue;
      sp[i0] = a;
      sp[i1] = b;
      sp[i2] = c;
      sp[i3] = d;
      converted++;
      const ar = a & 0xff, ag = (a >>> 8) & 0xff, ab = (a >>> 16) & 0xff;
      const br = b & 0xff, bg = (b >>> 8) & 0xff, bb = (b >>> 16) & 0xff;
      const cr = c & 0xff, cg = (c >>> 8) & 0xff, cb = (c >>> 16) & 0xff;
      const dr = d & 0xff, dg = (d >>> 8) & 0xff, db = (d >>> 16) & 0xff;
      out[i0] = (YR * ar + YG * ag + YB * ab + Y_OFF) >> 16;
      if (x1ok) out[i1] = (YR * br + YG * bg + YB * bb + Y_OFF) >> 16;
      if (y1ok) {
        out[i2] = (YR * cr + YG * cg + YB * cb + Y_OFF) >> 16;
        if (x1ok) out[i3] = (YR * dr + YG * dg + YB * db + Y_OFF) >> 16;
      }
      const sr = ar + br + cr + dr, sg = ag + bg + cg + dg, sb = ab + bb + cb + db;
      const ci = crow + (x >> 1);
      out[uBase + ci] = (UR * sr + UG * sg + UB * sb + 4 * C_OFF) >> 18;
      out[vBase + ci] = (VR * sr + VG * sg + VB * sb + 4 * C_OFF) >> 18;
    }
  }
  return converted;
}
