/**
 * GET /voices and GET /voices/{name}/sample.wav on the real server (buildServer) with the real offline
 * synthesizer (Flite), decoded by the real ffmpeg.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import ffmpegInstaller from "@ffmpeg-installer/ffmpeg";
import { pino } from "pino";
import { VOICES, type VoiceName } from "../../src/api/endpoints.js";
import { buildServer } from "../../src/api/server.js";
import type { VoiceListing } from "../../src/api/routes/voices.js";
import { createLazySynthesizer, type Synthesizer } from "../../src/speech/index.js";
import { medianF0 } from "../../src/speech/evaluate.js";
import type { Pcm } from "../../src/media/types.js";
import { makeApp, type TestApp } from "./helpers.js";

/** The WAV as ffmpeg decodes it: 16 kHz mono float PCM (fails the test if ffmpeg cannot read it). */
async function decode(wav: Buffer): Promise<Pcm> {
  const child = execFile(ffmpegInstaller.path, ["-v", "error", "-f", "wav", "-i", "pipe:0", "-f", "f32le", "-ac", "1", "-ar", "16000", "pipe:1"], {
    encoding: "buffer", maxBuffer: 64 << 20,
  });
  const out: Buffer[] = [];
  child.stdout!.on("data", (c: Buffer) => out.push(c));
  child.stdin!.end(wav);
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 0, "ffmpeg decodes the sample");
  const bytes = Buffer.concat(out);
  const samples = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return { samples, sampleRate: 16000 };
}

/** RMS of 20 ms frames. */
function frameRms(pcm: Pcm): number[] {
  const n = Math.round(pcm.sampleRate * 0.02);
  const out: number[] = [];
  for (let i = 0; i + n <= pcm.samples.length; i += n) {
    let sum = 0;
    for (let j = i; j < i + n; j++) sum += pcm.samples[j] * pcm.samples[j];
    out.push(Math.sqrt(sum / n));
  }
  return out;
}

describe("GET /voices", () => {
  let t: TestApp;
  before(async () => {
    t = await makeApp({ worker: false });
  });
  after(() => t.close());

  it("lists the 20 voices with gender, accent, description and a sample URL, without a key", async () => {
    const res = await t.app.inject({ method: "GET", url: "/voices", headers: { host: "127.0.0.1:8000" } });
    assert.equal(res.statusCode, 200);
    const body = res.json() as { provider: string; voices: VoiceListing[] };
    assert.equal(body.provider, "flite");
    assert.deepEqual(body.voices.map((v) => v.name), [...VOICES]);
    const byGender = (g: string) => body.voices.filter((v) => v.gender === g).map((v) => v.name).sort();
    assert.deepEqual(byGender("female"), ["Alice", "Aria", "Charlotte", "Jessica", "Laura", "Lily", "Matilda", "Sarah"]);
    assert.deepEqual(byGender("neutral"), ["River"]);
    assert.equal(byGender("male").length, 11);
    const get = (name: string) => body.voices.find((v) => v.name === name)!;
    assert.equal(get("Charlie").accent, "Australian");
    assert.equal(get("Charlotte").accent, "Swedish");
    assert.equal(get("George").accent, "British");
    for (const v of body.voices) {
      assert.ok(v.description.length > 3, v.name);
      assert.equal(v.engine, "flite");
      assert.equal(v.sample_url, `http://127.0.0.1:8000/voices/${v.name}/sample.wav`);
      assert.ok(v.gender === "female" ? v.pitch_hz > 165 : v.gender === "male" ? v.pitch_hz < 150 : v.pitch_hz > 150 && v.pitch_hz < 165, `${v.name} ${v.pitch_hz} Hz`);
    }
  });

  it("serves a cached WAV sample of each voice: speech at the voice's pitch, with Cache-Control and ETag", async () => {
    const f0: Partial<Record<VoiceName, number>> = {};
    for (const name of ["Aria", "Roger"] as const) {
      const res = await t.app.inject({ method: "GET", url: `/voices/${name}/sample.wav` });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers["content-type"], "audio/wav");
      assert.match(String(res.headers["cache-control"]), /^public, max-age=\d+$/);
      assert.equal(res.rawPayload.subarray(0, 4).toString("latin1"), "RIFF");
      const pcm = await decode(res.rawPayload);
      const seconds = pcm.samples.length / pcm.sampleRate;
      assert.ok(seconds > 1.5 && seconds < 8, `${name}: ${seconds} s`);
      // Speech: loud syllables and quieter gaps, not silence and not a steady tone.
      const frames = frameRms(pcm);
      const loud = frames.filter((r) => r > 0.03).length / frames.length;
      const quiet = frames.filter((r) => r < 0.01).length / frames.length;
      assert.ok(loud > 0.3, `${name}: ${(loud * 100).toFixed(0)}% of frames carry speech`);
      assert.ok(quiet > 0.03, `${name}: ${(quiet * 100).toFixed(0)}% of frames are pauses`);
      f0[name] = medianF0(pcm);

      const again = await t.app.inject({ method: "GET", url: `/voices/${name}/sample.wav` });
      assert.deepEqual(again.rawPayload, res.rawPayload, "the same cached bytes");
      const etag = String(res.headers.etag);
      const cached = await t.app.inject({ method: "GET", url: `/voices/${name}/sample.wav`, headers: { "if-none-match": etag } });
      assert.equal(cached.statusCode, 304);
    }
    assert.ok(f0.Aria! > 165, `Aria's sample at ${f0.Aria} Hz`);
    assert.ok(f0.Roger! < 150, `Roger's sample at ${f0.Roger} Hz`);
  });

  it("answers 404 for an unknown voice, naming the valid ones", async () => {
    for (const name of ["Nobody", "aria", "..%2F..%2Fetc"]) {
      const res = await t.app.inject({ method: "GET", url: `/voices/${name}/sample.wav` });
      assert.equal(res.statusCode, 404, name);
      assert.match(String(res.json().detail), /Unknown voice .*use one of Aria, Roger, .*Bill\./);
    }
  });
});

describe("the voice routes use the synthesizer they are given", () => {
  it("samples through the shared synthesizer and leave it open for its owner", async () => {
    const real = createLazySynthesizer();
    const sampled: string[] = [];
    let closed = 0;
    const shared: Synthesizer = {
      provider: real.provider,
      voices: real.voices,
      speak: (r) => real.speak(r),
      sample: (v) => (sampled.push(v), real.sample(v)),
      close: async () => void closed++,
    };
    const t = await makeApp({ worker: false });
    const app = await buildServer({ config: t.config, queue: t.queue, storage: t.storage, keys: t.keys, logger: pino({ level: "silent" }), speech: shared });
    try {
      const res = await app.inject({ method: "GET", url: "/voices/Lily/sample.wav" });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(sampled, ["Lily"]);
      assert.deepEqual(res.rawPayload, await real.sample("Lily"));
    } finally {
      await app.close();
      await t.close();
    }
    assert.equal(closed, 0, "the server does not close a synthesizer it was given");
    await real.close();
  });
});
