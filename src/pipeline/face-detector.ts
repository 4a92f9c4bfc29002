/**
 * The face detector the pipeline calls, injected so the pipeline does not depend on how faces are found.
 * The lead wires src/face's detector in; until then `noFaceDetector` finds none (the picture is center-cropped
 * and the engine gets faceIndex null).
 */
import type { Face } from "../face/types.js";
import type { RawImage } from "../media/types.js";

export interface DetectOptions {
  signal?: AbortSignal;
  /** A hint: a quicker, coarser pass is enough (video tracking corrects it). Detectors may ignore it. */
  fast?: boolean;
}

export interface FaceDetector {
  /** Faces in `image`, in its pixel coordinates. (src/face's FaceAnalyzer fits this shape as it is.) */
  detect(image: RawImage, options?: DetectOptions): Promise<Face[]>;
}

export const noFaceDetector: FaceDetector = {
  detect: async () => [],
};
