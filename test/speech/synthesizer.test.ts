import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import wavefile from "wavefile";
import { CancelledError, InputError } from "../../src/errors.js";
import type { Pcm } from "../../src/media/types.js";
import { createSpeechSynthesizer, MAX_TEXT_CHARS, SILENCE, type Synthesizer } from "../../src/speech/index.js";
import { chunkText } from "../../src/speech/text.js";
import type { PhonemeTiming } from "../../src/motion/types.js";

/** Every IPA symbol Mouthpiece's ARPAbet table can produce, plus silence. */
const IPA = new Set(["ɑ", "æ", "ʌ", "ɔ", "aʊ", "ə", "ɚ", "aɪ", "ɛ", "ɝ", "eɪ", "ɪ", "ɨ", "i", "oʊ", "ɔɪ", "ʊ", "u", "ʉ",
  "b", "tʃ", "d", "ð", "ɾ", "l̩", "m̩", "n̩", "f", "ɡ", "h", "dʒ", "k", "l", "m", "n", "ŋ", "ɾ̃", "p", "ʔ", "ɹ", "s", "ʃ",
  "t", "θ", "v", "w", "ʍ", "j", "z", "ʒ", SILENCE]);

function rms(pcm: Pcm, start: number, end: number): number {
  const a = Math.max(0, Math.floor(start * pcm.sampleRate));
  const b = Math.min(pcm.samples.length, Math.ceil(end * pcm.sampleRate));
  let sum = 0;
  for (let i = a; i < b; i++) sum += pcm.samples[i] * pcm.samples[i];
  return Math.sqrt(sum / Math.max(1, b - a));
}

function assertTiles(phonemes: PhonemeTiming[], duration: number): void {
  assert.ok(phonemes.length > 0);
  assert.equal(phonemes[0].start, 0);
  for (let i = 0; i < phonemes.length; i++) {
    const p = phonemes[i];
    assert.ok(p.end >= p.start, `phoneme ${i} ends before it starts`);
    if (i > 0) assert.ok(Math.abs(p.start - phonemes[i - 1].end) < 1e-9, `gap or overlap before phoneme ${i} at ${p.start}`);
    assert.ok(IPA.has(p.phoneme), `not IPA: ${p.phoneme}`);
  }
  assert.ok(Math.abs(phonemes[phonemes.length - 1].end - duration) < 1e-6, "phonemes end where the audio ends");
}

describe("speech synthesizer (offline, real Flite)", () => {
  let synth: Synthesizer;
  before(async () => {
    synth = await createSpeechSynthesizer();
  });
  after(() => synth.close());

  it("speaks a sentence: mono float PCM, IPA phonemes tiling the track, words in order", async () => {
    const text = "Hello world, my name is Sarah.";
    const { pcm, phonemes, words } = await synth.speak({ text, voice: "Sarah" });
    const duration = pcm.samples.length / pcm.sampleRate;
    assert.ok(pcm.samples instanceof Float32Array);
    assert.ok(duration > 1 && duration < 4, `duration ${duration}`);
    assertTiles(phonemes, duration);
    assert.deepEqual(phonemes.slice(1, 5).map((p) => p.phoneme), ["h", "ə", "l", "oʊ"]);
    assert.deepEqual(words?.map((w) => w.word), ["Hello", "world", "my", "name", "is", "Sarah"]);
    for (let i = 1; i < words!.length; i++) assert.ok(words![i].start >= words![i - 1].end - 1e-9);
    const peak = pcm.samples.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    assert.ok(peak > 0.1 && peak <= 1, `peak ${peak}`);
  });

  it("times phonemes to the audio: silences are quiet, vowels are loud", async () => {
    const { pcm, phonemes } = await synth.speak({ text: "We saw a man. Then, after a long pause, we left.", voice: "Roger" });
    const vowels = phonemes.filter((p) => /[aeiouæɑɔəɛɪʊʌɝ]/.test(p.phoneme) && p.end - p.start > 0.04);
    const silences = phonemes.filter((p) => p.phoneme === SILENCE && p.end - p.start > 0.1);
    assert.ok(vowels.length > 5 && silences.length >= 3, `${vowels.length} vowels, ${silences.length} silences`);
    const loud = vowels.map((p) => rms(pcm, p.start, p.end)).sort((a, b) => a - b)[Math.floor(vowels.length / 2)];
    for (const s of silences) {
      // Trim 20 ms at each edge: neighbouring phones may bleed in.
      const level = rms(pcm, s.start + 0.02, s.end - 0.02);
      assert.ok(level < loud / 8, `silence ${s.start.toFixed(2)}-${s.end.toFixed(2)} has level ${level} vs vowels ${loud}`);
    }
  });

  it("reads numbers and abbreviations, pauses longer between paragraphs", async () => {
    const { phonemes, words } = await synth.speak({ text: "It costs $12.\n\nDr. Lee agrees, e.g. today.", voice: "George" });
    assert.ok(words?.some((w) => w.word === "$12."  || w.word === "$12"), JSON.stringify(words));
    const said = phonemes.map((p) => p.phoneme).join(" ");
    assert.match(said, /t w ɛ l v/, "twelve");
    assert.match(said, /d ɑ k t ɝ/, "doctor");
    const pauses = phonemes.filter((p) => p.phoneme === SILENCE).map((p) => p.end - p.start);
    assert.ok(Math.max(...pauses) >= 0.45, `longest pause ${Math.max(...pauses)}`);
  });

  it("speaks a long text in several chunks with continuous timings", async () => {
    const sentence = "The quick brown fox jumps over the lazy dog near the river bank, and then it runs away.";
    // Two paragraphs, the second longer than one chunk: three Flite runs at least.
    const text = `${sentence} ${sentence}\n\n${Array.from({ length: 9 }, () => sentence).join(" ")}`;
    assert.ok(chunkText(text).length >= 3);
    const { pcm, phonemes, words } = await synth.speak({ text, voice: "Brian" });
    const duration = pcm.samples.length / pcm.sampleRate;
    assert.ok(duration > 40 && duration < 120, `duration ${duration}`);
    assertTiles(phonemes, duration);
    assert.equal(words?.length, text.split(/\s+/).length);
    for (let i = 1; i < words!.length; i++) assert.ok(words![i].start >= words![i - 1].end - 1e-9, `word ${i} overlaps`);
    assert.ok(words![words!.length - 1].end > duration - 1, "the last word ends near the end");
    // Each chunk's words sit on its own audio: "fox" is loud wherever it is said.
    for (const w of words!.filter((x) => x.word === "fox")) assert.ok(rms(pcm, w.start, w.end) > 0.02, `fox at ${w.start}`);
  });

  it("speaks 5,000 characters with numbers and abbreviations only as far as maxSeconds asks, estimating the rest", async () => {
    const paragraph = "On March 3rd, 2024, Dr. Smith paid $1,250.75 for 12 items, i.e. about 8% more than in the 1990s.";
    const text = Array.from({ length: Math.floor(MAX_TEXT_CHARS / (paragraph.length + 2)) }, () => paragraph).join("\n\n");
    assert.ok(text.length > 4900 && text.length <= MAX_TEXT_CHARS, String(text.length));
    const one = await synth.speak({ text: paragraph, voice: "Daniel" });
    const perParagraph = one.pcm.samples.length / one.pcm.sampleRate;
    assert.equal(one.cut, undefined, "a text spoken to its end is not cut");

    const t0 = performance.now();
    const { pcm, phonemes, words, cut } = await synth.speak({ text, voice: "Daniel", maxSeconds: 20 });
    const ms = performance.now() - t0;
    const duration = pcm.samples.length / pcm.sampleRate;
    assert.ok(duration >= 20 && duration < 20 + 2 * perParagraph, `spoke ${duration} s for maxSeconds 20`);
    assertTiles(phonemes, duration);
    assert.ok(words![words!.length - 1].end > duration - 2, "the words run to the end of what was spoken");
    // The whole text would take about one paragraph's time per paragraph (plus their pauses).
    const expected = (text.split("\n\n").length) * perParagraph;
    assert.ok(cut && Math.abs(cut.estimatedSec - expected) / expected < 0.2, `estimated ${cut?.estimatedSec} s, about ${expected} s expected`);
    // Only what is needed is synthesized: a small part of the minutes the whole text takes.
    assert.ok(duration < cut.estimatedSec / 5, `${duration} s of ${cut.estimatedSec} s`);
    assert.ok(ms < 15_000, `${Math.round(ms)} ms`);
  });

  it("stops when the signal aborts", async () => {
    const controller = new AbortController();
    const text = Array.from({ length: 40 }, () => "This is a sentence that goes on for a while.").join("\n\n");
    const pending = synth.speak({ text, voice: "Aria", signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    const t0 = performance.now();
    await assert.rejects(pending, CancelledError);
    assert.ok(performance.now() - t0 < 5000);
  });

  it("rejects empty, too long and unspeakable text and unknown voices with the field to fix", async () => {
    const cases: [Parameters<Synthesizer["speak"]>[0], string][] = [
      [{ text: "   ", voice: "Aria" }, "text_input"],
      [{ text: "x".repeat(MAX_TEXT_CHARS + 1), voice: "Aria", field: "first_text_input" }, "first_text_input"],
      [{ text: "!!! 😀", voice: "Aria" }, "text_input"],
      [{ text: "Hi", voice: "Bob" as never, voiceField: "voice2" }, "voice2"],
    ];
    for (const [request, field] of cases) {
      await assert.rejects(synth.speak(request), (err: unknown) => {
        assert.ok(err instanceof InputError, String(err));
        assert.deepEqual(err.detail[0].loc, ["body", field]);
        return true;
      });
    }
  });

  it("makes a short sample WAV per voice, once", async () => {
    const wav = await synth.sample("Lily");
    const parsed = new wavefile.WaveFile(wav);
    const fmt = parsed.fmt as { numChannels: number; sampleRate: number; bitsPerSample: number };
    assert.equal(fmt.numChannels, 1);
    assert.equal(fmt.bitsPerSample, 16);
    const seconds = (parsed.getSamples(false) as unknown as ArrayLike<number>).length / fmt.sampleRate;
    assert.ok(seconds > 1.5 && seconds < 8, `${seconds} s`);
    assert.equal(await synth.sample("Lily"), wav, "cached");
    assert.notDeepEqual(await synth.sample("Bill"), wav);
  });
});
