import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { InputError } from "../../src/errors.js";
import type { Box, Face } from "../../src/face/types.js";
import { decodePcm } from "../../src/media/audio.js";
import { runProcess } from "../../src/media/ffmpeg.js";
import type { Pcm } from "../../src/media/types.js";
import {
  addPcm, bindPeople, buildTurnMixArgs, planSecondTurn, shiftPcm, TURN_GAP_SEC, voicedSpan,
} from "../../src/pipeline/conversation.js";
import { iou } from "../../src/face/landmarks.js";
import { fitPhonemes, offsetPhonemes } from "../../src/pipeline/speech.js";
import { bins, makeTone, tempDir } from "../support/media-fixtures.js";

const face = (x: number, y: number, width: number, height = width): Face => ({
  box: { x, y, width, height }, score: 0.9, mesh: new Float32Array(478 * 3), pose: { yaw: 0, pitch: 0, roll: 0 },
});

function loc(e: unknown): string {
  assert.ok(e instanceof InputError, `an InputError, got ${String(e)}`);
  return e.detail.map((d) => d.loc.join(".")).join(",");
}

describe("iou", () => {
  it("is 1 for the same box, 0 apart, and the overlap ratio otherwise", () => {
    const a: Box = { x: 0, y: 0, width: 10, height: 10 };
    assert.equal(iou(a, a), 1);
    assert.equal(iou(a, { x: 10, y: 0, width: 10, height: 10 }), 0);
    assert.ok(Math.abs(iou(a, { x: 5, y: 0, width: 10, height: 10 }) - 50 / 150) < 1e-12);
  });
});

describe("bindPeople", () => {
  // Sizes: big (right of centre), mid (far left), small (far right).
  const big = face(400, 100, 200);
  const mid = face(50, 120, 150);
  const small = face(750, 150, 80);

  it("no face: a 422 on image_url that says so", () => {
    assert.throws(() => bindPeople([], {}), (e: unknown) => loc(e) === "body.image_url" && /no face was found/.test((e as Error).message));
  });

  it("one face: both people are that face", () => {
    assert.deepEqual(bindPeople([big], {}), { person1: 0, person2: 0, rule: "one face" });
  });

  it("the two largest faces, person 1 on the left, whatever the list order; a smaller third face is nobody", () => {
    assert.deepEqual(bindPeople([big, mid, small], {}), { person1: 1, person2: 0, rule: "two largest, left to right" });
    assert.deepEqual(bindPeople([small, big, mid], {}), { person1: 2, person2: 1, rule: "two largest, left to right" });
  });

  it("person boxes pick faces by overlap, in either order, including the smallest face", () => {
    const swapped = bindPeople([big, mid, small], { person1: { x: 390, y: 90, width: 220, height: 220 }, person2: { x: 40, y: 110, width: 170, height: 170 } });
    assert.deepEqual(swapped, { person1: 0, person2: 1, rule: "person boxes" });
    const third = bindPeople([big, mid, small], { person1: { x: 740, y: 140, width: 100, height: 100 }, person2: { x: 60, y: 130, width: 100, height: 100 } });
    assert.deepEqual([third.person1, third.person2], [2, 1]);
  });

  it("two boxes over one face that also touch another: each person gets a different face", () => {
    const left = face(0, 0, 100);
    const right = face(110, 0, 100);
    // Box 1 is mostly on `left`; box 2 overlaps `left` more, but also `right`.
    const r = bindPeople([left, right], { person1: { x: 0, y: 0, width: 100, height: 100 }, person2: { x: 20, y: 0, width: 100, height: 100 } });
    assert.deepEqual([r.person1, r.person2], [0, 1]);
  });

  it("one box: that person gets its face, the other person the largest remaining face", () => {
    const r = bindPeople([big, mid, small], { person2: { x: 745, y: 145, width: 90, height: 90 } });
    assert.deepEqual([r.person1, r.person2], [0, 2]);
    const r1 = bindPeople([big, mid, small], { person1: { x: 745, y: 145, width: 90, height: 90 } });
    assert.deepEqual([r1.person1, r1.person2], [2, 0]);
  });

  it("a box over no face, or two boxes that can only select one face: a 422 naming the field and the faces found", () => {
    assert.throws(() => bindPeople([big, mid], { person1: { x: 0, y: 600, width: 50, height: 50 } }, (b) => `<${b.x}>`), (e: unknown) => {
      assert.equal(loc(e), "body.person1_box");
      assert.match((e as Error).message, /overlaps none of the faces found; faces were found at <400>, <50>/);
      return true;
    });
    assert.throws(() => bindPeople([big, mid], { person1: { x: 420, y: 100, width: 100, height: 100 }, person2: { x: 450, y: 120, width: 100, height: 100 } }),
      (e: unknown) => loc(e) === "body.person2_box" && /both select the face/.test((e as Error).message));
  });
});

function tone(seconds: number, from: number, to: number, rate = 16000): Pcm {
  const samples = new Float32Array(Math.round(seconds * rate));
  for (let i = Math.round(from * rate); i < Math.round(to * rate); i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / rate);
  return { sampleRate: rate, samples };
}

describe("turns", () => {
  it("voicedSpan finds the first and last sound to 10 ms, ignores faint noise, and is empty for silence", () => {
    const pcm = tone(3, 0.5, 1.8);
    for (let i = 0; i < pcm.samples.length; i++) pcm.samples[i] += 0.0005 * Math.sin(i * 1.3); // -66 dBFS hiss
    const span = voicedSpan(pcm);
    assert.ok(Math.abs(span.from - 0.5) <= 0.01 && Math.abs(span.to - 1.8) <= 0.01, JSON.stringify(span));
    assert.deepEqual(voicedSpan(tone(1, 0, 0)), { from: 0, to: 0 });
  });

  it("planSecondTurn leaves the gap between the voices (whole ms), never before 0", () => {
    assert.equal(TURN_GAP_SEC, 0.4);
    assert.equal(planSecondTurn(1.8, 0.25), 1.95);
    assert.equal(planSecondTurn(0.1, 2), 0);
    assert.equal(planSecondTurn(0, 0.3), 0, "a silent first track: the second starts at once");
    assert.equal(planSecondTurn(1.2345678, 0), 1.635);
  });

  it("shiftPcm delays a track in place (same length, silence before), addPcm sums", () => {
    const pcm = tone(1, 0, 1);
    const moved = shiftPcm(pcm, 0.25);
    assert.equal(moved.samples.length, pcm.samples.length);
    assert.ok(moved.samples.subarray(0, 4000).every((v) => v === 0));
    assert.equal(moved.samples[4000 + 123], pcm.samples[123]);
    assert.equal(shiftPcm(pcm, 0), pcm);
    assert.ok(shiftPcm(pcm, 2).samples.every((v) => v === 0));
    const sum = addPcm(pcm, moved);
    assert.equal(sum.samples[5000], pcm.samples[5000] + pcm.samples[1000]);
    assert.throws(() => addPcm(pcm, { sampleRate: 8000, samples: new Float32Array(1) }), RangeError);
  });
});

describe("phoneme timings", () => {
  const ph = [
    { phoneme: "_", start: 0, end: 0.1 }, { phoneme: "h", start: 0.1, end: 0.2 }, { phoneme: "aɪ", start: 0.2, end: 0.5 },
    { phoneme: "_", start: 0.5, end: 0.6 },
  ];
  it("fitPhonemes cuts at the end and pads with silence, tiling [0, duration]", () => {
    assert.deepEqual(fitPhonemes(ph, 0.3), [ph[0], ph[1], { phoneme: "aɪ", start: 0.2, end: 0.3 }]);
    assert.deepEqual(fitPhonemes(ph, 1).at(-1), { phoneme: "_", start: 0.5, end: 1 });
    assert.deepEqual(fitPhonemes(ph.slice(0, 3), 1).at(-1), { phoneme: "_", start: 0.5, end: 1 });
  });
  it("offsetPhonemes moves them later behind a silence and keeps them inside the track", () => {
    const moved = offsetPhonemes(ph, 2, 2.4);
    assert.deepEqual(moved[0], { phoneme: "_", start: 0, end: 2 });
    assert.deepEqual(moved.find((p) => p.phoneme === "h"), { phoneme: "h", start: 2.1, end: 2.2 });
    assert.equal(moved.at(-1)!.end, 2.4);
    for (let i = 1; i < moved.length; i++) assert.ok(Math.abs(moved[i].start - moved[i - 1].end) < 1e-9, "contiguous");
  });
});

describe("buildTurnMixArgs (real ffmpeg)", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it("mixes a mono and a stereo file, the second delayed, into stereo of exactly the requested samples", async () => {
    const a = path.join(dir, "a.wav");
    const b = path.join(dir, "b.wav");
    await makeTone(a, 0.5, { rate: 48000, freq: 300 });
    await makeTone(b, 0.5, { rate: 44100, channels: 2, freq: 900 });
    const out = path.join(dir, "mix.wav");
    const samples = 48000 * 2;
    await runProcess(bins.ffmpeg, buildTurnMixArgs([{ path: a, offsetSec: 0 }, { path: b, offsetSec: 1.25 }], out, samples, 48000), { label: "mix" });
    const pcm = await decodePcm(out, bins, { rate: 48000 });
    assert.equal(pcm.samples.length, samples);
    const rms = (from: number, to: number) => {
      let s = 0;
      for (let i = Math.round(from * 48000); i < Math.round(to * 48000); i++) s += pcm.samples[i] ** 2;
      return Math.sqrt(s / ((to - from) * 48000));
    };
    assert.ok(rms(0.05, 0.45) > 0.05, "the first turn at 0");
    assert.ok(rms(0.55, 1.2) < 1e-3, "silence between");
    assert.ok(rms(1.27, 1.73) > 0.05, "the second turn from 1.25 s");
    assert.ok(rms(1.2, 1.245) < 1e-3 && rms(1.76, 2) < 1e-3, "and nowhere else");
    assert.throws(() => buildTurnMixArgs([{ path: a, offsetSec: 0 }], out, 1, 48000));
  });
});
