import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobContext } from "../../src/media/types.js";
import { NEUTRAL_FRAME, type MotionFrame } from "../../src/motion/types.js";
import type { EngineFrame, EngineJob } from "../../src/pipeline/engine.js";
import { ClassicalEngine } from "../../src/render/engine.js";
import { fullRect, rgbxToYuv420, surfaceFromRgb, yuvBytes } from "../../src/render/pixels.js";
import { syntheticFace } from "./synthetic.js";

function ctx(signal = new AbortController().signal) {
  const progress: [number, number][] = [];
  const c: JobContext = { signal, log: () => {}, progress: (d, t) => progress.push([d, t]) };
  return { c, progress };
}

/** Two faces side by side in one picture. */
function twoFaces() {
  const a = syntheticFace({ width: 360, height: 180, size: 110, cx: 90, cy: 90 });
  const b = syntheticFace({ width: 360, height: 180, size: 110, cx: 270, cy: 90 });
  // Right half of the picture from b.
  const data = Buffer.from(a.image.data);
  for (let y = 0; y < 180; y++) b.image.data.copy(data, (y * 360 + 180) * 3, (y * 360 + 180) * 3, (y * 360 + 360) * 3);
  return { image: { ...a.image, data }, faces: [a.face, b.face] };
}

function speech(seconds: number, rate = 16000): Float32Array {
  // Syllable-like bursts of a voiced tone (4 per second), with pauses.
  const n = Math.round(seconds * rate);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const env = Math.max(0, Math.sin(2 * Math.PI * 2 * t)) ** 2 * (t % 2 < 1.5 ? 1 : 0);
    out[i] = env * 0.4 * (Math.sin(2 * Math.PI * 140 * t) + 0.5 * Math.sin(2 * Math.PI * 280 * t) + 0.3 * Math.sin(2 * Math.PI * 700 * t));
  }
  return out;
}

function job(over: Partial<EngineJob> = {}): EngineJob {
  const s = syntheticFace({ width: 256, height: 256, size: 150 });
  return {
    image: s.image, faces: [s.face], numFrames: 12, fps: 25, seed: 42, prompt: "", acceleration: "regular",
    tracks: [{ pcm: { sampleRate: 16000, samples: speech(12 / 25) }, faceIndex: 0 }],
    ...over,
  };
}

async function collect(frames: AsyncIterable<EngineFrame>): Promise<EngineFrame[]> {
  const out: EngineFrame[] = [];
  // Copies: a frame's data is only valid until the next frame is pulled (EngineFrame).
  for await (const f of frames) out.push({ index: f.index, data: Buffer.from(f.data) });
  return out;
}

test("the engine yields numFrames yuv420p frames in order, with progress; same job, same bytes", async () => {
  const j = job({ numFrames: 20, tracks: [{ pcm: { sampleRate: 16000, samples: speech(0.8) }, faceIndex: 0 }] });
  const { c, progress } = ctx();
  const engine = new ClassicalEngine();
  const stream = await engine.start(j, c);
  assert.equal(stream.pixelFormat, "yuv420p");
  assert.equal(stream.width, 256);
  const frames = await collect(stream.frames());
  assert.equal(frames.length, 20);
  frames.forEach((f, i) => {
    assert.equal(f.index, i);
    assert.equal(f.data.length, yuvBytes(256, 256));
  });
  assert.deepEqual(progress.at(-1), [20, 20]);
  const distinct = new Set(frames.map((f) => f.data.toString("base64"))).size;
  assert.ok(distinct > 5, `the face moves (${distinct} distinct frames)`);
  const again = await collect((await new ClassicalEngine().start(j, ctx().c)).frames());
  frames.forEach((f, i) => assert.ok(f.data.equals(again[i].data), `frame ${i} identical`));
});

test("rendering in a worker thread gives the same bytes as on the main thread", async () => {
  const j = job({ numFrames: 8, tracks: [{ pcm: { sampleRate: 16000, samples: speech(8 / 25) }, faceIndex: 0 }] });
  const main = await collect((await new ClassicalEngine().start(j, ctx().c)).frames());
  const { c, progress } = ctx();
  const threaded = await collect((await new ClassicalEngine({ worker: true }).start(j, c)).frames());
  assert.equal(threaded.length, 8);
  threaded.forEach((f, i) => {
    assert.equal(f.index, i);
    assert.ok(f.data.equals(main[i].data), `frame ${i} identical`);
  });
  assert.deepEqual(progress.at(-1), [8, 8]);
  // Stopping early ends the worker too (the test would hang on a live worker otherwise).
  const ac = new AbortController();
  let n = 0;
  for await (const f of (await new ClassicalEngine({ worker: true }).start(j, ctx(ac.signal).c)).frames()) {
    void f;
    if (++n === 2) ac.abort();
  }
  assert.equal(n, 2);
});

test("without a bound voice nothing moves: every frame is the photo", async () => {
  const j = job({ tracks: [{ pcm: { sampleRate: 16000, samples: speech(0.5) }, faceIndex: null }] });
  const frames = await collect((await new ClassicalEngine({ pixelFormat: "rgb24" }).start(j, ctx().c)).frames());
  assert.equal(frames.length, 12);
  for (const f of frames) assert.ok(f.data.equals(j.image.data));
});

test("injected motion drives the face; neutral frames give the photo back exactly", async () => {
  const j = job({ numFrames: 3 });
  const motion = () => [[NEUTRAL_FRAME, { ...NEUTRAL_FRAME, jawOpen: 1 }, NEUTRAL_FRAME]];
  const frames = await collect((await new ClassicalEngine({ motion, pixelFormat: "yuv420p" }).start(j, ctx().c)).frames());
  const photo = new Uint8Array(yuvBytes(256, 256));
  const s = surfaceFromRgb(j.image);
  rgbxToYuv420(s, photo, fullRect(s));
  assert.ok(frames[0].data.equals(photo));
  assert.ok(!frames[1].data.equals(photo));
  assert.ok(frames[2].data.equals(photo));
});

test("a face without a voice listens but never moves its mouth; faces do not bleed into each other", async () => {
  const { image, faces } = twoFaces();
  const talk: MotionFrame = { ...NEUTRAL_FRAME, jawOpen: 1, headYaw: 0.05, headRoll: 0.05 };
  const motion = (): MotionFrame[][] => [[talk, talk], [talk, talk]];
  const j: EngineJob = {
    image, faces, numFrames: 2, fps: 25, seed: 1, prompt: "", acceleration: "high",
    tracks: [{ pcm: { sampleRate: 16000, samples: speech(0.1) }, faceIndex: 0 }],
  };
  const frames = await collect((await new ClassicalEngine({ motion, pixelFormat: "rgb24" }).start(j, ctx().c)).frames());
  const out = frames[1].data;
  const changed = (x0: number, x1: number, y0: number, y1: number) => {
    let n = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
      const o = (y * 360 + x) * 3;
      if (out[o] !== image.data[o] || out[o + 1] !== image.data[o + 1] || out[o + 2] !== image.data[o + 2]) n++;
    }
    return n;
  };
  // Mouth boxes: face A (speaker) opens its mouth; face B (listener) only turns its head.
  const mouthBox = (f: typeof faces[number]) => {
    const m = f.mesh;
    return [m[61 * 3] - 2, m[291 * 3] + 2, m[0 * 3 + 1] - 2, m[17 * 3 + 1] + 2].map(Math.round) as [number, number, number, number];
  };
  assert.ok(changed(...mouthBox(faces[0])) > 50, "the speaker's mouth changes");
  // The listener's head turns (so pixels change), but its lips keep their shape: compare the inner-lip gap.
  assert.ok(changed(0, 180, 0, 180) > 0 && changed(180, 360, 0, 180) > 0, "both faces move");
  const column = (x: number, y0: number, y1: number) => {
    let dark = 0;
    for (let y = y0; y < y1; y++) { const o = (y * 360 + x) * 3; if (out[o] < 90) dark++; }
    return dark;
  };
  const b = faces[1].mesh;
  const bx = Math.round(b[13 * 3]);
  assert.ok(column(bx, Math.round(b[13 * 3 + 1]) - 6, Math.round(b[14 * 3 + 1]) + 6) <= 1, "the listener's mouth stays closed");
  const a = faces[0].mesh;
  assert.ok(column(Math.round(a[13 * 3]), Math.round(a[13 * 3 + 1]) - 6, Math.round(a[14 * 3 + 1]) + 20) >= 3, "the speaker's mouth is open");
});

test("frames come from one reused buffer (memory flat in the video's length) and are complete when yielded", async () => {
  const j = job({ numFrames: 12 });
  const stream = await new ClassicalEngine().start(j, ctx().c);
  const buffers = new Set<ArrayBufferLike>();
  const copies: Buffer[] = [];
  for await (const f of stream.frames()) {
    buffers.add(f.data.buffer);
    // EngineFrame: the data is valid until the next frame is pulled; a consumer that keeps frames copies them.
    copies.push(Buffer.from(f.data));
  }
  let changes = 0;
  for (let i = 1; i < copies.length; i++) if (!copies[i].equals(copies[i - 1])) changes++;
  assert.ok(changes >= 5, `the face moves (${changes} changed frames)`);
  assert.equal(buffers.size, 1, `frames share one buffer, got ${buffers.size}`);
  // Each frame was complete when it was yielded: the same frames from a second engine, copied the same way.
  const again = await collect((await new ClassicalEngine().start(j, ctx().c)).frames());
  assert.deepEqual(again.map((f) => f.data), copies);
});

test("aborting stops the stream early", async () => {
  const ac = new AbortController();
  const stream = await new ClassicalEngine().start(job({ numFrames: 30 }), ctx(ac.signal).c);
  let n = 0;
  for await (const f of stream.frames()) {
    void f;
    if (++n === 3) ac.abort();
  }
  assert.equal(n, 3);
});

test("a broken picture is an input error", async () => {
  const j = job();
  await assert.rejects(
    new ClassicalEngine().start({ ...j, image: { width: 0, height: 10, channels: 3, data: Buffer.alloc(0) } }, ctx().c),
    (e: Error) => e.name === "InputError",
  );
});
