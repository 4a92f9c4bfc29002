/**
 * Uploads, the way the official client's fal.storage.upload does them (it calls
 * https://rest.fal.ai/storage/upload/initiate?storage_type=fal-cdn-v3 through the proxy, then PUTs the
 * bytes to `upload_url` directly, without the Authorization header):
 *   POST /storage/upload/initiate[?storage_type=…]            {content_type, file_name} → {upload_url, file_url}
 *   POST /storage/upload/initiate-multipart[?storage_type=…]  same, for the multipart flow (files > 90 MB)
 *   PUT  /storage/upload/data/{upload_id}                     the whole file → 200 {file_url}
 *   PUT  /storage/upload/data/{upload_id}/{part_number}       one part → 200 {partNumber, etag}
 *   POST /storage/upload/data/{upload_id}/complete            {parts: [{partNumber, etag}]} → 200 {file_url}
 * The file appears at file_url (GET /files/…) only once all its bytes are stored.
 * With an object store that presigns (S3), `initiate` answers a presigned PUT URL of the bucket instead, so
 * single-PUT uploads never pass through an API node; multipart uploads still go through the sessions here.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { InputError } from "../../errors.js";
import { type ServerContext } from "../context.js";
import { zodToDetail } from "../errors.js";
import { requestBase } from "../urls.js";

const InitiateBody = z.object({
  content_type: z.string().min(1).max(200).default("application/octet-stream"),
  file_name: z.string().min(1).max(500).default("upload.bin"),
});

const CompleteBody = z.object({
  parts: z.array(z.object({ partNumber: z.number().int().min(1), etag: z.string().min(1) })).min(1),
});

function storedFileUrl(request: FastifyRequest, ctx: ServerContext, key: string): string {
  return `${requestBase(request, ctx.config)}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new InputError(zodToDetail(parsed.error));
  return parsed.data;
}

/**
 * The initiate routes. Register them in the authenticated, rate-limited scope: they need a key (the session
 * belongs to its owner) and each one creates state on the server.
 */
export function registerUploadInitiateRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const fileUrl = (request: FastifyRequest, key: string) => storedFileUrl(request, ctx, key);
  for (const kind of ["initiate", "initiate-multipart"] as const) {
    app.post(`/storage/upload/${kind}`, async (request) => {
      const body = parseBody(InitiateBody, request.body);
      if (kind === "initiate" && ctx.storage.presignPut) {
        // Object stores: the bytes go straight to the bucket, no session on this node.
        const key = ctx.storage.newKey(body.file_name);
        const uploadUrl = await ctx.storage.presignPut(key, { contentType: body.content_type, fileName: body.file_name });
        if (uploadUrl) return { upload_url: uploadUrl, file_url: fileUrl(request, key) };
      }
      const session = await ctx.uploads.create({
        contentType: body.content_type,
        fileName: body.file_name,
        owner: request.principal!.owner,
        multipart: kind === "initiate-multipart",
      });
      return {
        upload_url: `${requestBase(request, ctx.config)}/storage/upload/data/${session.id}`,
        file_url: fileUrl(request, session.key),
      };
    });
  }
}

/** The byte routes: no key (the client sends none); the unguessable upload id is the authority, as a presigned URL's signature. */
export function registerUploadDataRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const fileUrl = (request: FastifyRequest, key: string) => storedFileUrl(request, ctx, key);
  app.post("/storage/upload/data/:id/complete", async (request) => {
    const { id } = request.params as { id: string };
    const body = parseBody(CompleteBody, request.body);
    const stored = await ctx.uploads.complete(id, body.parts);
    return { file_url: fileUrl(request, stored.key) };
  });

  // The byte routes take any (or no) Content-Type as a raw stream.
  void app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser("*", (_request, _payload, done) => done(null, undefined));

    raw.put("/storage/upload/data/:id", async (request) => {
      const { id } = request.params as { id: string };
      const stored = await ctx.uploads.putWhole(id, request.raw);
      return { file_url: fileUrl(request, stored.key) };
    });

    raw.put("/storage/upload/data/:id/:part", async (request) => {
      const { id, part } = request.params as { id: string; part: string };
      if (!/^\d{1,5}$/.test(part)) throw InputError.field("partNumber", `Part numbers are integers from 1 to 10000; got '${part}'.`);
      return ctx.uploads.putPart(id, Number(part), request.raw);
    });
  });
}
