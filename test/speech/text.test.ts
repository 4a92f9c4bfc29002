import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chunkText, MAX_CHUNK_CHARS, normalizeText, PARAGRAPH_PAUSE, SENTENCE_PAUSE } from "../../src/speech/text.js";
import { arpabetToIpa, isSilence, SILENCE } from "../../src/speech/phones.js";
import { alignWords } from "../../src/speech/align.js";
import { parsePhoneTrace } from "../../src/speech/flite.js";

describe("speech text normalization", () => {
  it("makes plain ASCII of quotes, dashes, accents, emoji and signs", () => {
    const out = normalizeText("“Café” — naïve… 😀 it’s £20, €1 & 5°C");
    assert.match(out, /^[\x20-\x7e\n]*$/);
    assert.match(out, /"Cafe"/);
    assert.match(out, /naive/);
    assert.match(out, /it's/);
    assert.match(out, /20 pounds/);
    assert.match(out, /1 euro\b/);
    assert.match(out, / and 5 degrees Celsius/);
  });

  it("expands abbreviations, dates, decades, initialisms and clock times Flite gets wrong", () => {
    assert.equal(normalizeText("cats vs. dogs"), "cats versus dogs");
    assert.match(normalizeText("apples, pears, etc. Then more."), /et cetera\. Then more\./);
    assert.match(normalizeText("e.g. this"), /^for example this/);
    assert.match(normalizeText("On Jan. 5 we met"), /January 5/);
    assert.match(normalizeText("Born 3/4/2021."), /March 4th, 2021/);
    assert.match(normalizeText("In the 1990s and the '80s"), /19 nineties and the eighties/);
    assert.match(normalizeText("AI is OK"), /^A I is OK$/);
    assert.match(normalizeText("at 9am"), /9 A M/);
    assert.match(normalizeText("mail bob@example.com or visit https://www.example.org/path"), /bob at example dot com or visit example dot org$/);
    assert.match(normalizeText("2 + 2 = 4"), /2 plus 2 equals 4/);
    assert.equal(normalizeText("see foo.common.js and shop.co.uk"), "see foo.common.js and shop dot co dot uk");
    assert.match(normalizeText("#1 hit"), /number 1 hit/);
    assert.match(normalizeText("3/4 of it"), /three quarters of it/);
  });

  it("leaves what Flite reads well alone", () => {
    assert.equal(normalizeText("Dr. Smith paid $3.50 for 12 eggs at 3:30, 10% off."), "Dr. Smith paid $3.50 for 12 eggs at 3:30, 10% off.");
  });
});

describe("speech chunking", () => {
  it("groups a paragraph's sentences, keeps titles with their names, and pauses after paragraphs", () => {
    const chunks = chunkText("Mr. Smith met Dr. Jones. Then he left!\n\nA new paragraph? Yes.");
    assert.deepEqual(chunks.map((c) => c.text), ["Mr. Smith met Dr. Jones. Then he left!", "A new paragraph? Yes."]);
    assert.deepEqual(chunks.map((c) => c.pauseAfter), [PARAGRAPH_PAUSE, 0]);
  });

  it("never groups past the limit, and pauses briefly between chunks of one paragraph", () => {
    const sentence = "This sentence has exactly fifty characters in it.";
    const chunks = chunkText(Array.from({ length: 30 }, () => sentence).join(" "));
    assert.ok(chunks.length >= 3);
    for (const c of chunks) assert.ok(c.text.length <= MAX_CHUNK_CHARS);
    assert.deepEqual(chunks.slice(0, -1).map((c) => c.pauseAfter), chunks.slice(0, -1).map(() => SENTENCE_PAUSE));
    assert.equal(chunks.map((c) => c.text).join(" ").split(sentence).length - 1, 30);
  });

  it("splits a long sentence at commas, never above the limit, losing no word", () => {
    const sentence = `${Array.from({ length: 120 }, (_, i) => `clause number ${i} goes here`).join(", ")}.`;
    const chunks = chunkText(sentence);
    assert.ok(chunks.length > 1);
    for (const c of chunks) assert.ok(c.text.length <= MAX_CHUNK_CHARS, `${c.text.length}`);
    assert.equal(chunks.map((c) => c.text).join(" ").replace(/\s+/g, " "), sentence);
    for (const c of chunks.slice(0, -1)) assert.match(c.text, /,$/);
  });

  it("drops what has nothing to say and treats lines as sentences", () => {
    assert.deepEqual(chunkText("!!! ... 😀"), []);
    assert.deepEqual(chunkText("Title\nFirst line").map((c) => c.text), ["Title. First line."]);
  });
});

describe("speech phones and alignment", () => {
  it("maps ARPAbet to IPA with _ for silence", () => {
    assert.equal(arpabetToIpa("hh"), "h");
    assert.equal(arpabetToIpa("ow"), "oʊ");
    assert.equal(arpabetToIpa("AH0"), "ʌ");
    assert.equal(arpabetToIpa("jh"), "dʒ");
    assert.equal(arpabetToIpa("pau"), SILENCE);
    assert.ok(isSilence("pau") && !isSilence("p"));
  });

  it("parses Flite's phone trace, continuing times across utterances", () => {
    const phones = parsePhoneTrace("pau:0.1 hh:0.2 ow:0.4 pau:0.5 \npau:0.1 n:0.3 ");
    assert.deepEqual(phones.map((p) => p.phone), ["pau", "hh", "ow", "pau", "pau", "n"]);
    assert.deepEqual(phones.map((p) => p.end), [0.1, 0.2, 0.4, 0.5, 0.6, 0.8]);
    assert.deepEqual(phones.map((p) => p.start), [0, 0.1, 0.2, 0.4, 0.5, 0.6]);
  });

  it("aligns words to timed phones despite a changed phone", () => {
    const timed = ["dh", "iy", "ae", "p", "ax", "l"].map((phone, i) => ({ phone, start: i / 10, end: (i + 1) / 10 }));
    const words = alignWords(["the", "apple"], [["dh", "ax"], ["ae", "p", "ax", "l"]], timed);
    assert.deepEqual(words.map((w) => w.word), ["the", "apple"]);
    assert.deepEqual(words.map((w) => [w.start, w.end]), [[0, 0.2], [0.2, 0.6]]);
  });
});
