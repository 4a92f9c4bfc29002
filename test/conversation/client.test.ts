/**
 * The text and conversation endpoints through the REAL official client (@fal-ai/client) against a real server on
 * a socket, through the proxy route (as test/api/client.test.ts does), with the real pipeline behind it: face
 * analyzer, classical engine, offline speech.
 *   - fal-ai/ai-avatar/multi and .../multi-text complete with their exact schema defaults (181 and 191 frames);
 *   - fal-ai/ai-avatar/single-text and fal-ai/infinitalk/single-text: the sound is the spoken text (pocketsphinx,
 *     when installed) and the mouth follows it (judge r >= 0.6 at the best lag within ±2 frames);
 *   - an unknown voice is a 422 listing the valid names.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { createFalClient, ValidationError, type FalClient } from "@fal-ai/client";
import { pino } from "pino";
import { VOICES } from "../../src/api/endpoints.js";
import { startServe, type RunningServer } from "../../src/cli/serve.js";
import { loadConfig } from "../../src/config.js";
import { createFaceAnalyzer, type FaceAnalyzer } from "../../src/face/index.js";
import { decodePcm } from "../../src/media/audio.js";
import { probeMedia } from "../../src/media/probe.js";
import { createPipelineRunner, type PipelineRunner } from "../../src/pipeline/index.js";
import { ClassicalEngine } from "../../src/render/engine.js";
import { findPocketsphinx, transcribe, words } from "../../src/speech/evaluate.js";
import { createSpeechSynthesizer, encodeWav, type Synthesizer } from "../../src/speech/index.js";
import { loadPortraitFixture } from "../support/face-fixtures.js";
import { bestLagCorrelation, createJudge, loudnessEnvelope, readVideoFrames, type Judge } from "../support/judge.js";
import { bins } from "../support/media-fixtures.js";
import { composeTwoPeople } from "./helpers.js";

type Output = { video: { url: string; content_type: string; file_size: number }; seed: number };
type Log = { message: string; level: string };

/** No seed sent: the server picks a random one, as fal documents ("If None, a random seed is chosen"). */
function assertRandomSeed(seed: number): void {
  assert.ok(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff, String(seed));
}

const ffmpeg = (createRequire(import.meta.url)("@ffmpeg-installer/ffmpeg") as { path: string }).path;
const asr = await findPocketsphinx();

describe("text and conversation endpoints through the official client (real pipeline)", { timeout: 600_000 }, () => {
  let server: RunningServer;
  let fal: FalClient;
  let dataDir: string;
  let analyzer: FaceAnalyzer;
  let speech: Synthesizer;
  let judge: Judge;
  let runner: PipelineRunner | undefined;

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "mp-conv-client-"));
    judge = await createJudge(); // before human: they share tfjs's WASM backend
    [analyzer, speech] = await Promise.all([createFaceAnalyzer(), createSpeechSynthesizer()]);
    const config = loadConfig({}, { dataDir, port: 0, logLevel: "silent" });
    server = await startServe({
      config,
      logger: pino({ level: "silent" }),
      createRunner: ({ config: c, storage, logger }) =>
        (runner = createPipelineRunner({ config: c, storage, logger, engine: new ClassicalEngine(), faceDetector: analyzer, speech })),
    });
    const key = server.keys.create("conversation-test").key;
    fal = createFalClient({ credentials: key, proxyUrl: { url: `${server.url}/api/fal/proxy`, when: "always" } });
  });
  after(async () => {
    await server?.close();
    await runner?.close();
    await speech?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Downloads a result's MP4 from the server (as a user would). */
  let downloads = 0;
  const videoFile = async (url: string) => {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "video/mp4");
    const file = path.join(dataDir, `download-${downloads++}.mp4`);
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    return file;
  };

  async function upload(bytes: Buffer, type: string): Promise<string> {
    return fal.storage.upload(new Blob([new Uint8Array(bytes)], { type }));
  }

  it("fal-ai/ai-avatar/multi with the schema's defaults: 181 frames (a random seed), both turns heard", async () => {
    const people = await composeTwoPeople();
    const lines = await Promise.all([
      speech.speak({ text: "Where were you all day yesterday?", voice: "Aria" }),
      speech.speak({ text: "Out at the lake with my dog.", voice: "Brian" }),
    ]);
    const [image_url, first_audio_url, second_audio_url] = await Promise.all([
      upload(people.png, "image/png"), upload(encodeWav(lines[0].pcm), "audio/wav"), upload(encodeWav(lines[1].pcm), "audio/wav"),
    ]);
    const result = await fal.subscribe("fal-ai/ai-avatar/multi", {
      input: { image_url, first_audio_url, second_audio_url, prompt: "Two friends chatting in a room" }, logs: true,
    });
    const data = result.data as Output;
    assertRandomSeed(data.seed);
    const file = await videoFile(data.video.url);
    const info = await probeMedia(file, bins, { countFrames: true });
    assert.deepEqual([info.video?.width, info.video?.height, info.video?.fps, info.video?.frames, info.audio?.channels], [854, 480, 25, 181, 2]);
    const logs = (await server.queue.logs(result.requestId)).map((l) => l.message);
    assert.ok(logs.some((m) => m.startsWith("people (two largest, left to right): person 1 (track 1) is the face at [")), logs.join("\n"));
    const turns = logs.find((m) => m.startsWith("turns: ")) ?? "";
    assert.match(turns, /^turns: person 1 speaks 0\.\d\d-2\.\d\d s, person 2 speaks 2\.\d\d-4\.\d\d s of 7\.24 s$/);
    // Both turns are heard where the log says, with a quiet gap between them and silence after.
    const [a0, a1, b0, b1] = (turns.match(/\d\.\d\d/g) ?? []).map(Number);
    const sound = await decodePcm(file, bins);
    const rms = (from: number, to: number) => {
      let s2 = 0;
      for (let i = Math.round(from * 16000); i < Math.round(to * 16000); i++) s2 += sound.samples[i] ** 2;
      return Math.sqrt(s2 / ((to - from) * 16000));
    };
    assert.ok(rms(a0, a1) > 0.03 && rms(b0, b1) > 0.03, `turns heard: ${rms(a0, a1)}, ${rms(b0, b1)}`);
    assert.ok(rms(a1 + 0.05, b0 - 0.05) < 0.005 && rms(b1 + 0.1, 7.2) < 0.005, "the gap and the end are quiet");
    assert.ok(logs.includes("rendered 181/181 frames") || logs.some((m) => m.startsWith("render + encode 181 frames:")), logs.join("\n"));
  });

  it("fal-ai/ai-avatar/multi-text with the schema's defaults: 191 frames, Sarah then Roger (a random seed)", async () => {
    const people = await composeTwoPeople();
    const result = await fal.subscribe("fal-ai/ai-avatar/multi-text", {
      input: {
        image_url: await upload(people.png, "image/png"),
        first_text_input: "Did you catch any fish there?",
        second_text_input: "Only a small one, and I let it go.",
        prompt: "Two friends chatting",
      },
    });
    const data = result.data as Output;
    assertRandomSeed(data.seed);
    const info = await probeMedia(await videoFile(data.video.url), bins, { countFrames: true });
    assert.deepEqual([info.video?.width, info.video?.height, info.video?.frames, info.audio?.channels], [854, 480, 191, 2]);
    const logs = (await server.queue.logs(result.requestId)).map((l) => l.message);
    assert.ok(logs.some((m) => /^speak first_text_input: \d+ ms \(Sarah \(flite\)/.test(m)), logs.join("\n"));
    assert.ok(logs.some((m) => /^speak second_text_input: \d+ ms \(Roger \(flite\)/.test(m)), logs.join("\n"));
    assert.ok(logs.some((m) => /^turns: person 1 speaks .* person 2 speaks .* of 7\.64 s$/.test(m)));
  });

  for (const [endpoint, voice, frames] of [["fal-ai/ai-avatar/single-text", "Roger", 136], ["fal-ai/infinitalk/single-text", "Aria", 145]] as const) {
    it(`${endpoint}: the sound is the spoken text and the mouth follows it`, async (t) => {
      const portrait = await loadPortraitFixture();
      const text = "Glue the sheet to the dark blue background. It's easy to tell the depth of a well.";
      const updates: { status: string; logs?: Log[] }[] = [];
      const result = await fal.subscribe(endpoint, {
        input: { image_url: await upload(portrait.png, "image/png"), text_input: text, voice, prompt: "A woman talking" },
        logs: true, onQueueUpdate: (u) => updates.push(u as { status: string; logs?: Log[] }),
      });
      const data = result.data as Output;
      assertRandomSeed(data.seed);
      assert.equal(updates.at(-1)?.status, "COMPLETED");
      const file = await videoFile(data.video.url);
      const info = await probeMedia(file, bins, { countFrames: true });
      assert.deepEqual([info.video?.frames, info.audio?.channels], [frames, 1]);
      const sound = await decodePcm(file, bins);

      // Lip sync, by the independent judge.
      const open = await judge.mouthOpenings(readVideoFrames(file));
      assert.equal(open.length, frames);
      const { r, lag } = bestLagCorrelation(loudnessEnvelope(sound, 25), open, 2);
      t.diagnostic(`judge: r = ${r.toFixed(3)} at lag ${lag}`);
      assert.ok(r >= 0.6 && Math.abs(lag) <= 2, `mouth vs sound: r = ${r} at lag ${lag}`);

      // The words, by pocketsphinx.
      if (!asr) {
        t.diagnostic("pocketsphinx is not installed (apt-get install pocketsphinx pocketsphinx-en-us): the words were not checked");
        return;
      }
      const [heard] = await transcribe(asr, [sound], { ffmpeg });
      const said = new Set(words(heard));
      const expected = words(text);
      const found = expected.filter((w) => said.has(w));
      t.diagnostic(`pocketsphinx heard "${heard}": ${found.length}/${expected.length} words`);
      assert.ok(found.length > expected.length / 2, `most words heard: "${heard}"`);
    });
  }

  it("an unknown voice is a 422 listing the valid voices", async () => {
    await assert.rejects(
      fal.subscribe("fal-ai/ai-avatar/single-text", {
        // Typed by the client as one of the 20 names: the server must say so to untyped callers too.
        input: { image_url: "data:image/png;base64,iVBORw0KGgo=", text_input: "Hi.", voice: "Nobody" as "Aria", prompt: "" },
      }),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.equal(e.status, 422);
        const [err] = e.getFieldErrors("voice");
        assert.ok(err, JSON.stringify(e.fieldErrors));
        for (const v of VOICES) assert.ok(err.msg.includes(`'${v}'`), err.msg);
        return true;
      },
    );
  });
});
