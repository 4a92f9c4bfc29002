/**
 * Frame rendering for a whole picture: one persistent frame buffer that starts as the photo; per frame
 * each animated face is deformed and only its moved region is redrawn (rings, mouth interior, face far to
 * near), the mouth box again supersampled with its inner-edge shading, and the changed rectangles are
 * converted into a persistent output buffer (yuv420p or rgb24). Pixels outside the moved regions are never
 * touched, so they stay byte-identical from frame to frame.
 *
 * @example
 *   const r = new FrameRenderer(image, faces, { acceleration: "regular", seed: 42, pixelFormat: "yuv420p" });
 *   for (const f of motion) { r.render([f]); encoder.write(r.output()); }
 */
import type { Acceleration } from "../api/endpoints.js";
import type { Face } from "../face/types.js";
import type { RawImage } from "../media/types.js";
import type { MotionFrame } from "../motion/types.js";
import { LIPS_INNER_LOWER, LIPS_INNER_UPPER, LIPS_OUTER_LOWER, LIPS_OUTER_UPPER } from "../face/landmarks.js";
import { deform, newDeformScratch, type DeformScratch } from "./deform.js";
import { buildWarpMesh, separatingPlanes, type WarpMesh } from "./mesh.js";
import {
  faceTexturePositions, interiorTexture, newInteriorMesh, prepareMouth, updateInterior, type InteriorMesh, type MouthInterior,
} from "./mouth.js";
import {
  EMPTY_RECT, copyRect, cloneSurface, fullRect, intersectRect, isEmpty, newSurface, rgbxToRgb24, rgbxToYuv420,
  rgbxToYuv420Changed, surfaceFromRgb, unionRect, yuvBytes, type Rect, type Surface,
} from "./pixels.js";
import { buildRig, type Rig } from "./rig.js";
import { WarpKernel, type KernelStats } from "./kernel.js";
import { downsampleInto, drawTriangles, type DrawOptions, type TriangleSet } from "./warp.js";

export type OutputFormat = "yuv420p" | "rgb24";

export interface Quality {
  /** Supersampling of the mouth box (1 = none). */
  superSample: number;
  /** Anchor points per ring around the face. */
  ringSize: number;
}

/** none = best quality, regular = default, high = fastest. */
export function qualityFor(acceleration: Acceleration): Quality {
  switch (acceleration) {
    case "none":
      return { superSample: 3, ringSize: 64 };
    case "high":
      return { superSample: 1, ringSize: 32 };
    default:
      return { superSample: 2, ringSize: 48 };
  }
}

export interface RendererOptions {
  acceleration: Acceleration;
  seed: number;
  pixelFormat: OutputFormat;
  /** Rasterize with the WebAssembly kernel (./kernel.ts); false: the JavaScript rasterizer (same bytes). Default true. */
  kernel?: boolean;
}

/** Everything one animated face needs per frame. */
export interface FaceState {
  mesh: WarpMesh;
  rig: Rig;
  mouth: MouthInterior;
  scratch: DeformScratch;
  target: Float32Array;
  /** Where the face triangles sample the photo (the photo positions, lip edges pulled in a little). */
  tex: Float32Array;
  interior: InteriorMesh;
  /** Blends of the photo interior (see interiorTexture). */
  blends: Map<number, Surface>;
  ringTris: Uint32Array;
  /** Face triangles farther than the mouth interior (drawn before it) and the others (drawn after it). */
  backTris: Uint32Array;
  faceTris: Uint32Array;
  /** Last frame's moved region of this face. */
  region: Rect;
  /** Lash-line darkening of each closed eye (rig.eyes order), from the photo's own lid contrast (see lashStrength). */
  lash: [number, number];
  /** Scratch of the mouth pass: per-vertex outcodes against the mouth box, and the triangles near it per set. */
  near: { code: Uint8Array; ring: Uint32Array; back: Uint32Array; face: Uint32Array; counts: [number, number, number] };
}

/** How much a fully closed lid's lash line darkens the skin under it (its middle), at most. */
const LASH_DARKEN = 0.55;

/**
 * How dark to draw an eye's lash line when it closes: only as far as the photo shows lashes there, i.e. its upper
 * lid contour is darker than the skin two rings above it (mean luma): none below 10 % darker, full LASH_DARKEN
 * from 35 %. An eye hidden behind the nose (the mesh still places one) or a lid without visible lashes gets none.
 */
export function lashStrength(photo: Surface, src: Float32Array, eye: Rig["eyes"][number]): number {
  const luma = (v: number) => {
    const x = clampInt(Math.round(src[v * 2] - 0.5), 0, photo.width - 1);
    const y = clampInt(Math.round(src[v * 2 + 1] - 0.5), 0, photo.height - 1);
    const p = photo.px[y * photo.width + x];
    return 0.2126 * (p & 0xff) + 0.7152 * ((p >>> 8) & 0xff) + 0.0722 * ((p >>> 16) & 0xff);
  };
  const mean = (vs: Uint32Array) => vs.reduce((s, v) => s + luma(v), 0) / Math.max(1, vs.length);
  const lid = mean(eye.upper.subarray(1, eye.upper.length - 1));
  const skin = mean(eye.upperRing2);
  if (!(skin > 0)) return 0;
  const x = Math.min(1, Math.max(0, (1 - lid / skin - 0.1) / 0.25));
  return LASH_DARKEN * eye.trust * x * x * (3 - 2 * x);
}

const clampInt = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

export class FrameRenderer {
  readonly width: number;
  readonly height: number;
  readonly faces: FaceState[];
  private readonly photo: Surface;
  private readonly frame: Surface;
  private readonly out: Uint8Array;
  /** yuv420p: the RGB pixels `out` holds (only the blocks that differ from it are converted). */
  private readonly shown: Surface | null;
  private readonly format: OutputFormat;
  private readonly ss: number;
  private dirty: Rect = { ...EMPTY_RECT };
  /** Pixels written by the last render: main pass, mouth pass (supersampled samples), converted. */
  readonly stats = { mainPixels: 0, mouthSamples: 0, convertedPixels: 0 };
  /** The rasterizer kernel whose memory holds photo, frame, patch and mask; null: JavaScript only. */
  private readonly kernel: WarpKernel | null;
  private patch: Surface = newSurface(1, 1);
  private mask: Uint8Array = new Uint8Array(1);
  private blurA: Float32Array = new Float32Array(1);
  private blurB: Float32Array = new Float32Array(1);
  private colSum: Float64Array = new Float64Array(1);

  /** `faces`: the faces to animate (the caller leaves out faces that must stay still). */
  constructor(image: RawImage, faces: readonly Face[], opts: RendererOptions) {
    this.width = image.width;
    this.height = image.height;
    this.format = opts.pixelFormat;
    const q = qualityFor(opts.acceleration);
    this.ss = q.superSample;
    const photo = surfaceFromRgb(image);
    if (opts.kernel === false || faces.length === 0) {
      this.kernel = null;
      this.photo = photo;
      this.frame = cloneSurface(photo);
    } else {
      // The kernel's memory holds photo, frame, the supersampled mouth patch with its mask and blur scratch (two
      // floats a sample, a double a column), and for yuv420p the pixels last converted and the yuv420p buffer.
      // A mouth box lies inside its face's box, which bounds the patch here (a larger one falls back to
      // JavaScript arrays, see mouthPass and shadeEdges).
      const ss = this.ss * this.ss;
      const patchBound = Math.max(...faces.map((f) => Math.ceil(f.box.width + 16) * Math.ceil(f.box.height + 16))) * ss;
      const widthBound = Math.max(...faces.map((f) => Math.ceil(f.box.width + 16))) * this.ss;
      const pixels = this.width * this.height;
      const yuv = this.format === "yuv420p" ? pixels * 4 + yuvBytes(this.width, this.height) : 0;
      this.kernel = new WarpKernel(2 * pixels * 4 + yuv + patchBound * 13 + widthBound * 8 + 256);
      this.photo = this.kernel.surface(this.width, this.height) ?? newSurface(this.width, this.height);
      this.photo.px.set(photo.px);
      this.frame = this.kernel.surface(this.width, this.height) ?? newSurface(this.width, this.height);
      this.frame.px.set(photo.px);
      this.patch = this.kernel.surface(patchBound, 1) ?? this.patch;
      this.mask = this.kernel.bytes(patchBound) ?? this.mask;
      this.blurA = this.kernel.floats(patchBound) ?? this.blurA;
      this.blurB = this.kernel.floats(patchBound) ?? this.blurB;
      this.colSum = this.kernel.doubles(widthBound) ?? this.colSum;
    }
    const outBytes = this.format === "yuv420p" ? yuvBytes(this.width, this.height) : this.width * this.height * 3;
    this.out = (this.format === "yuv420p" ? this.kernel?.bytes(outBytes) : null) ?? new Uint8Array(outBytes);
    if (this.format === "yuv420p") rgbxToYuv420(this.photo, this.out, fullRect(this.photo));
    else rgbxToRgb24(this.photo, this.out, fullRect(this.photo));
    this.shown = null;
    if (this.format === "yuv420p") {
      this.shown = this.kernel?.surface(this.width, this.height) ?? newSurface(this.width, this.height);
      this.shown.px.set(this.photo.px);
    }

    const centres = faces.map((f) => ({ x: f.box.x + f.box.width / 2, y: f.box.y + f.box.height / 2, radius: Math.max(f.box.width, f.box.height) / 2 }));
    this.faces = faces.map((face, k) => {
      const mesh = buildWarpMesh(face.mesh, { width: this.width, height: this.height, ringSize: q.ringSize, clip: separatingPlanes(centres, k) });
      const rig = buildRig(mesh, { width: this.width, height: this.height });
      const mouth = prepareMouth(this.photo, rig, { scale: this.ss, seed: (opts.seed + k * 7919) >>> 0 });
      const split = mesh.ringTriCount * 3;
      // The interior sits a little behind the inner lips; face triangles behind it (the far cheek of a turned
      // head) are drawn first so that the interior covers them, the rest after it.
      let zLips = 0;
      for (const v of [...LIPS_INNER_UPPER, ...LIPS_INNER_LOWER]) zLips += mesh.z[v];
      const zInterior = zLips / (LIPS_INNER_UPPER.length + LIPS_INNER_LOWER.length) + 0.15 * rig.mouthWidth;
      let back = split;
      while (back < mesh.tris.length && mesh.z[mesh.tris[back]] + mesh.z[mesh.tris[back + 1]] + mesh.z[mesh.tris[back + 2]] > 3 * zInterior) back += 3;
      return {
        mesh, rig, mouth,
        scratch: newDeformScratch(rig),
        target: mesh.src.slice(),
        tex: faceTexturePositions(rig, mouth),
        interior: newInteriorMesh(),
        blends: new Map(),
        ringTris: mesh.tris.subarray(0, split),
        backTris: mesh.tris.subarray(split, back),
        faceTris: mesh.tris.subarray(back),
        region: { ...EMPTY_RECT },
        lash: [lashStrength(this.photo, mesh.src, rig.eyes[0]), lashStrength(this.photo, mesh.src, rig.eyes[1])],
        near: {
          code: new Uint8Array(mesh.src.length >> 1),
          ring: new Uint32Array(split / 3), back: new Uint32Array((back - split) / 3), face: new Uint32Array((mesh.tris.length - back) / 3),
          counts: [0, 0, 0],
        },
      };
    });
  }

  /**
   * Renders one frame: `motion[k]` drives face k (null or absent: the face stays as in the photo).
   * The result is in `output()` until the next call.
   */
  render(motion: readonly (Readonly<MotionFrame> | null | undefined)[]): void {
    const { photo, frame } = this;
    const prev = this.dirty;
    if (this.kernel) this.kernel.copyRect(photo, frame, prev);
    else copyRect(photo, frame, prev);
    this.stats.mainPixels = 0;
    this.stats.mouthSamples = 0;
    let dirty: Rect = { ...EMPTY_RECT };
    for (let k = 0; k < this.faces.length; k++) {
      const fs = this.faces[k];
      const m = motion[k];
      if (!m) {
        fs.region = { ...EMPTY_RECT };
        continue;
      }
      deform(fs.rig, m, fs.target, fs.scratch);
      const region = this.movedRegion(fs);
      fs.region = region;
      if (isEmpty(region)) continue;
      this.stats.mainPixels += this.drawFace(fs, frame, region, 1, 0, 0);
      this.mouthPass(fs, region);
      this.lashPass(fs, m, region);
      dirty = unionRect(dirty, region);
    }
    this.dirty = dirty;
    const changed = unionRect(prev, dirty);
    this.stats.convertedPixels = isEmpty(changed) ? 0 : (changed.x1 - changed.x0) * (changed.y1 - changed.y0);
    if (!this.shown) rgbxToRgb24(frame, this.out, changed);
    else if (this.kernel) this.kernel.yuv420Changed(frame, this.shown, this.out, changed);
    else rgbxToYuv420Changed(frame, this.shown, this.out, changed);
  }

  /** The current frame in the output pixel format (a view of the renderer's buffer: copy it to keep it). */
  output(): Uint8Array {
    return this.out;
  }

  /** Calls served by the WebAssembly kernel and by its JavaScript fallback (every kind); null without a kernel. */
  get kernelStats(): KernelStats | null {
    return this.kernel ? { ...this.kernel.stats } : null;
  }

  /** The current frame as packed RGBX (for tests and previews). */
  surface(): Surface {
    return this.frame;
  }

  /**
   * Bounding box (target pixels, +1 margin) of the triangles with a moved vertex, clipped to the picture.
   * Vertices are compared once each (a vertex is shared by about six triangles), then a triangle counts when any
   * of its three vertices moved.
   */
  private movedRegion(fs: FaceState): Rect {
    const { src } = fs.mesh;
    const t = fs.target;
    const tris = fs.mesh.tris;
    const moved = fs.near.code;
    const nv = moved.length;
    let any = false;
    for (let v = 0; v < nv; v++) {
      const m = t[v * 2] === src[v * 2] && t[v * 2 + 1] === src[v * 2 + 1] ? 0 : 1;
      moved[v] = m;
      if (m) any = true;
    }
    if (!any) return { ...EMPTY_RECT };
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let i = 0; i < tris.length; i += 3) {
      const a = tris[i], b = tris[i + 1], c = tris[i + 2];
      if ((moved[a] | moved[b] | moved[c]) === 0) continue;
      for (let k = 0; k < 3; k++) {
        const v = k === 0 ? a : k === 1 ? b : c;
        const x = t[v * 2], y = t[v * 2 + 1];
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
    if (!(x1 >= x0)) return { ...EMPTY_RECT };
    return intersectRect(
      { x0: Math.floor(x0) - 1, y0: Math.floor(y0) - 1, x1: Math.ceil(x1) + 2, y1: Math.ceil(y1) + 2 },
      fullRect(this),
    );
  }

  /**
   * The triangles of each set (rings, back, face) that may touch the target rectangle `box`, in draw order, into
   * fs.near: a triangle is left out only when its three vertices lie beyond one side of `box` grown by 2 pixels, so
   * it is one that drawTriangles would skip anyway (the output is the same, without its per-triangle setup).
   */
  private nearTriangles(fs: FaceState, box: Rect): void {
    const t = fs.target;
    const { code, ring, back, face, counts } = fs.near;
    const lx = box.x0 - 2, hx = box.x1 + 2, ly = box.y0 - 2, hy = box.y1 + 2;
    for (let v = 0; v < code.length; v++) {
      const x = t[v * 2], y = t[v * 2 + 1];
      code[v] = (x < lx ? 1 : x > hx ? 2 : 0) | (y < ly ? 4 : y > hy ? 8 : 0);
    }
    const sets = [fs.ringTris, fs.backTris, fs.faceTris];
    const outs = [ring, back, face];
    for (let k = 0; k < 3; k++) {
      const tris = sets[k], out = outs[k];
      let n = 0;
      for (let i = 0, j = 0; i < tris.length; i += 3, j++) {
        if ((code[tris[i]] & code[tris[i + 1]] & code[tris[i + 2]]) === 0) out[n++] = j;
      }
      counts[k] = n;
    }
  }

  /** Rings, face triangles behind the mouth interior, the interior, then the rest of the face far to near. */
  private drawFace(fs: FaceState, out: Surface, clip: Rect, scale: number, ox: number, oy: number, mask?: Uint8Array, near = false): number {
    const opts = { front: fs.mesh.front, scale, originX: ox, originY: oy, mask, maskValue: 0 } as const;
    const nr = fs.near;
    const pick = (k: number, o: Uint32Array) => (near ? { order: o, count: nr.counts[k] } : {});
    let n = this.draw({ dst: fs.target, src: fs.mesh.src, tris: fs.ringTris, ...pick(0, nr.ring) }, this.photo, out, clip, opts);
    // Face triangles in painter's order, both orientations: a triangle that turns edge-on and flips near a
    // fold must still cover its pixels (culling it would leave a crack).
    n += this.draw({ dst: fs.target, src: fs.tex, tris: fs.backTris, ...pick(1, nr.back) }, this.photo, out, clip, { ...opts, front: 0 });
    updateInterior(fs.mouth, fs.rig, fs.target, fs.interior);
    n += this.draw(fs.interior.bands, this.photo, out, clip, { ...opts, front: 0 });
    const texture = interiorTexture(fs.mouth, fs.interior.stretch, fs.blends);
    n += this.draw(fs.interior.inner, texture, out, clip, { ...opts, front: 0, maskValue: 255 });
    n += this.draw({ dst: fs.target, src: fs.tex, tris: fs.faceTris, ...pick(2, nr.face) }, this.photo, out, clip, { ...opts, front: 0 });
    return n;
  }

  /** The kernel's drawTriangles, or the JavaScript rasterizer's without a kernel (the same pixels). */
  private draw(set: TriangleSet, tex: Surface, out: Surface, clip: Rect, opts: DrawOptions): number {
    return this.kernel ? this.kernel.drawTriangles(set, tex, out, clip, opts) : drawTriangles(set, tex, out, clip, opts);
  }

  /** Redraws the mouth box supersampled, shades the lips' inner edges, and averages it into the frame. */
  private mouthPass(fs: FaceState, region: Rect): void {
    const t = fs.target;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const row of [LIPS_OUTER_UPPER, LIPS_OUTER_LOWER]) {
      for (const v of row) {
        x0 = Math.min(x0, t[v * 2]); x1 = Math.max(x1, t[v * 2]);
        y0 = Math.min(y0, t[v * 2 + 1]); y1 = Math.max(y1, t[v * 2 + 1]);
      }
    }
    const pad = 3;
    const box = intersectRect({ x0: Math.floor(x0) - pad, y0: Math.floor(y0) - pad, x1: Math.ceil(x1) + pad + 1, y1: Math.ceil(y1) + pad + 1 }, region);
    if (isEmpty(box)) return;
    const s = this.ss;
    const pw = (box.x1 - box.x0) * s, ph = (box.y1 - box.y0) * s;
    if (this.patch.px.length < pw * ph) {
      // Past the kernel's room (see the constructor): JavaScript surfaces, drawn by the JavaScript rasterizer.
      this.patch = newSurface(pw, ph);
      this.mask = new Uint8Array(pw * ph);
    }
    if (this.blurA.length < pw * ph) {
      this.blurA = new Float32Array(pw * ph);
      this.blurB = new Float32Array(pw * ph);
    }
    const patch: Surface = { width: pw, height: ph, px: this.patch.px.subarray(0, pw * ph) };
    const mask = this.mask.subarray(0, pw * ph);
    mask.fill(0);
    // Start from the frame (upsampled), so any sample no triangle covers keeps the frame's pixel.
    if (!this.kernel?.upsample(this.frame, box.x0, box.y0, patch, s)) {
      const fpx = this.frame.px, fw = this.frame.width;
      for (let y = 0; y < ph; y++) {
        const srow = (box.y0 + ((y / s) | 0)) * fw + box.x0;
        const drow = y * pw;
        for (let x = 0; x < pw; x++) patch.px[drow + x] = fpx[srow + ((x / s) | 0)];
      }
    }
    this.nearTriangles(fs, box);
    this.stats.mouthSamples += this.drawFace(fs, patch, fullRect(patch), s, box.x0, box.y0, mask, true);
    this.shadeEdges(fs, patch, mask, s);
    if (this.kernel) this.kernel.downsampleInto(patch, s, this.frame, box.x0, box.y0, box);
    else downsampleInto(patch, s, this.frame, box.x0, box.y0, box);
  }

  /**
   * A closing eye's lash line: the warp folds the photo's lashes away into the collapsing eye, which leaves a
   * closed lid as bare skin (or a light sliver of the eye's white). Along the upper lid's drawn position a soft
   * dark line (about 6 % of the eye width, anti-aliased, strongest in the lid's middle) fades in as the lid
   * comes down past a third of its travel.
   */
  private lashPass(fs: FaceState, m: Readonly<MotionFrame>, region: Rect): void {
    const t = fs.target;
    const px = this.frame.px, fw = this.frame.width;
    for (let e = 0; e < 2; e++) {
      const eye = fs.rig.eyes[e];
      const raw = e === 0 ? m.blinkRight : m.blinkLeft;
      const blink = (Number.isFinite(raw) ? Math.min(1, Math.max(0, raw)) : 0) * eye.trust;
      const x = Math.min(1, Math.max(0, (blink - 0.35) / 0.55));
      const k = fs.lash[e] * x * x * (3 - 2 * x);
      if (k <= 0) continue;
      const up = eye.upper;
      const half = Math.max(0.5, 0.03 * eye.width);
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const v of up) {
        x0 = Math.min(x0, t[v * 2]); x1 = Math.max(x1, t[v * 2]);
        y0 = Math.min(y0, t[v * 2 + 1]); y1 = Math.max(y1, t[v * 2 + 1]);
      }
      const box = intersectRect({ x0: Math.floor(x0 - half) - 1, y0: Math.floor(y0 - half) - 1, x1: Math.ceil(x1 + half) + 2, y1: Math.ceil(y1 + half) + 2 }, region);
      const segs = up.length - 1;
      for (let y = box.y0; y < box.y1; y++) {
        for (let xx = box.x0; xx < box.x1; xx++) {
          const qx = xx + 0.5, qy = y + 0.5;
          let best = Infinity, along = 0;
          for (let i = 0; i < segs; i++) {
            const ax = t[up[i] * 2], ay = t[up[i] * 2 + 1];
            const dx = t[up[i + 1] * 2] - ax, dy = t[up[i + 1] * 2 + 1] - ay;
            const l2 = dx * dx + dy * dy;
            const u = l2 > 0 ? Math.min(1, Math.max(0, ((qx - ax) * dx + (qy - ay) * dy) / l2)) : 0;
            const d = Math.hypot(qx - ax - u * dx, qy - ay - u * dy);
            if (d < best) { best = d; along = (i + u) / segs; }
          }
          const cover = Math.min(1, Math.max(0, half + 0.5 - best));
          if (cover <= 0) continue;
          const f = 1 - k * cover * (0.35 + 0.65 * Math.sin(Math.PI * along));
          const o = y * fw + xx;
          const p = px[o];
          const q = Math.round(f * 256);
          px[o] = ((((p & 0xff00ff) * q) >>> 8) & 0xff00ff) | (((((p >>> 8) & 0xff) * q) >>> 8) << 8);
        }
      }
    }
  }

  /**
   * Inner-lip shading: the interior darkens near the lips (their shadow), the lips darken a little along
   * the opening (the lips' inner, wetter surface turning away), both fading with the mouth's opening.
   */
  private shadeEdges(fs: FaceState, patch: Surface, mask: Uint8Array, s: number): void {
    const strength = fs.mouth.edgeShade;
    if (strength <= 0) return;
    const open = Math.min(1, fs.scratch.gap / Math.max(1, 0.12 * fs.rig.innerMouthWidth));
    if (open <= 0) return;
    const { width: w, height: h, px } = patch;
    // The mask's bounding box: the blurs only reach 2r + 1 samples beyond it (two box blurs of radius r), so
    // they run in that box grown by 2r + 1 and clamped to the patch. The samples outside it are 0 in every
    // pass, and windows clamped at the box's edge read those same zeros: the result equals blurring the whole
    // patch (running sums of zeros stay exactly 0), in a fraction of the samples.
    let mx0 = w, my0 = h, mx1 = -1, my1 = -1;
    for (let y = 0; y < h; y++) {
      const o = y * w;
      for (let x = 0; x < w; x++) {
        if (!mask[o + x]) continue;
        if (x < mx0) mx0 = x;
        if (x > mx1) mx1 = x;
        if (y < my0) my0 = y;
        my1 = y;
      }
    }
    if (mx1 < 0) return;
    const r = Math.max(1, Math.round(0.045 * fs.rig.innerMouthWidth * s));
    const grow = 2 * r + 1;
    const X0 = Math.max(0, mx0 - grow), X1 = Math.min(w, mx1 + 1 + grow);
    const Y0 = Math.max(0, my0 - grow), Y1 = Math.min(h, my1 + 1 + grow);
    const kIn = 0.28 * strength * open, kLip = 0.16 * strength * open;
    if (this.colSum.length < w) this.colSum = new Float64Array(w);
    if (this.kernel?.shade(patch, mask, this.blurA, this.blurB, this.colSum, { x0: X0, y0: Y0, x1: X1, y1: Y1, r, kIn, kLip })) return;
    const a = this.blurA, b = this.blurB;
    for (let y = Y0; y < Y1; y++) for (let x = X0, o = y * w; x < X1; x++) a[o + x] = mask[o + x] ? 1 : 0;
    // Box blur, twice (close to a Gaussian): horizontal then vertical, with running sums.
    for (let pass = 0; pass < 2; pass++) {
      for (let y = Y0; y < Y1; y++) {
        const o = y * w;
        let sum = 0;
        for (let x = X0 - r; x <= X0 + r; x++) sum += a[o + clampInt(x, X0, X1 - 1)];
        for (let x = X0; x < X1; x++) {
          b[o + x] = sum / (2 * r + 1);
          sum += a[o + clampInt(x + r + 1, X0, X1 - 1)] - a[o + clampInt(x - r, X0, X1 - 1)];
        }
      }
      // Vertical pass row by row (cache friendly): one running sum per column, same arithmetic order as a
      // column-at-a-time pass, so the result is bit-identical.
      const cs = this.colSum;
      cs.fill(0, X0, X1);
      for (let y = Y0 - r; y <= Y0 + r; y++) {
        const o = clampInt(y, Y0, Y1 - 1) * w;
        for (let x = X0; x < X1; x++) cs[x] += b[o + x];
      }
      const div = 2 * r + 1;
      for (let y = Y0; y < Y1; y++) {
        const o = y * w;
        const on = clampInt(y + r + 1, Y0, Y1 - 1) * w;
        const op = clampInt(y - r, Y0, Y1 - 1) * w;
        for (let x = X0; x < X1; x++) {
          const sum = cs[x];
          a[o + x] = sum / div;
          cs[x] = sum + (b[on + x] - b[op + x]);
        }
      }
    }
    for (let y = Y0; y < Y1; y++) {
      for (let i = y * w + X0, e = y * w + X1; i < e; i++) {
        const m = a[i];
        let f: number;
        if (mask[i]) {
          f = 1 - kIn * Math.min(1, 2 * (1 - m));
        } else {
          if (m <= 0.002) continue;
          f = 1 - kLip * Math.min(1, 2.2 * m);
        }
        const p = px[i];
        const k = Math.round(f * 256);
        const rb = (((p & 0xff00ff) * k) >>> 8) & 0xff00ff;
        const g = ((((p >>> 8) & 0xff) * k) >>> 8) & 0xff;
        px[i] = rb | (g << 8);
      }
    }
  }
}
