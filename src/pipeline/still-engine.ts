/**
 * The stand-in Engine: every frame is the fitted picture itself. Used until the classical engine (src/render)
 * is wired in, and as the reference for encoding cost.
 */
import { stillFrameStream } from "../media/encode.js";
import type { JobContext } from "../media/types.js";
import type { Engine, EngineJob, FrameStream } from "./engine.js";

export class StillEngine implements Engine {
  readonly name = "still";

  async start(job: EngineJob, ctx: JobContext): Promise<FrameStream> {
    return stillFrameStream(job.image, job.numFrames, ctx.signal);
  }
}
