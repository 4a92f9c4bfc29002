/**
 * Worker-thread side of ClassicalEngine's `worker` mode: builds the same FrameRenderer from the job's picture,
 * faces and motion, and renders frames on request ("credits" from the main thread), posting each frame's bytes
 * as a transferred buffer. Same inputs give the same bytes as rendering on the main thread.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Face } from "../face/types.js";
import type { RawImage } from "../media/types.js";
import type { MotionFrame } from "../motion/types.js";
import { NEUTRAL_FRAME } from "../motion/types.js";
import { FrameRenderer, type RendererOptions } from "./renderer.js";

export interface WorkerInput {
  image: { width: number; height: number; channels: 3 | 4; data: Uint8Array };
  faces: Face[];
  tracks: MotionFrame[][];
  numFrames: number;
  options: RendererOptions;
}

export type WorkerRequest = { type: "more"; count: number } | { type: "stop" };
export type WorkerReply =
  | { type: "ready"; mouths: string[] }
  | { type: "frame"; index: number; data: ArrayBuffer }
  | { type: "error"; message: string };

function run(input: WorkerInput): void {
  const port = parentPort;
  if (!port) return;
  const image: RawImage = { ...input.image, data: Buffer.from(input.image.data.buffer, input.image.data.byteOffset, input.image.data.byteLength) };
  const renderer = new FrameRenderer(image, input.faces, input.options);
  port.postMessage({ type: "ready", mouths: renderer.faces.map((f) => f.mouth.kind) } satisfies WorkerReply);
  const current: (MotionFrame | null)[] = input.tracks.map(() => null);
  let next = 0;
  port.on("message", (msg: WorkerRequest) => {
    if (msg.type === "stop") {
      port.close();
      return;
    }
    for (let k = 0; k < msg.count && next < input.numFrames; k++, next++) {
      for (let f = 0; f < input.tracks.length; f++) current[f] = input.tracks[f][next] ?? NEUTRAL_FRAME;
      renderer.render(current);
      const out = renderer.output();
      const copy = out.slice().buffer;
      port.postMessage({ type: "frame", index: next, data: copy } satisfies WorkerReply, [copy]);
    }
  });
}

try {
  run(workerData as WorkerInput);
} catch (err) {
  parentPort?.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) } satisfies WorkerReply);
}
