/**
 * Measuring voices: word error rate through pocketsphinx (Debian's pocketsphinx + pocketsphinx-en-us, used
 * by bench/voices.ts and test/speech when present), median F0 (pitchfinder's YIN), and WER itself.
 *
 * @example
 *   const asr = await findPocketsphinx();            // undefined when not installed
 *   const hyps = await transcribe(asr!, [pcm1, pcm2], { ffmpeg });
 *   wordErrors("the birch canoe", hyps[0]);         // {errors, words}
 *   medianF0(pcm);                                  // Hz, or NaN when nothing is voiced
 */
import { execFile, spawn } from "node:child_process";
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { YIN } from "pitchfinder";
import type { Pcm } from "../media/types.js";
import { encodeWav } from "./wav.js";

const run = promisify(execFile);

/** Harvard sentences (IEEE 1969, list 1): the fixed test sentences for intelligibility. */
export const TEST_SENTENCES = [
  "The birch canoe slid on the smooth planks.",
  "Glue the sheet to the dark blue background.",
  "It's easy to tell the depth of a well.",
] as const;

export interface Pocketsphinx {
  batch: string;
  modelDir: string;
}

/** Finds pocketsphinx_batch and the US English model; undefined when either is missing. */
export async function findPocketsphinx(modelDir = "/usr/share/pocketsphinx/model/en-us"): Promise<Pocketsphinx | undefined> {
  try {
    await access(path.join(modelDir, "en-us.lm.bin"));
    await run("pocketsphinx_batch", ["-help", "yes"], { timeout: 20_000 }).catch((err: { code?: unknown }) => {
      if (err.code === "ENOENT") throw err; // prints its help on stderr and may exit non-zero: fine
    });
    return { batch: "pocketsphinx_batch", modelDir };
  } catch {
    return undefined;
  }
}

/** Transcribes each track (any rate; resampled to 16 kHz by ffmpeg) in one pocketsphinx run. */
export async function transcribe(asr: Pocketsphinx, tracks: Pcm[], options: { ffmpeg: string }): Promise<string[]> {
  const dir = await mkdtemp(path.join(tmpdir(), "mouthpiece-asr-"));
  try {
    const ids = tracks.map((_, i) => `u${String(i).padStart(4, "0")}`);
    for (let i = 0; i < tracks.length; i++) {
      const src = path.join(dir, `${ids[i]}.src.wav`);
      await writeFile(src, encodeWav(tracks[i]));
      await run(options.ffmpeg, ["-nostdin", "-loglevel", "error", "-y", "-i", src, "-ar", "16000", "-ac", "1",
        "-sample_fmt", "s16", "-bitexact", "-map_metadata", "-1", path.join(dir, `${ids[i]}.wav`)]);
    }
    await writeFile(path.join(dir, "ctl"), `${ids.join("\n")}\n`);
    const m = asr.modelDir;
    await new Promise<void>((resolve, reject) => {
      const child = spawn(asr.batch, [
        "-hmm", path.join(m, "en-us"), "-lm", path.join(m, "en-us.lm.bin"), "-dict", path.join(m, "cmudict-en-us.dict"),
        "-ctl", path.join(dir, "ctl"), "-cepdir", dir, "-cepext", ".wav", "-adcin", "yes", "-adchdr", "44",
        "-hyp", path.join(dir, "hyp"), "-logfn", path.join(dir, "log"),
      ], { stdio: "ignore" });
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`pocketsphinx_batch exited with ${code}`))));
    });
    const hyp = await readFile(path.join(dir, "hyp"), "utf8");
    const byId = new Map<string, string>();
    for (const line of hyp.split("\n")) {
      const m2 = /^(.*?)\s*\((\S+)(?:\s+-?\d+)?\)\s*$/.exec(line);
      if (m2) byId.set(m2[2], m2[1].trim());
    }
    return ids.map((id) => byId.get(id) ?? "");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Lower-case words without punctuation ("It's" stays "it's"). */
export function words(text: string): string[] {
  return text.toLowerCase().replace(/[^a-z0-9' ]+/g, " ").split(/\s+/).filter(Boolean);
}

/** Word-level edit distance between a reference and a hypothesis. */
export function wordErrors(reference: string, hypothesis: string): { errors: number; words: number } {
  const r = words(reference);
  const h = words(hypothesis);
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return { errors: prev[h.length], words: r.length };
}

/**
 * Median F0 (Hz) over the voiced frames of a track: YIN on 40 ms frames every 20 ms, frames quieter than
 * 1/10 of the track's loudest frame are skipped. NaN when no frame is voiced.
 */
export function medianF0(pcm: Pcm, range: { min: number; max: number } = { min: 60, max: 400 }): number {
  const frame = Math.round(pcm.sampleRate * 0.04);
  const hop = Math.round(pcm.sampleRate * 0.02);
  const detect = YIN({ sampleRate: pcm.sampleRate, threshold: 0.15 });
  const rms: number[] = [];
  for (let at = 0; at + frame <= pcm.samples.length; at += hop) {
    let sum = 0;
    for (let i = at; i < at + frame; i++) sum += pcm.samples[i] * pcm.samples[i];
    rms.push(Math.sqrt(sum / frame));
  }
  const loudest = Math.max(0, ...rms);
  const f0s: number[] = [];
  rms.forEach((level, k) => {
    if (level < loudest / 10) return;
    const f = detect(pcm.samples.subarray(k * hop, k * hop + frame));
    if (f !== null && f >= range.min && f <= range.max) f0s.push(f);
  });
  if (!f0s.length) return Number.NaN;
  f0s.sort((a, b) => a - b);
  return f0s[Math.floor(f0s.length / 2)];
}
