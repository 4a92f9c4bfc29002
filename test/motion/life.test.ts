import { test } from "node:test";
import assert from "node:assert/strict";
import { buildLife, blinkShape, emphasisPeaks, Rng, scheduleBlinks, streamSeed } from "../../src/motion/life.js";
import { extractFeatures } from "../../src/motion/features.js";
import { parseMood } from "../../src/motion/mood.js";
import { talk } from "./synth.js";

const FPS = 25;
const DEG = Math.PI / 180;

/** Frames where a blink reaches full closure (local maxima above 0.5). */
function blinkPeaks(x: Float32Array): number[] {
  const out: number[] = [];
  for (let i = 1; i < x.length - 1; i++) if (x[i] > 0.5 && x[i] >= x[i - 1] && x[i] > x[i + 1]) out.push(i);
  return out;
}

/** Direction reversals of a curve per second (frame-to-frame noise would give ~12 per second). */
function reversalsPerSecond(x: Float32Array): number {
  let rev = 0;
  let prev = 0;
  for (let i = 1; i < x.length; i++) {
    const d = x[i] - x[i - 1];
    if (Math.abs(d) < 1e-6) continue;
    if (prev !== 0 && Math.sign(d) !== Math.sign(prev)) rev++;
    prev = d;
  }
  return rev / (x.length / FPS);
}

test("blinks over 60 s: intervals mostly 2-6 s, full closure, fast close, slower open, eyes together", () => {
  for (const seed of [1, 42, 1234]) {
    const n = 60 * FPS;
    const life = buildLife({ numFrames: n, fps: FPS, seed });
    const peaks = blinkPeaks(life.blinkLeft);
    assert.ok(peaks.length >= 10 && peaks.length <= 30, `seed ${seed}: ${peaks.length} blinks in 60 s`);
    // A double blink (two closures within 0.6 s) is one blink event.
    const events = peaks.filter((p, i) => i === 0 || p - peaks[i - 1] > 0.6 * FPS);
    assert.ok(events.length >= peaks.length * 0.8, "double blinks are occasional");
    const intervals = events.slice(1).map((p, i) => (p - events[i]) / FPS);
    const inRange = intervals.filter((d) => d >= 2 && d <= 6).length / intervals.length;
    assert.ok(inRange >= 0.8, `seed ${seed}: ${(inRange * 100).toFixed(0)}% of intervals in 2-6 s: ${intervals.map((d) => d.toFixed(1))}`);
    for (const p of peaks) {
      assert.ok(life.blinkLeft[p] >= 0.9, "full closure at the peak frame");
      if (peaks.some((q) => q !== p && Math.abs(q - p) < 0.6 * FPS)) continue; // a double blink
      assert.ok(Math.abs(life.blinkLeft[p] - life.blinkRight[p]) < 0.3, "both eyes nearly together");
      // Closing takes <= 4 frames (<= 160 ms); opening is slower than closing.
      let up = 0;
      while (p - up - 1 >= 0 && life.blinkLeft[p - up - 1] > 0.05) up++;
      let down = 0;
      while (p + down + 1 < n && life.blinkLeft[p + down + 1] > 0.05) down++;
      assert.ok(up <= 4, `close frames ${up}`);
      assert.ok(down > up, `open frames ${down} vs close ${up}`);
    }
    // Open eyes most of the time.
    const closed = life.blinkLeft.filter((v) => v > 0.5).length / n;
    assert.ok(closed < 0.08, `eyes closed ${closed}`);
  }
});

test("blink shape: eased close to full, hold, slower open; zero outside", () => {
  const b = { peak: 1, amp: 1, close: 0.1, hold: 0.03, open: 0.2 };
  assert.equal(blinkShape(b, 0.85), 0);
  assert.ok(blinkShape(b, 0.95) > 0.4 && blinkShape(b, 0.95) < 0.6);
  assert.equal(blinkShape(b, 1.01), 1);
  assert.ok(blinkShape(b, 1.13) >= 0.45, "still half closed 100 ms after the hold (slow open)");
  // The close (0.05 -> full) is quicker than the open (full -> 0.05).
  const ts = Array.from({ length: 601 }, (_, i) => 0.8 + i * 0.001);
  const above = ts.filter((t) => blinkShape(b, t) > 0.05);
  const closing = above.filter((t) => t < 1).length;
  const opening = above.filter((t) => t > 1.03).length;
  assert.ok(opening > 1.5 * closing, `open ${opening} ms vs close ${closing} ms`);
  assert.equal(blinkShape(b, 1.3), 0);
  // Mood blink rate scales the count.
  const many = scheduleBlinks(new Rng(5), 120, FPS, 1.8).length;
  const few = scheduleBlinks(new Rng(5), 120, FPS, 0.6).length;
  assert.ok(many > 1.8 * few, `${many} vs ${few}`);
});

test("same seed -> identical motion; another seed -> different motion", () => {
  const { pcm } = talk(6, 3);
  const voice = extractFeatures(pcm, { fps: FPS, numFrames: 150 });
  const a = buildLife({ numFrames: 150, fps: FPS, seed: 42, voice });
  const b = buildLife({ numFrames: 150, fps: FPS, seed: 42, voice });
  const c = buildLife({ numFrames: 150, fps: FPS, seed: 43, voice });
  for (const k of Object.keys(a) as (keyof typeof a)[]) assert.deepEqual(a[k], b[k], k);
  const diff = (k: keyof typeof a) => a[k].reduce((s, v, i) => s + Math.abs(v - c[k][i]), 0);
  assert.ok(diff("headYaw") > 0.01, "yaw differs");
  assert.ok(diff("blinkLeft") > 0.5, "blinks differ");
  // Seeds mix all their bits (large and negative seeds too).
  assert.notEqual(streamSeed(2 ** 40, 1), streamSeed(2 ** 40 + 2 ** 33, 1));
  assert.notEqual(streamSeed(-1, 1), streamSeed(1, 1));
  assert.notEqual(streamSeed(7, 1), streamSeed(7, 2));
});

test("head motion is small and smooth: a few degrees at most, no frame-to-frame jitter", () => {
  const { pcm } = talk(20, 11, { loud: 0.5 });
  const n = 20 * FPS;
  const voice = extractFeatures(pcm, { fps: FPS, numFrames: n });
  for (const prompt of ["", "energetic excited shouting"]) {
    const life = buildLife({ numFrames: n, fps: FPS, seed: 9, voice, mood: parseMood(prompt) });
    for (const k of ["headYaw", "headPitch", "headRoll"] as const) {
      const max = Math.max(...life[k].map(Math.abs));
      assert.ok(max < 6 * DEG, `${prompt || "neutral"} ${k} max ${(max / DEG).toFixed(2)} deg`);
      assert.ok(reversalsPerSecond(life[k]) < 3, `${k} reversals ${reversalsPerSecond(life[k])}/s`);
      for (let i = 1; i < n; i++) assert.ok(Math.abs(life[k][i] - life[k][i - 1]) < 1 * DEG, `${k} step at ${i}: ${(Math.abs(life[k][i] - life[k][i - 1]) / DEG).toFixed(2)} deg`);
    }
    for (const k of ["headX", "headY"] as const) {
      assert.ok(Math.max(...life[k].map(Math.abs)) < 0.05, `${k} within 5% of a face width`);
    }
    assert.ok(Math.max(...life.gazeX.map(Math.abs)) < 8 * DEG);
    for (const v of life.browRaise) assert.ok(v >= 0 && v <= 1);
  }
  // Idle (no voice): micro-motion only, a few tenths of a degree, but not frozen.
  const idle = buildLife({ numFrames: n, fps: FPS, seed: 9 });
  const yawMax = Math.max(...idle.headYaw.map(Math.abs));
  assert.ok(yawMax > 0.05 * DEG && yawMax < 1 * DEG, `idle yaw ${(yawMax / DEG).toFixed(2)} deg`);
});

test("speech drives nods and brow raises: more head-pitch motion while talking, peaks near emphasis", () => {
  const { pcm } = talk(20, 5, { loud: 0.4 });
  const n = 20 * FPS;
  const voice = extractFeatures(pcm, { fps: FPS, numFrames: n });
  const talking = buildLife({ numFrames: n, fps: FPS, seed: 3, voice });
  const silent = buildLife({ numFrames: n, fps: FPS, seed: 3 });
  const energy = (x: Float32Array) => x.reduce((s, v, i) => (i ? s + Math.abs(v - x[i - 1]) : s), 0);
  assert.ok(energy(talking.headPitch) > 2 * energy(silent.headPitch), "talking nods");
  assert.ok(Math.max(...talking.browRaise) > 0.1, "some brow raise on emphasis");
  assert.equal(Math.max(...silent.browRaise), 0);
  // Nods (head-pitch peaks) sit near emphasis peaks.
  const peaks = emphasisPeaks(voice, 10).map((p) => p.frame);
  assert.ok(peaks.length >= 10, `${peaks.length} emphasis peaks`);
  const pitchPeaks: number[] = [];
  const x = talking.headPitch;
  for (let i = 2; i < n - 2; i++) if (x[i] > x[i - 1] && x[i] >= x[i + 1] && x[i] - Math.min(x[i - 2], x[i + 2]) > 0.2 * DEG) pitchPeaks.push(i);
  const near = pitchPeaks.filter((p) => peaks.some((q) => Math.abs(p - q) <= 4)).length;
  assert.ok(pitchPeaks.length >= 5 && near / pitchPeaks.length >= 0.7, `${near}/${pitchPeaks.length} nods near emphasis`);
});

test("listening: head and gaze turn toward the speaker while they talk, with nods", () => {
  const n = 15 * FPS;
  const activity = new Float32Array(n);
  for (let i = 2 * FPS; i < 12 * FPS; i++) activity[i] = (i % (3 * FPS)) < 2.4 * FPS ? 1 : 0;
  for (const toward of [1, -1]) {
    const life = buildLife({ numFrames: n, fps: FPS, seed: 4, listen: { activity, towardX: toward } });
    const during = life.headYaw.slice(3 * FPS, 11 * FPS).reduce((s, v) => s + v, 0) / (8 * FPS);
    assert.ok(during * toward > 1.5 * DEG, `yaw toward speaker ${(during / DEG).toFixed(2)} deg`);
    const gaze = life.gazeX.slice(3 * FPS, 11 * FPS).reduce((s, v) => s + v, 0) / (8 * FPS);
    assert.ok(gaze * toward > 1 * DEG, `gaze toward speaker ${(gaze / DEG).toFixed(2)} deg`);
  }
  const life = buildLife({ numFrames: n, fps: FPS, seed: 4, listen: { activity, towardX: 1 } });
  const idle = buildLife({ numFrames: n, fps: FPS, seed: 4 });
  const range = (x: Float32Array) => Math.max(...x) - Math.min(...x);
  assert.ok(range(life.headPitch) > range(idle.headPitch) + 0.3 * DEG, "backchannel nods");
});
