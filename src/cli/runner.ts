/**
 * The production wiring of the pipeline: the real face analyzer and the speech synthesizer (each ONE per
 * process, loaded on first use) and the classical engine. The CLI's commands use `productionRunner`; tests may
 * pass another RunnerFactory.
 *
 * @example
 *   const faces = lazyFaceDetector();
 *   const speech = sharedSpeech();
 *   const createRunner = productionRunner(faces, speech);
 *   const server = await startServe({ config, logger, createRunner, speech: speech.get(config, logger) });
 *   // at shutdown: await server.close(); await speech.close();
 */
import type { FaceAnalyzer } from "../face/index.js";
import type { Config } from "../config.js";
import type { RawImage } from "../media/types.js";
import type { DetectOptions } from "../pipeline/face-detector.js";
import type { FaceDetector } from "../pipeline/index.js";
import type { JobRunner } from "../pipeline/types.js";
import { createLazySynthesizer, type Synthesizer } from "../speech/index.js";
import type { Storage } from "../storage/types.js";
import type { DetectedFaces } from "../web/plugin.js";
import type { RunnerFactory } from "./serve.js";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/** A face detector that loads the models on first use, once, and shares them between jobs. */
export function lazyFaceDetector(): FaceDetector & { analyzer(): Promise<FaceAnalyzer> } {
  let loading: Promise<FaceAnalyzer> | undefined;
  // Imported on first use: the face models' libraries (tfjs, human) take a while to load, and `serve` should
  // answer at once.
  const analyzer = () => (loading ??= import("../face/index.js").then((face) => face.createFaceAnalyzer()));
  return {
    analyzer,
    async detect(image: RawImage, options?: DetectOptions) {
      return (await analyzer()).detect(image, options);
    },
  };
}

/**
 * The same models in their fast mode (no tiles, no refinement pass) for video-to-video's tracker, which corrects
 * its key-frame detections with optical flow and smoothing: ~2x faster dubbing (docs/dubbing.md).
 */
function fastDetector(faces: FaceDetector): FaceDetector {
  return { detect: (image, options) => faces.detect(image, { ...options, fast: true }) };
}

interface SpeechLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** The process's one speech synthesizer: made by the first get() (from that config), loaded on first use. */
export interface SharedSpeech {
  /** The synthesizer (the same object on every call; the first call's config decides ElevenLabs or offline). */
  get(config: Pick<Config, "elevenLabsApiKey" | "elevenLabsBaseUrl">, logger?: SpeechLogger): Synthesizer;
  /** Releases it (Flite's WASM instance and temporary folder); call once at shutdown. */
  close(): Promise<void>;
}

export function sharedSpeech(): SharedSpeech {
  let synth: Synthesizer | undefined;
  return {
    get(config, logger) {
      synth ??= createLazySynthesizer({
        elevenLabsApiKey: config.elevenLabsApiKey,
        elevenLabsBaseUrl: config.elevenLabsBaseUrl,
        log: logger ? (message, level) => logger[level === "error" ? "error" : level === "warn" ? "warn" : "info"]({}, message) : undefined,
      });
      return synth;
    },
    async close() {
      await synth?.close();
    },
  };
}

/**
 * The real pipeline with the process's shared face detector (the playground's preview uses the same models) and
 * shared speech synthesizer (GET /voices uses the same one). Closing the synthesizer is the caller's job.
 */
export function productionRunner(faceDetector: FaceDetector = lazyFaceDetector(), speech: SharedSpeech = sharedSpeech()): RunnerFactory {
  return ({ config, storage, logger }) => {
    // The pipeline's stages (render, motion, media) load with the first job, not at start-up: `serve` answers at once.
    let loading: Promise<JobRunner> | undefined;
    const load = () =>
      (loading ??= Promise.all([import("../pipeline/index.js"), import("../render/engine.js")]).then(([pipeline, render]) =>
        pipeline.createPipelineRunner({
          config, storage, logger, engine: new render.ClassicalEngine(), faceDetector, trackDetector: fastDetector(faceDetector),
          speech: speech.get(config, logger),
        })));
    return async (request, ctx) => (await load())(request, ctx);
  };
}

/** Largest side the playground's face preview decodes at: boxes are scaled back to source pixels. */
const PREVIEW_SIDE = 1280;

/** Face boxes of an image URL in its own pixels, for the playground's preview (person 1, person 2, ...). */
export function previewFaces(deps: { config: Config; storage: Storage; faces: FaceDetector }) {
  return async (imageUrl: string, signal?: AbortSignal): Promise<DetectedFaces> => {
    const [{ DEFAULT_FETCH_TIMEOUT_MS, fetchInput }, { decodeImage, readImageHeader, MAX_INPUT_PIXELS }] =
      await Promise.all([import("../media/fetch.js"), import("../media/image.js")]);
    const dir = await mkdtemp(path.join(os.tmpdir(), "mouthpiece-preview-"));
    try {
      const file = await fetchInput(imageUrl, {
        field: "image_url", dir, maxBytes: deps.config.bodyLimit, timeoutMs: DEFAULT_FETCH_TIMEOUT_MS, storage: deps.storage, signal,
        allowPrivateUrls: deps.config.allowPrivateUrls,
      });
      const header = await readImageHeader(file.path, "image_url", { maxPixels: MAX_INPUT_PIXELS });
      const scale = Math.min(1, PREVIEW_SIDE / Math.max(header.width, header.height));
      const width = Math.max(1, Math.round(header.width * scale));
      const height = Math.max(1, Math.round(header.height * scale));
      const image = await decodeImage(file.path, "image_url", { resizeTo: { width, height } });
      const faces = await deps.faces.detect(image, { signal });
      return {
        width: header.width,
        height: header.height,
        faces: faces.map((f) => ({
          box: [f.box.x / scale, f.box.y / scale, f.box.width / scale, f.box.height / scale].map((v) => Math.round(v)) as
            [number, number, number, number],
        })),
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
}
