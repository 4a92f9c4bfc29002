/**
 * A small stand-in for the real server, for the playground's browser test: the playground plugin plus
 * fal's storage upload and queue routes (submit, status, SSE status stream, result, cancel), with a
 * runner that makes a real MP4 with ffmpeg (the uploaded picture, looped, with the uploaded audio) and
 * logs "rendered N/M frames" as ffmpeg reports them.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import ffmpegInstaller from "@ffmpeg-installer/ffmpeg";
import sharp from "sharp";
import { findEndpoint } from "../../src/api/endpoints.js";
import { registerPlayground, type PlaygroundRequest } from "../../src/web/plugin.js";

interface StubFile {
  path: string;
  contentType: string;
  name: string;
}

interface StubJob {
  id: string;
  endpointId: string;
  input: Record<string, unknown>;
  createdAt: string;
  status: "IN_QUEUE" | "IN_PROGRESS" | "COMPLETED";
  outcome?: "OK" | "ERROR" | "CANCELLED";
  logs: { message: string; level: string; source: "USER"; timestamp: string }[];
  progress?: { done: number; total: number };
  result?: unknown;
  error?: string;
  abort: AbortController;
  listeners: Set<() => void>;
}

export interface StubServer {
  url: string;
  app: FastifyInstance;
  jobs: Map<string, StubJob>;
  /** Face boxes the stub's detector reports, as fractions of the picture: [x, y, w, h]. */
  faceBoxes: [number, number, number, number][];
  close(): Promise<void>;
}

export interface StubOptions {
  /** Render in real time (ffmpeg -re), so progress can be watched. Default true. */
  realtime?: boolean;
  /** Whether GET /voices/{name}/sample.wav answers (with a real WAV). Default false. */
  voiceSamples?: boolean;
}

const AUTH_HEADER = "x-mouthpiece-playground";

function authorized(request: FastifyRequest): boolean {
  return request.headers[AUTH_HEADER] === "1" || /^Key \S+/.test(request.headers.authorization ?? "");
}

function run(cmd: string, args: string[], onStdout?: (line: string) => void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], signal });
    let stderr = "";
    let buffer = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) onStdout?.(line);
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${stderr.slice(-500)}`))));
  });
}

export async function startStubServer(options: StubOptions = {}): Promise<StubServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mouthpiece-web-"));
  const files = new Map<string, StubFile>();
  const uploads = new Map<string, { contentType: string; name: string }>();
  const jobs = new Map<string, StubJob>();
  const faceBoxes: [number, number, number, number][] = [[0.3, 0.15, 0.2, 0.3]];
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
  let base = "";

  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  const localPath = (url: string): StubFile | undefined => {
    const m = /\/files\/([^/]+)\//.exec(url);
    return m ? files.get(m[1]) : undefined;
  };

  await registerPlayground(app, {
    async detectFaces(imageUrl) {
      const file = localPath(imageUrl);
      if (!file) throw Object.assign(new Error("The stub detects faces only in uploaded files"), { statusCode: 422 });
      const meta = await sharp(file.path).metadata();
      const width = meta.width ?? 0;
      const height = meta.height ?? 0;
      return {
        width,
        height,
        faces: faceBoxes.map(([x, y, w, hh]) => ({ box: [x * width, y * height, w * width, hh * height] as [number, number, number, number] })),
      };
    },
    async listRequests(owner) {
      if (owner !== "local") return [];
      return [...jobs.values()].map(
        (j): PlaygroundRequest => ({
          request_id: j.id,
          endpoint_id: j.endpointId,
          status: j.outcome && j.outcome !== "OK" ? (j.outcome === "CANCELLED" ? "CANCELLED" : "FAILED") : j.status,
          created_at: j.createdAt,
          input: j.input,
          output: (j.result as PlaygroundRequest["output"]) ?? null,
          error: j.error ?? null,
        }),
      );
    },
  });

  // ---- storage (fal's upload protocol)
  app.post("/storage/upload/initiate", async (request, reply) => {
    if (!authorized(request)) return reply.code(401).send({ detail: "key needed" });
    const body = request.body as { content_type?: string; file_name?: string };
    const id = randomUUID();
    const name = (body.file_name ?? "upload").replace(/[^\w.-]/g, "_");
    uploads.set(id, { contentType: body.content_type ?? "application/octet-stream", name });
    return { upload_url: `${base}/stub-upload/${id}`, file_url: `${base}/files/${id}/${name}` };
  });
  app.put<{ Params: { id: string } }>("/stub-upload/:id", async (request, reply) => {
    const pending = uploads.get(request.params.id);
    if (!pending) return reply.code(404).send({ detail: "no such upload" });
    const file = path.join(dir, `${request.params.id}-${pending.name}`);
    await writeFile(file, request.body as Buffer);
    files.set(request.params.id, { path: file, ...pending });
    uploads.delete(request.params.id);
    return { ok: true };
  });
  app.get<{ Params: { id: string; name: string } }>("/files/:id/:name", async (request, reply) => {
    const file = files.get(request.params.id);
    if (!file) return reply.code(404).send({ detail: "no such file" });
    reply.header("content-type", file.contentType);
    return reply.send(await readFile(file.path));
  });

  if (options.voiceSamples) {
    const wav = path.join(dir, "voice.wav");
    await run(ffmpegInstaller.path, ["-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:duration=0.6", wav]);
    app.get("/voices/:name/sample.wav", async (_request, reply) => reply.header("content-type", "audio/wav").send(await readFile(wav)));
  }

  // ---- queue
  const notify = (job: StubJob) => {
    for (const l of job.listeners) l();
  };
  const log = (job: StubJob, message: string) => {
    job.logs.push({ message, level: "INFO", source: "USER", timestamp: new Date().toISOString() });
    notify(job);
  };
  const urls = (job: StubJob) => {
    const appId = job.endpointId.split("/").slice(0, 2).join("/");
    const response = `${base}/queue/${appId}/requests/${job.id}`;
    return { response_url: response, status_url: `${response}/status`, cancel_url: `${response}/cancel` };
  };
  const statusOf = (job: StubJob, withLogs: boolean) => ({
    status: job.status,
    request_id: job.id,
    ...urls(job),
    ...(job.status === "IN_QUEUE" ? { queue_position: 0 } : {}),
    ...(job.progress ? { progress: job.progress } : {}),
    ...(withLogs ? { logs: job.logs } : {}),
  });

  async function render(job: StubJob) {
    job.status = "IN_PROGRESS";
    notify(job);
    const image = localPath(String(job.input.image_url));
    const audio = localPath(String(job.input.audio_url));
    const frames = Number(job.input.num_frames);
    const out = path.join(dir, `${job.id}.mp4`);
    try {
      if (!image || !audio) throw new Error("The stub renders only uploaded files");
      log(job, `rendering ${frames} frames`);
      await run(
        ffmpegInstaller.path,
        [
          "-v", "error", "-y", "-progress", "pipe:1",
          ...(options.realtime === false ? [] : ["-re"]),
          "-loop", "1", "-framerate", "25", "-i", image.path,
          "-i", audio.path,
          "-vf", "scale=320:-2,format=yuv420p", "-af", "apad",
          "-frames:v", String(frames), "-t", String(frames / 25),
          "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-movflags", "+faststart", out,
        ],
        (line) => {
          const m = /^frame=(\d+)/.exec(line);
          if (m && Number(m[1]) > 0) {
            const done = Math.min(Number(m[1]), frames);
            job.progress = { done, total: frames };
            log(job, `rendered ${done}/${frames} frames`);
          }
        },
        job.abort.signal,
      );
      const id = randomUUID();
      files.set(id, { path: out, contentType: "video/mp4", name: "video.mp4" });
      const size = (await readFile(out)).length;
      job.result = { video: { url: `${base}/files/${id}/video.mp4`, content_type: "video/mp4", file_name: "video.mp4", file_size: size }, seed: Number(job.input.seed) };
      job.outcome = "OK";
    } catch (err) {
      job.outcome = job.abort.signal.aborted ? "CANCELLED" : "ERROR";
      job.error = job.abort.signal.aborted ? "The request was cancelled." : (err as Error).message;
      log(job, job.error);
    }
    job.status = "COMPLETED";
    notify(job);
  }

  app.post("/queue/*", async (request, reply) => {
    if (!authorized(request)) return reply.code(401).send({ detail: "key needed" });
    const endpointId = (request.params as { "*": string })["*"];
    const endpoint = findEndpoint(endpointId);
    if (!endpoint) return reply.code(404).send({ detail: `no endpoint ${endpointId}` });
    const parsed = endpoint.input.safeParse(request.body ?? {});
    if (!parsed.success) {
      return reply.code(422).send({ detail: parsed.error.issues.map((i) => ({ loc: ["body", ...i.path], msg: i.message, type: i.code })) });
    }
    const job: StubJob = {
      id: randomUUID(),
      endpointId,
      input: parsed.data as Record<string, unknown>,
      createdAt: new Date().toISOString(),
      status: "IN_QUEUE",
      logs: [],
      abort: new AbortController(),
      listeners: new Set(),
    };
    jobs.set(job.id, job);
    setTimeout(() => void render(job), 200);
    return { request_id: job.id, ...urls(job), queue_position: 0 };
  });

  const find = (request: FastifyRequest) => {
    const rest = (request.params as { "*": string })["*"];
    const m = /^(.+)\/requests\/([^/]+)(\/status(\/stream)?|\/cancel)?$/.exec(rest);
    return m ? { job: jobs.get(m[2]), tail: m[3] ?? "" } : undefined;
  };

  app.get("/queue/*", async (request: FastifyRequest, reply: FastifyReply) => {
    if (!authorized(request)) return reply.code(401).send({ detail: "key needed" });
    const found = find(request);
    if (!found?.job) return reply.code(404).send({ detail: "no such request" });
    const { job, tail } = found;
    const withLogs = (request.query as { logs?: string }).logs === "1";
    if (tail === "/status") return statusOf(job, withLogs);
    if (tail === "/status/stream") {
      reply.hijack();
      reply.raw.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
      const send = () => {
        reply.raw.write(`data: ${JSON.stringify(statusOf(job, withLogs))}\n\n`);
        if (job.status === "COMPLETED") {
          job.listeners.delete(send);
          reply.raw.end();
        }
      };
      job.listeners.add(send);
      reply.raw.on("close", () => job.listeners.delete(send));
      send();
      return;
    }
    if (tail === "") {
      if (job.status !== "COMPLETED") return reply.code(400).send({ detail: "Request is still in progress" });
      if (job.outcome === "OK") return job.result;
      return reply.code(job.outcome === "CANCELLED" ? 400 : 500).send({ detail: job.error });
    }
    return reply.code(404).send({ detail: "no such route" });
  });

  app.put("/queue/*", async (request, reply) => {
    if (!authorized(request)) return reply.code(401).send({ detail: "key needed" });
    const found = find(request);
    if (!found?.job || found.tail !== "/cancel") return reply.code(404).send({ detail: "no such request" });
    if (found.job.status === "COMPLETED") return reply.code(400).send({ status: "ALREADY_COMPLETED" });
    found.job.abort.abort();
    return reply.code(202).send({ status: "CANCELLATION_REQUESTED" });
  });

  base = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    url: base,
    app,
    jobs,
    faceBoxes,
    async close() {
      for (const j of jobs.values()) j.abort.abort();
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
