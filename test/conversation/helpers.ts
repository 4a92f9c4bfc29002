/**
 * What the conversation tests share: the real stages (face analyzer, classical engine, offline speech) behind
 * createPipelineRunner, a two-person picture composed from face-api's shipped photos, an engine wrapper that checks
 * far-away pixels of every frame, and per-face measurements with the independent judge (test/support/judge.ts).
 */
import assert from "node:assert/strict";
import sharp from "sharp";
import { FPS } from "../../src/api/endpoints.js";
import type { Box } from "../../src/face/types.js";
import { decodePcm } from "../../src/media/audio.js";
import type { RawImage } from "../../src/media/types.js";
import type { Engine, EngineFrame, EngineJob, FrameStream } from "../../src/pipeline/engine.js";
import { fullRect, rgbxToYuv420, surfaceFromRgb, yuvBytes } from "../../src/render/pixels.js";
import { loadGroupFixture, loadPortraitFixture } from "../support/face-fixtures.js";
import { bestLagCorrelation, loudnessEnvelope, readVideoFrames, type Judge } from "../support/judge.js";
import { bins } from "../support/media-fixtures.js";

/** A smooth, deterministic texture (so that a stray warp would show), RGB. */
async function texture(width: number, height: number): Promise<Buffer> {
  const w = 64;
  const h = 36;
  const small = Buffer.alloc(w * h * 3);
  let s = 12345;
  for (let i = 0; i < small.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    small[i] = 60 + ((s >>> 16) % 140);
  }
  return sharp(small, { raw: { width: w, height: h, channels: 3 } }).resize(width, height, { kernel: "cubic" }).raw().toBuffer();
}

export interface TwoPeople {
  png: Buffer;
  width: number;
  height: number;
  /** Approximate face boxes in picture pixels: [left, right]. */
  faces: [Box, Box];
}

/**
 * Two real people, side by side with textured room between them, 1280x720: on the left the closed-lips portrait
 * (sample6), on the right the left woman of the group photo (sample3). Faces about 190 px wide, 800 px apart.
 */
export async function composeTwoPeople(): Promise<TwoPeople> {
  const width = 1280;
  const height = 720;
  const tile = { width: 440, height: 495 };
  const left = await loadPortraitFixture(tile);
  const group = await loadGroupFixture();
  const gFace = group.faces[2]; // the left woman, x ≈ 174..360
  const region = {
    left: Math.round(gFace.x + gFace.width / 2 - tile.width / 2),
    top: Math.round(gFace.y + gFace.height / 2 - tile.height / 2),
    ...tile,
  };
  const right = await sharp(group.png).extract(region).png().toBuffer();
  const at = [{ left: 20, top: 112 }, { left: 820, top: 112 }];
  const png = await sharp(await texture(width, height), { raw: { width, height, channels: 3 } })
    .composite([{ input: left.png, ...at[0] }, { input: right, ...at[1] }])
    .png()
    .toBuffer();
  const lf = left.faces[0];
  return {
    png, width, height,
    faces: [
      { x: lf.x + at[0].left, y: lf.y + at[0].top, width: lf.width, height: lf.height },
      { x: gFace.x - region.left + at[1].left, y: gFace.y - region.top + at[1].top, width: gFace.width, height: gFace.height },
    ],
  };
}

/**
 * Wraps an engine; checks every frame it yields (yuv420p) against the photo at pixels farther than `faceWidths`
 * face widths from every face's centre, and counts how many differ.
 */
export class FarPixelWatch implements Engine {
  readonly name: string;
  jobs: EngineJob[] = [];
  /** Changed far-away samples (Y, U, V) over all frames, and how many far-away luma pixels each frame has. */
  changed = 0;
  farPixels = 0;
  /** Far-away luma pixels lying between the faces horizontally. */
  farBetween = 0;
  frames = 0;

  constructor(private readonly inner: Engine, private readonly faceWidths = 1.5) {
    this.name = inner.name;
  }

  async start(job: EngineJob, ctx: Parameters<Engine["start"]>[1]): Promise<FrameStream> {
    this.jobs.push(job);
    const stream = await this.inner.start(job, ctx);
    assert.equal(stream.pixelFormat, "yuv420p");
    const { width, height } = job.image;
    const photo = new Uint8Array(yuvBytes(width, height));
    const s = surfaceFromRgb(job.image);
    rgbxToYuv420(s, photo, fullRect(s));
    const far = (x: number, y: number) => job.faces.every((f) => {
      const cx = f.box.x + f.box.width / 2;
      const cy = f.box.y + f.box.height / 2;
      return Math.hypot(x + 0.5 - cx, y + 0.5 - cy) > this.faceWidths * f.box.width;
    });
    // Sample offsets to compare: luma of far pixels, chroma of 2x2 blocks that are entirely far.
    const offsets: number[] = [];
    const xs = job.faces.map((f) => f.box.x + f.box.width / 2).sort((a, b) => a - b);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (!far(x, y)) continue;
        offsets.push(y * width + x);
        this.farPixels++;
        if (xs.length >= 2 && x > xs[0] && x < xs[xs.length - 1]) this.farBetween++;
      }
    }
    const cw = (width + 1) >> 1;
    const ch = (height + 1) >> 1;
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        if (far(2 * x, 2 * y) && far(2 * x + 1, 2 * y) && far(2 * x, 2 * y + 1) && far(2 * x + 1, 2 * y + 1)) {
          offsets.push(width * height + y * cw + x, width * height + cw * ch + y * cw + x);
        }
      }
    }
    const self = this;
    return {
      ...stream,
      async *frames(): AsyncGenerator<EngineFrame> {
        for await (const frame of stream.frames()) {
          for (const o of offsets) if (frame.data[o] !== photo[o]) self.changed++;
          self.frames++;
          yield frame;
        }
      },
    };
  }
}

/** Cuts a box (clipped to the picture) out of an RGB picture. */
export function crop(image: RawImage, box: { x: number; y: number; width: number; height: number }): RawImage {
  const x0 = Math.max(0, Math.round(box.x));
  const y0 = Math.max(0, Math.round(box.y));
  const x1 = Math.min(image.width, Math.round(box.x + box.width));
  const y1 = Math.min(image.height, Math.round(box.y + box.height));
  const w = x1 - x0;
  const h = y1 - y0;
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) image.data.copy(data, y * w * 3, ((y0 + y) * image.width + x0) * 3, ((y0 + y) * image.width + x1) * 3);
  return { width: w, height: h, channels: 3, data };
}

/**
 * Mouth openings of each face in `boxes` (frame pixels), frame by frame, measured by the judge on a crop around
 * the face (so that the judge's "largest face" is that one).
 */
export async function mouthOpeningsPerFace(judge: Judge, video: string, boxes: Box[]): Promise<number[][]> {
  const crops: RawImage[][] = boxes.map(() => []);
  for await (const frame of readVideoFrames(video)) {
    boxes.forEach((b, k) => {
      const side = 2.4 * Math.max(b.width, b.height);
      crops[k].push(crop(frame, { x: b.x + b.width / 2 - side / 2, y: b.y + b.height / 2 - side / 2, width: side, height: side }));
    });
  }
  const out: number[][] = [];
  for (const c of crops) out.push(await judge.mouthOpenings(c, { redetectEvery: 55 }));
  return out;
}

/** The faces the judge sees in the video's first frame, left to right. */
export async function judgeFacesLeftToRight(judge: Judge, video: string): Promise<Box[]> {
  for await (const frame of readVideoFrames(video)) {
    const faces = await judge.faces(frame);
    return faces.map((f) => f.box).sort((a, b) => a.x - b.x);
  }
  return [];
}

/** Loudness per video frame of the video's own sound track. */
export async function videoLoudness(video: string): Promise<number[]> {
  return loudnessEnvelope(await decodePcm(video, bins), FPS);
}

/** The turns the pipeline logged ("turns: person 1 speaks a-b s, person 2 speaks c-d s of T s"), as frame ranges. */
export function loggedTurns(messages: string[]): { from: number; to: number }[] {
  const line = messages.find((m) => m.startsWith("turns: "));
  assert.ok(line, `no turns logged: ${JSON.stringify(messages)}`);
  return [...line.matchAll(/person \d speaks ([\d.]+)-([\d.]+) s/g)].map((m) => ({
    from: Math.floor(Number(m[1]) * FPS),
    to: Math.ceil(Number(m[2]) * FPS),
  }));
}

/**
 * The video split into turns: each person's turn runs from the end of the previous one to the middle of the gap
 * before the next (so a turn holds its speaker's pauses, as a turn in a conversation does). Frame ranges.
 */
export function turnWindows(voiced: { from: number; to: number }[], numFrames: number): { from: number; to: number }[] {
  return voiced.map((_, k) => ({
    from: k === 0 ? 0 : Math.round((voiced[k - 1].to + voiced[k].from) / 2),
    to: k === voiced.length - 1 ? numFrames : Math.round((voiced[k].to + voiced[k + 1].from) / 2),
  }));
}

export function std(values: number[]): number {
  const v = values.filter(Number.isFinite);
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  return Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
}

export interface TurnMeasure {
  /** Best-lag correlation (|lag| <= 2) between the sound's loudness and this face's mouth during its own turn. */
  r: number;
  lag: number;
  /** Mouth-opening standard deviation of this face during its own turn, and during the other's. */
  stdOwn: number;
  stdOther: number;
}

/** Per face k (speaking turn k): lip sync in its own turn, stillness in the other's. */
export function measureTurns(loud: number[], openings: number[][], turns: { from: number; to: number }[]): TurnMeasure[] {
  return openings.map((open, k) => {
    const own = turns[k];
    const slice = <T>(a: T[], t: { from: number; to: number }) => a.slice(t.from, t.to);
    const { r, lag } = bestLagCorrelation(slice(loud, own), slice(open, own), 2);
    const others = turns.filter((_, j) => j !== k);
    return {
      r, lag,
      stdOwn: std(slice(open, own)),
      stdOther: others.length ? Math.max(...others.map((t) => std(slice(open, t)))) : Number.NaN,
    };
  });
}
