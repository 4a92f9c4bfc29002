import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { InputError } from "../../src/errors.js";
import { buildProbeArgs, describeBytes, parseProbe, parseRate, probeMedia, requireAudio, requireVideo } from "../../src/media/probe.js";
import { bins, makeJunk, makePicture, makeTestVideo, makeTone, tempDir } from "../support/media-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

describe("parseProbe (pure)", () => {
  it("types streams: video size, fps, rotation from the display matrix or tag; audio rate and channels", () => {
    const r = parseProbe({
      format: { format_name: "mov,mp4,m4a,3gp,3g2,mj2", duration: "5.800000" },
      streams: [
        { index: 0, codec_type: "video", codec_name: "h264", width: 1280, height: 720, avg_frame_rate: "30000/1001",
          r_frame_rate: "30000/1001", nb_frames: "174", side_data_list: [{ side_data_type: "Display Matrix", rotation: -90 }] },
        { index: 1, codec_type: "audio", codec_name: "aac", sample_rate: "48000", channels: 2, duration: "5.781333" },
        { index: 2, codec_type: "video", codec_name: "mjpeg", width: 300, height: 300, avg_frame_rate: "0/0",
          disposition: { attached_pic: 1 }, tags: { rotate: "180" } },
      ],
    });
    assert.equal(r.formatName, "mov,mp4,m4a,3gp,3g2,mj2");
    assert.equal(r.durationSec, 5.8);
    assert.equal(r.streams.length, 3);
    assert.deepEqual(r.video, { kind: "video", index: 0, codec: "h264", width: 1280, height: 720, fps: 30000 / 1001,
      rotation: 90, durationSec: undefined, frames: 174, attachedPicture: false });
    assert.deepEqual(r.audio, { kind: "audio", index: 1, codec: "aac", sampleRate: 48000, channels: 2, durationSec: 5.781333, frames: undefined });
    const cover = r.streams[2];
    assert.ok(cover.kind === "video" && cover.attachedPicture && cover.rotation === 180 && cover.fps === 0);
  });

  it("parses rates and rejects non-ffprobe documents", () => {
    assert.equal(parseRate("25/1"), 25);
    assert.equal(parseRate("0/0"), 0);
    assert.equal(parseRate("24"), 24);
    assert.equal(parseRate(undefined), 0);
    assert.throws(() => parseProbe("{}"), /not ffprobe/);
    assert.deepEqual(buildProbeArgs("/a b.wav", { countFrames: true }),
      ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-count_frames", "/a b.wav"]);
  });
});

describe("describeBytes", () => {
  it("names common formats and text", async () => {
    assert.equal(await describeBytes(Buffer.from("504b0304140000000800", "hex")), "zip archive");
    assert.equal(await describeBytes(Buffer.from("%PDF-1.7\n%âãÏÓ\n1 0 obj", "latin1")), "PDF document");
    assert.equal(await describeBytes(Buffer.from("<!DOCTYPE html><html>")), "HTML page");
    assert.equal(await describeBytes(Buffer.from("hello there")), "text");
    assert.equal(await describeBytes(Buffer.alloc(0)), "empty file");
  });
});

describe("probeMedia / requireAudio / requireVideo (real ffprobe)", () => {
  it("probes a generated tone and video", async () => {
    const wav = path.join(dir, "tone.wav");
    await makeTone(wav, 1.5, { rate: 22050, channels: 2 });
    const a = await requireAudio(wav, "audio_url", bins);
    assert.equal(a.sampleRate, 22050);
    assert.equal(a.channels, 2);
    assert.ok(Math.abs(a.durationSec - 1.5) < 0.01);
    const mp4 = path.join(dir, "clip.mp4");
    await makeTestVideo(mp4, 1);
    const v = await requireVideo(mp4, "video_url", bins);
    assert.deepEqual([v.video.width, v.video.height, v.video.fps], [320, 240, 25]);
    assert.ok(v.audio);
    const counted = await probeMedia(mp4, bins, { countFrames: true });
    assert.equal(counted.video?.frames, 25);
  });

  it("names the field and what the file really is", async () => {
    const png = path.join(dir, "pic.png");
    await makePicture(png, 64, 48);
    await assert.rejects(requireAudio(png, "audio_url", bins), (e: unknown) => e instanceof InputError &&
      e.detail[0].loc.join(".") === "body.audio_url" && /has no audio track \(found: PNG image\)/.test(e.message));
    const zip = path.join(dir, "archive.zip");
    await makeJunk(zip, "zip");
    await assert.rejects(requireAudio(zip, "audio_url", bins), (e: unknown) => e instanceof InputError &&
      /audio_url: the file (is not a decodable audio file|has no audio track) \(found: zip archive\); send a WAV/.test(e.message));
    await assert.rejects(requireVideo(png, "video_url", bins), /video_url: the file has no video track \(found: PNG image\)/);
    const wav = path.join(dir, "tone2.wav");
    await makeTone(wav, 0.5);
    await assert.rejects(requireVideo(wav, "video_url", bins), /no video track \(found: WAV audio\)/);
  });
});
