/**
 * Phone symbols. Flite speaks CMU ARPAbet (lower case, no stress marks: "hh", "ax", "ow", "pau");
 * Mouthpiece hands IPA to the motion stage, with "_" for silence (eSpeak's pause mnemonic).
 *
 * @example
 *   arpabetToIpa("ow") // "oʊ"
 *   arpabetToIpa("pau") // "_"
 */

/** The symbol emitted for a silence (a pause between phrases or sentences). */
export const SILENCE = "_";

/** CMU ARPAbet (as Flite's cmulex prints it) to IPA. */
const ARPABET_TO_IPA: Readonly<Record<string, string>> = {
  // vowels
  aa: "ɑ", ae: "æ", ah: "ʌ", ao: "ɔ", aw: "aʊ", ax: "ə", axr: "ɚ", ay: "aɪ",
  eh: "ɛ", er: "ɝ", ey: "eɪ", ih: "ɪ", ix: "ɨ", iy: "i", ow: "oʊ", oy: "ɔɪ",
  uh: "ʊ", uw: "u", ux: "ʉ",
  // consonants
  b: "b", ch: "tʃ", d: "d", dh: "ð", dx: "ɾ", el: "l̩", em: "m̩", en: "n̩", f: "f", g: "ɡ",
  hh: "h", h: "h", jh: "dʒ", k: "k", l: "l", m: "m", n: "n", ng: "ŋ", nx: "ɾ̃", p: "p",
  q: "ʔ", r: "ɹ", s: "s", sh: "ʃ", t: "t", th: "θ", v: "v", w: "w", wh: "ʍ", y: "j",
  z: "z", zh: "ʒ",
  // silences
  pau: SILENCE, sil: SILENCE, h$: SILENCE,
};

/** IPA for one Flite phone; stress digits are ignored; an unknown symbol passes through unchanged. */
export function arpabetToIpa(phone: string): string {
  const key = phone.toLowerCase().replace(/[0-2]$/, "");
  return ARPABET_TO_IPA[key] ?? key;
}

/** True for the phones that mean silence. */
export function isSilence(phone: string): boolean {
  return arpabetToIpa(phone) === SILENCE;
}
