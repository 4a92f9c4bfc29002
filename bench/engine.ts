/**
 * Engine benchmark (not a test): the classical engine on a real portrait and real speech.
 *
 *   node --import tsx bench/engine.ts [--resolution 480p|720p] [--frames 181] [--acceleration regular]
 *     [--image path] [--audio path] [--encode] [--worker] [--rgb] [--repeat N] [--png dir]
 *
 * Prints: face analysis time (not part of the engine), engine start (motion + mesh/rig/mouth preparation),
 * render-only time per frame (wall and CPU, median/p90/max) and frames/s, peak RSS; with --encode also the
 * whole render+encode time through src/media's encoder (x264 settings of the acceleration) and its speed
 * relative to real time (25 fps). --worker renders in a worker thread (ClassicalEngine's `worker` option);
 * --rgb makes the engine emit rgb24 instead of yuv420p (ffmpeg then converts).
 * --png dir writes every 20th frame as PNG.
 * Uses ../shared/media/portrait-single.png and speech-single.wav when present, else face-api's sample photo and
 * a synthetic voice.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import type { Acceleration, Resolution } from "../src/api/endpoints.js";
import { createFaceAnalyzer } from "../src/face/index.js";
import { fitLength } from "../src/media/audio.js";
import { decodePcm } from "../src/media/audio.js";
import { encodeVideo } from "../src/media/encode.js";
import { resolveBinaries } from "../src/media/ffmpeg.js";
import { chooseBucket, decodeImage, fitImage, writePng } from "../src/media/image.js";
import type { JobContext, Pcm } from "../src/media/types.js";
import type { EngineJob, FrameStream } from "../src/pipeline/engine.js";
import { ClassicalEngine } from "../src/render/engine.js";
import { yuvBytes } from "../src/render/pixels.js";

const argv = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : def;
};
const resolution = opt("resolution", "480p") as Resolution;
const numFrames = Number(opt("frames", "181"));
const acceleration = opt("acceleration", "regular") as Acceleration;
const encode = argv.includes("--encode");
const worker = argv.includes("--worker");
const rgb = argv.includes("--rgb");
const repeat = Math.max(1, Number(opt("repeat", "1")));
const pngDir = opt("png", "");
const shared = path.resolve(import.meta.dirname, "../../shared/media");
const require = createRequire(import.meta.url);
const imagePath = opt("image", existsSync(path.join(shared, "portrait-single.png"))
  ? path.join(shared, "portrait-single.png")
  : path.join(path.dirname(require.resolve("@vladmandic/face-api")), "..", "demo", "sample6.jpg"));
const audioPath = opt("audio", existsSync(path.join(shared, "speech-single.wav")) ? path.join(shared, "speech-single.wav") : "");

const quantile = (xs: number[], q: number) => {
  const a = [...xs].sort((p, r) => p - r);
  return a[Math.min(a.length - 1, Math.floor(q * (a.length - 1)))];
};
const ctx = (): JobContext => ({ signal: new AbortController().signal, log: () => {}, progress: () => {} });

function syntheticVoice(seconds: number, rate = 16000): Pcm {
  const n = Math.round(seconds * rate);
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const env = Math.max(0, Math.sin(2 * Math.PI * 2.3 * t)) ** 2;
    samples[i] = env * 0.3 * (Math.sin(2 * Math.PI * 150 * t) + 0.5 * Math.sin(2 * Math.PI * 300 * t));
  }
  return { sampleRate: rate, samples };
}

const bins = resolveBinaries({});
const src = await decodeImage(imagePath, "image");
const bucket = chooseBucket(src.width, src.height, resolution);
const analyzer = await createFaceAnalyzer();
// Fit with the faces kept in frame (as the pipeline does), then find them in the fitted picture.
const t0 = performance.now();
const firstFaces = await analyzer.detect(src);
const fitted = await fitImage(src, bucket, firstFaces.map((f) => f.box));
const faces = await analyzer.detect(fitted.image);
const analysisMs = performance.now() - t0;
let pcm: Pcm = syntheticVoice(numFrames / 25);
if (audioPath) pcm = await decodePcm(audioPath, bins, { rate: 16000 });
pcm = { sampleRate: pcm.sampleRate, samples: fitLength(pcm.samples, Math.round((numFrames / 25) * pcm.sampleRate)) };

const job: EngineJob = {
  image: fitted.image, faces, numFrames, fps: 25, seed: 42, prompt: "", acceleration,
  tracks: [{ pcm, faceIndex: faces.length ? 0 : null }],
};
console.log(
  `${path.basename(imagePath)} -> ${fitted.image.width}x${fitted.image.height}, ${faces.length} face(s) in ${analysisMs.toFixed(0)} ms; ` +
  `${numFrames} frames, acceleration ${acceleration}${worker ? ", worker thread" : ""}${audioPath ? `, ${path.basename(audioPath)}` : ", synthetic voice"}`,
);

const engineOptions = { worker, pixelFormat: rgb ? ("rgb24" as const) : ("yuv420p" as const) };
let peakRss = process.memoryUsage().rss;
for (let run = 0; run < repeat; run++) {
  // Render only.
  const engine = new ClassicalEngine(engineOptions);
  const s0 = performance.now();
  const stream = await engine.start(job, ctx());
  const startMs = performance.now() - s0;
  const wall: number[] = [];
  const cpu0 = process.cpuUsage();
  let last = performance.now();
  const r0 = last;
  let n = 0;
  if (pngDir) await mkdir(pngDir, { recursive: true });
  for await (const f of stream.frames()) {
    const now = performance.now();
    wall.push(now - last);
    if (f.data.length !== (rgb ? stream.width * stream.height * 3 : yuvBytes(stream.width, stream.height))) throw new Error("bad frame size");
    if (pngDir && n % 20 === 0) {
      const image = rgb ? { width: stream.width, height: stream.height, channels: 3 as const, data: f.data } : yuvToRgb(f.data, stream.width, stream.height);
      await writePng(image, path.join(pngDir, `frame-${String(n).padStart(3, "0")}.png`));
    }
    n++;
    if (n % 10 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    last = performance.now();
  }
  const totalMs = performance.now() - r0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    `render: start ${startMs.toFixed(0)} ms; ${n} frames in ${totalMs.toFixed(0)} ms = ${(n * 1000 / totalMs).toFixed(1)} fps; ` +
    `per frame wall median ${quantile(wall, 0.5).toFixed(2)} p90 ${quantile(wall, 0.9).toFixed(2)} max ${Math.max(...wall).toFixed(1)} ms; ` +
    `main-thread CPU ${(cpuMs / n).toFixed(2)} ms/frame; peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
  );

  if (encode) {
    const dir = await mkdtemp(path.join(os.tmpdir(), "mouthpiece-engine-bench-"));
    try {
      const e0 = performance.now();
      const c0 = process.cpuUsage();
      const engine2 = new ClassicalEngine(engineOptions);
      const stream2: FrameStream = await engine2.start(job, ctx());
      const res = await encodeVideo({ stream: stream2, numFrames, fps: 25, outPath: path.join(dir, "out.mp4"), acceleration, bins, ctx: ctx() });
      const ms = performance.now() - e0;
      const c = process.cpuUsage(c0);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      console.log(
        `render+encode: ${ms.toFixed(0)} ms for ${(numFrames / 25).toFixed(2)} s of video = ${((numFrames / 25) * 1000 / ms).toFixed(2)}x real time; ` +
        `x264 ${res.x264.preset}/crf ${res.x264.crf}/t${res.x264.threads}; ${(res.size / 1024).toFixed(0)} KiB; node CPU ${((c.user + c.system) / 1000).toFixed(0)} ms; peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** yuv420p (BT.709 limited) back to RGB, for looking at frames. */
function yuvToRgb(data: Buffer, w: number, h: number) {
  const out = Buffer.alloc(w * h * 3);
  const cw = (w + 1) >> 1;
  const u0 = w * h, v0 = u0 + cw * ((h + 1) >> 1);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const Y = (data[y * w + x] - 16) * 1.164;
    const U = data[u0 + (y >> 1) * cw + (x >> 1)] - 128, V = data[v0 + (y >> 1) * cw + (x >> 1)] - 128;
    const o = (y * w + x) * 3;
    out[o] = Math.max(0, Math.min(255, Math.round(Y + 1.793 * V)));
    out[o + 1] = Math.max(0, Math.min(255, Math.round(Y - 0.213 * U - 0.533 * V)));
    out[o + 2] = Math.max(0, Math.min(255, Math.round(Y + 2.112 * U)));
  }
  return { width: w, height: h, channels: 3 as const, data: out };
}
