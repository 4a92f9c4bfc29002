import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import {
  bestLagCorrelation,
  createJudge,
  distance,
  loudnessEnvelope,
  mouthOpening,
  pearson,
  probeVideoSize,
  readVideoFrames,
  type Judge,
} from "../support/judge.js";
import { loadGroupFixture, loadOpenMouthFixture, loadPortraitFixture, type FaceFixture } from "../support/face-fixtures.js";
import { createFaceAnalyzer } from "../../src/face/analyzer.js";
import * as L from "../../src/face/landmarks.js";
import type { RawImage } from "../../src/media/types.js";

const require = createRequire(import.meta.url);
const ffmpegPath = (require("@ffmpeg-installer/ffmpeg") as { path: string }).path;

let judge: Judge;
let closed: FaceFixture;
let open: FaceFixture;

before(async () => {
  judge = await createJudge();
  closed = await loadPortraitFixture();
  open = await loadOpenMouthFixture();
});

async function resized(fx: FaceFixture, width: number, height: number): Promise<RawImage> {
  const data = await sharp(fx.png).resize(width, height, { kernel: "lanczos3" }).removeAlpha().raw().toBuffer();
  return { width, height, channels: 3, data };
}

test("face-api finds the portrait's face with 68 landmarks inside its box", async () => {
  const faces = await judge.faces(closed.image);
  assert.equal(faces.length, 1);
  const [f] = faces;
  assert.equal(f.landmarks.length, 68);
  const b = closed.faces[0];
  const cx = f.box.x + f.box.width / 2;
  const cy = f.box.y + f.box.height / 2;
  assert.ok(Math.abs(cx - (b.x + b.width / 2)) < b.width * 0.2 && Math.abs(cy - (b.y + b.height / 2)) < b.height * 0.25);
  for (const [x, y] of f.landmarks.slice(36, 68)) {
    assert.ok(x > b.x && x < b.x + b.width && y > b.y && y < b.y + b.height, `eye/mouth landmark ${x},${y} outside the face`);
  }
});

test("descriptors: same person scaled < 0.4 apart, different people > 0.4", async (t) => {
  const a = await judge.descriptor(closed.image);
  const scaled = await judge.descriptor(await resized(closed, 1120, 630));
  const other = await judge.descriptor(open.image);
  assert.ok(a && scaled && other);
  assert.equal(a.length, 128);
  const same = distance(a, scaled);
  const diff = distance(a, other);
  t.diagnostic(`same person (0.875x): ${same.toFixed(3)}, different people: ${diff.toFixed(3)}`);
  assert.ok(same < 0.4, `same ${same}`);
  assert.ok(diff > 0.4, `different ${diff}`);
  assert.equal(await judge.descriptor({ width: 64, height: 64, channels: 3, data: Buffer.alloc(64 * 64 * 3, 90) }), null);
});

test("mouth opening: closed lips small, open mouth large; NaN without a face", async (t) => {
  const values = await judge.mouthOpenings([
    closed.image,
    open.image,
    { width: 64, height: 64, channels: 3, data: Buffer.alloc(64 * 64 * 3, 90) },
  ]);
  t.diagnostic(`closed ${values[0].toFixed(3)}, open ${values[1].toFixed(3)}`);
  assert.ok(values[0] < 0.07, `closed ${values[0]}`);
  assert.ok(values[1] > 0.12, `open ${values[1]}`);
  assert.ok(Number.isNaN(values[2]));
});

test("mouthOpening measures the inner-lip gap over the interocular distance", () => {
  // Eyes 100 px apart; inner lips 61/62/63 at y=200, 67/66/65 at y=220: opening 20/100.
  const pts: [number, number][] = Array.from({ length: 68 }, () => [0, 0]);
  for (let i = 36; i < 42; i++) pts[i] = [100, 100];
  for (let i = 42; i < 48; i++) pts[i] = [200, 100];
  for (const [u, l, x] of [[61, 67, 140], [62, 66, 150], [63, 65, 160]]) {
    pts[u] = [x, 200];
    pts[l] = [x, 220];
  }
  assert.ok(Math.abs(mouthOpening(pts) - 0.2) < 1e-12);
});

test("human (the renderer's mesh) and face-api (the judge) run in one process and agree", async () => {
  const analyzer = await createFaceAnalyzer();
  const group = await loadGroupFixture();
  const [meshes, judged] = [await analyzer.detect(group.image), await judge.faces(group.image)];
  assert.equal(meshes.length, 3);
  assert.equal(judged.length, 3);
  for (const face of meshes) {
    const iod = L.interocularDistance(face.mesh);
    const corner = L.point(face.mesh, L.MOUTH_CORNER_RIGHT);
    const nearest = Math.min(...judged.map((j) => Math.hypot(j.landmarks[48][0] - corner.x, j.landmarks[48][1] - corner.y)));
    assert.ok(nearest < 0.25 * iod, `mouth corner ${nearest.toFixed(1)} px from face-api's (iod ${iod.toFixed(1)})`);
  }
});

test("readVideoFrames decodes an MP4 to RGB frames, streaming; mouthOpenings follows the video", async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "judge-"));
  try {
    // 3 frames of closed lips, 3 of an open mouth, 3 of closed lips, at 640x360, H.264.
    const small = [await resized(closed, 640, 360), await resized(open, 640, 360)];
    const order = [0, 0, 0, 1, 1, 1, 0, 0, 0];
    const file = path.join(dir, "clip.mp4");
    await new Promise<void>((resolve, reject) => {
      const child = spawn(ffmpegPath, [
        "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "640x360", "-r", "25", "-i", "pipe:0",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18", "-y", file,
      ], { stdio: ["pipe", "ignore", "inherit"] });
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exit ${code}`))));
      for (const k of order) child.stdin.write(small[k].data);
      child.stdin.end();
    });
    assert.deepEqual(await probeVideoSize(file), { width: 640, height: 360 });

    const frames: RawImage[] = [];
    for await (const frame of readVideoFrames(file)) frames.push(frame);
    assert.equal(frames.length, order.length);
    assert.ok(frames.every((f) => f.width === 640 && f.height === 360 && f.data.length === 640 * 360 * 3));
    // Decoded pixels are close to the encoded ones (H.264 at crf 18).
    let err = 0;
    for (let i = 0; i < frames[4].data.length; i++) err += Math.abs(frames[4].data[i] - small[1].data[i]);
    assert.ok(err / frames[4].data.length < 6, `mean abs error ${err / frames[4].data.length}`);

    // Scaled decode, and an early stop that must not hang.
    for await (const frame of readVideoFrames(file, { width: 320, height: 180 })) {
      assert.equal(frame.data.length, 320 * 180 * 3);
      break;
    }

    // The detector runs where the picture changes (frames 0, 3, 6); the landmark net alone follows the face between.
    const openings = await judge.mouthOpenings(readVideoFrames(file, { width: 640, height: 360 }), { redetectEvery: 3 });
    t.diagnostic(`openings ${openings.map((v) => v.toFixed(3)).join(" ")}`);
    assert.equal(openings.length, order.length);
    const r = pearson(openings, order);
    assert.ok(r > 0.9, `openings ${openings.map((v) => v.toFixed(3))} vs ${order}: r=${r}`);
    for (const i of [1, 2, 4, 5, 7, 8]) {
      const detected = openings[i - (i % 3)];
      assert.ok(Math.abs(openings[i] - detected) < 0.02, `tracked frame ${i}: ${openings[i]} vs detected ${detected}`);
    }
    await assert.rejects(async () => {
      for await (const _ of readVideoFrames(path.join(dir, "missing.mp4"), { width: 10, height: 10 })) void _;
    });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test("pearson and bestLagCorrelation", () => {
  const a = Array.from({ length: 60 }, (_, i) => Math.sin(i / 3) + (i % 7) / 10);
  assert.ok(Math.abs(pearson(a, a) - 1) < 1e-12);
  assert.ok(Math.abs(pearson(a, a.map((v) => -2 * v + 5)) + 1) < 1e-12);
  assert.ok(Number.isNaN(pearson([1, 1, 1, 1], [1, 2, 3, 4])));
  assert.ok(Math.abs(pearson([1, 2, Number.NaN, 3, 4], [2, 4, 100, 6, 8]) - 1) < 1e-12, "skips NaN pairs");
  // b follows a by 2 frames.
  const b = [0, 0, ...a.slice(0, -2)];
  const best = bestLagCorrelation(a, b, 4);
  assert.equal(best.lag, 2);
  assert.ok(best.r > 0.999);
  const early = bestLagCorrelation(b, a, 4);
  assert.equal(early.lag, -2);
});

test("loudnessEnvelope is the RMS of each video frame's samples", () => {
  const sampleRate = 16000;
  const samples = new Float32Array(sampleRate); // 1 s: silence, then a 0.5-amplitude sine from 0.4 s
  for (let i = Math.round(0.4 * sampleRate); i < samples.length; i++) samples[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / sampleRate);
  const env = loudnessEnvelope({ sampleRate, samples }, 25);
  assert.equal(env.length, 25);
  assert.ok(env.slice(0, 10).every((v) => v === 0));
  for (const v of env.slice(10)) assert.ok(Math.abs(v - 0.5 / Math.SQRT2) < 0.01, `rms ${v}`);
  // A partial last frame still counts.
  assert.equal(loudnessEnvelope({ sampleRate, samples: samples.subarray(0, 16000 - 100) }, 25).length, 25);
});
