/**
 * The conversation bars on real faces, with the real face analyzer, motion and renderer, measured by the
 * independent judge (face-api's 68-point landmarks) on the encoded MP4:
 *   - per face: during its own turn the mouth follows the sound (r >= 0.5 at the best lag within ±2 frames);
 *     during the other's turn its mouth-opening SD is at most a third of the speaker's. A turn runs from the middle
 *     of one gap to the middle of the next (the first from 0, the last to the end): its speaker's voice and pauses;
 *     the diagnostics also give r over the voiced spans alone;
 *   - pixels farther than 1.5 face widths from both faces never change (checked in every frame the engine makes);
 *   - with the person boxes swapped the right person speaks the first track, and a third face keeps its mouth still.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { findEndpoint, type EndpointDef } from "../../src/api/endpoints.js";
import { loadConfig } from "../../src/config.js";
import { createFaceAnalyzer, type FaceAnalyzer } from "../../src/face/index.js";
import { createPipelineRunner, type PipelineRunner } from "../../src/pipeline/index.js";
import { ClassicalEngine } from "../../src/render/engine.js";
import { createSpeechSynthesizer, encodeWav, type Synthesizer } from "../../src/speech/index.js";
import { loadGroupFixture } from "../support/face-fixtures.js";
import { createJudge, type Judge } from "../support/judge.js";
import { FolderStorage, memoryLogger, recordingContext, tempDir } from "../support/media-fixtures.js";
import {
  composeTwoPeople, FarPixelWatch, judgeFacesLeftToRight, loggedTurns, measureTurns, mouthOpeningsPerFace, std, turnWindows, videoLoudness,
} from "./helpers.js";

const MULTI = findEndpoint("fal-ai/ai-avatar/multi") as EndpointDef;
const config = loadConfig({}, { dataDir: "/tmp/mouthpiece-test-unused" });
/** Keep what the judge saw (set MOUTHPIECE_TEST_KEEP=dir to look at the videos). */
const keep = process.env.MOUTHPIECE_TEST_KEEP;

let dir: string;
let cleanup: () => Promise<void>;
let storage: FolderStorage;
let analyzer: FaceAnalyzer;
let speech: Synthesizer;
let judge: Judge;
let lines: [string, string];

before(async () => {
  ({ dir, cleanup } = await tempDir("mp-conv-"));
  storage = new FolderStorage(path.join(dir, "storage"));
  // The judge first, then human: they share tfjs's WASM backend, which must be set up once, not twice at a time.
  judge = await createJudge();
  [analyzer, speech] = await Promise.all([createFaceAnalyzer(), createSpeechSynthesizer()]);
  // Two different voices, each line about 1.8 s of voice (2.2 s with Flite's silences around it).
  const said = await Promise.all([
    speech.speak({ text: "Where were you all day yesterday?", voice: "Aria" }),
    speech.speak({ text: "Out at the lake with my dog.", voice: "Brian" }),
  ]);
  lines = await Promise.all(said.map(async (s, k) => {
    const file = path.join(dir, `line${k + 1}.wav`);
    await writeFile(file, encodeWav(s.pcm));
    return `data:audio/wav;base64,${(await readFile(file)).toString("base64")}`;
  })) as [string, string];
});
after(async () => {
  await speech?.close();
  await cleanup?.();
});

function runner(watch: FarPixelWatch): PipelineRunner {
  return createPipelineRunner({ config, storage, logger: memoryLogger(), engine: watch, faceDetector: analyzer, speech });
}

async function videoOf(url: string, name: string): Promise<string> {
  const file = storage.pathOf(storage.keyFromUrl(url) as string);
  if (keep) await writeFile(path.join(keep, name), await readFile(file));
  return file;
}

const BASE = { prompt: "two friends chatting", num_frames: 110, resolution: "480p", seed: 81, acceleration: "high", use_only_first_audio: false };

describe("conversation on a two-person photo (real faces, engine and judge)", { timeout: 300_000 }, () => {
  it("each face lip-syncs its own turn and keeps still in the other's; far pixels never change", async (t) => {
    const people = await composeTwoPeople();
    const watch = new FarPixelWatch(new ClassicalEngine());
    const ctx = recordingContext();
    const out = await runner(watch)({ requestId: "two", endpoint: MULTI, input: {
      ...BASE, image_url: `data:image/png;base64,${people.png.toString("base64")}`, first_audio_url: lines[0], second_audio_url: lines[1],
    } }, ctx);
    const messages = ctx.logs.map((l) => l.message);
    const job = watch.jobs[0];
    assert.equal(job.faces.length, 2, messages.join("\n"));
    const video = await videoOf(out.video.url, "two-people.mp4");

    // Far pixels (between and around the faces): identical to the photo in every frame.
    assert.equal(watch.frames, 110);
    assert.ok(watch.farBetween > 2000, `far pixels between the faces: ${watch.farBetween}`);
    assert.equal(watch.changed, 0, `far samples changed over ${watch.frames} frames (of ${watch.farPixels} far pixels a frame)`);

    const voiced = loggedTurns(messages);
    assert.equal(voiced.length, 2);
    assert.ok(voiced[1].to <= 110 && voiced[1].from - voiced[0].to <= 11, `both turns in the video, 0.4 s apart: ${JSON.stringify(voiced)}`);
    const turns = turnWindows(voiced, 110);
    const boxes = await judgeFacesLeftToRight(judge, video);
    assert.equal(boxes.length, 2, "the judge sees both people");
    const openings = await mouthOpeningsPerFace(judge, video, boxes);
    const loud = await videoLoudness(video);
    const m = measureTurns(loud, openings, turns);
    const report = JSON.stringify({ turns, m, voicedOnly: measureTurns(loud, openings, voiced).map((x) => x.r) });
    t.diagnostic(`${report} far pixels: ${watch.farPixels} a frame (${watch.farBetween} between the faces), changed: ${watch.changed}`);
    for (const k of [0, 1]) {
      assert.ok(m[k].r >= 0.5, `person ${k + 1} lip-syncs its turn: ${report}`);
      assert.ok(Math.abs(m[k].lag) <= 2);
      assert.ok(m[k].stdOther <= m[1 - k].stdOwn / 3, `person ${k + 1} keeps still while person ${2 - k} speaks: ${report}`);
    }
  });

  it("person boxes swapped: the right person speaks the first track; a third face keeps its mouth still", async (t) => {
    // Three women; without boxes the two largest (middle, right) would talk. Person 1 = the right one, person 2 =
    // the left one: the middle (largest) face is nobody's.
    const group = await loadGroupFixture();
    const [middle, right, left] = group.faces; // largest first
    const watch = new FarPixelWatch(new ClassicalEngine());
    const ctx = recordingContext();
    const box = (b: typeof left) => [b.x, b.y, b.width, b.height].map(Math.round);
    const out = await runner(watch)({ requestId: "three", endpoint: MULTI, input: {
      ...BASE, image_url: `data:image/png;base64,${group.png.toString("base64")}`,
      first_audio_url: lines[0], second_audio_url: lines[1], person1_box: box(right), person2_box: box(left),
    } }, ctx);
    const messages = ctx.logs.map((l) => l.message);
    assert.ok(messages.some((m) => m.startsWith("people (person boxes): ")), messages.join("\n"));
    assert.ok(messages.includes("1 other face(s) in the picture listen without moving their mouths"));
    const video = await videoOf(out.video.url, "three-people.mp4");
    assert.ok(watch.jobs[0].faces.some((f) => Math.abs(f.box.x + f.box.width / 2 - (middle.x + middle.width / 2) * 854 / 1280) < 40),
      "the middle face was found (and left unbound)");

    const boxes = await judgeFacesLeftToRight(judge, video);
    assert.equal(boxes.length, 3, "the judge sees all three");
    const [lb, mb, rb] = boxes;
    const [oLeft, oMiddle, oRight] = await mouthOpeningsPerFace(judge, video, [lb, mb, rb]);
    const voiced = loggedTurns(messages);
    const turns = turnWindows(voiced, 110);
    const loud = await videoLoudness(video);
    // Track 1 (turn 1) is the right face's, track 2 the left face's.
    const m = measureTurns(loud, [oRight, oLeft], turns);
    const middleStd = turns.map((turn) => std(oMiddle.slice(turn.from, turn.to)));
    const report = JSON.stringify({ turns, m, middleStd, voicedOnly: measureTurns(loud, [oRight, oLeft], voiced).map((x) => x.r) });
    t.diagnostic(report);
    assert.ok(m[0].r >= 0.5 && Math.abs(m[0].lag) <= 2, `the right person speaks track 1: ${report}`);
    assert.ok(m[1].r >= 0.5 && Math.abs(m[1].lag) <= 2, `the left person speaks track 2: ${report}`);
    assert.ok(m[0].stdOther <= m[1].stdOwn / 3 && m[1].stdOther <= m[0].stdOwn / 3, `each keeps still in the other's turn: ${report}`);
    // The unbound middle face: no more mouth movement, in either turn, than a listener.
    middleStd.forEach((sd, k) => assert.ok(sd <= m[k].stdOwn / 3, `the third face keeps its mouth still: ${report}`));
  });
});
