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
import { centroid, iou, LEFT_EYE_LOWER, LEFT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER } from "./landmarks.js";
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
  /** Also look for faces in square tiles of a wide (or tall) picture. Default true. */
  tiles?: boolean;
  /** Re-run the mesh on upscaled crops of each face for sub-pixel landmarks. Default true. */
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
  /**
   * This call only: skip the tiles and the refinement pass (one detector + mesh pass, ~5x faster, whole-pixel
   * points). For trackers that correct each detection with optical flow and smoothing.
   */
  fast?: boolean;
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
  const tiles = options.tiles ?? true;
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

  async function run(image: RawImage, signal: AbortSignal | undefined, fast = false): Promise<Face[]> {
    if (signal?.aborted) throw new CancelledError();
    const input = toTensor(human, image);
    try {
      const t0 = Date.now();
      // First pass: the whole picture, and square tiles of a wide or tall one (the detector, made for faces
      // that fill much of its square input, misses some faces of a group on the squeezed whole picture).
      const found: Face[] = [];
      const scores: string[] = [];
      for (const view of firstPassViews(image.width, image.height, tiles && !fast)) {
        if (signal?.aborted) throw new CancelledError();
        const whole = view.width === image.width && view.height === image.height;
        const part = whole ? input : tf.slice(input, [view.y, view.x, 0], [view.height, view.width, 3]);
        try {
          const result = await human.detect(part);
          if (result.error) throw new Error(`face analysis failed: ${result.error}`);
          for (const f of result.face) {
            scores.push(f.boxScore.toFixed(2));
            if (f.mesh.length >= MESH_POINTS && f.boxScore >= minConfidence) {
              found.push(toFace(f, { ox: view.x, oy: view.y, step: 1, cos: 1, sin: 0 }));
            }
          }
        } finally {
          if (!whole) part.dispose();
        }
      }
      let faces = dropDuplicates(found.sort((a, b) => b.score - a.score), 0.3);
      const t1 = Date.now();
      if (refine && !fast) {
        const refined: Face[] = [];
        for (const face of faces) {
          if (signal?.aborted) throw new CancelledError();
          refined.push((await refineFace(input, face)) ?? face);
        }
        faces = dropDuplicates(refined, 0.5);
      }
      log(
        `face analysis ${image.width}x${image.height}: ${faces.length} face(s) (first pass scores ${scores.join(" ")}), ` +
          `${t1 - t0} ms + refine ${Date.now() - t1} ms`,
      );
      return faces.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
    } finally {
      input.dispose();
    }
  }

  /**
   * Mesh on square crops around `face` (one per margin in `refineMargins`), each resampled to at least
   * refineSize pixels and turned so that the eyes are level (human's own rotation option misplaces the mesh,
   * and with it off, the mesh model under-rotates tilted faces), mapped back into the picture and averaged.
   * Null when no crop finds the face again.
   */
  async function refineFace(input: TfTensor, face: Face): Promise<Face | null> {
    const found: Face[] = [];
    let angle = eyeLineAngle(face.mesh);
    for (const margin of refineMargins) {
      const f = await meshOnCrop(input, face, margin, angle);
      if (!f) continue;
      found.push(f);
      angle = eyeLineAngle(f.mesh); // each crop sees the face more upright than the last
    }
    return found.length ? { ...averageFaces(found), score: face.score } : null;
  }

  async function meshOnCrop(input: TfTensor, face: Face, margin: number, angle: number): Promise<Face | null> {
    const size = Math.max(face.box.width, face.box.height);
    const side = size * margin;
    const out = Math.min(Math.max(refineSize, Math.ceil(side)), Math.max(refineSize, 1024));
    const step = side / out;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const cx = face.box.x + face.box.width / 2;
    const cy = face.box.y + face.box.height / 2;
    // The crop's frame: a point u (continuous crop pixels) is origin + step * R(angle) u in the picture.
    const frame: CropFrame = {
      ox: cx - step * (cos * out / 2 - sin * out / 2),
      oy: cy - step * (sin * out / 2 + cos * out / 2),
      step,
      cos,
      sin,
    };
    // tf.image.transform maps output pixel index (x, y) to input pixel index (a0 x + a1 y + a2, b0 x + b1 y + b2);
    // pixel index i has its centre at continuous coordinate i + 0.5.
    const a0 = step * cos;
    const a1 = -step * sin;
    const b0 = step * sin;
    const b1 = step * cos;
    const a2 = frame.ox + 0.5 * (a0 + a1) - 0.5;
    const b2 = frame.oy + 0.5 * (b0 + b1) - 0.5;
    const batch = tf.tidy(() =>
      tf.image.transform(
        tf.cast(tf.expandDims(input, 0), "float32"),
        [[a0, a1, a2, b0, b1, b2, 0, 0]],
        "bilinear",
        "constant",
        0,
        [out, out],
      ),
    );
    try {
      const result = await human.detect(batch);
      if (result.error) throw new Error(`face analysis failed: ${result.error}`);
      let best: Face | null = null;
      let bestDist = Infinity;
      for (const f of result.face) {
        if (f.mesh.length < MESH_POINTS) continue;
        const candidate = toFace(f, frame);
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
      const next = queue.then(() => run(image, detectOptions.signal, detectOptions.fast));
      queue = next.catch(() => {});
      return next;
    },
  };
}

/** Keeps the first (higher-scored) of any faces whose boxes overlap more than `maxIou` (one face found twice). */
function dropDuplicates(faces: Face[], maxIou: number): Face[] {
  const kept: Face[] = [];
  for (const f of faces) if (!kept.some((k) => iou(k.box, f.box) > maxIou)) kept.push(f);
  return kept;
}

/**
 * The whole picture, plus, when one side is over 1.2 times the other, square tiles as large as the short side
 * along the long side (three, overlapping, for 16:9: any face narrower than 0.6 of the height is whole in one).
 */
export function firstPassViews(width: number, height: number, tiles: boolean): { x: number; y: number; width: number; height: number }[] {
  const views = [{ x: 0, y: 0, width, height }];
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  if (!tiles || long <= short * 1.2) return views;
  const count = Math.ceil((long - short) / (short * 0.5)) + 1;
  for (let i = 0; i < count; i++) {
    const offset = Math.round(((long - short) * i) / (count - 1));
    views.push(width >= height ? { x: offset, y: 0, width: short, height: short } : { x: 0, y: offset, width: short, height: short });
  }
  return views;
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

/** Where an analysed picture sits in the original: point u of it is (ox, oy) + step * R u, R a rotation. */
interface CropFrame {
  ox: number;
  oy: number;
  step: number;
  cos: number;
  sin: number;
}

const IDENTITY: CropFrame = { ox: 0, oy: 0, step: 1, cos: 1, sin: 0 };

/** human's face result on an analysed picture, mapped into the original picture through `frame`. */
function toFace(f: HumanFaceResult, frame: CropFrame): Face {
  const { ox, oy, step, cos, sin } = frame;
  const mesh = new Float32Array(MESH_POINTS * 3);
  for (let i = 0; i < MESH_POINTS; i++) {
    const [u, v, z] = f.mesh[i];
    mesh[i * 3] = ox + step * (cos * u - sin * v);
    mesh[i * 3 + 1] = oy + step * (sin * u + cos * v);
    mesh[i * 3 + 2] = (z ?? 0) * step;
  }
  const angle = f.rotation?.angle;
  return {
    box: meshBounds(mesh),
    score: f.boxScore,
    mesh,
    // human's roll grows clockwise (in the picture), like the crop's turn.
    pose: { yaw: angle?.yaw ?? 0, pitch: angle?.pitch ?? 0, roll: (angle?.roll ?? 0) + Math.atan2(sin, cos) },
  };
}

/** Angle of the line from the image-left eye to the image-right eye (radians, clockwise in the picture). */
function eyeLineAngle(mesh: Float32Array): number {
  const a = centroid(mesh, [...RIGHT_EYE_UPPER, ...RIGHT_EYE_LOWER]);
  const b = centroid(mesh, [...LEFT_EYE_UPPER, ...LEFT_EYE_LOWER]);
  return Math.atan2(b.y - a.y, b.x - a.x);
}
