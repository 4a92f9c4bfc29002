/**
 * Face analysis: the 478-point MediaPipe face mesh (468 + 10 iris points), box and head pose of every face in
 * a picture, with @vladmandic/human on the tfjs WASM backend.
 *
 * Two passes: the first finds the faces on the whole picture; human rounds mesh points to whole pixels of the
 * picture it analyses, so the second pass re-runs detector + mesh on a square crop around each face, resampled
 * to `refineSize` pixels, and maps the points back with sub-pixel precision.
 *
 * @example
 *   const analyzer = await createFaceAnalyzer();          // once per process: loads the models
 *   const faces = await analyzer.detect(image);            // largest face first
 */
import { CancelledError, InputError } from "../errors.js";
import type { RawImage } from "../media/types.js";
import { FACE_TRIANGLES, FACE_UV } from "./topology.js";
import type { Box, Face } from "./types.js";
import {
  humanModelsDir,
  loadHumanModule,
  registerDiskModels,
  tfjsWasmDir,
  type HumanFaceResult,
  type HumanInstance,
  type TfTensor,
} from "./human-loader.js";

export interface FaceAnalyzerOptions {
  /** Most faces reported per picture. Default 10. */
  maxFaces?: number;
  /**
   * Lowest face-detector confidence (0..1) for a face to count. Default 0.4: on the face-api sample photos and
   * the portraits, real faces (including a ~40 degree profile) score 0.53..0.92 and false finds 0.06..0.18.
   */
  minConfidence?: number;
  /** Re-run the mesh on an upscaled crop of each face for sub-pixel landmarks. Default true. */
  refine?: boolean;
  /** Smallest side in pixels of the square crops the refinement pass analyses (upscaled). Default 512. */
  refineSize?: number;
  /**
   * One refinement crop per entry, its side relative to the larger side of the face's mesh bounds; the
   * crops' meshes are averaged. Default [1.6, 1.9, 2.2].
   */
  refineMargins?: number[];
  /** Debug messages (model loading, timings). */
  log?: (message: string) => void;
}

export interface DetectOptions {
  signal?: AbortSignal;
}

export interface FaceAnalyzer {
  /**
   * Every face in the picture, largest (box area) first. Mesh x/y are pixels of `image` (continuous: 0 is
   * the left/top edge of the first pixel), z is depth in roughly the same pixel scale (smaller = nearer).
   */
  detect(image: RawImage, options?: DetectOptions): Promise<Face[]>;
  /** The mesh's triangles (TRI468), indices into the first 468 mesh points. */
  readonly triangles: Uint16Array;
  /** Canonical frontal layout of the 468 points, [u0, v0, ...] in [0, 1]. */
  readonly uv: Float32Array;
  /** Versions of human and tfjs, and the tfjs backend in use. */
  readonly info: { human: string; tfjs: string; backend: string };
}

const MESH_POINTS = 478;

/** Loads human and its face models (detector, mesh, iris) once; the returned analyzer is reused for every picture. */
export async function createFaceAnalyzer(options: FaceAnalyzerOptions = {}): Promise<FaceAnalyzer> {
  const maxFaces = options.maxFaces ?? 10;
  const minConfidence = options.minConfidence ?? 0.4;
  const refine = options.refine ?? true;
  const refineSize = Math.round(options.refineSize ?? 512);
  const refineMargins = options.refineMargins ?? [1.6, 1.9, 2.2];
  const log = options.log ?? (() => {});

  const { Human } = loadHumanModule();
  const modelsDir = humanModelsDir();
  const human = new Human({
    backend: "wasm",
    wasmPath: tfjsWasmDir(),
    wasmPlatformFetch: false,
    modelBasePath: modelsDir + "/",
    debug: false,
    async: true,
    warmup: "none",
    cacheModels: false,
    cacheSensitivity: 0,
    skipAllowed: false,
    filter: { enabled: false },
    gesture: { enabled: false },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    segmentation: { enabled: false },
    face: {
      enabled: true,
      detector: {
        enabled: true,
        rotation: false, // true gives a badly rotated mesh on real photos
        maxDetected: maxFaces,
        // human applies this to both the detector's and the mesh's score; the mesh score of real profile faces
        // can be low (0.35), so let them through and filter on the detector's score below.
        minConfidence: Math.min(minConfidence, 0.2),
        skipFrames: 0,
        skipTime: 0,
        return: false,
      },
      mesh: { enabled: true, keepInvalid: false },
      iris: { enabled: true },
      attention: { enabled: false },
      description: { enabled: false },
      emotion: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
      gear: { enabled: false },
    },
  });
  const tf = human.tf;
  registerDiskModels(tf, modelsDir);
  const started = Date.now();
  await human.init();
  await human.load();
  const loaded = Object.entries(human.models.models).filter(([, m]) => m).map(([name]) => name);
  for (const name of ["blazeface", "facemesh", "iris"]) {
    if (!loaded.includes(name)) throw new Error(`face analysis: model ${name} did not load (loaded: ${loaded.join(", ")})`);
  }
  log(`face models ${loaded.join(", ")} loaded in ${Date.now() - started} ms on tfjs ${tf.getBackend()}`);

  // human keeps per-instance state between calls: run one picture at a time.
  let queue: Promise<unknown> = Promise.resolve();

  async function run(image: RawImage, signal: AbortSignal | undefined): Promise<Face[]> {
    if (signal?.aborted) throw new CancelledError();
    const input = toTensor(human, image);
    try {
      const t0 = Date.now();
      const first = await human.detect(input);
      if (first.error) throw new Error(`face analysis failed: ${first.error}`);
      let faces = first.face
        .filter((f) => f.mesh.length >= MESH_POINTS && f.boxScore >= minConfidence)
        .map((f) => toFace(f, 0, 0, 1))
        .sort((a, b) => b.score - a.score);
      const t1 = Date.now();
      if (refine) {
        const refined: Face[] = [];
        for (const face of faces) {
          if (signal?.aborted) throw new CancelledError();
          refined.push((await refineFace(input, image, face)) ?? face);
        }
        faces = dropDuplicates(refined);
      }
      log(
        `face analysis ${image.width}x${image.height}: ${faces.length} face(s) ` +
          `(first pass scores ${first.face.map((f) => `${f.boxScore.toFixed(2)}/${f.faceScore.toFixed(2)}`).join(" ")}), ` +
          `${t1 - t0} ms + refine ${Date.now() - t1} ms`,
      );
      return faces.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
    } finally {
      input.dispose();
    }
  }

  /**
   * Mesh on square crops around `face` (one per margin in `refineMargins`), each resampled to at least
   * refineSize pixels, mapped back into the picture and averaged. Null when no crop finds the face again.
   */
  async function refineFace(input: TfTensor, image: RawImage, face: Face): Promise<Face | null> {
    const found: Face[] = [];
    for (const margin of refineMargins) {
      const f = await meshOnCrop(input, image, face, margin);
      if (f) found.push(f);
    }
    return found.length ? { ...averageFaces(found), score: face.score } : null;
  }

  async function meshOnCrop(input: TfTensor, image: RawImage, face: Face, margin: number): Promise<Face | null> {
    const size = Math.max(face.box.width, face.box.height);
    const side = size * margin;
    const out = Math.min(Math.max(refineSize, Math.ceil(side)), Math.max(refineSize, 1024));
    const step = side / out;
    const cx = face.box.x + face.box.width / 2;
    const cy = face.box.y + face.box.height / 2;
    const x0 = cx - side / 2;
    const y0 = cy - side / 2;
    // cropAndResize samples source pixel index a*(W-1) + c*(b-a)*(W-1)/(out-1) for output pixel c. Pick a, b so
    // that output pixel c (continuous centre c+0.5) samples the source point x0 + (c+0.5)*step, whose pixel
    // index is that minus 0.5; then a point u of the crop is x0 + u*step in the picture.
    const sx0 = x0 + step / 2 - 0.5;
    const sy0 = y0 + step / 2 - 0.5;
    const sx1 = sx0 + (out - 1) * step;
    const sy1 = sy0 + (out - 1) * step;
    const W = image.width - 1 || 1;
    const H = image.height - 1 || 1;
    const batch = tf.tidy(() =>
      tf.image.cropAndResize(tf.expandDims(input, 0), [[sy0 / H, sx0 / W, sy1 / H, sx1 / W]], [0], [out, out], "bilinear"),
    );
    try {
      const result = await human.detect(batch);
      if (result.error) throw new Error(`face analysis failed: ${result.error}`);
      let best: Face | null = null;
      let bestDist = Infinity;
      for (const f of result.face) {
        if (f.mesh.length < MESH_POINTS) continue;
        const candidate = toFace(f, x0, y0, step);
        const d = Math.hypot(
          candidate.box.x + candidate.box.width / 2 - cx,
          candidate.box.y + candidate.box.height / 2 - cy,
        );
        if (d < bestDist) {
          best = candidate;
          bestDist = d;
        }
      }
      // The crop must have found the same face, not a neighbour or a better view of a face it only grazed.
      return best && bestDist <= size * 0.25 && iou(best.box, face.box) > 0.5 ? best : null;
    } finally {
      batch.dispose();
    }
  }

  return {
    triangles: FACE_TRIANGLES,
    uv: FACE_UV,
    info: { human: human.version, tfjs: tf.version["tfjs-core"] ?? "", backend: tf.getBackend() },
    detect(image, detectOptions = {}) {
      try {
        validateImage(image);
      } catch (error) {
        return Promise.reject(error);
      }
      const next = queue.then(() => run(image, detectOptions.signal));
      queue = next.catch(() => {});
      return next;
    },
  };
}

/**
 * Two first-pass detections of one face (the detector's boxes overlapping loosely) refine to the same mesh:
 * keep the first (higher-scored) of any pair whose boxes overlap by more than half.
 */
function dropDuplicates(faces: Face[]): Face[] {
  const kept: Face[] = [];
  for (const f of faces) if (!kept.some((k) => iou(k.box, f.box) > 0.5)) kept.push(f);
  return kept;
}

function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Mean mesh, box, score and pose of several analyses of one face. */
function averageFaces(faces: Face[]): Face {
  if (faces.length === 1) return faces[0];
  const n = faces.length;
  const mesh = new Float32Array(MESH_POINTS * 3);
  for (const f of faces) for (let i = 0; i < mesh.length; i++) mesh[i] += f.mesh[i] / n;
  const mean = (get: (f: Face) => number) => faces.reduce((s, f) => s + get(f), 0) / n;
  return {
    mesh,
    box: meshBounds(mesh),
    score: faces[0].score,
    pose: { yaw: mean((f) => f.pose.yaw), pitch: mean((f) => f.pose.pitch), roll: mean((f) => f.pose.roll) },
  };
}

/** Bounds of the 468 face points (the iris points lie inside them). */
function meshBounds(mesh: Float32Array): Box {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < 468; i++) {
    const x = mesh[i * 3];
    const y = mesh[i * 3 + 1];
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return { x: minX, y: minY, width: maxX - minX, height: maxY - minY };
}

function validateImage(image: RawImage): void {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 8 || height < 8) {
    throw InputError.field("image", `the picture is ${width}x${height} pixels; it must be at least 8x8`);
  }
  if (channels !== 3 && channels !== 4) {
    throw InputError.field("image", `the picture has ${channels} channels; decode it to RGB or RGBA`);
  }
  if (data.length !== width * height * channels) {
    throw InputError.field("image", `the pixel buffer holds ${data.length} bytes, expected ${width * height * channels}`);
  }
}

/** RGB(A) bytes to an int32 [H, W, 3] tensor (alpha dropped). */
function toTensor(human: HumanInstance, image: RawImage): TfTensor {
  const { width, height, channels, data } = image;
  const rgb = new Int32Array(width * height * 3);
  if (channels === 3) {
    rgb.set(data);
  } else {
    for (let p = 0, q = 0; q < rgb.length; p += 4, q += 3) {
      rgb[q] = data[p];
      rgb[q + 1] = data[p + 1];
      rgb[q + 2] = data[p + 2];
    }
  }
  return human.tf.tensor3d(rgb, [height, width, 3], "int32");
}

/** human's face result, whose points are pixels of an analysed picture placed at (x0, y0) with pixel size `scale`. */
function toFace(f: HumanFaceResult, x0: number, y0: number, scale: number): Face {
  const mesh = new Float32Array(MESH_POINTS * 3);
  for (let i = 0; i < MESH_POINTS; i++) {
    const p = f.mesh[i];
    mesh[i * 3] = x0 + p[0] * scale;
    mesh[i * 3 + 1] = y0 + p[1] * scale;
    mesh[i * 3 + 2] = (p[2] ?? 0) * scale;
  }
  const angle = f.rotation?.angle;
  return {
    box: meshBounds(mesh),
    score: f.boxScore,
    mesh,
    pose: { yaw: angle?.yaw ?? 0, pitch: angle?.pitch ?? 0, roll: angle?.roll ?? 0 },
  };
}
