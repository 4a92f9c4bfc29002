/**
 * Per-frame face tracking for video: one face (the largest at the start of each shot) followed through the frames.
 *
 * The mesh detector is slow (a few hundred ms a call on the WASM backend), so it runs on key frames only: the
 * first frame, every `keyInterval` frames, the last frame of a shot and the first of the next at a cut (the frame's 32x18 grey thumbnail differs from
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
import type { Box, Face } from "./types.js";

/** What the tracker needs of a face detector (src/face's FaceAnalyzer and the pipeline's FaceDetector fit it). */
export interface TrackDetector {
  detect(image: RawImage, options?: { signal?: AbortSignal }): Promise<Face[]>;
}

export interface TrackOptions {
  /** Frames between two detections inside a shot. Default 8. */
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
  /** Wall time spent in the detector (ms). */
  detectMs = 0;

  constructor(private readonly detector: TrackDetector, options: TrackOptions = {}) {
    this.keyInterval = Math.max(1, Math.round(options.keyInterval ?? 8));
    this.cutThreshold = options.cutThreshold ?? 28;
    this.fps = options.fps ?? 25;
    this.filter = { minCutoff: options.minCutoff ?? 1.0, beta: options.beta ?? 0.02, dCutoff: options.dCutoff ?? 1.0 };
    this.cropMargin = options.cropMargin ?? 2.2;
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
    const isKey = cut || i === 0 || i - this.lastKey >= this.keyInterval;
    if (isKey) await this.key(i, image, options.signal);
    this.segmentOf.push(this.segment);
    this.prevImage = image;
    this.prevWasKey = isKey;
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
      const smoothed = smoothMeshes(withFace.map((k) => (k.face as Face).mesh), withFace.map((k) => k.index / this.fps), this.filter);
      const seg = keys[0].segment;
      // The segment's frames: from its first key to the frame before the next segment starts.
      const first = keys[0].index;
      let last = first;
      while (last + 1 < n && this.segmentOf[last + 1] === seg) last++;
      for (let j = 0; j < withFace.length; j++) {
        const a = withFace[j];
        const meshA = smoothed[j];
        const next = j + 1 < withFace.length ? withFace[j + 1] : null;
        const end = next ? next.index : last + 1;
        for (let f = j === 0 ? first : a.index; f < end; f++) {
          if (!next) {
            faces[f] = makeFace(meshA, a.face as Face, a.face as Face, 0);
            continue;
          }
          const t = (f - a.index) / (next.index - a.index);
          faces[f] = makeFace(lerpMesh(meshA, smoothed[j + 1], Math.max(0, t)), a.face as Face, next.face as Face, Math.max(0, t));
        }
        if (next) faces[next.index] = makeFace(smoothed[j + 1], next.face as Face, next.face as Face, 0);
      }
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

function lerpMesh(a: Float32Array, b: Float32Array, t: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let k = 0; k < a.length; k++) out[k] = a[k] + (b[k] - a[k]) * t;
  return out;
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

function shiftFace(f: Face, dx: number, dy: number): Face {
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

function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}
