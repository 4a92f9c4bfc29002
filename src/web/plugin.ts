/**
 * The playground: a page per endpoint where anyone can make a talking video without reading docs.
 * Serves the page (`/`, `/playground/<endpoint id>`), its static assets (`/playground/assets/*`, plain
 * ES modules and CSS from src/web/public, no build step) and three small JSON routes the page needs:
 *
 *   GET  /api/playground/config    -> {fps, routes, endpoints: [{id, title, kind, family, fileFields, schema}]}
 *   POST /api/playground/faces     {image_url} -> {width, height, faces: [{box: [x, y, w, h], person: 1 | 2 | null, largest}]}
 *   GET  /api/playground/requests  ?limit=50 -> {requests: PlaygroundRequest[]} (the caller's own, newest first)
 *
 * Everything else the page does goes through the public fal-compatible API (storage upload, queue submit,
 * status stream, cancel, result), exactly as a client would.
 *
 * @example
 *   await registerPlayground(app, {
 *     detectFaces: (url) => faces.detectInUrl(url),
 *     listRequests: (owner) => queue.listByOwner(owner),
 *     ownerOf: (req) => auth.ownerOf(req),
 *   });
 */
import { readFile, readdir, stat } from "node:fs/promises";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { ENDPOINTS, FPS, findEndpoint, type VideoOutput } from "../api/endpoints.js";
import { AuthError, InputError, NotFoundError } from "../errors.js";
import type { Face } from "../face/types.js";
import { bindPeople } from "../pipeline/conversation.js";

/** What face detection reports for the preview: sizes and boxes in pixels of the source image. */
export interface DetectedFaces {
  width: number;
  height: number;
  faces: { box: [x: number, y: number, width: number, height: number] }[];
}

/** One face as the preview shows it, left to right. */
export interface PreviewFace {
  box: [x: number, y: number, width: number, height: number];
  /**
   * Who this face is in a conversation (…/multi, …/multi-text), by the pipeline's own rule (bindPeople): the two
   * largest faces, person 1 the left one, person 2 the right one; a lone face is person 1 (it speaks both
   * tracks); any other face is null (it stays still).
   */
  person: 1 | 2 | null;
  /** The largest face: the one that speaks on single-person endpoints. */
  largest: boolean;
}

/** Numbers faces as the pipeline binds them (see PreviewFace), sorted left to right. Pure. */
export function previewPeople(boxes: readonly DetectedFaces["faces"][number]["box"][]): PreviewFace[] {
  const sorted = [...boxes].sort((a, b) => a[0] + a[2] / 2 - (b[0] + b[2] / 2));
  if (sorted.length === 0) return [];
  // bindPeople reads only the boxes.
  const faces: Face[] = sorted.map(([x, y, width, height]) => ({
    box: { x, y, width, height }, score: 1, mesh: new Float32Array(0), pose: { yaw: 0, pitch: 0, roll: 0 },
  }));
  const people = bindPeople(faces, {});
  let largest = 0;
  sorted.forEach((b, i) => {
    if (b[2] * b[3] > sorted[largest][2] * sorted[largest][3]) largest = i;
  });
  return sorted.map((box, i) => ({
    box: [...box],
    person: i === people.person1 ? 1 : i === people.person2 ? 2 : null,
    largest: i === largest,
  }));
}

/** One past request as the history panel shows it. */
export interface PlaygroundRequest {
  request_id: string;
  endpoint_id: string;
  /** IN_QUEUE | IN_PROGRESS | COMPLETED, or a final state the queue adds (FAILED, CANCELLED). */
  status: string;
  /** ISO 8601. */
  created_at: string;
  input: Record<string, unknown>;
  /** The endpoint's output once completed. */
  output?: VideoOutput | null;
  /** Why the request failed, when it did. */
  error?: string | null;
}

/** The fields of a queued job the history needs (structurally, src/queue/types.ts `Job`). */
export interface JobLike {
  id: string;
  endpointId: string;
  status: string;
  outcome?: string;
  input: Record<string, unknown>;
  result?: unknown;
  failure?: { message: string };
  createdAt: string;
}

/** A queue job as a history entry: a failed or cancelled COMPLETED job shows as FAILED or CANCELLED. */
export function playgroundRequestOf(job: JobLike): PlaygroundRequest {
  const ended = job.status === "COMPLETED" && job.outcome !== undefined && job.outcome !== "OK";
  return {
    request_id: job.id,
    endpoint_id: job.endpointId,
    status: ended ? (job.outcome === "CANCELLED" ? "CANCELLED" : "FAILED") : job.status,
    created_at: job.createdAt,
    input: job.input,
    output: job.outcome === "OK" ? ((job.result as VideoOutput | undefined) ?? null) : null,
    error: job.failure?.message ?? null,
  };
}

/** Where the page finds the server's own routes (all same-origin paths). */
export interface PlaygroundRoutes {
  /** fal queue base: submit is POST `${queue}/${endpointId}`; status/result/cancel use the returned URLs. */
  queue: string;
  /** fal storage: POST {content_type, file_name} -> {upload_url, file_url}, then PUT the bytes. */
  uploadInitiate: string;
  /** The @fal-ai/client proxy route, for the JavaScript snippet's `proxyUrl`. */
  falProxy: string;
  /** Voice samples: GET `${voices}/${name}/sample.wav`. */
  voices: string;
}

export const DEFAULT_ROUTES: PlaygroundRoutes = Object.freeze({
  queue: "/queue",
  uploadInitiate: "/storage/upload/initiate",
  falProxy: "/api/fal/proxy",
  voices: "/voices",
});

/** The header the page sends on every call; with it, loopback requests are served without a key. */
export const PLAYGROUND_HEADER = "x-mouthpiece-playground";

export interface PlaygroundDeps {
  /** Finds faces in the picture at this URL (http(s), data: or this server's own file URL). */
  detectFaces(imageUrl: string, signal?: AbortSignal): Promise<DetectedFaces>;
  /** The past requests of one owner (an API key's identity, or the loopback playground session). */
  listRequests(owner: string): Promise<PlaygroundRequest[]>;
  /**
   * Who is calling; undefined = not allowed (401). Default: `request.principal.owner` (set by the
   * server's auth hook), else "local" for a loopback request with the playground header and no key.
   */
  ownerOf?(request: FastifyRequest): string | undefined | Promise<string | undefined>;
  /** Route overrides, when the server mounts the fal API elsewhere. */
  routes?: Partial<PlaygroundRoutes>;
  /** Folder with the page's files; default: src/web/public next to this module (also from dist/web). */
  publicDir?: string;
}

const FacesBody = z.object({
  image_url: z.string().min(1, "Give the URL of a picture (http(s), data: URI, or an uploaded file's URL)."),
});

const RequestsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
};

interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
}

function isLoopback(ip: string | undefined): boolean {
  return ip !== undefined && /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/.test(ip);
}

/**
 * The default identity: the owner the server's auth hook put on the request (`request.principal.owner`),
 * else "local" for the loopback playground session (no Authorization, the playground header). A key the
 * auth hook did not verify is no identity: wire `ownerOf` to the server's auth to serve key holders.
 */
export function defaultOwnerOf(request: FastifyRequest): string | undefined {
  const principal = (request as { principal?: { owner?: unknown } | null }).principal;
  if (principal && typeof principal.owner === "string") return principal.owner;
  if (
    request.headers.authorization === undefined &&
    request.headers[PLAYGROUND_HEADER] === "1" &&
    isLoopback(request.socket.remoteAddress)
  ) {
    return "local";
  }
  return undefined;
}

async function exists(dir: string): Promise<boolean> {
  return stat(dir).then((s) => s.isDirectory(), () => false);
}

/** src/web/public, found from src/web (tsx) or dist/web (built). */
async function findPublicDir(): Promise<string> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const candidate of [path.join(here, "public"), path.join(here, "../../src/web/public")]) {
    if (await exists(candidate)) return candidate;
  }
  throw new Error(`The playground's files are missing: looked in ${here}/public and ../../src/web/public`);
}

async function loadAsset(file: string): Promise<Asset> {
  const body = await readFile(file);
  const contentType = CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream";
  const etag = `"${createHash("sha1").update(body).digest("base64url").slice(0, 16)}"`;
  return { body, contentType, etag };
}

/** Every file of the public folder (one level deep) plus the vendored browser modules, read once. */
async function loadAssets(publicDir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const entry of await readdir(publicDir, { withFileTypes: true })) {
    // Type declarations of the browser modules (for the tests) are not served.
    if (!entry.isFile() || entry.name.endsWith(".d.ts") || !(path.extname(entry.name) in CONTENT_TYPES)) continue;
    assets.set(entry.name, await loadAsset(path.join(publicDir, entry.name)));
  }
  // The SSE parser the page uses to read the status stream (fetch + headers; EventSource cannot send them).
  const require = createRequire(import.meta.url);
  const parserDir = path.dirname(require.resolve("eventsource-parser/package.json"));
  assets.set("vendor/eventsource-parser.js", await loadAsset(path.join(parserDir, "dist/index.js")));
  return assets;
}

function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: Asset) {
  reply.header("content-type", asset.contentType);
  reply.header("etag", asset.etag);
  reply.header("cache-control", "no-cache");
  reply.header("x-content-type-options", "nosniff");
  if (request.headers["if-none-match"] === asset.etag) return reply.code(304).send();
  return reply.send(asset.body);
}

/** The endpoints as the page needs them: ids, titles and each input's JSON Schema. */
export function playgroundConfig(routes: PlaygroundRoutes) {
  return {
    fps: FPS,
    routes,
    endpoints: ENDPOINTS.map((e) => ({
      id: e.id,
      title: e.title,
      kind: e.kind,
      family: e.family,
      fileFields: e.fileFields,
      schema: z.toJSONSchema(e.input, { io: "input" }),
    })),
  };
}

function zodToInputError(error: z.ZodError, root: "body" | "query"): InputError {
  return new InputError(
    error.issues.map((i) => ({
      loc: [root, ...i.path.map((p) => (typeof p === "symbol" ? String(p) : p))],
      msg: i.message,
      type: i.code,
    })),
  );
}

function errorBody(error: unknown): { status: number; body: unknown } {
  if (error instanceof InputError) return { status: 422, body: { detail: error.detail } };
  if (error instanceof AuthError || error instanceof NotFoundError) {
    return { status: error.status, body: { detail: error.message } };
  }
  const status = (error as { statusCode?: number }).statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return { status, body: { detail: (error as Error).message } };
  }
  return { status: 500, body: { detail: "Internal error" } };
}

/** Registers the page, its assets and the playground API routes on `app` (in their own scope). */
export async function registerPlayground(app: FastifyInstance, deps: PlaygroundDeps): Promise<void> {
  await app.register(webPlugin, deps);
}

/** The same as a Fastify plugin: `app.register(webPlugin, deps)`. */
export async function webPlugin(app: FastifyInstance, deps: PlaygroundDeps): Promise<void> {
  const routes: PlaygroundRoutes = { ...DEFAULT_ROUTES, ...deps.routes };
  const assets = await loadAssets(deps.publicDir ?? (await findPublicDir()));
  const index = assets.get("index.html");
  if (!index) throw new Error("The playground's index.html is missing");
  const config = JSON.stringify(playgroundConfig(routes));
  const ownerOf = deps.ownerOf ?? defaultOwnerOf;

  async function requireOwner(request: FastifyRequest): Promise<string> {
    const owner = await ownerOf(request);
    if (!owner) throw new AuthError();
    return owner;
  }

  app.setErrorHandler((error, request, reply) => {
    const { status, body } = errorBody(error);
    if (status >= 500) request.log.error({ err: error }, "playground route failed");
    return reply.code(status).send(body);
  });

  app.get("/", (request, reply) => sendAsset(request, reply, index));
  app.get<{ Params: { "*": string } }>("/playground/*", (request, reply) => {
    const rest = request.params["*"];
    if (rest.startsWith("assets/")) {
      const asset = assets.get(rest.slice("assets/".length));
      if (!asset) throw new NotFoundError(`No playground file ${rest}`);
      return sendAsset(request, reply, asset);
    }
    if (rest === "" || findEndpoint(rest)) return sendAsset(request, reply, index);
    throw new NotFoundError(`No endpoint ${rest}: see / for the list.`);
  });

  app.get("/api/playground/config", (_request, reply) => {
    reply.header("content-type", "application/json; charset=utf-8");
    return reply.send(config);
  });

  app.post("/api/playground/faces", async (request, reply) => {
    await requireOwner(request);
    const parsed = FacesBody.safeParse(request.body ?? {});
    if (!parsed.success) throw zodToInputError(parsed.error, "body");
    const controller = new AbortController();
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    const found = await deps.detectFaces(parsed.data.image_url, controller.signal);
    return {
      width: found.width,
      height: found.height,
      // Left to right, with who speaks by the pipeline's rule (person 1, person 2).
      faces: previewPeople(found.faces.map((f) => f.box.map((v) => Math.round(v * 10) / 10) as PreviewFace["box"])),
    };
  });

  app.get("/api/playground/requests", async (request) => {
    const owner = await requireOwner(request);
    const parsed = RequestsQuery.safeParse(request.query ?? {});
    if (!parsed.success) throw zodToInputError(parsed.error, "query");
    const all = await deps.listRequests(owner);
    const sorted = [...all].sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
    return { requests: sorted.slice(0, parsed.data.limit) };
  });
}
