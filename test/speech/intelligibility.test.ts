import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { VOICES } from "../../src/api/endpoints.js";
import type { Pcm } from "../../src/media/types.js";
import { findPocketsphinx, TEST_SENTENCES, transcribe, wordErrors } from "../../src/speech/evaluate.js";
import { Flite } from "../../src/speech/flite.js";
import { speakOffline } from "../../src/speech/offline.js";
import { VOICE_CATALOG } from "../../src/speech/voices.js";

/**
 * The bar: pocketsphinx (a small 2015-era recognizer with a general English language model) transcribes
 * each of the 20 voices saying one Harvard sentence; the mean word error rate stays at or under this.
 * bench/voices.ts measures the full table (3 sentences per voice); see docs/voices.md.
 */
const MAX_MEAN_WER = 0.4;

const asr = await findPocketsphinx();
const ffmpeg = (createRequire(import.meta.url)("@ffmpeg-installer/ffmpeg") as { path: string }).path;

describe("speech: intelligibility of the 20 voices (pocketsphinx)", () => {
  it(`keeps the mean word error rate at or under ${MAX_MEAN_WER * 100}%`, {
    skip: asr ? false : "pocketsphinx is not installed (apt-get install pocketsphinx pocketsphinx-en-us): WER not measured",
    timeout: 300_000,
  }, async (t) => {
    const flite = await Flite.load();
    const tracks: Pcm[] = [];
    const references: string[] = [];
    try {
      for (let i = 0; i < VOICES.length; i++) {
        const sentence = TEST_SENTENCES[i % TEST_SENTENCES.length];
        tracks.push((await speakOffline(flite, sentence, VOICE_CATALOG[VOICES[i]].settings, { words: false })).pcm);
        references.push(sentence);
      }
    } finally {
      await flite.close();
    }
    const heard = await transcribe(asr!, tracks, { ffmpeg });
    let errors = 0;
    let words = 0;
    const lines = heard.map((h, i) => {
      const e = wordErrors(references[i], h);
      errors += e.errors;
      words += e.words;
      return `${VOICES[i]}: ${e.errors}/${e.words} "${h}"`;
    });
    const wer = errors / words;
    t.diagnostic(`mean WER over the 20 voices, one sentence each: ${(wer * 100).toFixed(1)}%`);
    assert.ok(heard.filter((h) => h.length > 0).length >= 18, `pocketsphinx heard nothing for several voices:\n${lines.join("\n")}`);
    assert.ok(wer <= MAX_MEAN_WER, `mean WER ${(wer * 100).toFixed(1)}%:\n${lines.join("\n")}`);
  });

  it("scores a garbled reading as worse than a clean one, and finds no recognizer where there is none", async () => {
    assert.equal(await findPocketsphinx("/nonexistent/model"), undefined);
    assert.deepEqual(wordErrors("the birch canoe slid", "the birch canoe slid"), { errors: 0, words: 4 });
    assert.deepEqual(wordErrors("the birch canoe slid", "a birch can you slid"), { errors: 3, words: 4 });
    assert.deepEqual(wordErrors("It's easy.", "it's easy"), { errors: 0, words: 2 });
  });
});
