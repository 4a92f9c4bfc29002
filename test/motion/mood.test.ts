import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMood, NEUTRAL_MOOD } from "../../src/motion/mood.js";

test("neutral and unknown prompts give the neutral mood", () => {
  for (const p of ["", undefined, null, "A person in a room.", "xyz 123"]) {
    const m = parseMood(p);
    assert.equal(m.smile, 0);
    assert.equal(m.brow, 0);
    assert.equal(m.energy, 1);
    assert.equal(m.blinkRate, 1);
    assert.equal(m.mouthAmp, 1);
    assert.deepEqual(m.matched, []);
  }
  assert.equal(NEUTRAL_MOOD.energy, 1);
});

test("smiling/happy words raise the smile baseline; negation undoes it", () => {
  for (const p of ["A woman smiling at the camera", "a happy man talks", "Joyful, cheerful host", "He smiles."]) {
    assert.ok(parseMood(p).smile >= 0.3, p);
  }
  for (const p of ["not smiling", "A man, not smiling, reads the news", "no smile", "without smiling", "she isn't happy", "don't smile"]) {
    const m = parseMood(p);
    assert.ok(m.smile <= 0 && m.smile > -0.3, `${p}: ${m.smile}`);
    assert.ok(m.matched.some((w) => w.startsWith("not ")), `${p}: ${m.matched}`);
  }
  assert.ok(parseMood("sad").smile < -0.2);
  assert.ok(parseMood("angry, furious").smile < -0.3);
  assert.ok(parseMood("very happy").smile > parseMood("happy").smile);
  assert.ok(parseMood("slightly smiling").smile < parseMood("smiling").smile);
});

test("calm lowers motion energy vs energetic; whisper and singing change the mouth", () => {
  const calm = parseMood("a calm, serene, relaxed speaker");
  const energetic = parseMood("an energetic, excited, lively presenter");
  assert.ok(calm.energy < 0.8 && energetic.energy > 1.3, `${calm.energy} ${energetic.energy}`);
  assert.ok(calm.energy < energetic.energy);
  assert.ok(parseMood("whispering").mouthAmp < 0.8);
  assert.ok(parseMood("she sings a song").mouthAmp > 1.2);
  assert.ok(parseMood("surprised, shocked").brow >= 0.4);
  assert.ok(parseMood("nervous").blinkRate > 1.3);
  assert.equal(parseMood("podcast host").energy, 1);
  // Limits hold however many words pile up.
  const m = parseMood("very very extremely happy joyful smiling grinning cheerful laughing beaming delighted");
  assert.ok(m.smile <= 0.8 && m.energy <= 2 && m.mouthAmp <= 1.5 && m.blinkRate <= 2);
});
