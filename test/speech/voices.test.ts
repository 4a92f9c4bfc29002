import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { VOICES, type VoiceName } from "../../src/api/endpoints.js";
import { medianF0 } from "../../src/speech/evaluate.js";
import { Flite } from "../../src/speech/flite.js";
import { speakOffline } from "../../src/speech/offline.js";
import { nominalPitch, VOICE_CATALOG } from "../../src/speech/voices.js";

/** The issue's table: ElevenLabs' gender and accent for each voice. */
const EXPECTED: Record<VoiceName, [string, string]> = {
  Aria: ["female", "American"], Sarah: ["female", "American"], Laura: ["female", "American"],
  Charlotte: ["female", "Swedish"], Alice: ["female", "British"], Matilda: ["female", "American"],
  Jessica: ["female", "American"], Lily: ["female", "British"],
  Roger: ["male", "American"], Charlie: ["male", "Australian"], George: ["male", "British"],
  Callum: ["male", "Transatlantic"], Liam: ["male", "American"], Will: ["male", "American"],
  Eric: ["male", "American"], Chris: ["male", "American"], Brian: ["male", "American"],
  Daniel: ["male", "British"], Bill: ["male", "American"], River: ["neutral", "American"],
};

const SENTENCE = "The birch canoe slid on the smooth planks, and we glued the sheet to the dark blue background.";

describe("speech: the 20 voices", () => {
  let flite: Flite;
  const measured = new Map<VoiceName, { f0: number; seconds: number }>();

  before(async () => {
    flite = await Flite.load();
    // Two at a time: each Flite run is its own worker thread.
    for (let i = 0; i < VOICES.length; i += 2) {
      await Promise.all(VOICES.slice(i, i + 2).map(async (name) => {
        const { pcm } = await speakOffline(flite, SENTENCE, VOICE_CATALOG[name].settings, { words: false });
        measured.set(name, { f0: medianF0(pcm), seconds: pcm.samples.length / pcm.sampleRate });
      }));
    }
  });
  after(() => flite.close());

  it("has fal's 20 names with ElevenLabs' gender and accent", () => {
    assert.deepEqual(Object.keys(VOICE_CATALOG).sort(), [...VOICES].sort());
    for (const name of VOICES) {
      const info = VOICE_CATALOG[name];
      assert.deepEqual([info.gender, info.accent], EXPECTED[name], name);
      assert.equal(info.name, name);
    }
  });

  it("gives no two voices the same engine, pitch and rate", () => {
    const keys = VOICES.map((n) => {
      const s = VOICE_CATALOG[n].settings;
      return `${VOICE_CATALOG[n].engine}/${s.base}/${nominalPitch(s)}/${s.rate}`;
    });
    assert.equal(new Set(keys).size, 20, keys.join(" "));
  });

  it("puts female voices above 165 Hz, male below 150 Hz and River between (measured median F0)", () => {
    const lines: string[] = [];
    for (const name of VOICES) {
      const { f0 } = measured.get(name)!;
      const gender = VOICE_CATALOG[name].gender;
      lines.push(`${name} ${gender} ${f0.toFixed(0)}`);
      if (gender === "female") assert.ok(f0 > 165, `${name}: ${f0.toFixed(1)} Hz`);
      else if (gender === "male") assert.ok(f0 < 150, `${name}: ${f0.toFixed(1)} Hz`);
      else assert.ok(f0 >= 150 && f0 <= 165, `${name}: ${f0.toFixed(1)} Hz`);
    }
  });

  it("sounds distinct: voices on one base voice differ in measured pitch, pace or timbre", () => {
    for (let i = 0; i < VOICES.length; i++) {
      for (let j = i + 1; j < VOICES.length; j++) {
        const [a, b] = [VOICES[i], VOICES[j]];
        const [sa, sb] = [VOICE_CATALOG[a].settings, VOICE_CATALOG[b].settings];
        if (sa.base !== sb.base) continue;
        const [ma, mb] = [measured.get(a)!, measured.get(b)!];
        const pitch = Math.abs(Math.log(ma.f0 / mb.f0));
        const pace = Math.abs(Math.log(ma.seconds / mb.seconds));
        const timbre = Math.abs(Math.log(sa.formant / sb.formant));
        assert.ok(pitch > 0.03 || pace > 0.03 || timbre > 0.03,
          `${a} and ${b}: F0 ${ma.f0.toFixed(0)}/${mb.f0.toFixed(0)} Hz, ${ma.seconds.toFixed(2)}/${mb.seconds.toFixed(2)} s, formant ${sa.formant}/${sb.formant}`);
      }
    }
  });

  it("sets pace as told: a faster voice says the sentence in less time", () => {
    // Same base voice, rates from the catalog: measured durations must follow 1/rate within 8%.
    for (const name of VOICES) {
      const s = VOICE_CATALOG[name].settings;
      const ref = VOICES.find((n) => VOICE_CATALOG[n].settings.base === s.base && n !== name)!;
      const predicted = measured.get(ref)!.seconds * (VOICE_CATALOG[ref].settings.rate / s.rate);
      const actual = measured.get(name)!.seconds;
      assert.ok(Math.abs(Math.log(actual / predicted)) < 0.08, `${name}: ${actual.toFixed(2)} s, expected about ${predicted.toFixed(2)} s from ${ref}`);
    }
  });
});
