import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { CancelledError, InputError } from "../../src/errors.js";
import {
  buildAudioDecodeArgs, buildMixArgs, decodePcm, mixAudioFiles, exactLengthFilter, f32leToFloat32, fitLength, prepareAudio, samplesForFrames,
} from "../../src/media/audio.js";
import { probeMedia } from "../../src/media/probe.js";
import { bins, makePicture, makeTestVideo, makeTone, tempDir } from "../support/media-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

const rms = (s: Float32Array, from = 0, to = s.length) => {
  let acc = 0;
  for (let i = from; i < to; i++) acc += s[i] * s[i];
  return Math.sqrt(acc / Math.max(1, to - from));
};

describe("pure helpers", () => {
  it("counts samples per video length", () => {
    assert.equal(samplesForFrames(145, 25, 16000), 92800);
    assert.equal(samplesForFrames(41, 25, 48000), 78720);
    assert.equal(samplesForFrames(721, 25, 44100), 1271844);
  });

  it("trims or pads with silence to an exact length", () => {
    const s = Float32Array.from([0.1, 0.2, 0.3]);
    assert.deepEqual(Array.from(fitLength(s, 2)), [0.1, 0.2].map(Math.fround));
    assert.deepEqual(Array.from(fitLength(s, 5)), [0.1, 0.2, 0.3, 0, 0].map(Math.fround));
    assert.equal(fitLength(s, 3), s);
  });

  it("reads little-endian float32 from unaligned buffers", () => {
    const b = Buffer.alloc(9);
    b.writeFloatLE(0.5, 1);
    b.writeFloatLE(-0.25, 5);
    assert.deepEqual(Array.from(f32leToFloat32(b.subarray(1))), [0.5, -0.25]);
  });

  it("builds one decode with two exact-length outputs", () => {
    const args = buildAudioDecodeArgs({ input: "in.mp3", analysisRate: 16000, analysisSamples: 92800, muxRate: 48000,
      muxSamples: 278400, muxChannels: 2, muxPath: "/t/mux.wav" });
    assert.equal(exactLengthFilter(16000, 92800), "aresample=16000,apad=whole_len=92800,atrim=end_sample=92800");
    const afs = args.flatMap((a, i) => (a === "-af" ? [args[i + 1]] : []));
    assert.deepEqual(afs, [exactLengthFilter(16000, 92800), exactLengthFilter(48000, 278400)]);
    assert.deepEqual(args.slice(args.indexOf("pipe:1") - 6, args.indexOf("pipe:1") + 1), ["-ac", "1", "-c:a", "pcm_f32le", "-f", "f32le", "pipe:1"]);
    assert.equal(args.at(-1), "/t/mux.wav");
    assert.equal(args[args.lastIndexOf("-ac") + 1], "2");
  });
});

describe("prepareAudio (real ffmpeg)", () => {
  it("pads a short clip with silence to exactly num_frames / 25 s, in both outputs", async () => {
    const file = path.join(dir, "short.wav");
    await makeTone(file, 1, { rate: 44100, channels: 1 });
    const a = await prepareAudio(file, "audio_url", { numFrames: 145, fps: 25, dir, bins });
    assert.equal(a.pcm.sampleRate, 16000);
    assert.equal(a.pcm.samples.length, 92800);
    // ffmpeg's sine source has amplitude 1/8: rms 0.125 / sqrt(2).
    assert.ok(Math.abs(rms(a.pcm.samples, 0, 15000) - 0.125 / Math.SQRT2) < 0.005, "the tone is there");
    assert.equal(rms(a.pcm.samples, 16500), 0, "then silence");
    assert.equal(a.muxChannels, 1);
    const mux = await probeMedia(a.muxPath, bins);
    assert.equal(mux.audio?.sampleRate, 48000);
    assert.equal(mux.audio?.channels, 1);
    assert.equal(mux.audio?.durationSec, 5.8);
    assert.ok(Math.abs(a.source.durationSec - 1) < 0.01);
  });

  it("trims a long stereo mp3 and keeps two channels for muxing", async () => {
    const file = path.join(dir, "long.mp3");
    await makeTone(file, 4, { rate: 44100, channels: 2, freq: 220 });
    const a = await prepareAudio(file, "audio_url", { numFrames: 41, fps: 25, dir, bins, muxFileName: "m.wav" });
    assert.equal(a.pcm.samples.length, 26240);
    assert.ok(rms(a.pcm.samples, 20000) > 0.05, "no padding: the tone runs to the end");
    assert.equal(a.muxChannels, 2);
    assert.equal(path.basename(a.muxPath), "m.wav");
    const mux = await probeMedia(a.muxPath, bins);
    assert.deepEqual([mux.audio?.channels, mux.audio?.durationSec], [2, 1.64]);
  });

  it("decodes ogg, flac, m4a and a video's sound track", async () => {
    for (const ext of [".ogg", ".flac", ".m4a"]) {
      const file = path.join(dir, `t${ext}`);
      await makeTone(file, 0.5, { rate: 48000 });
      const a = await prepareAudio(file, "audio_url", { numFrames: 50, fps: 25, dir, bins });
      assert.equal(a.pcm.samples.length, 32000, ext);
      assert.ok(rms(a.pcm.samples, 1000, 7000) > 0.05, ext);
    }
    const mp4 = path.join(dir, "clip.mp4");
    await makeTestVideo(mp4, 1);
    const v = await prepareAudio(mp4, "audio_url", { numFrames: 25, fps: 25, dir, bins });
    assert.equal(v.pcm.samples.length, 16000);
    assert.ok(rms(v.pcm.samples, 2000, 14000) > 0.05);
  });

  it("rejects a picture passed as audio, naming the field", async () => {
    const png = path.join(dir, "pic.png");
    await makePicture(png, 64, 64);
    await assert.rejects(prepareAudio(png, "first_audio_url", { numFrames: 41, fps: 25, dir, bins }), (e: unknown) =>
      e instanceof InputError && e.detail[0].loc.join(".") === "body.first_audio_url" && /no audio track \(found: PNG image\)/.test(e.message));
  });

  it("stops when cancelled", async () => {
    const file = path.join(dir, "c.wav");
    await makeTone(file, 1);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(prepareAudio(file, "audio_url", { numFrames: 41, fps: 25, dir, bins, signal: ac.signal }), CancelledError);
  });

  it("decodePcm returns the whole track", async () => {
    const file = path.join(dir, "whole.wav");
    await makeTone(file, 0.75, { rate: 8000 });
    const pcm = await decodePcm(file, bins, { rate: 16000 });
    assert.equal(pcm.samples.length, 12000);
  });
});

describe("mixAudioFiles", () => {
  it("sums two prepared tracks into one stereo WAV of the same length, without a level drop", async () => {
    const a = path.join(dir, "mix-a.wav"), b = path.join(dir, "mix-b.wav");
    await makeTone(a, 2, { rate: 44100, channels: 1, freq: 300 });
    await makeTone(b, 0.5, { rate: 22050, channels: 2, freq: 300 });
    const pa = await prepareAudio(a, "first_audio_url", { numFrames: 41, fps: 25, dir, bins });
    const pb = await prepareAudio(b, "second_audio_url", { numFrames: 41, fps: 25, dir, bins });
    const out = path.join(dir, "mixed.wav");
    await mixAudioFiles([pa.muxPath, pb.muxPath], out, bins);
    const info = await probeMedia(out, bins);
    assert.deepEqual([info.audio?.sampleRate, info.audio?.channels, info.audio?.durationSec], [48000, 2, 1.64]);
    const mixed = await decodePcm(out, bins, { rate: 16000 });
    // Same-phase 300 Hz tones add up while both play (about double the rms of one), then one remains.
    const one = 0.125 / Math.SQRT2;
    assert.ok(Math.abs(rms(mixed.samples, 1000, 7000) - 2 * one) < 0.02, `both: ${rms(mixed.samples, 1000, 7000)}`);
    assert.ok(Math.abs(rms(mixed.samples, 10000, 25000) - one) < 0.01, `one: ${rms(mixed.samples, 10000, 25000)}`);
    assert.throws(() => buildMixArgs(["x"], "o.wav"), /at least two/);
    assert.match(buildMixArgs(["x", "y", "z"], "o.wav").join(" "), /amerge=inputs=3,pan=stereo\|c0=c0\+c2\+c4\|c1=c1\+c3\+c5/);
  });
});
