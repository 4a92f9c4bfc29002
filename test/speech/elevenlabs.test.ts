import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { VOICES } from "../../src/api/endpoints.js";
import { CancelledError, InputError } from "../../src/errors.js";
import { ELEVENLABS_SAMPLE_RATE, ElevenLabsError, speakElevenLabs } from "../../src/speech/elevenlabs.js";
import { createSpeechSynthesizer, VOICE_CATALOG } from "../../src/speech/index.js";

interface Seen {
  method?: string;
  url?: string;
  key?: string | string[];
  body: { text?: string; model_id?: string };
}

/** A local stand-in for the ElevenLabs API: a 440 Hz tone as raw PCM, or the status it is told to send. */
class StandIn {
  server!: Server;
  seen: Seen[] = [];
  mode: "ok" | "500" | "422" | "slow" = "ok";

  async start(): Promise<string> {
    this.server = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      this.seen.push({ method: req.method, url: req.url, key: req.headers["xi-api-key"], body: JSON.parse(Buffer.concat(chunks).toString() || "{}") });
      if (this.mode === "500") return void res.writeHead(500, { "content-type": "application/json" }).end('{"detail":"boom"}');
      if (this.mode === "422") return void res.writeHead(422, { "content-type": "application/json" }).end('{"detail":"text too long"}');
      if (this.mode === "slow") await new Promise((r) => setTimeout(r, 1500));
      const n = ELEVENLABS_SAMPLE_RATE / 2;
      const pcm = Buffer.alloc(n * 2);
      for (let i = 0; i < n; i++) pcm.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / ELEVENLABS_SAMPLE_RATE) * 16000), i * 2);
      res.writeHead(200, { "content-type": "audio/pcm" }).end(pcm);
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

describe("speech: ElevenLabs provider against a local stand-in", () => {
  const standIn = new StandIn();
  let baseUrl: string;
  before(async () => {
    baseUrl = await standIn.start();
  });
  after(() => new Promise<void>((r) => {
    standIn.server.closeAllConnections();
    standIn.server.close(() => r());
  }));

  it("knows the ElevenLabs id of all 20 voices, all different", () => {
    const ids = VOICES.map((v) => VOICE_CATALOG[v].elevenLabsId);
    assert.equal(new Set(ids).size, 20);
    assert.equal(VOICE_CATALOG.Aria.elevenLabsId, "9BWtsMINqrJLrRacOk9x");
    assert.equal(VOICE_CATALOG.Bill.elevenLabsId, "pqHfZKP75CvOlQylNhV4");
  });

  it("posts the text to /v1/text-to-speech/{voice_id} with the key and returns the PCM", async () => {
    standIn.mode = "ok";
    standIn.seen = [];
    const synth = await createSpeechSynthesizer({ elevenLabsApiKey: "sk-test-123", elevenLabsBaseUrl: `${baseUrl}/` });
    try {
      assert.equal(synth.provider, "elevenlabs");
      const { pcm, phonemes } = await synth.speak({ text: "Hello from Roger.", voice: "Roger" });
      assert.equal(standIn.seen.length, 1);
      const seen = standIn.seen[0];
      assert.equal(seen.method, "POST");
      assert.equal(seen.url, `/v1/text-to-speech/CwhRBWXzGAHq8TQ4Fs17?output_format=pcm_${ELEVENLABS_SAMPLE_RATE}`);
      assert.equal(seen.key, "sk-test-123");
      assert.equal(seen.body.text, "Hello from Roger.");
      assert.equal(typeof seen.body.model_id, "string");
      assert.equal(pcm.sampleRate, ELEVENLABS_SAMPLE_RATE);
      assert.equal(pcm.samples.length, ELEVENLABS_SAMPLE_RATE / 2);
      assert.ok(Math.abs(pcm.samples[Math.round(ELEVENLABS_SAMPLE_RATE / 1760)] - 16000 / 32768) < 0.01, "samples decoded as s16le");
      assert.deepEqual(phonemes, []);
    } finally {
      await synth.close();
    }
  });

  it("falls back to the offline voice when ElevenLabs fails, unless told not to", async () => {
    standIn.mode = "500";
    const logs: string[] = [];
    const synth = await createSpeechSynthesizer({ elevenLabsApiKey: "k", elevenLabsBaseUrl: baseUrl, log: (m) => logs.push(m) });
    try {
      const { pcm, phonemes } = await synth.speak({ text: "Still here.", voice: "Eric" });
      assert.ok(phonemes.length > 3, "offline speech has phonemes");
      assert.notEqual(pcm.sampleRate, ELEVENLABS_SAMPLE_RATE);
      assert.match(logs.join("\n"), /ElevenLabs failed.*500/);
    } finally {
      await synth.close();
    }
    await assert.rejects(speakElevenLabs({ text: "x", voice: "Eric" }, { apiKey: "k", baseUrl }), (err: unknown) =>
      err instanceof ElevenLabsError && err.status === 500);
  });

  it("reports a refused text as an input error, and stops when cancelled", async () => {
    standIn.mode = "422";
    await assert.rejects(speakElevenLabs({ text: "x", voice: "Lily" }, { apiKey: "k", baseUrl }), InputError);
    standIn.mode = "slow";
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const t0 = performance.now();
    await assert.rejects(speakElevenLabs({ text: "x", voice: "Lily", signal: controller.signal }, { apiKey: "k", baseUrl }), CancelledError);
    assert.ok(performance.now() - t0 < 3000);
  });

  it("is off without a key", async () => {
    standIn.seen = [];
    const synth = await createSpeechSynthesizer({ elevenLabsBaseUrl: baseUrl });
    try {
      assert.equal(synth.provider, "flite");
      await synth.speak({ text: "Offline.", voice: "Will" });
      assert.equal(standIn.seen.length, 0);
    } finally {
      await synth.close();
    }
  });
});
