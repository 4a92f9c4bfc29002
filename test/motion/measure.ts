/**
 * Manual check (not a test): lip-sync figures and a plot of the motion curves for real recordings.
 *
 *   node --import tsx test/motion/measure.ts [file.wav ...] [--plot-dir /tmp] [--prompt "..."]
 *
 * Default files: ../shared/media/speech-*.wav when present (a fresh clone has none; pass your own).
 * For each file: decodes to 16 kHz mono with the bundled ffmpeg, builds the motion, and prints
 * - r(jaw), r(visible): Pearson r at the best lag within ±2 frames between jawOpen (and the visible lip gap,
 *   jaw less lip closure) and the frame RMS / full-band dB envelope; lag > 0 = the mouth leads;
 * - silence/speech: mean visible opening in silence over the mean while speaking (bar: <= 0.25);
 * - CPU ms per frame of buildMotionTrack.
 * With --plot-dir it writes <name>-motion.png (dB, jawOpen, lipClose, lip shape, blinks, brows, head).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import ffmpeg from "@ffmpeg-installer/ffmpeg";
import sharp from "sharp";
import { buildMotionTrack, extractFeatures, visibleOpening } from "../../src/motion/index.js";
import { bestLagCorrelation } from "../../src/motion/curves.js";
import type { MotionFrame } from "../../src/motion/types.js";

const FPS = 25;
const SR = 16000;

function decode(file: string): Float32Array {
  const out = execFileSync(ffmpeg.path, ["-v", "error", "-i", file, "-ac", "1", "-ar", String(SR), "-f", "f32le", "-"], {
    maxBuffer: 1 << 30,
  });
  return new Float32Array(out.buffer, out.byteOffset, out.byteLength / 4);
}

async function plot(file: string, frames: MotionFrame[], db: Float32Array, speech: Uint8Array): Promise<void> {
  const n = frames.length;
  const W = Math.max(1200, n * 6);
  const x = (i: number) => 40 + (i / n) * (W - 60);
  const lane = (vals: ArrayLike<number>, y0: number, h: number, lo: number, hi: number, color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${Array.from(vals, (v, i) => `${x(i).toFixed(1)},${(y0 + h - ((v - lo) / (hi - lo)) * h).toFixed(1)}`).join(" ")}"/>`;
  const keys = ["blinkLeft", "browRaise", "smile", "headPitch", "headYaw", "headRoll", "gazeX"] as const;
  const H = 600 + 60 * keys.length;
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="100%" height="100%" fill="white"/>`;
  for (let i = 0; i < n; i++) if (speech[i]) svg += `<rect x="${x(i)}" y="0" width="${(W - 60) / n + 0.5}" height="590" fill="#eef"/>`;
  for (let s = 0; s <= n / FPS; s++) svg += `<line x1="${x(s * FPS)}" x2="${x(s * FPS)}" y1="0" y2="590" stroke="#ccc"/><text x="${x(s * FPS) + 2}" y="12" font-size="10">${s}s</text>`;
  svg += lane(db, 20, 300, -70, -5, "#999");
  svg += lane(frames.map((f) => f.jawOpen), 20, 300, 0, 1, "#d00");
  svg += lane(frames.map((f) => visibleOpening(f.jawOpen, f.lipClose)), 20, 300, 0, 1, "#f90");
  svg += lane(frames.map((f) => f.lipClose), 340, 140, 0, 1, "#00c");
  svg += lane(frames.map((f) => f.lipWidth), 490, 90, -1, 1, "#0a0");
  svg += lane(frames.map((f) => f.lipRound), 490, 90, -1, 1, "#a0a");
  svg += `<text x="45" y="30" font-size="13">${path.basename(file)} — grey: voice-band dB (-70..-5), red: jawOpen, orange: visible opening; blue: lipClose; green: lipWidth, purple: lipRound; shaded: speech</text>`;
  keys.forEach((k, j) => {
    const vals = frames.map((f) => f[k]);
    const lo = Math.min(-1e-3, ...vals);
    const hi = Math.max(1e-3, ...vals);
    svg += lane(vals, 600 + j * 60, 50, lo, hi, "#333");
    svg += `<text x="45" y="${612 + j * 60}" font-size="12">${k} [${lo.toFixed(3)}, ${hi.toFixed(3)}]</text>`;
  });
  svg += "</svg>";
  await sharp(Buffer.from(svg)).png().toFile(path.join(plotDir!, `${path.basename(file, path.extname(file))}-motion.png`));
}

const args = process.argv.slice(2);
let plotDir: string | undefined;
let prompt = "";
const files: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--plot-dir") plotDir = args[++i];
  else if (args[i] === "--prompt") prompt = args[++i];
  else files.push(args[i]);
}
if (files.length === 0) {
  const shared = path.resolve(import.meta.dirname, "../../../shared/media");
  if (existsSync(shared)) for (const f of readdirSync(shared)) if (/^speech.*\.wav$/.test(f)) files.push(path.join(shared, f));
}
if (files.length === 0) {
  console.error("No audio files: pass some (wav, mp3, ...).");
  process.exit(2);
}

for (const file of files) {
  const samples = decode(file);
  const pcm = { sampleRate: SR, samples };
  const n = Math.floor((samples.length / SR) * FPS);
  const cpu0 = process.cpuUsage().user;
  const frames = buildMotionTrack({ pcm, numFrames: n, fps: FPS, seed: 42, prompt });
  const cpuMs = (process.cpuUsage().user - cpu0) / 1000;
  const f = extractFeatures(pcm, { fps: FPS, numFrames: n });
  const jaw = frames.map((q) => q.jawOpen);
  const vis = frames.map((q) => visibleOpening(q.jawOpen, q.lipClose));
  const parts: string[] = [];
  for (const [name, env] of [["rms", Array.from(f.rms)], ["dB", Array.from(f.fullDb, (v) => Math.max(0, v + 70))]] as const) {
    const a = bestLagCorrelation(jaw, env, 2);
    const b = bestLagCorrelation(vis, env, 2);
    parts.push(`${name}: r(jaw) ${a.r.toFixed(3)} lag ${a.lag}, r(visible) ${b.r.toFixed(3)} lag ${b.lag}`);
  }
  let si = 0;
  let ni = 0;
  let so = 0;
  let no = 0;
  for (let i = 0; i < n; i++) {
    if (f.speech[i]) {
      si += vis[i];
      ni++;
    } else {
      so += vis[i];
      no++;
    }
  }
  const ratio = no && ni ? so / no / (si / ni) : NaN;
  console.log(`${path.basename(file)} (${n} frames): ${parts.join("; ")}; silence/speech ${ratio.toFixed(3)}; ${(cpuMs / Math.max(1, n)).toFixed(2)} CPU ms/frame`);
  if (plotDir) await plot(file, frames, f.db, f.speech);
}
