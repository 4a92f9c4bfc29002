/**
 * Hostile files into the input stage, through the real runner (data URI -> fetch -> header checks ->
 * decoders, ffprobe and ffmpeg included), stopping at the engine: a 30,000 x 30,000 PNG is refused from its
 * header in under a second, and fast-check feeds corrupted, truncated and mislabelled images, audio and
 * video: each must end as an InputError (HTTP 422 via the one error mapper), never a crash or a hang.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { deflateSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { pino } from "pino";
import { findEndpoint, type EndpointDef } from "../../src/api/endpoints.js";
import { toHttpError } from "../../src/api/errors.js";
import { loadConfig } from "../../src/config.js";
import { InputError } from "../../src/errors.js";
import type { Engine } from "../../src/pipeline/engine.js";
import { createPipelineRunner } from "../../src/pipeline/index.js";
import { runProcess } from "../../src/media/ffmpeg.js";
import { bins, FolderStorage, makePicture, makeTestVideo, makeTone, recordingContext, tempDir } from "../support/media-fixtures.js";

const config = loadConfig({}, { dataDir: "/tmp/mouthpiece-test-unused" });
const aiAvatar = findEndpoint("fal-ai/ai-avatar") as EndpointDef;
const v2v = findEndpoint("fal-ai/infinitalk/video-to-video") as EndpointDef;

/** Thrown by the engine: the input stage accepted everything. */
class ReachedEngine extends Error {}
const stopAtEngine: Engine = { name: "stop", start: async () => { throw new ReachedEngine("input accepted"); } };

let dir: string;
let cleanup: () => Promise<void>;
let run: ReturnType<typeof createPipelineRunner>;
const seeds: Record<string, Buffer> = {};

before(async () => {
  ({ dir, cleanup } = await tempDir("mp-inputs-"));
  const storage = new FolderStorage(path.join(dir, "store"));
  run = createPipelineRunner({ config, storage, logger: pino({ level: "silent" }), engine: stopAtEngine, limits: { tmpRoot: dir } });
  await makePicture(path.join(dir, "p.png"), 96, 96);
  await makePicture(path.join(dir, "p.jpg"), 96, 96);
  await makePicture(path.join(dir, "p.webp"), 96, 96);
  await makeTone(path.join(dir, "a.wav"), 0.5, { rate: 16000 });
  await makeTone(path.join(dir, "a.mp3"), 0.5, { rate: 16000 });
  await makeTestVideo(path.join(dir, "v.mp4"), 0.4, 64, 64);
  for (const f of ["p.png", "p.jpg", "p.webp", "a.wav", "a.mp3", "v.mp4"]) seeds[f] = await readFile(path.join(dir, f));
});
after(async () => {
  await run?.close();
  await cleanup?.();
});

const dataUri = (bytes: Buffer, type: string) => `data:${type};base64,${bytes.toString("base64")}`;

type Outcome = { kind: "input"; status: number; message: string; ms: number } | { kind: "accepted"; ms: number } | { kind: "other"; err: unknown; ms: number };

async function attempt(endpoint: EndpointDef, input: Record<string, unknown>): Promise<Outcome> {
  const t0 = performance.now();
  const ctx = recordingContext();
  const timer = setTimeout(() => ctx.controller.abort(), 10_000);
  try {
    await run({ requestId: "fuzz", endpoint, input: endpoint.input.parse(input) as Record<string, unknown> }, ctx);
    return { kind: "accepted", ms: performance.now() - t0 };
  } catch (err) {
    const ms = performance.now() - t0;
    if (err instanceof ReachedEngine) return { kind: "accepted", ms };
    if (err instanceof InputError) {
      const http = toHttpError(err);
      return { kind: "input", status: http.status, message: err.message, ms };
    }
    return { kind: "other", err, ms };
  } finally {
    clearTimeout(timer);
  }
}

function expect422(o: Outcome, what: string): void {
  assert.ok(o.ms < 10_000, `${what}: took ${Math.round(o.ms)} ms`);
  if (o.kind === "other") assert.fail(`${what}: not an input error: ${(o.err as Error)?.stack ?? String(o.err)}`);
  assert.equal(o.kind, "input", `${what}: the input stage accepted it`);
  assert.equal(o.status, 422, what);
}

/** A PNG whose header says width x height, with a tiny (wrong) image body: a decompression bomb's header. */
function hugePng(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from("89504e470d0a1a0a", "hex"), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(Buffer.alloc(1 << 16))), chunk("IEND", Buffer.alloc(0)),
  ]);
}

describe("limits checked from the header", () => {
  it("refuses a 30,000 x 30,000 PNG in under a second, naming the limit", async () => {
    const bomb = hugePng(30_000, 30_000);
    assert.ok(bomb.length < 2000, "a small file claiming 900 megapixels");
    const o = await attempt(aiAvatar, { image_url: dataUri(bomb, "image/png"), audio_url: dataUri(seeds["a.wav"], "audio/wav"), prompt: "p", num_frames: 81 });
    expect422(o, "30k x 30k PNG");
    assert.ok(o.ms < 1000, `took ${Math.round(o.ms)} ms`);
    assert.match((o as { message: string }).message, /30000x30000 \(900\.0 megapixels\), over the 50 megapixel limit/);
  });

  it("refuses audio and video over the length limits, from the header", async () => {
    // A real 10 min 10 s WAV, kept small: 8-bit samples at 1 kHz (610 KB).
    const longWav = path.join(dir, "long.wav");
    await runProcess(bins.ffmpeg, ["-v", "error", "-f", "lavfi", "-i", "anullsrc=r=1000:cl=mono", "-t", "610", "-c:a", "pcm_u8", "-y", longWav], { label: "ffmpeg" });
    const o = await attempt(aiAvatar, { image_url: dataUri(seeds["p.png"], "image/png"), audio_url: dataUri(await readFile(longWav), "audio/wav"), prompt: "p", num_frames: 81 });
    expect422(o, "10-minute WAV");
    assert.ok(o.ms < 3000, `took ${Math.round(o.ms)} ms`);
    assert.match((o as { message: string }).message, /audio_url.*the audio is 610\.0 s long, over the 600 s limit/);
    // A real 11-minute video (one frame every 100 s: small and quick to make).
    const long = path.join(dir, "long.mp4");
    await runProcess(bins.ffmpeg, ["-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=32x32:r=0.01:d=660", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-y", long], { label: "ffmpeg" });
    const v = await attempt(v2v, { video_url: dataUri(await readFile(long), "video/mp4"), audio_url: dataUri(seeds["a.wav"], "audio/wav"), prompt: "p" });
    expect422(v, "11-minute video");
    assert.match((v as { message: string }).message, /video_url.*the video is \d+\.\d s long, over the 600 s limit/);
  });

  it("the seeds themselves pass the input stage (so the fuzz below tests the corruption, not the seeds)", async () => {
    const ok = await attempt(aiAvatar, { image_url: dataUri(seeds["p.png"], "image/png"), audio_url: dataUri(seeds["a.mp3"], "audio/mpeg"), prompt: "p", num_frames: 81 });
    assert.equal(ok.kind, "accepted", JSON.stringify(ok));
    const okJpg = await attempt(aiAvatar, { image_url: dataUri(seeds["p.jpg"], "image/jpeg"), audio_url: dataUri(seeds["a.wav"], "audio/wav"), prompt: "p", num_frames: 81 });
    assert.equal(okJpg.kind, "accepted", JSON.stringify(okJpg));
    const okVideo = await attempt(v2v, { video_url: dataUri(seeds["v.mp4"], "video/mp4"), audio_url: dataUri(seeds["a.wav"], "audio/wav"), prompt: "p" });
    assert.notEqual(okVideo.kind, "input", JSON.stringify(okVideo));
  });
});

// ---- corruptions that leave no decodable media (each is invalid by construction)
const ZIP = Buffer.concat([Buffer.from("504b0304140000000800", "hex"), Buffer.alloc(120, 7), Buffer.from("504b0506", "hex"), Buffer.alloc(18)]);
const HTML = Buffer.from("<!DOCTYPE html><html><body>404 Not Found</body></html>");
const PDF = Buffer.from("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");

type Corruption = { name: string; make: (seed: Buffer) => Buffer };
const truncatedHead = fc.integer({ min: 0, max: 40 }).map((k): Corruption => ({ name: `first ${k} bytes`, make: (s) => s.subarray(0, k) }));
const garbage = fc.uint8Array({ minLength: 1, maxLength: 3000 }).map((b): Corruption => ({ name: `${b.length} random bytes`, make: () => Buffer.from(b) }));
const mislabel = fc.constantFrom<Corruption>(
  { name: "a ZIP", make: () => ZIP }, { name: "an HTML page", make: () => HTML }, { name: "a PDF", make: () => PDF },
  { name: "empty", make: () => Buffer.alloc(0) },
);
/** Images only: cut anywhere before the end marker, or a broken signature. */
const imageOnly = fc.oneof(
  fc.double({ min: 0.05, max: 0.9, noNaN: true }).map((f): Corruption => ({ name: `cut at ${(f * 100).toFixed(0)} %`, make: (s) => s.subarray(0, Math.floor(s.length * f)) })),
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 255 })).map(([i, x]): Corruption => ({ name: `signature byte ${i} ^ ${x}`, make: (s) => {
    const b = Buffer.from(s);
    b[i] ^= x;
    return b;
  } })),
);
/** Video only: an MP4 cut before its index (ffmpeg writes moov at the end). */
const videoOnly = fc.double({ min: 0.05, max: 0.5, noNaN: true }).map((f): Corruption => ({ name: `cut at ${(f * 100).toFixed(0)} %`, make: (s) => s.subarray(0, Math.floor(s.length * f)) }));

const FUZZ = { seed: 20261122, numRuns: 40, endOnFailure: true };

describe("fuzz: corrupted, truncated and mislabelled files end as 422", () => {
  it("images", async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom("p.png", "p.jpg", "p.webp"), fc.oneof(truncatedHead, garbage, mislabel, imageOnly, imageOnly), async (seed, c) => {
      const bytes = c.make(seeds[seed]);
      const o = await attempt(aiAvatar, { image_url: dataUri(bytes, "image/png"), audio_url: dataUri(seeds["a.wav"], "audio/wav"), prompt: "p", num_frames: 81 });
      expect422(o, `${seed}: ${c.name}`);
      assert.match((o as { message: string }).message, /image_url/);
    }), FUZZ);
  });

  it("audio", async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom("a.wav", "a.mp3"), fc.oneof(truncatedHead, garbage, mislabel, fc.constant<Corruption>({ name: "a PNG named .wav", make: () => seeds["p.png"] })), async (seed, c) => {
      const bytes = c.make(seeds[seed]);
      const o = await attempt(aiAvatar, { image_url: dataUri(seeds["p.png"], "image/png"), audio_url: dataUri(bytes, "audio/wav"), prompt: "p", num_frames: 81 });
      expect422(o, `${seed}: ${c.name}`);
      assert.match((o as { message: string }).message, /audio_url/);
    }), FUZZ);
  });

  it("video", async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(truncatedHead, garbage, mislabel, videoOnly, fc.constant<Corruption>({ name: "a WAV named .mp4", make: () => seeds["a.wav"] })), async (c) => {
      const bytes = c.make(seeds["v.mp4"]);
      const o = await attempt(v2v, { video_url: dataUri(bytes, "video/mp4"), audio_url: dataUri(seeds["a.wav"], "audio/wav"), prompt: "p" });
      expect422(o, `v.mp4: ${c.name}`);
      assert.match((o as { message: string }).message, /video_url/);
    }), { ...FUZZ, numRuns: 25 });
  });
});
