/**
 * Visemes from timed phonemes, with coarticulation.
 *
 * Accepted symbols (one phoneme per PhonemeTiming; see visemeFor):
 * - IPA: vowels a ɑ æ ɐ ʌ ə ɚ ɛ e ɪ i ɨ ɔ o ɒ ʊ u ʉ ɯ ɜ ɝ y ʏ ø œ ɤ ɘ ɵ, diphthongs written as one token
 *   (aɪ aʊ ɔɪ eɪ oʊ əʊ ɪə eə ʊə), consonants p b m ɸ β f v θ ð t d n ɾ l ɫ s z ʃ ʒ tʃ dʒ ts dz k g ɡ ŋ ɲ x ɣ
 *   h ɦ ç ʝ ʁ r ɹ ɻ w ʍ j ʎ ʔ; stress ˈ ˌ, length ː ˑ and combining diacritics (nasal ~ etc.) are ignored.
 * - eSpeak phoneme mnemonics (Kirshenbaum-like, as `espeak-ng -x` prints them): a A: A@ aI aU a# @ @L 3 3: E
 *   e@ eI I i i: i@ O O: OI o@ oU U u: U@ V 0, consonants p b t d k g f v T D s z S Z h m n N l r w j tS dZ x
 *   C ?; stress ' , % = and variant marks (digits, # / -) after a symbol are ignored.
 * - ARPAbet (CMUdict): AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW B CH D DH F G HH JH K L M N NG P R S
 *   SH T TH V W Y Z ZH, with optional stress digits (AH0, IY1).
 * - Silence: "", "_", "sil", "sp", "pau", "#", "|", "||", "spn", "h#".
 * eSpeak and ARPAbet share some letters with different sounds (D T S Z N): the notation is detected once
 * per sequence (any non-ASCII symbol -> IPA; any two-letter ARPAbet symbol, any case, or a stress digit on
 * a vowel -> ARPAbet; else eSpeak), or given explicitly.
 */
import type { PhonemeTiming } from "./types.js";
import type { AudioFeatures } from "./features.js";
import type { MouthCurves } from "./mouth.js";
import { coupleLipsToJaw, openingTarget, PEAK_OPEN, SILENCE_LIP_CLOSE } from "./mouth.js";
import { attackRelease, clamp, shiftEarlier } from "./curves.js";

/** A mouth shape and how strongly it holds against its neighbours (dominance per parameter group). */
export interface Viseme {
  name: string;
  jaw: number;
  width: number;
  round: number;
  close: number;
  /** Dominance of jaw, lip shape (width/round) and lip closure. */
  dom: [jaw: number, lips: number, close: number];
}

const V = (name: string, jaw: number, width: number, round: number, close: number, dom: [number, number, number]): Viseme => ({
  name, jaw, width, round, close, dom,
});

/** The viseme classes. */
export const VISEMES = {
  SIL: V("SIL", 0, 0, 0, SILENCE_LIP_CLOSE, [1, 0.6, 1]),
  PBM: V("PBM", 0.04, 0, 0, 1, [3, 0.4, 10]),
  FV: V("FV", 0.1, 0.1, 0, 0.45, [2, 2, 5]),
  TH: V("TH", 0.18, 0.1, 0, 0, [1.5, 0.5, 1]),
  TDN: V("TDN", 0.15, 0.1, 0, 0, [1.2, 0.3, 1]),
  L: V("L", 0.22, 0.1, 0, 0, [1, 0.3, 1]),
  SZ: V("SZ", 0.08, 0.3, 0, 0, [2.5, 1, 1]),
  SH: V("SH", 0.1, -0.35, 0.55, 0, [2, 2.5, 1]),
  KG: V("KG", 0.22, 0, 0, 0, [0.8, 0.2, 1]),
  H: V("H", 0.3, 0, 0, 0, [0.3, 0.1, 0.5]),
  GLOTTAL: V("GLOTTAL", 0.2, 0, 0, 0, [0.2, 0.1, 0.3]),
  R: V("R", 0.2, -0.2, 0.4, 0, [1, 1.5, 1]),
  W: V("W", 0.1, -0.65, 0.9, 0, [1.5, 4, 1]),
  J: V("J", 0.15, 0.4, 0, 0, [1, 1.5, 1]),
  AA: V("AA", 0.9, 0.15, 0, 0, [1, 1, 0.5]),
  AE: V("AE", 0.75, 0.35, 0, 0, [1, 1, 0.5]),
  AH: V("AH", 0.6, 0.1, 0, 0, [1, 1, 0.5]),
  AX: V("AX", 0.35, 0.05, 0, 0, [0.6, 0.5, 0.5]),
  EH: V("EH", 0.55, 0.35, 0, 0, [1, 1, 0.5]),
  E: V("E", 0.42, 0.45, 0, 0, [1, 1, 0.5]),
  IH: V("IH", 0.3, 0.45, 0, 0, [1, 1, 0.5]),
  IY: V("IY", 0.22, 0.65, 0, 0, [1, 1.2, 0.5]),
  AO: V("AO", 0.6, -0.35, 0.6, 0, [1, 1.2, 0.5]),
  OH: V("OH", 0.45, -0.5, 0.75, 0, [1, 1.5, 0.5]),
  OO: V("OO", 0.65, -0.2, 0.4, 0, [1, 1, 0.5]),
  UH: V("UH", 0.3, -0.4, 0.65, 0, [1, 1.5, 0.5]),
  UW: V("UW", 0.2, -0.65, 0.95, 0, [1, 2, 0.5]),
  ER: V("ER", 0.35, -0.1, 0.35, 0, [1, 1, 0.5]),
  YY: V("YY", 0.25, -0.4, 0.85, 0, [1, 1.8, 0.5]),
} as const satisfies Record<string, Viseme>;
type VisemeName = keyof typeof VISEMES;

const SILENCE = new Set(["", "_", "sil", "sp", "pau", "#", "|", "||", "spn", "h#", "pause", "-"]);

/** IPA (after removing stress/length/diacritics). Multi-letter entries are diphthongs and affricates. */
const IPA: Record<string, VisemeName[]> = {
  a: ["AA"], "ɑ": ["AA"], "æ": ["AE"], "ɐ": ["AH"], "ʌ": ["AH"], "ə": ["AX"], "ɚ": ["ER"], "ɛ": ["EH"], e: ["E"],
  "ɪ": ["IH"], i: ["IY"], "ɨ": ["IH"], "ɔ": ["AO"], o: ["OH"], "ɒ": ["OO"], "ʊ": ["UH"], u: ["UW"], "ʉ": ["UW"],
  "ɯ": ["UH"], "ɜ": ["ER"], "ɝ": ["ER"], y: ["YY"], "ʏ": ["YY"], "ø": ["YY"], "œ": ["AO"], "ɶ": ["AO"], "ɤ": ["AX"],
  "ɘ": ["AX"], "ɵ": ["UH"], "ɞ": ["AO"], "ᵻ": ["IH"], "ᵿ": ["UH"],
  "aɪ": ["AA", "IH"], "aʊ": ["AA", "UH"], "ɔɪ": ["AO", "IH"], "eɪ": ["E", "IH"], "oʊ": ["OH", "UH"],
  "əʊ": ["AX", "UH"], "ɪə": ["IH", "AX"], "eə": ["EH", "AX"], "ɛə": ["EH", "AX"], "ʊə": ["UH", "AX"],
  "aɪə": ["AA", "IH", "AX"], "aʊə": ["AA", "UH", "AX"], "ɑɪ": ["AA", "IH"], "ɑʊ": ["AA", "UH"], "ɛɪ": ["EH", "IH"],
  "əʊ̯": ["AX", "UH"],
  p: ["PBM"], b: ["PBM"], m: ["PBM"], "ɱ": ["FV"], "ɸ": ["FV"], "β": ["FV"], f: ["FV"], v: ["FV"], "ʋ": ["FV"],
  "θ": ["TH"], "ð": ["TH"], t: ["TDN"], d: ["TDN"], n: ["TDN"], "ɾ": ["TDN"], "ɗ": ["TDN"], "ʈ": ["TDN"], "ɖ": ["TDN"],
  "ɳ": ["TDN"], l: ["L"], "ɫ": ["L"], "ɬ": ["L"], "ɭ": ["L"], "ʎ": ["J"], s: ["SZ"], z: ["SZ"], "ʃ": ["SH"],
  "ʒ": ["SH"], "ʂ": ["SH"], "ʐ": ["SH"], "ɕ": ["SH"], "ʑ": ["SH"], "tʃ": ["SH"], "dʒ": ["SH"], "ʧ": ["SH"],
  "ʤ": ["SH"], ts: ["SZ"], dz: ["SZ"], "tɕ": ["SH"], "dʑ": ["SH"], k: ["KG"], g: ["KG"], "ɡ": ["KG"], "ŋ": ["KG"],
  "ɲ": ["J"], x: ["KG"], "ɣ": ["KG"], q: ["KG"], "ɢ": ["KG"], "χ": ["KG"], h: ["H"], "ɦ": ["H"], "ħ": ["H"],
  "ç": ["J"], "ʝ": ["J"], "ʁ": ["R"], "ʀ": ["R"], r: ["R"], "ɹ": ["R"], "ɻ": ["R"], "ɽ": ["TDN"], w: ["W"],
  "ʍ": ["W"], "ɥ": ["YY"], j: ["J"], "ʔ": ["GLOTTAL"], "ɰ": ["KG"], c: ["J"], "ɟ": ["J"],
};

/** eSpeak mnemonics (case-sensitive; after removing stress marks; length ':' kept where it matters). */
const ESPEAK: Record<string, VisemeName[]> = {
  a: ["AE"], "a#": ["AH"], A: ["AA"], "A:": ["AA"], "A@": ["AA", "ER"], "aa": ["AA"], "a:": ["AA"], aI: ["AA", "IH"],
  aU: ["AA", "UH"], "aI@": ["AA", "IH", "AX"], "aU@": ["AA", "UH", "AX"], "@": ["AX"], "@L": ["AX", "L"], "@r": ["ER"],
  "3": ["ER"], "3:": ["ER"], E: ["EH"], "E:": ["EH"], "e@": ["EH", "AX"], e: ["E"], "e:": ["E"], eI: ["E", "IH"],
  I: ["IH"], "I#": ["IH"], "I2": ["IH"], i: ["IY"], "i:": ["IY"], "i@": ["IH", "AX"], "i@3": ["IH", "ER"], O: ["AO"],
  "O:": ["AO"], OI: ["AO", "IH"], "O@": ["AO", "ER"], "o@": ["AO", "ER"], o: ["OH"], "o:": ["OH"], oU: ["OH", "UH"],
  "@U": ["AX", "UH"], U: ["UH"], "u:": ["UW"], u: ["UW"], "U@": ["UH", "AX"], V: ["AH"], "0": ["OO"], y: ["YY"],
  "y:": ["YY"], Y: ["YY"], W: ["YY"],
  p: ["PBM"], b: ["PBM"], m: ["PBM"], f: ["FV"], v: ["FV"], T: ["TH"], D: ["TH"], t: ["TDN"], d: ["TDN"], n: ["TDN"],
  "n-": ["TDN"], "*": ["TDN"], l: ["L"], "l/": ["L"], "l-": ["L"], L: ["L"], s: ["SZ"], z: ["SZ"], S: ["SH"],
  Z: ["SH"], tS: ["SH"], dZ: ["SH"], ts: ["SZ"], dz: ["SZ"], k: ["KG"], g: ["KG"], N: ["KG"], x: ["KG"], Q: ["KG"],
  h: ["H"], "h#": ["H"], C: ["J"], j: ["J"], J: ["J"], r: ["R"], "r-": ["R"], "r/": ["R"], R: ["R"], w: ["W"], "?": ["GLOTTAL"],
  "m-": ["PBM"], "t#": ["TDN"], "d#": ["TDN"], "z#": ["SZ"], "s#": ["SZ"],
};

/** ARPAbet (upper case, stress digit removed). */
const ARPABET: Record<string, VisemeName[]> = {
  AA: ["AA"], AE: ["AE"], AH: ["AH"], AX: ["AX"], AXR: ["ER"], AO: ["AO"], AW: ["AA", "UH"], AY: ["AA", "IH"],
  EH: ["EH"], ER: ["ER"], EY: ["E", "IH"], IH: ["IH"], IX: ["IH"], IY: ["IY"], OW: ["OH", "UH"], OY: ["AO", "IH"],
  UH: ["UH"], UW: ["UW"], UX: ["UW"],
  B: ["PBM"], P: ["PBM"], M: ["PBM"], EM: ["AX", "PBM"], F: ["FV"], V: ["FV"], TH: ["TH"], DH: ["TH"], T: ["TDN"],
  D: ["TDN"], N: ["TDN"], EN: ["AX", "TDN"], NX: ["TDN"], DX: ["TDN"], L: ["L"], EL: ["AX", "L"], S: ["SZ"], Z: ["SZ"],
  SH: ["SH"], ZH: ["SH"], CH: ["SH"], JH: ["SH"], K: ["KG"], G: ["KG"], NG: ["KG"], HH: ["H"], H: ["H"], R: ["R"],
  W: ["W"], WH: ["W"], Y: ["J"], Q: ["GLOTTAL"],
};

const ARPA_MARK = /^(aa|ae|ah|ao|aw|ay|eh|er|ey|ih|iy|ow|oy|uh|uw|ax|axr|ix|hh|ch|jh|ng|dh|th|sh|zh|pau)[012]?$|^[A-Z]{1,2}[012]$/i;

export type Notation = "auto" | "ipa" | "espeak" | "arpabet";

/**
 * Decides the notation of a sequence: IPA when any symbol has a non-ASCII letter, ARPAbet when any symbol
 * is unmistakably ARPAbet (AA, HH, IY1, "pau", any case), else eSpeak.
 */
export function detectNotation(symbols: string[]): Exclude<Notation, "auto"> {
  if (symbols.some((s) => /[^\x00-\x7f]/.test(s))) return "ipa";
  return symbols.some((s) => ARPA_MARK.test(s.trim())) ? "arpabet" : "espeak";
}

function stripMarks(s: string): string {
  // Combining diacritics (nasal, syllabic, non-syllabic, ...) and modifier letters (ː ˑ ʰ ʲ ʷ ˈ ˌ).
  return s.replace(/[\u0300-\u036f\u02b0-\u02ff\u1dc0-\u1dff\u0361\u035c]/g, "").replace(/['%=,.]/g, "");
}

/** Splits a string into known symbols of `table`, longest first (e.g. "aɪ" or "tʃ" or a whole word). */
function greedy(s: string, table: Record<string, VisemeName[]>): VisemeName[] {
  const out: VisemeName[] = [];
  const chars = Array.from(s);
  for (let i = 0; i < chars.length; ) {
    let found = false;
    for (let len = Math.min(3, chars.length - i); len >= 1; len--) {
      const piece = chars.slice(i, i + len).join("");
      const hit = table[piece];
      if (hit) {
        out.push(...hit);
        i += len;
        found = true;
        break;
      }
    }
    if (!found) i++;
  }
  return out;
}

/**
 * The viseme sequence for one phoneme symbol (diphthongs give two or three), or [] when unknown.
 * Silence symbols give ["SIL"].
 */
export function visemeNames(symbol: string, notation: Exclude<Notation, "auto"> = "espeak"): VisemeName[] {
  const raw = symbol.trim();
  if (SILENCE.has(raw.toLowerCase())) return ["SIL"];
  if (notation === "arpabet") {
    const key = raw.toUpperCase().replace(/[012]$/, "");
    if (ARPABET[key]) return ARPABET[key];
  }
  // eSpeak mnemonics: exact, then without stress marks, then without variant marks.
  const noStress = raw.replace(/^[ˈˌ'%=,]+/, "").replace(/[ˈˌ'%=,]/g, "");
  if (notation !== "ipa") {
    for (const k of [raw, noStress, noStress.replace(/[2#/-]+$/, ""), noStress.replace(/[0-9#/-]+$/, "")]) {
      if (k && ESPEAK[k]) return ESPEAK[k];
    }
  }
  let ipa = stripMarks(noStress);
  if (!IPA[ipa] && !greedy(ipa, IPA).length) ipa = stripMarks(ipa.normalize("NFD")); // precomposed (ẽ)
  if (IPA[ipa]) return IPA[ipa];
  const ipaGreedy = greedy(ipa, IPA);
  if (ipaGreedy.length) return ipaGreedy;
  if (notation === "arpabet") return [];
  return greedy(noStress.replace(/[0-9]/g, ""), ESPEAK);
}

/** The (first) viseme for a symbol; an unknown symbol gives a neutral, weak "AX"-like shape. */
export function visemeFor(symbol: string, notation: Notation = "auto"): Viseme {
  const n = notation === "auto" ? detectNotation([symbol]) : notation;
  const names = visemeNames(symbol, n);
  return names.length ? VISEMES[names[0]] : UNKNOWN;
}

const UNKNOWN: Viseme = V("UNKNOWN", 0.25, 0, 0, 0, [0.3, 0.2, 0.3]);

interface Segment {
  start: number;
  end: number;
  v: Viseme;
}

/** Turns phonemes into viseme segments: diphthongs split, gaps and the ends filled with silence. */
export function visemeSegments(phonemes: PhonemeTiming[], notation: Notation = "auto"): Segment[] {
  const sorted = phonemes
    .filter((p) => Number.isFinite(p.start) && Number.isFinite(p.end) && p.end > p.start)
    .slice()
    .sort((a, b) => a.start - b.start);
  const nota = notation === "auto" ? detectNotation(sorted.map((p) => p.phoneme)) : notation;
  const segs: Segment[] = [];
  let t = 0;
  for (const p of sorted) {
    if (p.start > t + 1e-6) segs.push({ start: t, end: p.start, v: VISEMES.SIL });
    const names = visemeNames(p.phoneme, nota);
    const list = names.length ? names.map((n) => VISEMES[n] as Viseme) : [UNKNOWN];
    // Diphthongs: the first part takes a bit more of the time.
    const weights = list.length === 1 ? [1] : list.length === 2 ? [0.55, 0.45] : [0.4, 0.35, 0.25];
    let s = p.start;
    list.forEach((v, k) => {
      const e = k === list.length - 1 ? p.end : s + (p.end - p.start) * weights[k];
      segs.push({ start: s, end: e, v });
      s = e;
    });
    t = Math.max(t, p.end);
  }
  segs.push({ start: t, end: t + 10, v: VISEMES.SIL });
  return segs;
}

export interface VisemeOptions {
  /** Seconds the shapes anticipate the sound (frame times are shifted later); default 0.04 (one frame). */
  anticipation?: number;
  notation?: Notation;
}

export interface VisemeCurves extends MouthCurves {
  /** 1 where a phoneme (not silence) is under the frame, else 0. */
  speaking: Float32Array;
}

/**
 * Viseme targets per frame (frame i samples time (i + 0.5) / fps + anticipation), blended across
 * neighbours with per-parameter dominance (Cohen-Massaro-like: each segment's weight is its dominance
 * times a Gaussian of the distance outside its central half).
 */
export function visemesFromPhonemes(
  phonemes: PhonemeTiming[],
  fps: number,
  numFrames: number,
  opts: VisemeOptions = {},
): VisemeCurves {
  const segs = visemeSegments(phonemes, opts.notation ?? "auto");
  const antic = opts.anticipation ?? 0.04;
  const jawOpen = new Float32Array(numFrames);
  const lipWidth = new Float32Array(numFrames);
  const lipRound = new Float32Array(numFrames);
  const lipClose = new Float32Array(numFrames);
  const speaking = new Float32Array(numFrames);
  // Spread (s) of each group's influence beyond a segment's core: lips anticipate further than the jaw.
  const tau = [0.035, 0.06, 0.022];
  let first = 0;
  for (let i = 0; i < numFrames; i++) {
    const t = (i + 0.5) / fps + antic;
    while (first < segs.length && segs[first].end < t - 0.3) first++;
    const sum = [0, 0, 0];
    const acc = { jaw: 0, width: 0, round: 0, close: 0 };
    for (let k = first; k < segs.length && segs[k].start <= t + 0.3; k++) {
      const s = segs[k];
      const c = (s.start + s.end) / 2;
      const half = (s.end - s.start) / 2;
      const d = Math.max(0, Math.abs(t - c) - 0.5 * half);
      const w = [0, 1, 2].map((g) => s.v.dom[g] * Math.exp(-((d / tau[g]) ** 2)) + 1e-9);
      sum[0] += w[0];
      sum[1] += w[1];
      sum[2] += w[2];
      acc.jaw += w[0] * s.v.jaw;
      acc.width += w[1] * s.v.width;
      acc.round += w[1] * s.v.round;
      acc.close += w[2] * s.v.close;
      if (t >= s.start && t < s.end && s.v !== VISEMES.SIL) speaking[i] = 1;
    }
    jawOpen[i] = sum[0] > 0 ? acc.jaw / sum[0] : 0;
    lipWidth[i] = sum[1] > 0 ? acc.width / sum[1] : 0;
    lipRound[i] = sum[1] > 0 ? acc.round / sum[1] : 0;
    lipClose[i] = sum[2] > 0 ? acc.close / sum[2] : 0;
  }
  return { jawOpen, lipWidth, lipRound, lipClose, speaking };
}

/** Viseme jaw targets to output (an "a" at normal loudness reaches ~0.85). */
export const JAW_SCALE = 0.95;

/** The loudness gain on viseme jaw targets runs from this (silence) to ~1.2 (the speaker's loud syllables). */
const GAIN_FLOOR = 0.25;

export interface CombineOptions {
  amplitude?: number;
  /** Scale from viseme jaw targets to the output (so that "a" at normal loudness is ~0.7); default 0.8. */
  jawScale?: number;
  /** Share of the jaw that comes from the phonemes (the rest from the audio-driven opening); default 0.5. */
  phonemeShare?: number;
  /** Lead of the audio-driven parts in frames (as mouthFromAudio); default 1. */
  leadFrames?: number;
}

/**
 * Shape from the visemes, amplitude from the voice.
 * jawOpen = share x (viseme jaw x loudness gain) + (1 - share) x (the audio-driven opening), then closed
 * on bilabials (the viseme lip closure above its resting 0.6 shuts the jaw); lip width/round/closure come
 * from the visemes. The audio share keeps the opening locked to the syllables actually heard; the viseme
 * share gives each vowel its height and each consonant its closure. Without features: the visemes alone.
 */
export function combineVisemes(vis: VisemeCurves, f: AudioFeatures | null, opts: CombineOptions = {}): MouthCurves {
  const n = vis.jawOpen.length;
  const amp = opts.amplitude ?? 1;
  const scale = opts.jawScale ?? JAW_SCALE;
  const lead = opts.leadFrames ?? 1;
  const withAudio = !!f && f.numFrames === n && f.speech.some((v) => v);
  const share = withAudio ? clamp(opts.phonemeShare ?? 0.35, 0, 1) : 1;
  const gain = new Float32Array(n).fill(1);
  let audioJaw: Float32Array | null = null;
  if (withAudio) {
    const peak = PEAK_OPEN;
    const target = openingTarget(f, peak);
    const env = shiftEarlier(attackRelease(target, 0.9, 0.8), lead);
    for (let i = 0; i < n; i++) gain[i] = clamp(GAIN_FLOOR + (1.2 - GAIN_FLOOR) * (env[i] / peak), GAIN_FLOOR, 1.25);
    audioJaw = env;
  }
  const jawOpen = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const fromPhonemes = vis.jawOpen[i] * gain[i] * scale;
    let j = share * fromPhonemes + (1 - share) * (audioJaw ? audioJaw[i] : 0);
    // Bilabials (and labiodentals, partly) shut the mouth whatever the loudness says.
    j *= 1 - 0.95 * clamp((vis.lipClose[i] - SILENCE_LIP_CLOSE) / (1 - SILENCE_LIP_CLOSE - 0.05), 0, 1);
    jawOpen[i] = clamp(j * amp, 0, 1);
  }
  return {
    jawOpen,
    lipWidth: Float32Array.from(vis.lipWidth),
    lipRound: Float32Array.from(vis.lipRound),
    lipClose: coupleLipsToJaw(jawOpen, Float32Array.from(vis.lipClose)),
  };
}
