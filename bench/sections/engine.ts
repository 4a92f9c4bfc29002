/**
 * `npm run bench -- engine`: the engine bars of issue 3 on this machine, warm (face models loaded, three warm-up jobs
 * done), through the classical engine + src/media's encoder (x264 settings of acceleration "regular",
 * with the AAC sound track, as a job does):
 *   - 480p, one person, 181 frames: render+encode wall time vs the video's length (bar <= 0.5x), and vs ffmpeg
 *     alone encoding 181 copies of the same still picture with the same settings (same yuv420p input, same
 *     x264 preset/crf/threads, same sound track) in the same run (bar <= 2x); best of 3 each, interleaved (720p: best of 2);
 *   - 720p, 181 frames: speed vs real time (bar >= 1.5x);
 *   - peak RSS (bar <= 1 GiB): this process (face models + both resolutions) and node + ffmpeg of each child;
 *   - 721 vs 81 frames at 480p, each in a fresh child process (so the peaks are separable): node's maxRSS and
 *     the sampled peak of node + its ffmpeg (bar: within ±10 %).
 * Uses ../shared/media/portrait-single.png and speech-single.wav when present, else face-api's sample6.jpg and
 * Flite speech (Brian). The speech is repeated to fill longer videos (the mouth talks to the last frame).
 *
 * Also runnable alone: node --import tsx bench/sections/engine.ts   (prints the Markdown)
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Acceleration, Resolution } from "../../src/api/endpoints.js";
import type { Face } from "../../src/face/types.js";
import { decodePcm } from "../../src/media/audio.js";
import { encodeVideo, x264Settings } from "../../src/media/encode.js";
import { resolveBinaries } from "../../src/media/ffmpeg.js";
import { chooseBucket, decodeImage, fitImage } from "../../src/media/image.js";
import type { JobContext, Pcm, RawImage } from "../../src/media/types.js";
import type { EngineJob, FrameStream } from "../../src/pipeline/engine.js";
import { ClassicalEngine } from "../../src/render/engine.js";
import { fullRect, rgbxToYuv420, surfaceFromRgb, yuvBytes } from "../../src/render/pixels.js";
import { encodeWav } from "../../src/speech/index.js";

const here = fileURLToPath(import.meta.url);
const require = createRequire(import.meta.url);
const shared = path.resolve(path.dirname(here), "../../../shared/media");
const FPS = 25;
const ACCEL: Acceleration = "regular";
/** Jobs rendered before the measured runs (see run()). */
const WARM_JOBS = 3;
const GiB = 2 ** 30;
const MiB = 2 ** 20;
const bins = resolveBinaries({});
const ctx = (): JobContext => ({ signal: new AbortController().signal, log: () => {}, progress: () => {} });

/** What a child process needs to render a job without the face models. */
interface JobFile {
  image: { width: number; height: number; data: string };
  faces: (Omit<Face, "mesh"> & { mesh: number[] })[];
  pcm: { sampleRate: number; samples: string };
}

/** Speech repeated (with 0.3 s between repeats) or cut to exactly numFrames / FPS seconds. */
function speechFor(pcm: Pcm, numFrames: number): Pcm {
  const n = Math.round((numFrames / FPS) * pcm.sampleRate);
  const gap = Math.round(0.3 * pcm.sampleRate);
  const samples = new Float32Array(n);
  for (let at = 0; at < n; at += pcm.samples.length + gap) samples.set(pcm.samples.subarray(0, Math.min(pcm.samples.length, n - at)), at);
  return { sampleRate: pcm.sampleRate, samples };
}

/** Engine start (motion + renderer preparation) and the main thread's CPU of the last renderEncode, ms. */
const last = { startMs: 0, cpuMs: 0 };

/** Renders and encodes one job (with its sound) to a temp file; wall ms (details in `last`). */
async function renderEncode(job: EngineJob, dir: string, name: string): Promise<number> {
  const wav = path.join(dir, `${name}.wav`);
  await writeFile(wav, encodeWav(job.tracks[0].pcm));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const stream = await new ClassicalEngine().start(job, ctx());
  last.startMs = performance.now() - t0;
  await encodeVideo({ stream, numFrames: job.numFrames, fps: FPS, audioPath: wav, outPath: path.join(dir, `${name}.mp4`), acceleration: ACCEL, bins, ctx: ctx() });
  const c = process.cpuUsage(c0);
  last.cpuMs = (c.user + c.system) / 1000;
  return performance.now() - t0;
}

/** ffmpeg alone: numFrames copies of the picture, as yuv420p (what the engine feeds), same settings and sound. */
async function encodeStill(image: RawImage, pcm: Pcm, numFrames: number, dir: string): Promise<number> {
  const wav = path.join(dir, "still.wav");
  await writeFile(wav, encodeWav(pcm));
  const yuv = Buffer.alloc(yuvBytes(image.width, image.height));
  const s = surfaceFromRgb(image);
  rgbxToYuv420(s, yuv, fullRect(s));
  const stream: FrameStream = {
    pixelFormat: "yuv420p", width: image.width, height: image.height,
    async *frames() {
      for (let index = 0; index < numFrames; index++) yield { index, data: yuv };
    },
  };
  const t0 = performance.now();
  await encodeVideo({ stream, numFrames, fps: FPS, audioPath: wav, outPath: path.join(dir, "still.mp4"), acceleration: ACCEL, bins, ctx: ctx() });
  return performance.now() - t0;
}

/** Resident memory of a process and its descendants (Linux /proc), bytes. */
async function treeRss(pid: number): Promise<number> {
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    try {
      const status = await readFile(`/proc/${p}/status`, "utf8");
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      for (const t of await readdir(`/proc/${p}/task`)) {
        const kids = (await readFile(`/proc/${p}/task/${t}/children`, "utf8")).trim();
        if (kids) stack.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** Child mode: render+encode `frames` frames of the job in `file`; print {maxRss, treePeak, ms} as JSON. */
async function child(file: string, frames: number): Promise<void> {
  const j = JSON.parse(await readFile(file, "utf8")) as JobFile;
  const image: RawImage = { width: j.image.width, height: j.image.height, channels: 3, data: Buffer.from(j.image.data, "base64") };
  // JSON carries each mesh as a plain array (a Float32Array would arrive as an object without a length, and the
  // engine would find no usable face: the child would encode a still picture instead of rendering).
  const faces: Face[] = j.faces.map((f) => ({ ...f, mesh: Float32Array.from(f.mesh) }));
  const raw = Buffer.from(j.pcm.samples, "base64");
  const pcm: Pcm = { sampleRate: j.pcm.sampleRate, samples: new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4) };
  const job: EngineJob = {
    image, faces, numFrames: frames, fps: FPS, seed: 42, prompt: "", acceleration: ACCEL,
    tracks: [{ pcm: speechFor(pcm, frames), faceIndex: 0 }],
  };
  let treePeak = 0;
  const timer = setInterval(() => void treeRss(process.pid).then((r) => (treePeak = Math.max(treePeak, r))), 100);
  const dir = await mkdtemp(path.join(os.tmpdir(), "mp-bench-child-"));
  try {
    const ms = await renderEncode(job, dir, "child");
    clearInterval(timer);
    process.stdout.write(JSON.stringify({ maxRss: process.resourceUsage().maxRSS * 1024, treePeak, ms }));
  } finally {
    clearInterval(timer);
    await rm(dir, { recursive: true, force: true });
  }
}

function runChild(file: string, frames: number): Promise<{ maxRss: number; treePeak: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", here, "--engine-child", file, String(frames)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`engine bench child (${frames} frames) exited ${code}`))));
  });
}

async function prepare(resolution: Resolution, src: RawImage, detect: (i: RawImage) => Promise<Face[]>): Promise<{ image: RawImage; faces: Face[] }> {
  const bucket = chooseBucket(src.width, src.height, resolution);
  const first = await detect(src);
  const fitted = await fitImage(src, bucket, first.map((f) => f.box));
  const faces = await detect(fitted.image);
  if (faces.length === 0) throw new Error(`engine bench: no face in the ${resolution} picture`);
  return { image: fitted.image, faces: [faces[0]] };
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;

export async function run(): Promise<string> {
  const { createFaceAnalyzer } = await import("../../src/face/index.js");
  const portrait = path.join(shared, "portrait-single.png");
  const voice = path.join(shared, "speech-single.wav");
  const useShared = existsSync(portrait) && existsSync(voice);
  const imagePath = useShared ? portrait : path.join(path.dirname(require.resolve("@vladmandic/face-api")), "..", "demo", "sample6.jpg");
  const src = await decodeImage(imagePath, "image");
  let speech: Pcm;
  if (useShared) speech = await decodePcm(voice, bins, { rate: 16000 });
  else {
    const { createSpeechSynthesizer } = await import("../../src/speech/index.js");
    const synth = await createSpeechSynthesizer();
    speech = (await synth.speak({ text: "I walked down to the harbour this morning. The boats were coming in, and the gulls were loud.", voice: "Brian" })).pcm;
    await synth.close();
  }
  const analyzer = await createFaceAnalyzer();
  const detect = (i: RawImage) => analyzer.detect(i);
  const p480 = await prepare("480p", src, detect);
  const p720 = await prepare("720p", src, detect);
  const jobOf = (p: { image: RawImage; faces: Face[] }, numFrames: number): EngineJob => ({
    image: p.image, faces: p.faces, numFrames, fps: FPS, seed: 42, prompt: "", acceleration: ACCEL,
    tracks: [{ pcm: speechFor(speech, numFrames), faceIndex: 0 }],
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), "mp-bench-engine-"));
  try {
    // Warm-up, as a server that has rendered before: JIT, sharp, ffmpeg's first start. One job is not enough
    // for the JIT: node --trace-opt --trace-deopt shows the renderer's functions still being deoptimized and
    // recompiled during the second job (deform 5 times, ~110 ms of compiler CPU each, beside x264); by the third
    // they are stable.
    const N = 181;
    for (let w = 0; w < WARM_JOBS; w++) await renderEncode(jobOf(p480, N), dir, `warm-${w}`);
    const video = N / FPS;
    const engineMs: number[] = [];
    const stillMs: number[] = [];
    const details: string[] = [];
    for (let k = 0; k < 3; k++) {
      stillMs.push(await encodeStill(p480.image, speechFor(speech, N), N, dir));
      engineMs.push(await renderEncode(jobOf(p480, N), dir, `e480-${k}`));
      details.push(`start ${f2(last.startMs / 1000)} s, node CPU ${f2(last.cpuMs / 1000)} s`);
    }
    const e480 = Math.min(...engineMs);
    const s480 = Math.min(...stillMs);
    await renderEncode(jobOf(p720, N), dir, "warm720");
    const e720 = Math.min(await renderEncode(jobOf(p720, N), dir, "e720"), await renderEncode(jobOf(p720, N), dir, "e720b"));
    details.push(`720p: start ${f2(last.startMs / 1000)} s, node CPU ${f2(last.cpuMs / 1000)} s`);
    const parentRss = process.resourceUsage().maxRSS * 1024;

    // Memory vs length: fresh children render 81 and 721 frames of the 480p job (no face models in them).
    const jobFile = path.join(dir, "job.json");
    const body: JobFile = {
      image: { width: p480.image.width, height: p480.image.height, data: Buffer.from(p480.image.data).toString("base64") },
      faces: p480.faces.map((f) => ({ ...f, mesh: Array.from(f.mesh) })),
      pcm: { sampleRate: speech.sampleRate, samples: Buffer.from(speech.samples.buffer, speech.samples.byteOffset, speech.samples.byteLength).toString("base64") },
    };
    await writeFile(jobFile, JSON.stringify(body));
    const c81 = await runChild(jobFile, 81);
    const c721 = await runChild(jobFile, 721);
    const growNode = c721.maxRss / c81.maxRss - 1;
    const growTree = c721.treePeak / c81.treePeak - 1;
    const peak = Math.max(parentRss, c81.treePeak, c721.treePeak);
    const x = x264Settings(ACCEL);
    const pass = (ok: boolean) => (ok ? "yes" : "**no**");
    const rows = [
      ["480p 181 frames: render+encode wall time / video length", "<= 0.5x", `${f2(e480 / 1000)} s / ${f2(video)} s = ${f2(e480 / 1000 / video)}x (${f1((N * 1000) / e480)} fps)`, pass(e480 / 1000 <= 0.5 * video)],
      ["480p 181 frames: render+encode / ffmpeg alone on the still picture", "<= 2x", `${f2(e480 / 1000)} s / ${f2(s480 / 1000)} s = ${f2(e480 / s480)}x`, pass(e480 <= 2 * s480)],
      ["720p 181 frames: speed vs real time", ">= 1.5x", `${f2(e720 / 1000)} s for ${f2(video)} s = ${f2((video * 1000) / e720)}x (${f1((N * 1000) / e720)} fps)`, pass((video * 1000) / e720 >= 1.5)],
      ["peak RSS (bench process with face models; node + ffmpeg of each child)", "<= 1 GiB", `${mib(parentRss)}; 81 frames ${mib(c81.treePeak)}, 721 frames ${mib(c721.treePeak)}`, pass(peak <= GiB)],
      ["721 vs 81 frames at 480p, fresh processes: node maxRSS", "±10%", `${mib(c81.maxRss)} -> ${mib(c721.maxRss)} (${growNode >= 0 ? "+" : ""}${(100 * growNode).toFixed(1)}%)`, pass(Math.abs(growNode) <= 0.1)],
      ["721 vs 81 frames at 480p: node + ffmpeg sampled peak", "±10%", `${mib(c81.treePeak)} -> ${mib(c721.treePeak)} (${growTree >= 0 ? "+" : ""}${(100 * growTree).toFixed(1)}%)`, pass(Math.abs(growTree) <= 0.1)],
    ];
    return [
      `Engine (issue 3): ${path.basename(imagePath)} (${src.width}x${src.height}) fitted to ${p480.image.width}x${p480.image.height} and ${p720.image.width}x${p720.image.height}, ` +
      `${useShared ? path.basename(voice) : "Flite speech (Brian)"}, acceleration ${ACCEL} (x264 ${x.preset}, crf ${x.crf}, ${x.threads} threads, AAC sound); ` +
      `warm (face models loaded, ${WARM_JOBS} warm-up jobs at 480p and one at 720p), face analysis not counted; 480p figures best of 3 (engine runs ${engineMs.map((m) => f2(m / 1000)).join(", ")} s; still ${stillMs.map((m) => f2(m / 1000)).join(", ")} s); ` +
      `engine start (motion + renderer preparation) and the engine process's CPU per run: ${details.join("; ")}. ` +
      `Load average when the section ended: ${os.loadavg().map((l) => l.toFixed(1)).join(", ")} (2 cores: above ~2 the time bars measure the neighbours).`,
      "",
      "| bar | target | measured | pass |",
      "| --- | --- | --- | --- |",
      ...rows.map((r) => `| ${r.join(" | ")} |`),
    ].join("\n");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--engine-child") {
  await child(process.argv[3], Number(process.argv[4]));
} else if (process.argv[1] === here) {
  console.log(await run());
}
