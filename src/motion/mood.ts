/**
 * The prompt's mood: a small vocabulary of words (see docs/prompt.md) mapped to animation baselines.
 * Words may be negated ("not smiling", "no smile", "without smiling", "isn't happy") or intensified
 * ("very", "slightly"). Each mood (a row of the vocabulary) counts once, at its strongest mention.
 * Unknown words are ignored; an empty prompt is neutral.
 */

export interface Mood {
  /** Smile baseline added to every frame, -1..1 (0 = the photo's own expression). */
  smile: number;
  /** Eyebrow raise baseline, 0..1. */
  brow: number;
  /** Multiplier on head/brow motion amplitudes (0.3..2; 1 = neutral talking). */
  energy: number;
  /** Multiplier on the blink rate (0.5..2; >1 = more blinks). */
  blinkRate: number;
  /** Multiplier on the mouth opening (0.5..1.5). */
  mouthAmp: number;
  /** The words that matched, as "word" or "not word", in prompt order (for logs). */
  matched: string[];
}

export const NEUTRAL_MOOD: Readonly<Mood> = Object.freeze({
  smile: 0,
  brow: 0,
  energy: 1,
  blinkRate: 1,
  mouthAmp: 1,
  matched: [] as string[],
});

/** What a word does: additive smile/brow, multiplicative energy/blinkRate/mouthAmp. */
export interface MoodEffect {
  smile?: number;
  brow?: number;
  energy?: number;
  blinkRate?: number;
  mouthAmp?: number;
}

interface Entry {
  /** Canonical name (docs). */
  name: string;
  pattern: RegExp;
  effect: MoodEffect;
}

/** The vocabulary, matched against single lower-case words. Keep docs/prompt.md in step. */
export const MOOD_VOCABULARY: readonly Entry[] = [
  { name: "smiling", pattern: /^(smil(e|es|ed|ing|ey|y)|grin(s|ning|ned)?|beam(s|ing)?)$/, effect: { smile: 0.45 } },
  { name: "happy", pattern: /^(happy|happily|happiness|glad|delighted|pleased|friendly|warm(ly)?|kind(ly)?)$/, effect: { smile: 0.35, energy: 1.1 } },
  { name: "joyful", pattern: /^(joy|joyful(ly)?|joyous|cheerful(ly)?|cheery|laugh(s|ing)?|jolly|playful(ly)?)$/, effect: { smile: 0.5, brow: 0.1, energy: 1.25 } },
  { name: "sad", pattern: /^(sad(ly|ness)?|unhappy|sorrow(ful)?|melanchol(y|ic)|gloomy|depressed|crying|cries|tearful|grief|grieving|upset|disappointed)$/, effect: { smile: -0.35, brow: 0.05, energy: 0.7, mouthAmp: 0.85 } },
  { name: "angry", pattern: /^(angry|angrily|anger|furious(ly)?|mad|rage|raging|annoyed|irritated|frustrated|frown(s|ing)?)$/, effect: { smile: -0.4, energy: 1.3, mouthAmp: 1.1 } },
  { name: "surprised", pattern: /^(surprise[ds]?|surprising(ly)?|shock(ed|ing)?|amazed|astonished|stunned|startled|wow)$/, effect: { brow: 0.5, energy: 1.2, mouthAmp: 1.1, blinkRate: 0.7 } },
  { name: "calm", pattern: /^(calm(ly)?|serene(ly)?|relax(ed|ing)?|peaceful(ly)?|gentle|gently|soft(ly)?|quiet(ly)?|soothing|tranquil|composed|meditative)$/, effect: { energy: 0.55, blinkRate: 0.8, mouthAmp: 0.9 } },
  { name: "energetic", pattern: /^(energetic(ally)?|excited(ly)?|exciting|lively|enthusiastic(ally)?|animated|passionate(ly)?|dynamic|vivid|vibrant|upbeat|expressive(ly)?|emphatic(ally)?)$/, effect: { energy: 1.6, brow: 0.05, mouthAmp: 1.1, smile: 0.1 } },
  { name: "singing", pattern: /^(sing(s|ing)?|sung|singer|song|songs|vocal(s|ist)?|chant(s|ing)?|rap(s|ping)?)$/, effect: { mouthAmp: 1.3, energy: 1.2, blinkRate: 0.8 } },
  { name: "podcast", pattern: /^(podcast(s|er|ing)?|interview(s|ed|ing)?|talk(s|ing)?|speak(s|ing)?|conversation(al)?|chat(s|ting)?|discuss(es|ing|ion)?|present(s|ing|er)?|news(caster)?|anchor|lecture|lecturing|teach(es|ing)?|explain(s|ing)?)$/, effect: { energy: 1.0 } },
  { name: "whisper", pattern: /^(whisper(s|ed|ing)?|murmur(s|ing)?|hush(ed)?|mutter(s|ing)?)$/, effect: { mouthAmp: 0.65, energy: 0.6 } },
  { name: "shouting", pattern: /^(shout(s|ed|ing)?|yell(s|ed|ing)?|scream(s|ed|ing)?|loud(ly)?)$/, effect: { mouthAmp: 1.35, energy: 1.5, brow: 0.2 } },
  { name: "serious", pattern: /^(serious(ly)?|stern(ly)?|solemn(ly)?|grave|neutral|formal(ly)?|professional(ly)?|focused)$/, effect: { smile: -0.1, energy: 0.8 } },
  { name: "nervous", pattern: /^(nervous(ly)?|anxious(ly)?|worried|tense|scared|afraid|fearful)$/, effect: { blinkRate: 1.6, energy: 1.15, brow: 0.2, smile: -0.1 } },
  { name: "tired", pattern: /^(tired|sleepy|exhausted|bored|drowsy|weary)$/, effect: { blinkRate: 1.4, energy: 0.6, mouthAmp: 0.85, smile: -0.05 } },
  { name: "confident", pattern: /^(confident(ly)?|proud(ly)?|assertive(ly)?|bold(ly)?)$/, effect: { energy: 1.15, smile: 0.1 } },
];

const NEGATIONS = new Set(["not", "no", "never", "without", "isn't", "isnt", "aren't", "arent", "don't", "dont",
  "doesn't", "doesnt", "didn't", "didnt", "won't", "wont", "nor", "neither", "stop", "stops", "stopped"]);
const INTENSIFIERS: Record<string, number> = {
  very: 1.5, really: 1.4, extremely: 1.8, super: 1.6, so: 1.3, highly: 1.5, totally: 1.5, wildly: 1.7, hugely: 1.7,
  broadly: 1.5, big: 1.4, wide: 1.3, widely: 1.4,
  slightly: 0.5, somewhat: 0.6, little: 0.5, bit: 0.5, mildly: 0.5, subtly: 0.45, subtle: 0.45, faintly: 0.4,
  gently: 0.7, lightly: 0.6,
};
/** Words between a negation/intensifier and its word that do not break the link. */
const FILLERS = new Set(["a", "an", "the", "very", "really", "at", "all", "be", "being", "is", "are", "was", "and",
  "or", "too", "much", "any", "look", "looks", "looking", "seem", "seems", "seeming"]);

/** Parses a prompt into a mood. Pure; never throws. */
export function parseMood(prompt: string | undefined | null): Mood {
  const words = (prompt ?? "")
    .toLowerCase()
    .replace(/[’`]/g, "'")
    .split(/[^a-z']+/)
    .map((w) => w.replace(/^'+|'+$/g, ""))
    .filter(Boolean);
  const matched: string[] = [];
  // Each mood counts once: "calm, serene, relaxed" is calm, not three times calmer. Its strongest
  // plain mention wins; it is negated only when every mention is.
  const found = new Map<string, { entry: Entry; scale: number; negated: boolean }>();
  for (let i = 0; i < words.length; i++) {
    const entry = MOOD_VOCABULARY.find((e) => e.pattern.test(words[i]));
    if (!entry) continue;
    // Look back up to 3 words (skipping fillers) for a negation or an intensifier.
    let negated = false;
    let scale = 1;
    for (let k = i - 1, seen = 0; k >= 0 && seen < 3; k--) {
      const w = words[k];
      if (NEGATIONS.has(w) || w.endsWith("n't")) {
        negated = true;
        break;
      }
      if (w in INTENSIFIERS) scale *= INTENSIFIERS[w];
      else if (!FILLERS.has(w)) seen++;
      // Another mood word stops the look-back.
      if (MOOD_VOCABULARY.some((e) => e.pattern.test(w))) break;
    }
    matched.push(negated ? `not ${words[i]}` : words[i]);
    const prev = found.get(entry.name);
    if (!prev) found.set(entry.name, { entry, scale, negated });
    else if (prev.negated && !negated) found.set(entry.name, { entry, scale, negated });
    else if (!negated && scale > prev.scale) prev.scale = scale;
  }
  let smile = 0;
  let brow = 0;
  let energyLog = 0;
  let blinkLog = 0;
  let mouthLog = 0;
  for (const { entry, scale, negated } of found.values()) {
    const e = entry.effect;
    // A negated word gives a weak opposite ("not smiling" = a little serious, not a frown).
    const s = negated ? -0.3 : scale;
    smile += (e.smile ?? 0) * s;
    brow += Math.max(0, (e.brow ?? 0) * s);
    energyLog += Math.log(e.energy ?? 1) * s;
    blinkLog += Math.log(e.blinkRate ?? 1) * s;
    mouthLog += Math.log(e.mouthAmp ?? 1) * s;
  }
  const lim = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  return {
    smile: lim(smile, -0.8, 0.8),
    brow: lim(brow, 0, 0.8),
    energy: lim(Math.exp(energyLog), 0.3, 2),
    blinkRate: lim(Math.exp(blinkLog), 0.5, 2),
    mouthAmp: lim(Math.exp(mouthLog), 0.5, 1.5),
    matched,
  };
}
