/**
 * `mouthpiece generate <endpoint_id>`: runs one request locally (no HTTP, no queue) and writes the MP4.
 * Input comes from --input JSON (or @file.json) and flags; local file paths for URL fields are stored
 * first, so the pipeline reads them like uploads.
 *
 * @example
 *   mouthpiece generate fal-ai/ai-avatar --image face.png --audio speech.wav --prompt "A woman talking" -o out.mp4
 */
import { createWriteStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import mime from "mime-types";
import { findEndpoint, ENDPOINTS, type EndpointDef, type VideoOutput } from "../api/endpoints.js";
import { parseInput } from "../api/validate.js";
import type { Config } from "../config.js";
import type { JobContext } from "../media/types.js";
import { createStorage } from "../storage/index.js";
import type { KeyedStorage } from "../storage/types.js";
import type { RunnerFactory } from "./serve.js";

export interface GenerateFlags {
  input?: string;
  image?: string;
  audio?: string;
  audio2?: string;
  video?: string;
  text?: string;
  text2?: string;
  voice?: string;
  voice2?: string;
  prompt?: string;
  numFrames?: string;
  resolution?: string;
  seed?: string;
  acceleration?: string;
  out?: string;
}

/** The raw (unvalidated) input object from --input and the flags, flags winning. */
export async function inputFromFlags(endpoint: EndpointDef, flags: GenerateFlags): Promise<Record<string, unknown>> {
  let input: Record<string, unknown> = {};
  if (flags.input) {
    const text = flags.input.startsWith("@") ? await readFile(flags.input.slice(1), "utf8") : flags.input;
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("--input must be a JSON object");
    input = parsed as Record<string, unknown>;
  }
  const fields = Object.keys(endpoint.input.shape);
  const pick = (...names: string[]) => names.find((n) => fields.includes(n));
  const set = (value: unknown, ...names: string[]) => {
    const name = pick(...names);
    if (value !== undefined && name) input[name] = value;
    else if (value !== undefined) throw new Error(`${endpoint.id} has no field for that flag (it takes: ${fields.join(", ")})`);
  };
  set(flags.image, "image_url");
  set(flags.audio, "audio_url", "first_audio_url");
  set(flags.audio2, "second_audio_url");
  set(flags.video, "video_url");
  set(flags.text, "text_input", "first_text_input");
  set(flags.text2, "second_text_input");
  set(flags.voice, "voice", "voice1");
  set(flags.voice2, "voice2");
  set(flags.prompt, "prompt");
  set(flags.numFrames === undefined ? undefined : Number(flags.numFrames), "num_frames");
  set(flags.resolution, "resolution");
  set(flags.seed === undefined ? undefined : Number(flags.seed), "seed");
  set(flags.acceleration, "acceleration");
  if (input.prompt === undefined && fields.includes("prompt")) input.prompt = "";
  return input;
}

/** Local paths in file fields → files in storage (their URLs). URLs and data URIs stay as they are. */
export async function storeLocalFiles(endpoint: EndpointDef, input: Record<string, unknown>, storage: KeyedStorage): Promise<Record<string, unknown>> {
  const out = { ...input };
  for (const field of endpoint.fileFields) {
    const value = out[field];
    if (typeof value !== "string" || /^(https?:|data:)/i.test(value)) continue;
    const file = value.startsWith("file://") ? new URL(value).pathname : value;
    const s = await stat(file).catch(() => undefined);
    if (!s?.isFile()) throw new Error(`${field}: ${value} is neither a URL nor a readable file`);
    const stored = await storage.putFile({ path: file, contentType: mime.lookup(file) || "application/octet-stream", fileName: path.basename(file) });
    out[field] = stored.url;
  }
  return out;
}

export interface GenerateOptions {
  config: Config;
  logger: Logger;
  createRunner: RunnerFactory;
  endpointId: string;
  flags: GenerateFlags;
  /** Progress and log lines (default: stderr). */
  print?: (line: string) => void;
}

export async function runGenerate(options: GenerateOptions): Promise<{ output: VideoOutput; file: string }> {
  const { config, logger } = options;
  const print = options.print ?? ((line: string) => process.stderr.write(`${line}\n`));
  const endpoint = findEndpoint(options.endpointId);
  if (!endpoint) throw new Error(`Unknown endpoint '${options.endpointId}'. Endpoints: ${ENDPOINTS.map((e) => e.id).join(", ")}`);
  const storage = createStorage(config);
  const raw = await storeLocalFiles(endpoint, await inputFromFlags(endpoint, options.flags), storage);
  const input = parseInput(endpoint, raw);
  const runner = options.createRunner({ config, storage, logger });
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once("SIGINT", onSignal);
  let lastDecile = -1;
  const ctx: JobContext = {
    signal: controller.signal,
    log: (message, level = "info") => print(`[${level}] ${message}`),
    progress: (done, total) => {
      const decile = total > 0 ? Math.floor((done * 10) / total) : 0;
      if (decile > lastDecile) {
        lastDecile = decile;
        print(`rendered ${done}/${total} frames`);
      }
    },
  };
  try {
    const requestId = `local-${Date.now()}`;
    const output = await runner({ requestId, endpoint, input }, ctx);
    const key = storage.keyFromUrl(output.video.url);
    if (!key) throw new Error(`the runner stored the video outside this data dir: ${output.video.url}`);
    const file = path.resolve(options.flags.out ?? `${requestId}.mp4`);
    await pipeline(await storage.read(key), createWriteStream(file));
    return { output, file };
  } finally {
    process.off("SIGINT", onSignal);
  }
}
