/**
 * The dubbing renderer (fal-ai/infinitalk/video-to-video): re-lip-syncs the frames of a video to new audio.
 *
 * The source mouth is neutralized by replacement, not by erasing it: each shot has a REFERENCE frame, the one of
 * its key frames where the tracked mouth is most closed (and the head most frontal). The ordinary FrameRenderer
 * animates that reference picture's mouth with the new audio's curves (mouth channels only: jaw, lip width,
 * rounding, closure; no head motion, no blinks). For every source frame the lower face of that rendered reference
 * (from the line through the nose alae down to below the chin, cheek to cheek: a mask in reference pixels,
 * feathered outwards) is mapped onto the
 * frame by the affine transform that best carries the reference's stable points (eye corners, nose, temples,
 * brows) onto the frame's tracked ones, and blended in. So the output mouth shows only the new audio's motion,
 * while the head motion (the transform follows it), blinks, eyes, brows and everything outside the mask are the
 * source frame's own pixels: exactly, byte for byte, where the mask is 0.
 *
 * @example
 *   const dub = new DubRenderer(refImage, refFaceForRig, refFaceTracked, { acceleration: "regular", seed: 42 });
 *   const rgb = dub.render(sourceFrame, trackedFace, motion[i]);   // rgb24, the source frame's size
 */
import type { Acceleration } from "../api/endpoints.js";
import { JAW_LINE, LIPS_OUTER_LOWER, LIPS_OUTER_UPPER } from "../face/landmarks.js";
import type { Face } from "../face/types.js";
import type { RawImage } from "../media/types.js";
import { NEUTRAL_FRAME, type MotionFrame } from "../motion/types.js";
import { FrameRenderer } from "./renderer.js";

/** Mesh points that move with the head but not with the mouth: the affine fit uses them. */
export const STABLE_POINTS: readonly number[] = [
  33, 133, 362, 263, // eye corners
  168, 6, 197, 195, 5, 4, 1, // nose bridge to tip
  98, 327, // nose alae
  234, 454, 127, 356, // face sides, temples
  70, 105, 107, 336, 334, 300, // brows
];

/** The lower face polygon (reference mesh indices): jaw from the image-left cheek to the image-right, then the nose base. */
const JAW = JAW_LINE.slice(1, JAW_LINE.length - 1); // 93 ... 323
const TOP = [425, 327, 2, 98, 205];

export interface DubOptions {
  acceleration: Acceleration;
  seed: number;
  /** Jaw points pushed away from the mouth by this factor (room for the source's open jaw). Default 1.12. */
  jawGrow?: number;
  /** Extra room below the chin, in face heights. Default 0.06. */
  chinDrop?: number;
  /** Feather width outside the polygon, in face widths. Default 0.08. */
  feather?: number;
}

/** Only the mouth channels of a frame (the rest neutral: the source video keeps its own head, eyes and brows). */
export function mouthOnly(f: Readonly<MotionFrame>): MotionFrame {
  return { ...NEUTRAL_FRAME, jawOpen: f.jawOpen, lipWidth: f.lipWidth, lipRound: f.lipRound, lipClose: f.lipClose };
}

/** A 2D affine map: x' = a x + b y + c, y' = d x + e y + f. */
export type Affine = [number, number, number, number, number, number];

/** Least-squares affine map carrying points `idx` of mesh `from` onto the same points of mesh `to` (flat x,y,z meshes). */
export function fitAffine(from: ArrayLike<number>, to: ArrayLike<number>, idx: readonly number[] = STABLE_POINTS): Affine {
  // Normal equations of [x y 1] * [a b c]^T = x', same matrix for y'.
  let sxx = 0, sxy = 0, sx = 0, syy = 0, sy = 0, n = 0;
  let tx = 0, txx = 0, txy = 0, ty = 0, tyx = 0, tyy = 0;
  for (const i of idx) {
    const x = from[i * 3], y = from[i * 3 + 1];
    const X = to[i * 3], Y = to[i * 3 + 1];
    sxx += x * x; sxy += x * y; sx += x; syy += y * y; sy += y; n++;
    txx += X * x; txy += X * y; tx += X;
    tyx += Y * x; tyy += Y * y; ty += Y;
  }
  const m = [sxx, sxy, sx, sxy, syy, sy, sx, sy, n];
  const inv = invert3(m);
  const solve = (b0: number, b1: number, b2: number) => [
    inv[0] * b0 + inv[1] * b1 + inv[2] * b2,
    inv[3] * b0 + inv[4] * b1 + inv[5] * b2,
    inv[6] * b0 + inv[7] * b1 + inv[8] * b2,
  ];
  const [a, b, c] = solve(txx, txy, tx);
  const [d, e, f] = solve(tyx, tyy, ty);
  return [a, b, c, d, e, f];
}

export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (Math.abs(det) < 1e-12) throw new RangeError("singular affine map");
  const ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

function invert3(m: number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (Math.abs(det) < 1e-9) throw new RangeError("degenerate points for the affine fit");
  const s = 1 / det;
  return [
    A * s, -(b * i - c * h) * s, (b * f - c * e) * s,
    B * s, (a * i - c * g) * s, -(a * f - c * d) * s,
    C * s, -(a * h - b * g) * s, (a * e - b * d) * s,
  ];
}

/** A feathered mask over a rectangle of the reference picture: alpha[y * width + x] in 0..1 for pixel (x0 + x, y0 + y). */
export interface LowerFaceMask {
  x0: number;
  y0: number;
  width: number;
  height: number;
  alpha: Float32Array;
  /** The polygon (reference pixels, continuous coordinates), for drawing. */
  polygon: [number, number][];
}

/** The lower face mask of a face (see the module comment), clipped to a picture of `imageW` x `imageH`. */
export function lowerFaceMask(face: Face, imageW: number, imageH: number, opts: Pick<DubOptions, "jawGrow" | "chinDrop" | "feather"> = {}): LowerFaceMask {
  const mesh = face.mesh;
  const grow = opts.jawGrow ?? 1.12;
  const faceW = face.box.width, faceH = face.box.height;
  const drop = (opts.chinDrop ?? 0.06) * faceH;
  const feather = Math.max(2, (opts.feather ?? 0.08) * faceW);
  let mx = 0, my = 0;
  const lips = [...LIPS_OUTER_UPPER, ...LIPS_OUTER_LOWER];
  for (const i of lips) {
    mx += mesh[i * 3];
    my += mesh[i * 3 + 1];
  }
  mx /= lips.length;
  my /= lips.length;
  const polygon: [number, number][] = [];
  for (const i of JAW) {
    const x = mesh[i * 3], y = mesh[i * 3 + 1];
    const px = mx + (x - mx) * grow;
    let py = my + (y - my) * grow;
    if (y > my) py += drop * Math.min(1, (y - my) / Math.max(1, 0.3 * faceH));
    polygon.push([px, py]);
  }
  for (const i of TOP) polygon.push([mesh[i * 3], mesh[i * 3 + 1]]);
  // Nothing above the line through the nose alae (across the face, square to its down direction): the cheeks
  // beside the eyes and the eyes themselves stay the source's.
  const ex = mesh[263 * 3] - mesh[33 * 3], ey = mesh[263 * 3 + 1] - mesh[33 * 3 + 1];
  const el = Math.hypot(ex, ey) || 1;
  const downX = -ey / el, downY = ex / el; // the eye line turned 90° clockwise: towards the chin
  const ax = (mesh[98 * 3] + mesh[327 * 3]) / 2, ay = (mesh[98 * 3 + 1] + mesh[327 * 3 + 1]) / 2;
  for (const p of polygon) {
    const d = (p[0] - ax) * downX + (p[1] - ay) * downY;
    if (d < 0) {
      p[0] -= d * downX;
      p[1] -= d * downY;
    }
  }
  let bx0 = Infinity, by0 = Infinity, bx1 = -Infinity, by1 = -Infinity;
  for (const [x, y] of polygon) {
    bx0 = Math.min(bx0, x); bx1 = Math.max(bx1, x);
    by0 = Math.min(by0, y); by1 = Math.max(by1, y);
  }
  const x0 = Math.max(0, Math.floor(bx0 - feather - 1));
  const y0 = Math.max(0, Math.floor(by0 - feather - 1));
  const x1 = Math.min(imageW, Math.ceil(bx1 + feather + 2));
  const y1 = Math.min(imageH, Math.ceil(by1 + feather + 2));
  const width = Math.max(0, x1 - x0), height = Math.max(0, y1 - y0);
  const alpha = new Float32Array(width * height);
  const n = polygon.length;
  for (let y = 0; y < height; y++) {
    const py = y0 + y + 0.5;
    for (let x = 0; x < width; x++) {
      const px = x0 + x + 0.5;
      let inside = false;
      let d2 = Infinity;
      for (let k = 0, j = n - 1; k < n; j = k++) {
        const [ax, ay] = polygon[j];
        const [bx, by] = polygon[k];
        if ((ay > py) !== (by > py) && px < ((bx - ax) * (py - ay)) / (by - ay) + ax) inside = !inside;
        const ex = bx - ax, ey = by - ay;
        const t = Math.max(0, Math.min(1, ((px - ax) * ex + (py - ay) * ey) / (ex * ex + ey * ey || 1)));
        const dx = ax + ex * t - px, dy = ay + ey * t - py;
        const dd = dx * dx + dy * dy;
        if (dd < d2) d2 = dd;
      }
      if (inside) alpha[y * width + x] = 1;
      else {
        const s = 1 - Math.sqrt(d2) / feather;
        alpha[y * width + x] = s <= 0 ? 0 : s * s * (3 - 2 * s);
      }
    }
  }
  return { x0, y0, width, height, alpha, polygon };
}

/**
 * One shot's dubbing: the reference picture and its faces, a FrameRenderer animating it, the lower-face mask.
 * `rigFace` drives the renderer (the best mesh of the reference: a refined detection); `trackFace` is the
 * reference's face as the tracker sees it (the affine fit compares tracked meshes with tracked meshes).
 */
export class DubRenderer {
  readonly mask: LowerFaceMask;
  private readonly renderer: FrameRenderer;
  private readonly trackFace: Face;
  private readonly out: Buffer;
  readonly width: number;
  readonly height: number;

  constructor(reference: RawImage, rigFace: Face, trackFace: Face, opts: DubOptions) {
    this.width = reference.width;
    this.height = reference.height;
    this.renderer = new FrameRenderer(reference, [rigFace], { acceleration: opts.acceleration, seed: opts.seed, pixelFormat: "rgb24" });
    this.trackFace = trackFace;
    this.mask = lowerFaceMask(rigFace, reference.width, reference.height, opts);
    this.out = Buffer.alloc(reference.width * reference.height * 3);
  }

  /** The renderer's mouth kind (for logs). */
  get mouthKind(): string {
    return this.renderer.faces[0]?.mouth.kind ?? "none";
  }

  /**
   * One output frame (rgb24, a view of this renderer's buffer: copy it to keep it): `frame` with the reference's
   * lower face, animated by `motion`, blended in where the tracked `face` is. Without a face or motion, the frame
   * itself.
   */
  render(frame: RawImage, face: Face | null, motion: Readonly<MotionFrame> | null): Buffer {
    const { width, height } = this;
    if (frame.width !== width || frame.height !== height || frame.channels !== 3) {
      throw new RangeError(`dub frame ${frame.width}x${frame.height}x${frame.channels}, expected ${width}x${height}x3`);
    }
    frame.data.copy(this.out, 0, 0, width * height * 3);
    if (!face || !motion) return this.out;
    this.renderer.render([mouthOnly(motion)]);
    const src = this.renderer.surface().px;
    const toFrame = fitAffine(this.trackFace.mesh, face.mesh);
    const toRef = invertAffine(toFrame);
    const m = this.mask;
    // The mask rectangle's corners in frame pixels → the rectangle of frame pixels to visit.
    let fx0 = Infinity, fy0 = Infinity, fx1 = -Infinity, fy1 = -Infinity;
    for (const [u, v] of [[m.x0, m.y0], [m.x0 + m.width, m.y0], [m.x0, m.y0 + m.height], [m.x0 + m.width, m.y0 + m.height]]) {
      const x = toFrame[0] * u + toFrame[1] * v + toFrame[2];
      const y = toFrame[3] * u + toFrame[4] * v + toFrame[5];
      fx0 = Math.min(fx0, x); fx1 = Math.max(fx1, x);
      fy0 = Math.min(fy0, y); fy1 = Math.max(fy1, y);
    }
    const X0 = Math.max(0, Math.floor(fx0)), Y0 = Math.max(0, Math.floor(fy0));
    const X1 = Math.min(width, Math.ceil(fx1) + 1), Y1 = Math.min(height, Math.ceil(fy1) + 1);
    const [a, b, c, d, e, f] = toRef;
    const out = this.out;
    const mw = m.width, mh = m.height, alpha = m.alpha;
    for (let y = Y0; y < Y1; y++) {
      for (let x = X0; x < X1; x++) {
        // Pixel centre (x + 0.5, y + 0.5) in reference pixels, then in mask/texture index space (-0.5).
        const u = a * (x + 0.5) + b * (y + 0.5) + c - 0.5;
        const v = d * (x + 0.5) + e * (y + 0.5) + f - 0.5;
        const mu = u - m.x0, mv = v - m.y0;
        if (mu < 0 || mv < 0 || mu >= mw - 1 || mv >= mh - 1) continue;
        const iu = mu | 0, iv = mv | 0;
        const fu = mu - iu, fv = mv - iv;
        const k = iv * mw + iu;
        const al = (alpha[k] * (1 - fu) + alpha[k + 1] * fu) * (1 - fv) + (alpha[k + mw] * (1 - fu) + alpha[k + mw + 1] * fu) * fv;
        if (al <= 0.002) continue;
        // Texture sample of the rendered reference (clamped inside the picture).
        const su = Math.min(width - 1.001, Math.max(0, u)), sv = Math.min(height - 1.001, Math.max(0, v));
        const tu = su | 0, tv = sv | 0;
        const gu = su - tu, gv = sv - tv;
        const p = tv * width + tu;
        const p00 = src[p], p10 = src[p + 1], p01 = src[p + width], p11 = src[p + width + 1];
        const w00 = (1 - gu) * (1 - gv), w10 = gu * (1 - gv), w01 = (1 - gu) * gv, w11 = gu * gv;
        const o = (y * width + x) * 3;
        for (let ch = 0, shift = 0; ch < 3; ch++, shift += 8) {
          const t = ((p00 >>> shift) & 255) * w00 + ((p10 >>> shift) & 255) * w10 + ((p01 >>> shift) & 255) * w01 + ((p11 >>> shift) & 255) * w11;
          const s = out[o + ch];
          out[o + ch] = Math.round(s + (t - s) * al);
        }
      }
    }
    return this.out;
  }
}

/** How closed and frontal a face is: lower is a better reference (inner-lip gap over mouth width, plus pose). */
export function referenceScore(face: Face): number {
  const m = face.mesh;
  const gap = Math.hypot(m[13 * 3] - m[14 * 3], m[13 * 3 + 1] - m[14 * 3 + 1]);
  const width = Math.hypot(m[61 * 3] - m[291 * 3], m[61 * 3 + 1] - m[291 * 3 + 1]) || 1;
  return gap / width + 0.3 * (Math.abs(face.pose.yaw) + Math.abs(face.pose.pitch));
}
