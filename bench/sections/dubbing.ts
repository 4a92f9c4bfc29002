/**
 * Dubbing (fal-ai/infinitalk/video-to-video) speed at 480p: a 10 s source video made by our engine from a real
 * portrait and real speech (/work/shared/media when present, else face-api's sample6 and Flite), dubbed with other
 * speech. Wall time of the whole job (fetch from a data URI, decode + track, dub + encode, store), per stage from
 * the job's own logs, and the real-time factor (seconds of video per second of wall time), for two trackers:
 * the face analyzer in full mode (tiles + refinement) and in its per-call fast mode (what the CLI wires for tracking),
 * with the CPU seconds of node and of its ffmpeg children (/proc/self/stat), less inflated by other load than wall time.
 */
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { findEndpoint, type EndpointDef } from "../../src/api/endpoints.js";
import { loadConfig } from "../../src/config.js";
import { createFaceAnalyzer, type FaceAnalyzer } from "../../src/face/index.js";
import { resolveBinaries } from "../../src/media/ffmpeg.js";
import type { JobContext } from "../../src/media/types.js";
import { createPipelineRunner } from "../../src/pipeline/index.js";
import { resolveLimits, withJobDir, type StepEnv } from "../../src/pipeline/steps.js";
import { createVideoToVideoRunner } from "../../src/pipeline/video.js";
import { ClassicalEngine } from "../../src/render/engine.js";
import { createSpeechSynthesizer, encodeWav } from "../../src/speech/index.js";
import { loadPortraitFixture } from "../../test/support/face-fixtures.js";
import { FolderStorage, memoryLogger, tempDir } from "../../test/support/media-fixtures.js";

const SHARED = "/work/shared/media";
const FRAMES = 250;

function endpoint(id: string): EndpointDef {
  const e = findEndpoint(id);
  if (!e) throw new Error(id);
  return e;
}

/** CPU seconds of this process (all threads) and of its finished children (ffmpeg), from /proc/self/stat. */
function cpuSeconds(): { self: number; children: number } {
  const u = process.cpuUsage();
  let children = NaN;
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the command: state is field 3, so cutime/cstime (fields 16, 17) are at 13 and 14 here; clock ticks of 1/100 s.
    children = (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    // not Linux
  }
  return { self: (u.user + u.system) / 1e6, children };
}

function context(): JobContext & { logs: string[] } {
  const logs: string[] = [];
  return { signal: new AbortController().signal, logs, log: (m) => void logs.push(m), progress: () => {} };
}

const dataUri = (mime: string, bytes: Buffer) => `data:${mime};base64,${bytes.toString("base64")}`;

export async function run(): Promise<string> {
  const { dir, cleanup } = await tempDir("mp-bench-dub-");
  try {
    const config = loadConfig({}, { dataDir: path.join(dir, "data") });
    const storage = new FolderStorage(path.join(dir, "storage"));
    const analyzer = await createFaceAnalyzer();
    // As src/cli/runner.ts wires it: the same models, each tracker detection in the analyzer's fast mode.
    const fast = { detect: (image: Parameters<typeof analyzer.detect>[0], o?: { signal?: AbortSignal }) => analyzer.detect(image, { ...o, fast: true }) };
    const speech = await createSpeechSynthesizer();
    let image: string, audioA: string, audioB: string, what: string;
    if (existsSync(path.join(SHARED, "portrait-single.png"))) {
      image = dataUri("image/png", await readFile(path.join(SHARED, "portrait-single.png")));
      audioA = dataUri("audio/wav", await readFile(path.join(SHARED, "speech-single.wav")));
      audioB = dataUri("audio/wav", await readFile(path.join(SHARED, "speech-person2.wav")));
      what = "portrait-single.png animated with speech-single.wav, dubbed with speech-person2.wav";
    } else {
      const fx = await loadPortraitFixture();
      image = dataUri("image/png", fx.png);
      const a = await speech.speak({ text: "I walked down to the harbour this morning. The boats were coming in. Then it rained, so I bought a paper and walked home.", voice: "Brian" });
      const b = await speech.speak({ text: "Call me back. I have news about the garden. The old red car is sold, and the new one is blue. See you soon!", voice: "Aria" });
      audioA = dataUri("audio/wav", Buffer.from(encodeWav(a.pcm)));
      audioB = dataUri("audio/wav", Buffer.from(encodeWav(b.pcm)));
      what = "face-api sample6 animated with Flite speech, dubbed with other Flite speech";
    }
    const run = createPipelineRunner({ config, storage, logger: memoryLogger(), engine: new ClassicalEngine(), faceDetector: analyzer, speech });
    const base = { prompt: "", num_frames: FRAMES, resolution: "480p", seed: 42, acceleration: "regular" };
    const src = await run({ requestId: "bench-source", endpoint: endpoint("fal-ai/infinitalk"), input: { ...base, image_url: image, audio_url: audioA } }, context());
    const sourceBytes = await readFile(storage.pathOf(storage.keyFromUrl(src.video.url) as string));
    await speech.close();

    const env: StepEnv = {
      config, storage, logger: memoryLogger(), engine: new ClassicalEngine(), faceDetector: analyzer,
      bins: resolveBinaries(config), limits: resolveLimits(config), speech: () => Promise.reject(new Error("no speech")),
    };
    const rows: string[] = [];
    for (const [name, runner] of [
      ["full analyzer (tiles + refinement) on key frames", createVideoToVideoRunner()],
      ["analyzer in fast mode on key frames (the CLI's default)", createVideoToVideoRunner({ trackDetector: fast })],
    ] as const) {
      const ctx = context();
      const c0 = cpuSeconds();
      const t0 = performance.now();
      await withJobDir(os.tmpdir(), async (jobDir) => runner(env, { requestId: `bench-${rows.length}`, dir: jobDir, ctx, controller: new AbortController() }, {
        requestId: "bench", endpoint: endpoint("fal-ai/infinitalk/video-to-video"),
        input: { ...base, video_url: dataUri("video/mp4", sourceBytes), audio_url: audioB },
      }));
      const ms = performance.now() - t0;
      const c1 = cpuSeconds();
      const self = c1.self - c0.self, kids = c1.children - c0.children;
      // The finished stage's line ("<stage>: <ms> ms (...)"), not its "<stage>…" start line.
      const stage = (prefix: string) => ctx.logs.find((l) => l.startsWith(prefix) && !l.endsWith("…")) ?? "";
      const msOf = (prefix: string) => Number(/: (\d+) ms/.exec(stage(prefix))?.[1] ?? NaN);
      const track = stage("decode + track");
      const detector = Number(/detector (\d+) ms/.exec(track)?.[1] ?? NaN);
      const keys = /tracking: (\d+) key frames/.exec(stage("tracking"))?.[1] ?? "?";
      rows.push(`| ${name} | ${(ms / 1000).toFixed(1)} s | ${((FRAMES / 25) / (ms / 1000)).toFixed(2)}x | ${(FRAMES * 1000 / ms).toFixed(1)} | ` +
        `${(msOf("decode + track") / 1000).toFixed(1)} s (detector ${(detector / 1000).toFixed(1)} s, ${keys} key frames) | ${(msOf("dub + encode") / 1000).toFixed(1)} s | ` +
        `${self.toFixed(1)} s + ffmpeg ${kids.toFixed(1)} s |`);
    }
    return [
      "### Dubbing (fal-ai/infinitalk/video-to-video), 480p",
      "",
      `Source: ${FRAMES} frames (${FRAMES / 25} s) at 854x480 made by the engine (${what}); the job dubs all ${FRAMES} frames.`,
      "Wall time of the whole job (data-URI fetch, probe, decode + track, reference analysis, dub + encode x264 veryfast, store).",
      "Real time = seconds of video per second of wall time (>= 1x is the bar). CPU seconds: what the job cost the",
      "machine (node's main thread, tfjs and libuv threads; the ffmpeg decoder, prober and encoder).",
      "",
      "| tracker | wall | real time | fps | decode + track | dub + encode | CPU seconds: node (all its threads) + ffmpeg children |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...rows,
      "",
      `Load while measuring: ${os.loadavg().map((l) => l.toFixed(2)).join(" / ")} (1/5/15 min); other engineers' jobs inflate these figures.`,
    ].join("\n");
  } finally {
    await cleanup();
  }
}

export type { FaceAnalyzer };
