/**
 * GET|HEAD /files/{key} — stored files (uploads and results) with their Content-Type and HTTP Range
 * support (206 with Content-Range; 416 when unsatisfiable; several ranges are answered with the whole
 * file). Files are immutable, so they are cacheable forever. No key needed: the random path is the secret,
 * as with fal's CDN URLs.
 */
import type { FastifyInstance } from "fastify";
import parseRange from "range-parser";
import type { ServerContext } from "../context.js";
import { sendHttpError } from "../errors.js";

export function registerFileRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get("/files/*", async (request, reply) => {
    const rest = (request.params as { "*": string })["*"];
    let key: string;
    try {
      key = `files/${rest.split("/").map(decodeURIComponent).join("/")}`;
    } catch {
      key = "";
    }
    const file = key ? await ctx.storage.stat(key) : undefined;
    if (!file) return sendHttpError(reply, { status: 404, body: { detail: "File not found." }, message: "file not found" });

    reply.header("accept-ranges", "bytes");
    reply.header("cache-control", "public, max-age=31536000, immutable");
    reply.header("content-disposition", `inline; filename="${file.fileName.replace(/"/g, "")}"`);
    reply.type(file.contentType);

    const header = request.headers.range;
    if (header && file.size > 0) {
      const ranges = parseRange(file.size, header, { combine: true });
      if (ranges === -1) {
        reply.header("content-range", `bytes */${file.size}`);
        return sendHttpError(reply, { status: 416, body: { detail: `Range not satisfiable: the file has ${file.size} bytes.` }, message: "range" });
      }
      if (Array.isArray(ranges) && ranges.type === "bytes" && ranges.length === 1) {
        const { start, end } = ranges[0];
        reply.code(206);
        reply.header("content-range", `bytes ${start}-${end}/${file.size}`);
        reply.header("content-length", end - start + 1);
        return reply.send(await ctx.storage.read(key, { start, end }));
      }
      // Malformed (-2) or several ranges: the whole file.
    }
    reply.header("content-length", file.size);
    if (file.size === 0) return reply.send("");
    return reply.send(await ctx.storage.read(key));
  });
}
