/**
 * Loading @vladmandic/human (and through it tfjs with the WASM backend) from its npm package, with its models
 * read from disk. Two quirks of the package are handled here:
 * - its package.json "exports" map does not expose dist/human.node-wasm.js, so the file is required by path;
 * - it loads models with fetch(), which cannot read files in Node, so a tfjs IO router serves model URLs
 *   under the package's own models folder from disk.
 */
import fs from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

/** The parts of tfjs-core this stage uses (human bundles no tfjs of its own: it shares node_modules' copy). */
export interface Tf {
  version: Record<string, string>;
  getBackend(): string;
  memory(): { numTensors: number; numBytes: number };
  tidy<T>(fn: () => T): T;
  tensor3d(values: Int32Array | Float32Array | Uint8Array, shape: [number, number, number], dtype?: "int32" | "float32"): TfTensor;
  io: {
    registerLoadRouter(router: (url: string | string[]) => unknown): void;
    getLoadHandlers(url: string | string[]): unknown[];
    getModelArtifactsForJSON(
      json: unknown,
      loadWeights: (manifest: WeightsManifestGroup[]) => Promise<[unknown[], ArrayBuffer]>,
    ): Promise<unknown>;
  };
  image: {
    transform(
      image: TfTensor,
      transforms: number[][],
      interpolation?: "nearest" | "bilinear",
      fillMode?: "constant" | "reflect" | "wrap" | "nearest",
      fillValue?: number,
      outputShape?: [number, number],
    ): TfTensor;
    cropAndResize(
      image: TfTensor,
      boxes: number[][],
      boxInd: number[],
      cropSize: [number, number],
      method?: "bilinear" | "nearest",
    ): TfTensor;
  };
  expandDims(x: TfTensor, axis?: number): TfTensor;
  slice(x: TfTensor, begin: number[], size: number[]): TfTensor;
  cast(x: TfTensor, dtype: "float32" | "int32"): TfTensor;
}

export interface TfTensor {
  shape: number[];
  dtype: string;
  dispose(): void;
}

interface WeightsManifestGroup {
  paths: string[];
  weights: unknown[];
}

/** [x, y, z] in pixels of the analysed picture (z may be missing). */
export type HumanPoint = number[];

export interface HumanFaceResult {
  score: number;
  boxScore: number;
  faceScore: number;
  box: [number, number, number, number];
  mesh: HumanPoint[];
  rotation?: { angle: { roll: number; yaw: number; pitch: number } } | null;
}

export interface HumanInstance {
  version: string;
  tf: Tf;
  faceTriangulation: number[];
  faceUVMap: [number, number][];
  load(): Promise<void>;
  init(): Promise<void>;
  detect(input: TfTensor): Promise<{ face: HumanFaceResult[]; error?: string | null }>;
  models: { models: Record<string, unknown> };
}

export interface HumanModule {
  Human: new (config: Record<string, unknown>) => HumanInstance;
}

/** Folder of the package's dist files (require.resolve gives dist/human.node.js, the "node" export). */
function humanDist(): string {
  return path.dirname(require.resolve("@vladmandic/human"));
}

/** Node's module cache keeps one copy; requiring again is cheap. */
export function loadHumanModule(): HumanModule {
  return require(path.join(humanDist(), "human.node-wasm.js")) as HumanModule;
}

/** The folder with human's models (blazeface.json, facemesh.json, iris.json, ...). */
export function humanModelsDir(): string {
  return path.join(humanDist(), "..", "models");
}

/** The folder with tfjs-backend-wasm's .wasm binaries, as a plain path with a trailing slash. */
export function tfjsWasmDir(): string {
  return path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm")) + path.sep;
}

/**
 * Lets tfjs load graph models whose URL is a file under `dir` (an absolute path) straight from disk.
 * The router lives in tfjs' global IO registry; registering is skipped when one already serves `dir`.
 */
export function registerDiskModels(tf: Tf, dir: string): void {
  const root = path.resolve(dir) + path.sep;
  const probe = path.join(root, "model.json");
  if (tf.io.getLoadHandlers(probe).length > 0) return;
  tf.io.registerLoadRouter((url) => {
    if (typeof url !== "string" || !path.resolve(url).startsWith(root)) return null;
    const file = path.resolve(url);
    return {
      load: async () => {
        const json = JSON.parse(await fs.readFile(file, "utf8")) as unknown;
        return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
          const specs: unknown[] = [];
          const parts: Buffer[] = [];
          for (const group of manifest) {
            specs.push(...group.weights);
            for (const p of group.paths) parts.push(await fs.readFile(path.join(path.dirname(file), p)));
          }
          const all = Buffer.concat(parts);
          const weights = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
          return [specs, weights];
        });
      },
    };
  });
}
