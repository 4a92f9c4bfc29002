/**
 * Encoding baseline: how long the encoder alone takes for N frames at 854x480 (or 1280x720), per acceleration.
 * The engine benchmark compares its render+encode time against this.
 *
 *   node --import tsx bench/encode-baseline.ts [--frames 181] [--resolution 480p] [--image path] [--moving]
 *     [--render-ms N] [--sweep] [--repeat N] [--acceleration none|regular|high]
 *
 * --moving feeds a picture that drifts by a few pixels per frame (like head motion) instead of a still, so x264
 * does real work; --render-ms N burns N ms of main-thread CPU per frame (a stand-in renderer competing with x264
 * for the 2 cores); --sweep also tries other presets/thread counts; --repeat N keeps the best of N runs. Uses ../shared/media/portrait-single.png when
 * present, else a generated picture.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { ACCELERATIONS, type Resolution } from "../src/api/endpoints.js";
import { encodeStillBaseline, encodeVideo, x264Settings, type X264Settings } from "../src/media/encode.js";
import { resolveBinaries } from "../src/media/ffmpeg.js";
import { chooseBucket, decodeImage, fitImage } from "../src/media/image.js";
import type { RawImage } from "../src/media/types.js";
import type { FrameStream } from "../src/pipeline/engine.js";

const argv = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : def;
};
const frames = Number(opt("frames", "181"));
const resolution = opt("resolution", "480p") as Resolution;
const moving = argv.includes("--moving");
const sweep = argv.includes("--sweep");
const renderMs = Number(opt("render-ms", "0"));
const repeat = Math.max(1, Number(opt("repeat", "1")));
const burn = (ms: number) => {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
};
const defaultImage = path.resolve(import.meta.dirname, "../../shared/media/portrait-single.png");
const imagePath = opt("image", existsSync(defaultImage) ? defaultImage : "");

const bins = resolveBinaries({});
const dir = await mkdtemp(path.join(os.tmpdir(), "mouthpiece-bench-"));
try {
  let src: RawImage;
  if (imagePath) src = await decodeImage(imagePath, "image");
  else {
    const { data, info } = await sharp({ create: { width: 1600, height: 900, channels: 3, background: "#808080" } })
      .composite([{ input: Buffer.from(`<svg width="1600" height="900"><circle cx="800" cy="420" r="260" fill="#d9a27a"/></svg>`) }])
      .raw().toBuffer({ resolveWithObject: true });
    src = { width: info.width, height: info.height, channels: 3, data };
  }
  const bucket = chooseBucket(src.width, src.height, resolution);
  // A margin of 16 px lets the moving stream slide a window over a slightly larger picture.
  const big = await fitImage(src, { ...bucket, width: bucket.width + 32, height: bucket.height + 32 });
  const still = await fitImage(src, bucket);

  const movingStream = (n: number): FrameStream => {
    const w = bucket.width, h = bucket.height, W = big.image.width;
    const buf = Buffer.alloc(w * h * 3);
    return {
      pixelFormat: "rgb24", width: w, height: h,
      async *frames() {
        for (let i = 0; i < n; i++) {
          const dx = Math.round(16 + 12 * Math.sin(i / 9)), dy = Math.round(16 + 8 * Math.sin(i / 13));
          for (let y = 0; y < h; y++) big.image.data.copy(buf, y * w * 3, ((y + dy) * W + dx) * 3, ((y + dy) * W + dx + w) * 3);
          if (renderMs) burn(renderMs);
          yield { index: i, data: buf };
        }
      },
    };
  };

  const configs: { name: string; acceleration: (typeof ACCELERATIONS)[number]; x264: X264Settings }[] =
    ACCELERATIONS.filter((a) => opt("acceleration", a) === a).map((a) => ({ name: a, acceleration: a, x264: x264Settings(a) }));
  if (sweep) {
    for (const preset of ["ultrafast", "superfast", "veryfast", "faster", "medium"] as const) {
      for (const threads of [1, 2]) configs.push({ name: `${preset}/t${threads}`, acceleration: "regular", x264: { preset, crf: 20, threads } });
    }
  }
  console.log(`${frames} frames ${bucket.width}x${bucket.height} ${moving ? "moving" : "still"} picture${imagePath ? ` (${path.basename(imagePath)})` : ""}${renderMs ? `, ${renderMs} ms render per frame` : ""}, best of ${repeat}`);
  for (const c of configs) {
    const outPath = path.join(dir, `${c.name.replace("/", "-")}.mp4`);
    let ms = Infinity;
    let size = 0;
    for (let k = 0; k < repeat; k++) {
      const t0 = performance.now();
      const r = moving || renderMs
        ? await encodeVideo({ stream: movingStream(frames), numFrames: frames, fps: 25, outPath, acceleration: c.acceleration, bins,
          ctx: { signal: new AbortController().signal, log: () => {}, progress: () => {} }, x264: c.x264 })
        : await encodeStillBaseline({ image: still.image, numFrames: frames, acceleration: c.acceleration, bins, outPath, x264: c.x264 });
      ms = Math.min(ms, performance.now() - t0);
      size = r.size;
    }
    const r = { size };
    console.log(`${c.name.padEnd(14)} preset=${c.x264.preset.padEnd(9)} crf=${c.x264.crf} threads=${c.x264.threads}  ${ms.toFixed(0).padStart(6)} ms  ${(frames * 1000 / ms).toFixed(1).padStart(6)} fps  ${(r.size / 1024).toFixed(0).padStart(6)} KiB`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
