/**
 * The contract between the queue and the work: a runner takes one validated request and returns
 * the endpoint's output. The queue (SQLite or BullMQ) calls it; the pipeline implements it.
 */
import type { EndpointDef, VideoOutput } from "../api/endpoints.js";
import type { JobContext } from "../media/types.js";

export interface RunRequest {
  requestId: string;
  endpoint: EndpointDef;
  /** Input already parsed by the endpoint's schema (defaults filled in), except `seed` may be absent. */
  input: Record<string, unknown>;
}

export type JobRunner = (request: RunRequest, ctx: JobContext) => Promise<VideoOutput>;
