/**
 * Text handling before synthesis: turn what people type into what Flite reads well, then cut it into
 * sentence-sized chunks with the pause that follows each.
 *
 * Flite itself already reads numbers (1,234.5, -5, 12th), money in dollars, percentages, clock times and
 * common titles (Dr., Mr., St.). This module adds what it gets wrong or cannot read: non-ASCII characters
 * (quotes, dashes, accents, emoji, currency signs), symbols (&, @, #, +, =, °), URLs and e-mail addresses,
 * more abbreviations (etc., e.g., vs., months), decades (1990s), two-letter acronyms (AI), a.m./p.m.
 *
 * @example
 *   normalizeText("Café at 9am — £20 & more…") // "Cafe at 9 A M , 20 pounds and more, "
 *   chunkText("One. Two!\n\nThree?") // [{text: "One.", pauseAfter: 0.1}, {text: "Two!", pauseAfter: 0.45}, ...]
 */

/**
 * Longest chunk handed to Flite in one run (characters): sentences of a paragraph are grouped up to this
 * size (Flite pauses between them itself); longer sentences are cut at a comma or a space.
 */
export const MAX_CHUNK_CHARS = 600;
/** Silence added after a chunk that ends inside a paragraph (Flite already ends every utterance with a pause). */
export const SENTENCE_PAUSE = 0.1;
/** Silence added after a paragraph (a blank line in the text). */
export const PARAGRAPH_PAUSE = 0.45;

export interface TextChunk {
  /** ASCII text for Flite. */
  text: string;
  /** Seconds of silence to add after this chunk (at the voice's normal rate). */
  pauseAfter: number;
}

const MONTHS = [
  "January", "February", "March", "April", "May", "June",
  "July", "August", "September", "October", "November", "December",
];

/** Abbreviations Flite does not expand; matched as whole tokens, case-sensitive, trailing period optional
 * only where the bare form is not a common word. */
const ABBREVIATIONS: ReadonlyArray<[RegExp, string]> = [
  [/\betc\.(?=\s+[A-Z]|\s*$)/g, "et cetera."],
  [/\betc\./g, "et cetera"],
  [/\be\.g\.(?=\s|,|$)/gi, "for example"],
  [/\bi\.e\.(?=\s|,|$)/gi, "that is"],
  [/\bvs\.?(?=\s)/gi, "versus"],
  [/\bapprox\.(?=\s)/gi, "approximately"],
  [/\bca\.(?=\s*\d)/g, "circa"],
  [/\bw\/(?=\s)/g, "with"],
  [/\bw\/o\b/g, "without"],
  [/\bProf\.(?=\s)/g, "Professor"],
  [/\bSr\.(?=\s|,|$)/g, "Senior"],
  [/\bJr\.(?=\s|,|$)/g, "Junior"],
  [/\bInc\.(?=\s|,|$)/g, "Incorporated"],
  [/\bLtd\.(?=\s|,|$)/g, "Limited"],
  [/\bCorp\.(?=\s|,|$)/g, "Corporation"],
  [/\bDept\.(?=\s|,|$)/g, "Department"],
  [/\bAve\.(?=\s|,|$)/g, "Avenue"],
  [/\bBlvd\.(?=\s|,|$)/g, "Boulevard"],
  [/\bMt\.(?=\s)/g, "Mount"],
  [/\bNo\.(?=\s*\d)/g, "number"],
  [/\bnos\.(?=\s*\d)/gi, "numbers"],
  [/\bmin\.(?=\s|,|$)/g, "minutes"],
  [/\bsec\.(?=\s|,|$)/g, "seconds"],
  [/\bhrs?\.(?=\s|,|$)/g, "hours"],
  [/\bMon\.(?=\s)/g, "Monday"],
  [/\bTue(?:s)?\.(?=\s)/g, "Tuesday"],
  [/\bWed\.(?=\s)/g, "Wednesday"],
  [/\bThu(?:rs)?\.(?=\s)/g, "Thursday"],
  [/\bFri\.(?=\s)/g, "Friday"],
  [/\bSat\.(?=\s)/g, "Saturday"],
  [/\bSun\.(?=\s)/g, "Sunday"],
];

const MONTH_ABBREVIATIONS: ReadonlyArray<[string, string]> = [
  ["Jan", "January"], ["Feb", "February"], ["Mar", "March"], ["Apr", "April"], ["Jun", "June"],
  ["Jul", "July"], ["Aug", "August"], ["Sep", "September"], ["Sept", "September"], ["Oct", "October"],
  ["Nov", "November"], ["Dec", "December"],
];

/** Two-letter all-capital tokens that are words, not initials. */
const CAPITAL_WORDS = new Set([
  "OK", "NO", "SO", "GO", "TO", "DO", "IT", "IS", "IN", "ON", "AT", "AN", "AS", "BE", "BY", "HE", "IF",
  "ME", "MY", "OF", "OR", "UP", "WE", "AM", "OH", "HI", "HA", "YO", "OX",
]);

const DECADES: Readonly<Record<string, string>> = {
  "0": "hundreds", "1": "tens", "2": "twenties", "3": "thirties", "4": "forties", "5": "fifties",
  "6": "sixties", "7": "seventies", "8": "eighties", "9": "nineties",
};

const CURRENCIES: ReadonlyArray<[string, string, string]> = [
  // sign, singular, plural
  ["£", "pound", "pounds"], ["€", "euro", "euros"], ["¥", "yen", "yen"], ["₹", "rupee", "rupees"],
];

const FRACTIONS: Readonly<Record<string, string>> = {
  "1/2": "one half", "1/3": "one third", "2/3": "two thirds", "1/4": "one quarter", "3/4": "three quarters",
  "½": " one half", "⅓": " one third", "⅔": " two thirds", "¼": " one quarter", "¾": " three quarters",
};

/** Rewrites `text` into plain ASCII that Flite reads correctly. Keeps sentence punctuation. */
export function normalizeText(text: string): string {
  let t = text;
  // Characters first: fractions, currency and degree signs, then quotes/dashes, then accents and the rest.
  t = t.replace(/[½⅓⅔¼¾]/g, (c) => FRACTIONS[c]);
  for (const [sign, one, many] of CURRENCIES) {
    const re = new RegExp(`${sign}\\s?(\\d{1,3}(?:,\\d{3})+(?:\\.\\d+)?|\\d+(?:\\.\\d+)?)(\\s?(?:million|billion|thousand|trillion)\\b)?`, "g");
    t = t.replace(re, (_m, num: string, scale: string | undefined) =>
      `${num}${scale ?? ""} ${num === "1" && !scale ? one : many}`);
  }
  t = t.replace(/°\s?C\b/g, " degrees Celsius").replace(/°\s?F\b/g, " degrees Fahrenheit").replace(/°/g, " degrees");
  t = t.replace(/[‘’‚‛′`´]/g, "'").replace(/[“”„‟″«»]/g, '"');
  t = t.replace(/\s*[—―]\s*/g, ", ").replace(/(\S)\s*–\s*(\S)/g, (_m, a: string, b: string) =>
    /\d/.test(a) && /\d/.test(b) ? `${a} to ${b}` : `${a}, ${b}`);
  t = t.replace(/…/g, "...").replace(/[•·]/g, ", ");
  t = t.replace(/×/g, " times ").replace(/÷/g, " divided by ").replace(/±/g, " plus or minus ");
  t = t.replace(/©/g, " copyright ").replace(/®/g, " ").replace(/™/g, " ").replace(/§/g, " section ");
  t = t.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  t = t.replace(/[^\x20-\x7e\n\t]/g, " ");

  // Web addresses.
  t = t.replace(/\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/g, (m) => m.replace(/@/, " at ").replace(/\./g, " dot "));
  t = t.replace(/\b(?:https?:\/\/)?(?:www\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|ai|dev|edu|gov|co|uk|de|app))(?![\w-])(?:\/[^\s]*)?/gi,
    (_m, host: string) => host.replace(/\./g, " dot "));

  // Abbreviations and dates.
  for (const [re, words] of ABBREVIATIONS) t = t.replace(re, words);
  for (const [abbr, month] of MONTH_ABBREVIATIONS) {
    t = t.replace(new RegExp(`\\b${abbr}\\.?(?=\\s+\\d)`, "g"), month);
    t = t.replace(new RegExp(`(\\d)\\s+${abbr}\\b\\.?`, "g"), `$1 ${month}`);
  }
  t = t.replace(/\b(\d{1,2})\/(\d{1,2})\/(\d{4})\b/g, (m, mo: string, d: string, y: string) => {
    const month = MONTHS[Number(mo) - 1];
    return month && Number(d) >= 1 && Number(d) <= 31 ? `${month} ${ordinal(Number(d))}, ${y}` : m.replace(/\//g, " ");
  });
  t = t.replace(/\b(\d+)\/(\d+)\b/g, (m, a: string, b: string) => FRACTIONS[m] ?? `${a} over ${b}`);
  t = t.replace(/(\d)\s*([ap])\.?m\.?(?=[\s,.!?;:]|$)/gi, (_m, d: string, ap: string) => `${d} ${ap.toUpperCase()} M`);

  // Decades: 1990s, '90s, 90s.
  t = t.replace(/\b(\d{2})(\d)0'?s\b/g, (_m, century: string, d: string) =>
    d === "0" && century.endsWith("0") ? `${century}00s` : `${century} ${DECADES[d]}`);
  t = t.replace(/\b(\d{2})00s\b/g, (_m, c: string) => (c.endsWith("0") ? `${Number(c) / 10} thousands` : `${c} hundreds`));
  t = t.replace(/(^|[\s(])'?([1-9])0'?s\b/g, (_m, pre: string, d: string) => `${pre}${DECADES[d]}`);

  // Symbols.
  t = t.replace(/\s*&\s*/g, " and ").replace(/\s@\s/g, " at ").replace(/#\s?(\d)/g, "number $1").replace(/#/g, " ");
  t = t.replace(/(\d)\s*\+\s*(\d)/g, "$1 plus $2").replace(/\+(\d)/g, "plus $1").replace(/\+/g, " plus ");
  t = t.replace(/(\w)\s*=\s*(\w)/g, "$1 equals $2").replace(/=/g, " ");
  t = t.replace(/([a-z])\/([a-z])/gi, "$1 $2");
  t = t.replace(/[<>{}[\]|\\^~_*]/g, " ").replace(/[()]/g, ", ");

  // Initialisms Flite would read as a word ("AI" -> "eye").
  t = t.replace(/\b([A-Z])([A-Z])\b/g, (m, a: string, b: string) => (CAPITAL_WORDS.has(m) ? m : `${a} ${b}`));

  // Tidy punctuation and spaces.
  t = t.replace(/\.{2,}/g, ",").replace(/([,;:])(\s*[,;:])+/g, "$1").replace(/^[\s,;:]+/gm, "");
  t = t.replace(/[ \t]+/g, " ").replace(/ +([,.!?;:])/g, "$1").replace(/ *\n */g, "\n");
  return t.trim();
}

function ordinal(n: number): string {
  const rem100 = n % 100;
  const suffix = rem100 >= 11 && rem100 <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] ?? "th";
  return `${n}${suffix}`;
}

const segmenter = new Intl.Segmenter("en", { granularity: "sentence" });
const TITLE_AT_END = /\b(?:Mr|Mrs|Ms|Dr|St|Mt|Rev|Gen|Sgt|Capt|Col|Lt|Gov|Sen|Rep|Hon|Fr)\.$/;


/**
 * Normalizes `text` and cuts it into chunks of at most MAX_CHUNK_CHARS: whole sentences of one paragraph
 * (lines are sentences too), long sentences cut at the last comma or space before the limit.
 * Chunks with nothing to say (only punctuation) are dropped.
 */
export function chunkText(text: string): TextChunk[] {
  const chunks: TextChunk[] = [];
  const paragraphs = text.split(/\n\s*\n/);
  for (const paragraph of paragraphs) {
    const sentences: string[] = [];
    for (const line of normalizeText(paragraph).split("\n")) {
      const mine: string[] = [];
      let pending = "";
      for (const { segment } of segmenter.segment(line)) {
        const s = `${pending} ${segment}`.trim();
        // ICU ends a sentence after "Mr." or "Dr."; keep such a title with the name that follows.
        if (TITLE_AT_END.test(s)) {
          pending = s;
          continue;
        }
        pending = "";
        if (/^[a-z]/.test(segment.trim()) && mine.length && !/[!?]["')]*$/.test(mine[mine.length - 1])) {
          mine[mine.length - 1] += ` ${s}`;
        } else if (/[a-z0-9]/i.test(s)) mine.push(s);
      }
      if (/[a-z0-9]/i.test(pending)) mine.push(pending);
      // A line without closing punctuation (a title, a list item) still ends a sentence.
      if (mine.length && !/[.!?;:]["')]*$/.test(mine[mine.length - 1])) mine[mine.length - 1] += ".";
      sentences.push(...mine);
    }
    const pieces = sentences.flatMap(splitLong);
    let current = "";
    for (const piece of pieces) {
      if (current && current.length + 1 + piece.length > MAX_CHUNK_CHARS) {
        chunks.push({ text: current, pauseAfter: SENTENCE_PAUSE });
        current = "";
      }
      current = current ? `${current} ${piece}` : piece;
    }
    if (current) chunks.push({ text: current, pauseAfter: PARAGRAPH_PAUSE });
  }
  if (chunks.length) chunks[chunks.length - 1].pauseAfter = 0;
  return chunks;
}

function splitLong(sentence: string): string[] {
  const out: string[] = [];
  let rest = sentence;
  while (rest.length > MAX_CHUNK_CHARS) {
    const window = rest.slice(0, MAX_CHUNK_CHARS);
    let cut = Math.max(window.lastIndexOf(", "), window.lastIndexOf("; "), window.lastIndexOf(": "));
    if (cut < MAX_CHUNK_CHARS / 3) cut = window.lastIndexOf(" ");
    if (cut <= 0) cut = MAX_CHUNK_CHARS - 1;
    out.push(rest.slice(0, cut + 1).trim());
    rest = rest.slice(cut + 1).trim();
  }
  if (/[a-z0-9]/i.test(rest)) out.push(rest);
  return out;
}
