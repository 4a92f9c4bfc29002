/**
 * Voice benchmark: intelligibility (pocketsphinx WER on three Harvard sentences), median F0 and speed, for
 * the candidate engines and for Mouthpiece's 20 voices. Prints Markdown tables (the ones in docs/voices.md).
 *
 *   node --import tsx bench/voices.ts              # engines and voices
 *   node --import tsx bench/voices.ts --voices     # only the 20 voices
 *   node --import tsx bench/voices.ts --engines    # only the engine comparison
 *   node --import tsx bench/voices.ts --long       # 5,000 characters with one voice: time, event-loop stalls
 *
 * Needs pocketsphinx_batch and pocketsphinx-en-us (Debian). GnuSpeech is measured when
 * @echogarden/gnuspeech-wasm can be imported (it is not a dependency): installed here, or given by path:
 *   (cd /tmp/gs && npm install @echogarden/gnuspeech-wasm)
 *   node --import tsx bench/voices.ts --engines --gnuspeech /tmp/gs/node_modules/@echogarden/gnuspeech-wasm/dist/exports/GnuSpeech.js
 */
import { createRequire } from "node:module";
import { monitorEventLoopDelay } from "node:perf_hooks";
import wavefile from "wavefile";
import { VOICES, type VoiceName } from "../src/api/endpoints.js";
import { createSpeechSynthesizer, MAX_TEXT_CHARS } from "../src/speech/index.js";
import type { Pcm } from "../src/media/types.js";
import { findPocketsphinx, medianF0, TEST_SENTENCES, transcribe, wordErrors, type Pocketsphinx } from "../src/speech/evaluate.js";
import { Flite, FLITE_VOICES } from "../src/speech/flite.js";
import { speakOffline } from "../src/speech/offline.js";
import { nominalPitch, VOICE_CATALOG } from "../src/speech/voices.js";

const require = createRequire(import.meta.url);
const ffmpeg = (require("@ffmpeg-installer/ffmpeg") as { path: string }).path;

interface Candidate {
  engine: string;
  voice: string;
  speak(text: string): Promise<Pcm>;
}

interface Row {
  engine: string;
  voice: string;
  wer: number;
  f0: number;
  rtf: number;
  hyps: string[];
}

async function measure(asr: Pocketsphinx, candidates: Candidate[]): Promise<Row[]> {
  const tracks: Pcm[] = [];
  const timing: { cpu: number; audio: number }[] = [];
  for (const c of candidates) {
    let cpu = 0;
    let audio = 0;
    for (const sentence of TEST_SENTENCES) {
      const t0 = performance.now();
      const pcm = await c.speak(sentence);
      cpu += (performance.now() - t0) / 1000;
      audio += pcm.samples.length / pcm.sampleRate;
      tracks.push(pcm);
    }
    timing.push({ cpu, audio });
  }
  const hyps = await transcribe(asr, tracks, { ffmpeg });
  return candidates.map((c, i) => {
    let errors = 0;
    let words = 0;
    const mine = TEST_SENTENCES.map((sentence, j) => {
      const e = wordErrors(sentence, hyps[i * TEST_SENTENCES.length + j]);
      errors += e.errors;
      words += e.words;
      return hyps[i * TEST_SENTENCES.length + j];
    });
    const f0s = TEST_SENTENCES.map((_, j) => medianF0(tracks[i * TEST_SENTENCES.length + j])).sort((a, b) => a - b);
    return { engine: c.engine, voice: c.voice, wer: errors / words, f0: f0s[1], rtf: timing[i].cpu / timing[i].audio, hyps: mine };
  });
}

async function fliteCandidates(flite: Flite): Promise<Candidate[]> {
  return FLITE_VOICES.map((voice) => ({
    engine: "flite",
    voice,
    speak: async (text: string) => {
      const out = await flite.synthesize(text, { voice, durationStretch: 1 });
      return { sampleRate: out.sampleRate, samples: out.samples };
    },
  }));
}

async function espeakCandidates(): Promise<Candidate[]> {
  const name = "@echogarden/espeak-ng-emscripten";
  const { default: init } = (await import(name)) as { default: () => Promise<any> };
  const m = await init();
  const worker = new m.eSpeakNGWorker();
  const voices = ["en-us", "en-us+f3", "en-gb-x-rp", "en-gb-x-rp+f2", "en-us+Annie"];
  return voices.map((voice) => ({
    engine: "espeak-ng",
    voice,
    speak: async (text: string) => {
      worker.set_voice(voice);
      worker.set_rate(165);
      worker.set_pitch(50);
      worker.set_range(50);
      const parts: Int16Array[] = [];
      worker.synthesize(text, (samples: Int16Array) => {
        if (samples?.length) parts.push(Int16Array.from(samples));
      });
      const n = parts.reduce((a, p) => a + p.length, 0);
      const samples = new Float32Array(n);
      let at = 0;
      for (const p of parts) for (let i = 0; i < p.length; i++) samples[at++] = p[i] / 32768;
      return { sampleRate: 22050, samples };
    },
  }));
}

async function gnuspeechCandidates(modulePath?: string): Promise<Candidate[]> {
  const name = modulePath ?? "@echogarden/gnuspeech-wasm";
  let mod: { synthesize(text: string, options: object): Promise<{ audioData: Uint8Array }>; defaultGnuSpeechOptions: object };
  try {
    mod = (await import(name)) as typeof mod;
  } catch {
    console.error("(GnuSpeech not installed: skipped. npm install --no-save @echogarden/gnuspeech-wasm to measure it.)");
    return [];
  }
  return ["male", "female"].map((voice) => ({
    engine: "gnuspeech",
    voice,
    speak: async (text: string) => {
      const { audioData } = await mod.synthesize(text, { ...mod.defaultGnuSpeechOptions, voice });
      const wav = new wavefile.WaveFile(audioData);
      const ints = wav.getSamples(false, Float32Array) as unknown as Float32Array;
      const fmt = wav.fmt as { sampleRate: number };
      return { sampleRate: fmt.sampleRate, samples: ints.map((x) => x / 32768) };
    },
  }));
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** Speaks MAX_TEXT_CHARS of prose with one voice; reports wall time, audio length and event-loop stalls. */
async function long(): Promise<void> {
  const sentences = [
    "The committee met on Tuesday, March 3rd, to review the budget of $1,250,000 for the new library.",
    "Dr. Alvarez said the project was 85% complete, and that the roof would be finished by 4:30 p.m. on Friday.",
    "Nobody expected the storm; it arrived early, flooded the basement, and knocked out power for 12 hours.",
    "Still, the volunteers kept working, carrying books upstairs by flashlight until the last shelf was safe.",
  ];
  let text = "";
  for (let i = 0; text.length < MAX_TEXT_CHARS - 120; i++) text += (i % 6 === 5 ? "\n\n" : " ") + sentences[i % sentences.length];
  text = text.trim();
  const synth = await createSpeechSynthesizer();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t0 = performance.now();
  const { pcm, phonemes, words } = await synth.speak({ text, voice: "Matilda" });
  const wall = (performance.now() - t0) / 1000;
  loop.disable();
  await synth.close();
  const audio = pcm.samples.length / pcm.sampleRate;
  console.log(`${text.length} characters -> ${audio.toFixed(1)} s of audio at ${pcm.sampleRate} Hz in ${wall.toFixed(1)} s ` +
    `(${(wall / audio).toFixed(3)} x real time); ${phonemes.length} phonemes, ${words?.length} words; ` +
    `event loop delay max ${(loop.max / 1e6).toFixed(0)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(0)} ms`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const args = new Set(argv);
  const gnuspeechPath = argv.includes("--gnuspeech") ? argv[argv.indexOf("--gnuspeech") + 1] : undefined;
  if (args.has("--long")) return long();
  const all = !args.has("--voices") && !args.has("--engines");
  const asr = await findPocketsphinx();
  if (!asr) {
    console.error("pocketsphinx_batch or pocketsphinx-en-us is missing: apt-get install pocketsphinx pocketsphinx-en-us");
    process.exitCode = 1;
    return;
  }
  const flite = await Flite.load();
  try {
    if (all || args.has("--engines")) {
      const candidates = [...(await fliteCandidates(flite)), ...(await espeakCandidates()), ...(await gnuspeechCandidates(gnuspeechPath))];
      const rows = await measure(asr, candidates);
      console.log("| engine | voice | WER | median F0 (Hz) | synthesis time / audio time | pocketsphinx heard |");
      console.log("| --- | --- | ---: | ---: | ---: | --- |");
      for (const r of rows) {
        console.log(`| ${r.engine} | ${r.voice} | ${pct(r.wer)} | ${r.f0.toFixed(0)} | ${r.rtf.toFixed(3)} | ${r.hyps.join(" / ")} |`);
      }
      const byEngine = new Map<string, number[]>();
      for (const r of rows) byEngine.set(r.engine, [...(byEngine.get(r.engine) ?? []), r.wer]);
      console.log("\n| engine | mean WER over its voices |\n| --- | ---: |");
      for (const [engine, wers] of byEngine) console.log(`| ${engine} | ${pct(wers.reduce((a, b) => a + b, 0) / wers.length)} |`);
      console.log("");
    }
    if (all || args.has("--voices")) {
      const candidates: Candidate[] = VOICES.map((name: VoiceName) => ({
        engine: "flite",
        voice: name,
        speak: async (text: string) => (await speakOffline(flite, text, VOICE_CATALOG[name].settings, { words: false })).pcm,
      }));
      const rows = await measure(asr, candidates);
      console.log("| voice | gender | base | pitch / range (Hz) | rate | formant | WER | median F0 (Hz) | synthesis time / audio | pocketsphinx heard |");
      console.log("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
      for (const r of rows) {
        const info = VOICE_CATALOG[r.voice as VoiceName];
        const s = info.settings;
        console.log(`| ${r.voice} | ${info.gender} | ${s.base} | ${s.pitch ?? `(${nominalPitch(s)})`} / ${s.pitch === undefined ? "own" : s.pitchRange} | ${s.rate} | ${s.formant} | ${pct(r.wer)} | ${r.f0.toFixed(0)} | ${r.rtf.toFixed(3)} | ${r.hyps.join(" / ")} |`);
      }
      const mean = rows.reduce((a, r) => a + r.wer, 0) / rows.length;
      console.log(`\nMean WER over the 20 voices: ${pct(mean)}`);
    }
  } finally {
    await flite.close();
  }
}

await main();
