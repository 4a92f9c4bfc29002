/**
 * fal-ai/infinitalk/video-to-video through the HTTP API: POST /queue/… with data URIs (fal's schema, defaults
 * filled in), the worker running the real pipeline runner, the result's video served from /files. The video has no
 * face (frames pass through), so this is about the endpoint's plumbing; the dubbing itself is judged in dub.test.ts.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { runProcess } from "../../src/media/ffmpeg.js";
import { createPipelineRunner, type PipelineRunner } from "../../src/pipeline/index.js";
import type { JobRunner } from "../../src/pipeline/types.js";
import { makeApp, type TestApp } from "../api/helpers.js";
import { readVideoFrames } from "../support/judge.js";
import { bins, makeTone, tempDir } from "../support/media-fixtures.js";

const ENDPOINT = "fal-ai/infinitalk/video-to-video";

let t: TestApp;
let pipeline: PipelineRunner;
let dir: string;
let cleanup: () => Promise<void>;
let videoUri: string;
let audioUri: string;

before(async () => {
  ({ dir, cleanup } = await tempDir("mp-dub-api-"));
  const runner: JobRunner = (req, ctx) => pipeline(req, ctx);
  t = await makeApp({ runner });
  pipeline = createPipelineRunner({ config: t.config, storage: t.storage, logger: pino({ level: "silent" }) });
  const video = path.join(dir, "clip.webm");
  await runProcess(bins.ffmpeg, ["-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc=s=320x240:r=30:d=1", "-c:v", "libvpx-vp9",
    "-deadline", "realtime", "-cpu-used", "8", "-y", video], { label: "ffmpeg (fixture)" });
  const tone = path.join(dir, "tone.wav");
  await makeTone(tone, 6);
  videoUri = `data:video/webm;base64,${(await readFile(video)).toString("base64")}`;
  audioUri = `data:audio/wav;base64,${(await readFile(tone)).toString("base64")}`;
});
after(async () => {
  await t?.close();
  await pipeline?.close();
  await cleanup?.();
});

describe("POST /queue/fal-ai/infinitalk/video-to-video", { timeout: 120_000 }, () => {
  it("runs a WebM through the queue: 145 frames (the default num_frames) with the new audio", async () => {
    const sub = await t.app.inject({ method: "POST", url: `/queue/${ENDPOINT}`, payload: { video_url: videoUri, audio_url: audioUri, prompt: "a test" }, headers: t.auth });
    assert.equal(sub.statusCode, 200, sub.body);
    const { request_id: id } = sub.json() as { request_id: string };
    await t.waitDone(id);
    const status = await t.app.inject({ method: "GET", url: `/queue/${ENDPOINT}/requests/${id}/status?logs=1`, headers: t.auth });
    assert.equal(status.json().status, "COMPLETED");
    const messages = (status.json().logs as { message: string }[]).map((l) => l.message);
    assert.ok(messages.some((m) => /no face found in the video/.test(m)), messages.join("\n"));
    const res = await t.app.inject({ method: "GET", url: `/queue/${ENDPOINT}/requests/${id}`, headers: t.auth });
    assert.equal(res.statusCode, 200, res.body);
    const out = res.json() as { video: { url: string; content_type: string; file_size: number }; seed: number };
    assert.ok(Number.isInteger(out.seed), `seed ${out.seed}`);
    assert.equal(out.video.content_type, "video/mp4");
    const file = await t.app.inject({ method: "GET", url: new URL(out.video.url).pathname });
    assert.equal(file.statusCode, 200);
    assert.equal(file.rawPayload.length, out.video.file_size);
    const mp4 = path.join(dir, "out.mp4");
    await writeFile(mp4, file.rawPayload);
    let frames = 0;
    let size = "";
    for await (const f of readVideoFrames(mp4)) {
      frames++;
      size = `${f.width}x${f.height}`;
    }
    assert.equal(frames, 145);
    assert.equal(size, "640x480");
    const probe = await runProcess(bins.ffprobe, ["-v", "error", "-show_entries", "stream=codec_type,duration", "-of", "json", mp4], { label: "ffprobe" });
    const streams = (JSON.parse(probe.stdout.toString()) as { streams: { codec_type: string; duration: string }[] }).streams;
    const audio = streams.find((s) => s.codec_type === "audio");
    assert.ok(audio && Math.abs(Number(audio.duration) - 5.8) < 0.1, JSON.stringify(streams));
  });

  it("refuses a request without video_url with fal's 422, naming the field", async () => {
    const res = await t.app.inject({ method: "POST", url: `/queue/${ENDPOINT}`, payload: { audio_url: audioUri, prompt: "x" }, headers: t.auth });
    assert.equal(res.statusCode, 422, res.body);
    assert.ok(JSON.stringify(res.json()).includes("video_url"), res.body);
  });
});
