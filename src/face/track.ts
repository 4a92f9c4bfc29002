/**
 * Per-frame face tracking for video: one face (the largest at the start of each shot) followed through the frames.
 *
 * The mesh detector is slow (a few hundred ms a call on the WASM backend), so it runs on key frames only: the
 * first frame, every `keyInterval` frames (16), the last frame of a shot and the first of the next at a cut (the frame's 32x18 grey thumbnail differs from
 * the previous frame's by more than `cutThreshold` grey levels on average). A key frame looks for the face in a
 * square crop around the last box (cheap, no tiles) and falls back to the whole frame. A shot ("segment") ends at a
 * cut, when a key frame finds no face, or when the face found is not the one tracked (boxes barely overlap).
 *
 * Inside a segment the key frames' meshes are smoothed by a One Euro filter (run forwards and backwards and
 * averaged, so the smoothing adds no lag) and interpolated for the frames between them. Frames whose segment has
 * no face get null: the caller passes them through untouched.
 *
 * @example
 *   const tracker = new FaceTracker(detector, { keyInterval: 8 });
 *   for await (const frame of frames) await tracker.push(frame, { signal });   // frames must not be reused buffers
 *   await tracker.flush({ signal });             // optional: a key frame on the last frame too
 *   const track = tracker.finish();               // track.faces[i]: Face | null, track.segments[i]: shot id
 */
import type { RawImage } from "../media/types.js";
import { iou } from "./landmarks.js";
import type { Box, Face } from "./types.js";

/** What the tracker needs of a face detector (src/face's FaceAnalyzer and the pipeline's FaceDetector fit it). */
export interface TrackDetector {
  detect(image: RawImage, options?: { signal?: AbortSignal }): Promise<Face[]>;
}

export interface TrackOptions {
  /** Frames between two detections inside a shot. Default 16 with flow, 8 without. */
  keyInterval?: number;
  /** Mean absolute difference (grey levels, 0..255) of the 32x18 thumbnails that counts as a cut. Default 28. */
  cutThreshold?: number;
  /** Frame rate (for the One Euro filter's time base). Default 25. */
  fps?: number;
  /** One Euro filter: minimum cutoff (Hz), speed coefficient, derivative cutoff (Hz). */
  minCutoff?: number;
  beta?: number;
  dCutoff?: number;
  /** Side of the tracking crop relative to the face box's larger side. Default 2.2. */
  cropMargin?: number;
  /**
   * Follow the face between key frames with optical flow (pyramidal Lucas-Kanade on the mesh's rigid points, an
   * affine motion per frame), the key frames' detections correcting its drift. Default true; false: linear
   * interpolation between key frames.
   */
  flow?: boolean;
}

export interface FaceTrack {
  /** Per frame: the tracked face (frame pixels), or null (no face: pass the frame through). */
  faces: (Face | null)[];
  /** Per frame: the shot it belongs to (a new id after each cut or lost track). */
  segments: number[];
  /** Frame indices where the detector ran. */
  keyFrames: number[];
  /** Frame indices where a cut was detected. */
  cuts: number[];
}

const THUMB_W = 32;
const THUMB_H = 18;

interface Key {
  index: number;
  face: Face | null;
  segment: number;
}

export class FaceTracker {
  private readonly keyInterval: number;
  private readonly cutThreshold: number;
  private readonly fps: number;
  private readonly filter: { minCutoff: number; beta: number; dCutoff: number };
  private readonly cropMargin: number;
  private index = 0;
  private segment = 0;
  private lastKey = -Infinity;
  private lastFace: Face | null = null;
  private prevThumb: Float32Array | null = null;
  /** The previous frame (detected again when the next one starts a new shot) and whether it was a key frame. */
  private prevImage: RawImage | null = null;
  private prevWasKey = false;
  private readonly keys: Key[] = [];
  private readonly segmentOf: number[] = [];
  private readonly cuts: number[] = [];
  /** Wall time spent in the detector (ms) and in optical flow (ms). */
  detectMs = 0;
  flowMs = 0;
  private readonly flow: boolean;
  /** Per frame: the affine motion of the face from the previous frame (null: none measured). */
  private readonly motions: (Affine | null)[] = [];
  private prevPyramid: Gray[] | null = null;
  /** The tracked rigid points (x, y pairs, continuous pixels) in the previous frame, or null. */
  private points: Float32Array | null = null;

  constructor(private readonly detector: TrackDetector, options: TrackOptions = {}) {
    this.keyInterval = Math.max(1, Math.round(options.keyInterval ?? ((options.flow ?? true) ? 16 : 8)));
    this.cutThreshold = options.cutThreshold ?? 28;
    this.fps = options.fps ?? 25;
    this.filter = { minCutoff: options.minCutoff ?? 1.0, beta: options.beta ?? 0.02, dCutoff: options.dCutoff ?? 1.0 };
    this.cropMargin = options.cropMargin ?? 2.2;
    this.flow = options.flow ?? true;
  }

  /** Frames pushed so far. */
  get frames(): number {
    return this.index;
  }

  /** Feeds the next frame (frames must come in order). Runs the detector when this is a key frame. */
  async push(image: RawImage, options: { signal?: AbortSignal } = {}): Promise<void> {
    const i = this.index++;
    const thumb = thumbnail(image);
    const cut = this.prevThumb !== null && meanAbsDiff(thumb, this.prevThumb) > this.cutThreshold;
    this.prevThumb = thumb;
    if (cut) {
      // The shot that ends: its last frame becomes a key frame too (no stale hold up to the cut).
      if (this.prevImage && !this.prevWasKey && this.lastFace) await this.key(i - 1, this.prevImage, options.signal);
      this.cuts.push(i);
      this.segment++;
      this.lastFace = null;
    }
    // Optical flow from the previous frame (same shot, a face being followed).
    let pyramid: Gray[] | null = null;
    let motion: Affine | null = null;
    if (this.flow && this.lastFace) {
      const t0 = performance.now();
      const from = this.points ?? rigidPoints(this.lastFace.mesh);
      pyramid = grayPyramid(image, FLOW_LEVELS, flowRegion(from, this.lastFace.box), flowShift(this.lastFace.box));
      if (!cut && this.prevPyramid && this.points) {
        const tracked = trackPoints(this.prevPyramid, pyramid, this.points);
        motion = tracked.motion;
        this.points = tracked.motion ? applyAffineToPoints(tracked.motion, this.points) : null;
      } else {
        this.points = null;
      }
      this.flowMs += performance.now() - t0;
    }
    this.motions.push(motion);
    const isKey = cut || i === 0 || i - this.lastKey >= this.keyInterval;
    if (isKey) await this.key(i, image, options.signal);
    this.segmentOf.push(this.segment);
    this.prevImage = image;
    this.prevWasKey = isKey;
    if (this.flow && this.lastFace) {
      if (!pyramid) {
        const t0 = performance.now();
        pyramid = grayPyramid(image, FLOW_LEVELS, flowRegion(rigidPoints(this.lastFace.mesh), this.lastFace.box), flowShift(this.lastFace.box));
        this.flowMs += performance.now() - t0;
      }
      // A fresh detection: follow its rigid points from here.
      if (isKey || !this.points) this.points = rigidPoints(this.lastFace.mesh);
      this.prevPyramid = pyramid;
    } else {
      this.prevPyramid = null;
      this.points = null;
    }
  }

  /** Detection on frame i (the current frame, or the previous one at a cut, whose segment is already recorded). */
  private async key(i: number, image: RawImage, signal: AbortSignal | undefined): Promise<void> {
    const t0 = performance.now();
    const face = await this.find(image, signal);
    this.detectMs += performance.now() - t0;
    this.lastKey = Math.max(this.lastKey, i);
    const current = i < this.segmentOf.length;
    // Lost, found again, or a different face: a new segment (never interpolate across).
    const prev = this.keys.length > 0 ? this.keys[this.keys.length - 1] : null;
    const continues = prev !== null && prev.segment === this.segment && prev.face !== null && face !== null && iou(prev.face.box, face.box) > 0.3;
    if (current) {
      // The previous frame of a shot that has just ended: keep it only when it continues the track.
      if (continues) this.keys.push({ index: i, face, segment: this.segment });
      return;
    }
    if (prev !== null && prev.segment === this.segment && !continues && !(prev.face === null && face === null)) this.segment++;
    this.keys.push({ index: i, face, segment: this.segment });
    this.lastFace = face;
  }

  /** Runs the detector on the last frame when it is not a key frame (no stale hold at the end of the video). */
  async flush(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.prevImage && !this.prevWasKey && this.lastFace) {
      await this.key(this.index - 1, this.prevImage, options.signal);
      this.prevWasKey = true;
    }
  }

  /** Smooths and interpolates the key frames into one face (or null) per frame pushed. */
  finish(): FaceTrack {
    const n = this.index;
    const faces: (Face | null)[] = new Array(n).fill(null);
    const bySegment = new Map<number, Key[]>();
    for (const k of this.keys) {
      const list = bySegment.get(k.segment) ?? [];
      list.push(k);
      bySegment.set(k.segment, list);
    }
    for (const keys of bySegment.values()) {
      const withFace = keys.filter((k) => k.face !== null);
      if (withFace.length === 0) continue;
      const seg = keys[0].segment;
      // The segment's frames: from its first key to the frame before the next segment starts.
      const first = keys[0].index;
      let last = first;
      while (last + 1 < n && this.segmentOf[last + 1] === seg) last++;
      // Per frame: the mesh carried by the flow from the last key frame, plus the drift found at the next key frame
      // spread linearly over the frames between (without flow: linear interpolation between key frames).
      const raw: Float32Array[] = [];
      const from: Face[] = [];
      for (let j = 0; j < withFace.length; j++) {
        const a = withFace[j];
        const next = j + 1 < withFace.length ? withFace[j + 1] : null;
        const end = next ? next.index : last + 1;
        let mesh = (a.face as Face).mesh;
        const carried: Float32Array[] = [];
        for (let f = a.index; f <= (next ? next.index : last); f++) {
          if (f > a.index) {
            const m = this.motions[f];
            if (m) mesh = applyAffineToMesh(m, mesh);
          }
          carried.push(mesh);
        }
        if (next) {
          const drift = new Float32Array(mesh.length);
          const target = (next.face as Face).mesh;
          const reached = carried[carried.length - 1];
          for (let k = 0; k < drift.length; k++) drift[k] = target[k] - reached[k];
          const span = next.index - a.index;
          for (let f = a.index; f < end; f++) {
            const t = (f - a.index) / span;
            const c = carried[f - a.index];
            const m = new Float32Array(c.length);
            for (let k = 0; k < m.length; k++) m[k] = c[k] + t * drift[k];
            raw.push(m);
            from.push(a.face as Face);
          }
        } else {
          for (let f = a.index; f < end; f++) {
            raw.push(carried[f - a.index]);
            from.push(a.face as Face);
          }
        }
      }
      // Frames of the segment before its first face key (none: a segment starts at a key frame) are skipped.
      const start = withFace[0].index;
      const times = raw.map((_, k) => (start + k) / this.fps);
      const smoothed = smoothMeshes(raw, times, this.filter);
      for (let k = 0; k < smoothed.length; k++) faces[start + k] = makeFace(smoothed[k], from[k], from[k], 0);
    }
    return { faces, segments: this.segmentOf.slice(), keyFrames: this.keys.map((k) => k.index), cuts: this.cuts.slice() };
  }

  /** The tracked face in this frame: near the last one (crop), else the largest in the whole frame. */
  private async find(image: RawImage, signal: AbortSignal | undefined): Promise<Face | null> {
    const last = this.lastFace;
    if (last) {
      const crop = squareCrop(image, last.box, this.cropMargin);
      if (crop) {
        const found = await this.detector.detect(crop.image, { signal });
        const shifted = found.map((f) => shiftFace(f, crop.x, crop.y));
        let best: Face | null = null;
        let bestIou = 0.3;
        for (const f of shifted) {
          const o = iou(f.box, last.box);
          if (o > bestIou) {
            best = f;
            bestIou = o;
          }
        }
        if (best) return best;
      }
    }
    const all = await this.detector.detect(image, { signal });
    if (all.length === 0) return null;
    return all.reduce((a, b) => (b.box.width * b.box.height > a.box.width * a.box.height ? b : a));
  }
}

/** One Euro filter over a sequence of meshes at times `t` (seconds), forwards and backwards, averaged. */
export function smoothMeshes(meshes: Float32Array[], t: number[], p: { minCutoff: number; beta: number; dCutoff: number }): Float32Array[] {
  const n = meshes.length;
  if (n <= 1) return meshes.map((m) => m.slice());
  const len = meshes[0].length;
  const fwd = oneEuroPass(meshes, t, p, len, false);
  const bwd = oneEuroPass(meshes, t, p, len, true);
  return fwd.map((m, i) => {
    const out = new Float32Array(len);
    for (let k = 0; k < len; k++) out[k] = 0.5 * (m[k] + bwd[i][k]);
    return out;
  });
}

function oneEuroPass(meshes: Float32Array[], t: number[], p: { minCutoff: number; beta: number; dCutoff: number }, len: number, reverse: boolean): Float32Array[] {
  const n = meshes.length;
  const out: Float32Array[] = new Array(n);
  const filters = Array.from({ length: len }, () => new OneEuroFilter(p.minCutoff, p.beta, p.dCutoff));
  for (let s = 0; s < n; s++) {
    const i = reverse ? n - 1 - s : s;
    const time = reverse ? -t[i] : t[i];
    const m = new Float32Array(len);
    for (let k = 0; k < len; k++) m[k] = filters[k].filter(meshes[i][k], time);
    out[i] = m;
  }
  return out;
}

/**
 * The One Euro filter (Casiez, Roussel, Vogel 2012): a low-pass whose cutoff rises with the signal's speed, so
 * slow jitter is smoothed and fast motion follows without lag. `beta` is per unit of the signal (pixels here).
 */
export class OneEuroFilter {
  private x: number | null = null;
  private dx = 0;
  private last = 0;

  constructor(private readonly minCutoff: number, private readonly beta: number, private readonly dCutoff: number) {}

  filter(value: number, time: number): number {
    if (this.x === null) {
      this.x = value;
      this.last = time;
      return value;
    }
    const dt = Math.max(1e-6, time - this.last);
    this.last = time;
    const rawDx = (value - this.x) / dt;
    this.dx += smoothingAlpha(this.dCutoff, dt) * (rawDx - this.dx);
    const cutoff = this.minCutoff + this.beta * Math.abs(this.dx);
    this.x += smoothingAlpha(cutoff, dt) * (value - this.x);
    return this.x;
  }
}

function smoothingAlpha(cutoff: number, dt: number): number {
  const tau = 1 / (2 * Math.PI * cutoff);
  return 1 / (1 + tau / dt);
}

function makeFace(mesh: Float32Array, a: Face, b: Face, t: number): Face {
  const mix = (x: number, y: number) => x + (y - x) * t;
  return {
    mesh,
    box: meshBounds(mesh),
    score: Math.min(a.score, b.score),
    pose: { yaw: mix(a.pose.yaw, b.pose.yaw), pitch: mix(a.pose.pitch, b.pose.pitch), roll: mix(a.pose.roll, b.pose.roll) },
  };
}

function meshBounds(mesh: Float32Array): Box {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < 468; i++) {
    const x = mesh[i * 3], y = mesh[i * 3 + 1];
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** The face moved by (dx, dy) pixels (a detection in a crop, back in the whole picture's pixels). */
export function shiftFace(f: Face, dx: number, dy: number): Face {
  const mesh = new Float32Array(f.mesh.length);
  for (let i = 0; i < f.mesh.length; i += 3) {
    mesh[i] = f.mesh[i] + dx;
    mesh[i + 1] = f.mesh[i + 1] + dy;
    mesh[i + 2] = f.mesh[i + 2];
  }
  return { ...f, mesh, box: { ...f.box, x: f.box.x + dx, y: f.box.y + dy } };
}

/** A square crop (clamped to the picture) around a box, or null when it would be (nearly) the whole picture. */
function squareCrop(image: RawImage, box: Box, margin: number): { image: RawImage; x: number; y: number } | null {
  const side = Math.round(Math.max(box.width, box.height) * margin);
  const w = Math.min(side, image.width);
  const h = Math.min(side, image.height);
  if (w * h > 0.7 * image.width * image.height || w < 32 || h < 32) return null;
  const x = Math.max(0, Math.min(image.width - w, Math.round(box.x + box.width / 2 - w / 2)));
  const y = Math.max(0, Math.min(image.height - h, Math.round(box.y + box.height / 2 - h / 2)));
  const c = image.channels;
  const data = Buffer.alloc(w * h * c);
  for (let r = 0; r < h; r++) image.data.copy(data, r * w * c, ((y + r) * image.width + x) * c, ((y + r) * image.width + x + w) * c);
  return { image: { width: w, height: h, channels: c, data }, x, y };
}

/** 32x18 mean grey levels of a picture (box average). */
export function thumbnail(image: RawImage): Float32Array {
  const { width, height, channels, data } = image;
  const out = new Float32Array(THUMB_W * THUMB_H);
  const counts = new Float32Array(THUMB_W * THUMB_H);
  const step = Math.max(1, Math.floor(Math.min(width, height) / 90));
  for (let y = 0; y < height; y += step) {
    const ty = Math.min(THUMB_H - 1, Math.floor((y * THUMB_H) / height));
    for (let x = 0; x < width; x += step) {
      const tx = Math.min(THUMB_W - 1, Math.floor((x * THUMB_W) / width));
      const p = (y * width + x) * channels;
      out[ty * THUMB_W + tx] += 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2];
      counts[ty * THUMB_W + tx]++;
    }
  }
  for (let k = 0; k < out.length; k++) out[k] /= Math.max(1, counts[k]);
  return out;
}

export function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += Math.abs(a[k] - b[k]);
  return s / a.length;
}


// ---- optical flow: pyramidal Lucas-Kanade on the rigid points of the face ----

/** A 2D affine map: x' = a x + b y + c, y' = d x + e y + f. */
export type Affine = [number, number, number, number, number, number];

/** Grey picture (or a region of one), one float per pixel; pixel (0, 0) is pixel (ox, oy) of its pyramid level. */
export interface Gray {
  width: number;
  height: number;
  data: Float32Array;
  ox: number;
  oy: number;
  /** This level is 1 / 2^shift of the full picture's size. */
  shift: number;
}

/** Mesh points that move with the head, not with the mouth or the lids: the flow follows these. */
export const RIGID_POINTS: readonly number[] = [
  33, 133, 362, 263, // eye corners
  70, 63, 105, 66, 107, 336, 296, 334, 293, 300, // brows
  168, 6, 197, 195, 5, 4, 1, 98, 327, // nose
  10, 109, 338, 151, 9, // forehead
  127, 356, 116, 345, 50, 280, // temples, cheekbones
];

function rigidPoints(mesh: Float32Array): Float32Array {
  const out = new Float32Array(RIGID_POINTS.length * 2);
  RIGID_POINTS.forEach((v, k) => {
    out[k * 2] = mesh[v * 3];
    out[k * 2 + 1] = mesh[v * 3 + 1];
  });
  return out;
}

/**
 * Luma of a picture (of the region `around`, when given), at 1 / 2^baseShift of its size
 * (means of 2^baseShift squares), and `levels - 1` further half-size levels. The region's origin is a multiple of
 * 2^(baseShift + levels - 1), so every level's origin is a whole pixel.
 */
export function grayPyramid(image: RawImage, levels: number, around?: Box, baseShift = 0): Gray[] {
  const { channels, data } = image;
  const step = 1 << baseShift;
  const align = 1 << (baseShift + levels - 1);
  let x0 = 0, y0 = 0, x1 = image.width, y1 = image.height;
  if (around) {
    x0 = Math.max(0, Math.floor(around.x / align) * align);
    y0 = Math.max(0, Math.floor(around.y / align) * align);
    x1 = Math.min(image.width, Math.ceil(around.x + around.width));
    y1 = Math.min(image.height, Math.ceil(around.y + around.height));
    if (x1 - x0 < 16 * step || y1 - y0 < 16 * step) {
      x0 = 0; y0 = 0; x1 = image.width; y1 = image.height;
    }
  }
  const width = Math.floor((x1 - x0) / step), height = Math.floor((y1 - y0) / step);
  const g = new Float32Array(width * height);
  const norm = 1 / (step * step);
  for (let y = 0; y < height; y++) {
    const o = y * width;
    for (let sy = 0; sy < step; sy++) {
      let p = ((y0 + y * step + sy) * image.width + x0) * channels;
      for (let x = 0; x < width; x++) {
        let acc = 0;
        for (let sx = 0; sx < step; sx++, p += channels) acc += 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2];
        g[o + x] += acc * norm;
      }
    }
  }
  const out: Gray[] = [{ width, height, data: g, ox: x0 >> baseShift, oy: y0 >> baseShift, shift: baseShift }];
  for (let l = 1; l < levels; l++) {
    const s = out[l - 1];
    const w = s.width >> 1, h = s.height >> 1;
    if (w < 8 || h < 8) break;
    const d = new Float32Array(w * h);
    for (let y = 0; y < h; y++) {
      const r0 = 2 * y * s.width, r1 = r0 + s.width;
      for (let x = 0; x < w; x++) d[y * w + x] = 0.25 * (s.data[r0 + 2 * x] + s.data[r0 + 2 * x + 1] + s.data[r1 + 2 * x] + s.data[r1 + 2 * x + 1]);
    }
    out.push({ width: w, height: h, data: d, ox: s.ox >> 1, oy: s.oy >> 1, shift: s.shift + 1 });
  }
  return out;
}

/** The region the flow reads: the points' bounds grown by 20% of the face size plus 16 px (motion, LK windows). */
function flowRegion(points: Float32Array, box: Box): Box {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let k = 0; k < points.length; k += 2) {
    x0 = Math.min(x0, points[k]); x1 = Math.max(x1, points[k]);
    y0 = Math.min(y0, points[k + 1]); y1 = Math.max(y1, points[k + 1]);
  }
  const m = 0.2 * Math.max(box.width, box.height) + 16;
  return { x: x0 - m, y: y0 - m, width: x1 - x0 + 2 * m, height: y1 - y0 + 2 * m };
}

/** The pyramid's base scale for a face: its box about 160 px or less at level 0 (2^shift downsampling). */
export function flowShift(box: Box): number {
  return Math.max(0, Math.min(2, Math.floor(Math.log2(Math.max(box.width, box.height) / 160))));
}

function sample(g: Gray, x: number, y: number): number {
  const w = g.width, h = g.height;
  if (x < 0) x = 0; else if (x > w - 1.001) x = w - 1.001;
  if (y < 0) y = 0; else if (y > h - 1.001) y = h - 1.001;
  const ix = x | 0, iy = y | 0;
  const fx = x - ix, fy = y - iy;
  const k = iy * w + ix;
  const d = g.data;
  return (d[k] * (1 - fx) + d[k + 1] * fx) * (1 - fy) + (d[k + w] * (1 - fx) + d[k + w + 1] * fx) * fy;
}

const LK_HALF = 5;
/** Pyramid levels of the flow (the base is about 160 px a face: 2 levels follow moves up to ~20 px a frame). */
const FLOW_LEVELS = 2;
const LK_ITERATIONS = 12;

/**
 * Pyramidal Lucas-Kanade (Bouguet's formulation) of one point from `prev` to `next` (index coordinates).
 * Returns the new position, or null when the window has too little texture or the point leaves the picture.
 */
function lkPoint(prev: Gray[], next: Gray[], x: number, y: number): [number, number] | null {
  const levels = Math.min(prev.length, next.length);
  if (prev[0].shift !== next[0].shift) return null;
  const n = (2 * LK_HALF + 1) ** 2;
  const ix = new Float32Array(n), iy = new Float32Array(n), iv = new Float32Array(n);
  const grid = new Float32Array((2 * LK_HALF + 3) ** 2);
  let gx = 0, gy = 0; // guess at the current level
  for (let l = levels - 1; l >= 0; l--) {
    const P = prev[l], N = next[l];
    const scale = 1 / (1 << P.shift);
    // This level's index coordinates, local to each pyramid's region.
    const px = (x + 0.5) * scale - 0.5 - P.ox, py = (y + 0.5) * scale - 0.5 - P.oy;
    const nx0 = px + P.ox - N.ox, ny0 = py + P.oy - N.oy;
    // The window and a 1-pixel border sampled once; gradients by central differences on that grid.
    const side = 2 * LK_HALF + 3;
    for (let gy2 = 0; gy2 < side; gy2++) {
      for (let gx2 = 0; gx2 < side; gx2++) grid[gy2 * side + gx2] = sample(P, px + gx2 - LK_HALF - 1, py + gy2 - LK_HALF - 1);
    }
    let gxx = 0, gxy = 0, gyy = 0, k = 0;
    for (let dy = 1; dy < side - 1; dy++) {
      for (let dx = 1; dx < side - 1; dx++, k++) {
        const c = dy * side + dx;
        const a = (grid[c + 1] - grid[c - 1]) * 0.5;
        const b = (grid[c + side] - grid[c - side]) * 0.5;
        ix[k] = a; iy[k] = b; iv[k] = grid[c];
        gxx += a * a; gxy += a * b; gyy += b * b;
      }
    }
    const det = gxx * gyy - gxy * gxy;
    const minEig = 0.5 * (gxx + gyy - Math.sqrt((gxx - gyy) ** 2 + 4 * gxy * gxy)) / n;
    if (det < 1e-6 || minEig < 0.05) return null;
    let vx = 0, vy = 0;
    for (let it = 0; it < LK_ITERATIONS; it++) {
      let bx = 0, by = 0;
      k = 0;
      for (let dy = -LK_HALF; dy <= LK_HALF; dy++) {
        for (let dx = -LK_HALF; dx <= LK_HALF; dx++, k++) {
          const diff = iv[k] - sample(N, nx0 + dx + gx + vx, ny0 + dy + gy + vy);
          bx += diff * ix[k];
          by += diff * iy[k];
        }
      }
      const ux = (gyy * bx - gxy * by) / det, uy = (gxx * by - gxy * bx) / det;
      vx += ux;
      vy += uy;
      if (ux * ux + uy * uy < 1e-4) break;
    }
    if (l > 0) {
      gx = 2 * (gx + vx);
      gy = 2 * (gy + vy);
    } else {
      gx += vx;
      gy += vy;
    }
  }
  const nx = x + gx * (1 << prev[0].shift), ny = y + gy * (1 << prev[0].shift);
  const g0 = next[0];
  const inside = (g: Gray, px: number, py: number) => {
    const k = 1 << g.shift;
    return px >= g.ox * k && py >= g.oy * k && px <= (g.ox + g.width - 1) * k && py <= (g.oy + g.height - 1) * k;
  };
  if (!inside(g0, nx, ny) || !inside(prev[0], x, y)) return null;
  return [nx, ny];
}

/**
 * Follows points (x, y pairs, continuous pixel coordinates) from one frame to the next and fits the affine motion
 * of the ones that moved consistently (outliers beyond max(1.5 px, 3x the median residual) dropped, refitted).
 * motion null: fewer than 8 points followed.
 */
export function trackPoints(prev: Gray[], next: Gray[], points: Float32Array): { motion: Affine | null; followed: number } {
  const src: number[] = [];
  const dst: number[] = [];
  for (let k = 0; k < points.length; k += 2) {
    const r = lkPoint(prev, next, points[k] - 0.5, points[k + 1] - 0.5);
    if (!r) continue;
    src.push(points[k], points[k + 1]);
    dst.push(r[0] + 0.5, r[1] + 0.5);
  }
  let keep = src.length / 2;
  if (keep < 8) return { motion: null, followed: keep };
  let motion = fitAffinePairs(src, dst, null);
  if (!motion) return { motion: null, followed: keep };
  const res = residuals(motion, src, dst);
  const sorted = [...res].sort((a, b) => a - b);
  const limit = Math.max(1.5, 3 * sorted[sorted.length >> 1]);
  const mask = res.map((r) => r <= limit);
  keep = mask.filter(Boolean).length;
  if (keep < 8) return { motion: null, followed: keep };
  motion = fitAffinePairs(src, dst, mask);
  return { motion, followed: keep };
}

function residuals(m: Affine, src: number[], dst: number[]): number[] {
  const out: number[] = [];
  for (let k = 0; k < src.length; k += 2) {
    const x = m[0] * src[k] + m[1] * src[k + 1] + m[2];
    const y = m[3] * src[k] + m[4] * src[k + 1] + m[5];
    out.push(Math.hypot(x - dst[k], y - dst[k + 1]));
  }
  return out;
}

/** Least-squares affine map src → dst (x, y pairs), over the pairs where mask is true (all when null). */
function fitAffinePairs(src: number[], dst: number[], mask: boolean[] | null): Affine | null {
  // Centred for conditioning.
  let cx = 0, cy = 0, n = 0;
  for (let k = 0; k < src.length; k += 2) {
    if (mask && !mask[k >> 1]) continue;
    cx += src[k]; cy += src[k + 1]; n++;
  }
  if (n < 3) return null;
  cx /= n; cy /= n;
  let sxx = 0, sxy = 0, syy = 0, tx = 0, ty = 0, txx = 0, txy = 0, tyx = 0, tyy = 0;
  for (let k = 0; k < src.length; k += 2) {
    if (mask && !mask[k >> 1]) continue;
    const x = src[k] - cx, y = src[k + 1] - cy;
    const X = dst[k], Y = dst[k + 1];
    sxx += x * x; sxy += x * y; syy += y * y;
    tx += X; ty += Y;
    txx += X * x; txy += X * y; tyx += Y * x; tyy += Y * y;
  }
  const det = sxx * syy - sxy * sxy;
  if (Math.abs(det) < 1e-9) return null;
  // With centred x, y: [a b] = [txx txy] * inv([[sxx sxy][sxy syy]]), c = mean(X) - (a, b) . (cx, cy) shifted back.
  const a = (txx * syy - txy * sxy) / det, b = (txy * sxx - txx * sxy) / det;
  const d = (tyx * syy - tyy * sxy) / det, e = (tyy * sxx - tyx * sxy) / det;
  const c = tx / n - a * cx - b * cy;
  const f = ty / n - d * cx - e * cy;
  return [a, b, c, d, e, f];
}

function applyAffineToPoints(m: Affine, pts: Float32Array): Float32Array {
  const out = new Float32Array(pts.length);
  for (let k = 0; k < pts.length; k += 2) {
    out[k] = m[0] * pts[k] + m[1] * pts[k + 1] + m[2];
    out[k + 1] = m[3] * pts[k] + m[4] * pts[k + 1] + m[5];
  }
  return out;
}

function applyAffineToMesh(m: Affine, mesh: Float32Array): Float32Array {
  const out = new Float32Array(mesh.length);
  for (let k = 0; k < mesh.length; k += 3) {
    out[k] = m[0] * mesh[k] + m[1] * mesh[k + 1] + m[2];
    out[k + 1] = m[3] * mesh[k] + m[4] * mesh[k + 1] + m[5];
    out[k + 2] = mesh[k + 2];
  }
  return out;
}
