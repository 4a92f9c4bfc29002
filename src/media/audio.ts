/**
 * Audio input: any format ffmpeg reads (wav, mp3, ogg, m4a, flac, opus, a video's sound track...) decoded ONCE
 * into two exact-length outputs of num_frames / fps seconds (trimmed, or padded with silence):
 *   - mono Float32 PCM at the analysis rate (16 kHz) for the motion stage, through stdout;
 *   - a 48 kHz 16-bit WAV (mono, or stereo when the source has 2+ channels) in the temp dir, for muxing.
 *
 * @example
 *   const audio = await prepareAudio(file.path, "audio_url", { numFrames: 145, fps: 25, dir, bins, signal });
 *   audio.pcm.samples.length === 145 / 25 * 16000; audio.muxPath → ".../audio-mux.wav"
 */
import path from "node:path";
import type { Pcm } from "./types.js";
import { runProcess, type MediaBinaries } from "./ffmpeg.js";
import { requireAudio, type AudioStreamInfo } from "./probe.js";
import { CancelledError, InputError, ProcessError } from "../errors.js";

export const ANALYSIS_SAMPLE_RATE = 16_000;
export const MUX_SAMPLE_RATE = 48_000;

/** Samples in numFrames video frames at fps, at `rate` Hz (rounded to the nearest sample). Pure. */
export function samplesForFrames(numFrames: number, fps: number, rate: number): number {
  return Math.round((numFrames * rate) / fps);
}

/** Trims or zero-pads samples to exactly n. Pure (returns the same array when it already has n samples). */
export function fitLength(samples: Float32Array, n: number): Float32Array {
  if (samples.length === n) return samples;
  if (samples.length > n) return samples.slice(0, n);
  const out = new Float32Array(n);
  out.set(samples);
  return out;
}

export interface AudioDecodePlan {
  input: string;
  /** Exact output length in samples at each rate. */
  analysisSamples: number;
  analysisRate: number;
  muxPath: string;
  muxSamples: number;
  muxRate: number;
  muxChannels: 1 | 2;
}

/** An exact-length filter chain: resample, pad with silence, cut at n samples. */
export function exactLengthFilter(rate: number, n: number): string {
  return `aresample=${rate},apad=whole_len=${n},atrim=end_sample=${n}`;
}

/** ffmpeg arguments that decode the first audio track to f32le on stdout and to a WAV for muxing. Pure. */
export function buildAudioDecodeArgs(plan: AudioDecodePlan): string[] {
  return [
    "-nostdin", "-hide_banner", "-v", "error",
    "-i", plan.input,
    "-map", "0:a:0", "-vn", "-sn", "-dn",
    "-af", exactLengthFilter(plan.analysisRate, plan.analysisSamples),
    "-ac", "1", "-c:a", "pcm_f32le", "-f", "f32le", "pipe:1",
    "-map", "0:a:0", "-vn", "-sn", "-dn",
    "-af", exactLengthFilter(plan.muxRate, plan.muxSamples),
    "-ac", String(plan.muxChannels), "-c:a", "pcm_s16le", "-f", "wav", "-y", plan.muxPath,
  ];
}

/** Raw little-endian f32 bytes → Float32Array (copied, so alignment never matters). Pure. */
export function f32leToFloat32(bytes: Buffer): Float32Array {
  const n = Math.floor(bytes.length / 4);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

export interface PreparedAudio {
  /** Mono, exactly numFrames / fps seconds at the analysis rate. */
  pcm: Pcm;
  /** The WAV to mux: exactly numFrames / fps seconds at muxRate. */
  muxPath: string;
  muxRate: number;
  muxChannels: 1 | 2;
  /** The source's own facts (duration before trimming/padding). */
  source: AudioStreamInfo & { durationSec: number };
}

export interface PrepareAudioOptions {
  numFrames: number;
  fps: number;
  /** Where the mux WAV goes (the job's temp dir). */
  dir: string;
  bins: MediaBinaries;
  signal?: AbortSignal;
  analysisRate?: number;
  muxRate?: number;
  /** File name of the mux WAV inside dir. Default "<field>-mux.wav". */
  muxFileName?: string;
}

/** Probes, decodes, trims/pads; see the module comment. Throws InputError naming the field for non-audio input. */
export async function prepareAudio(file: string, field: string, options: PrepareAudioOptions): Promise<PreparedAudio> {
  const source = await requireAudio(file, field, options.bins, { signal: options.signal });
  const analysisRate = options.analysisRate ?? ANALYSIS_SAMPLE_RATE;
  const muxRate = options.muxRate ?? MUX_SAMPLE_RATE;
  const plan: AudioDecodePlan = {
    input: file,
    analysisRate,
    analysisSamples: samplesForFrames(options.numFrames, options.fps, analysisRate),
    muxRate,
    muxSamples: samplesForFrames(options.numFrames, options.fps, muxRate),
    muxChannels: source.channels >= 2 ? 2 : 1,
    muxPath: path.join(options.dir, options.muxFileName ?? `${field}-mux.wav`),
  };
  let stdout: Buffer;
  try {
    ({ stdout } = await runProcess(options.bins.ffmpeg, buildAudioDecodeArgs(plan), {
      label: "ffmpeg (audio decode)",
      signal: options.signal,
      maxStdoutBytes: plan.analysisSamples * 4 + 65536,
    }));
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    if (err instanceof ProcessError && err.exitCode !== null) {
      throw InputError.field(field,
        `the audio could not be decoded (${source.codec}): ${err.stderr.trim().split("\n").slice(-2).join(" | ")}; send a WAV, MP3, OGG, M4A or FLAC file`,
        "invalid_file");
    }
    throw err;
  }
  const samples = fitLength(f32leToFloat32(stdout), plan.analysisSamples);
  return {
    pcm: { sampleRate: analysisRate, samples },
    muxPath: plan.muxPath,
    muxRate,
    muxChannels: plan.muxChannels,
    source,
  };
}

/** Decodes a file's first audio track to mono PCM at `rate`, whole (no trim/pad). For analysis tools and tests. */
export async function decodePcm(file: string, bins: MediaBinaries, options: { rate?: number; signal?: AbortSignal } = {}): Promise<Pcm> {
  const rate = options.rate ?? ANALYSIS_SAMPLE_RATE;
  const { stdout } = await runProcess(bins.ffmpeg, [
    "-nostdin", "-hide_banner", "-v", "error", "-i", file, "-map", "0:a:0", "-vn",
    "-af", `aresample=${rate}`, "-ac", "1", "-c:a", "pcm_f32le", "-f", "f32le", "pipe:1",
  ], { label: "ffmpeg (audio decode)", signal: options.signal });
  return { sampleRate: rate, samples: f32leToFloat32(stdout) };
}

/**
 * ffmpeg arguments that sum equal-length audio files (e.g. two prepared mux WAVs of a two-person video) into one
 * stereo 16-bit WAV at `rate`: each input is made stereo, the inputs are merged side by side and summed per side
 * (no level drop, unlike amix). Pure.
 */
export function buildMixArgs(inputs: readonly string[], outPath: string, rate = MUX_SAMPLE_RATE): string[] {
  if (inputs.length < 2) throw new Error("mixing needs at least two inputs");
  const prep = inputs.map((_, i) => `[${i}:a:0]aresample=${rate},aformat=sample_fmts=fltp:channel_layouts=stereo[s${i}]`);
  const merged = `${inputs.map((_, i) => `[s${i}]`).join("")}amerge=inputs=${inputs.length}`;
  const left = inputs.map((_, i) => `c${2 * i}`).join("+");
  const right = inputs.map((_, i) => `c${2 * i + 1}`).join("+");
  return [
    "-nostdin", "-hide_banner", "-v", "error",
    ...inputs.flatMap((f) => ["-i", f]),
    "-filter_complex", `${prep.join(";")};${merged},pan=stereo|c0=${left}|c1=${right}[out]`,
    "-map", "[out]", "-c:a", "pcm_s16le", "-ar", String(rate), "-f", "wav", "-y", outPath,
  ];
}

/** Sums audio files into one stereo WAV (see buildMixArgs); the result is as long as the longest input. */
export async function mixAudioFiles(inputs: readonly string[], outPath: string, bins: MediaBinaries, signal?: AbortSignal): Promise<void> {
  await runProcess(bins.ffmpeg, buildMixArgs(inputs, outPath), { label: "ffmpeg (audio mix)", signal });
}
