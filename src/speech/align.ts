/**
 * Word timings from phone timings: which timed phones belong to which word.
 *
 * Flite prints timed phones but not where words start. We ask it separately for each word's phones
 * (the same lexicon and letter-to-sound rules) and align that sequence to the timed one with an edit-distance
 * alignment, so a few differences (post-lexical rules such as "the" -> "dh iy") do not shift the words.
 *
 * @example
 *   alignWords(["hello", "world"], [["hh","ax","l","ow"], ["w","er","l","d"]], timedPhones)
 *   // [{word: "hello", start: 0.16, end: 0.55}, {word: "world", start: 0.55, end: 1.03}]
 */

export interface TimedPhone {
  phone: string;
  start: number;
  end: number;
}

export interface WordTiming {
  word: string;
  start: number;
  end: number;
}

/**
 * Aligns words (each with its phone list) to `timed` phones (silences already removed).
 * Words whose phones align to nothing are left out.
 */
export function alignWords(words: string[], wordPhones: string[][], timed: TimedPhone[]): WordTiming[] {
  const a: { phone: string; word: number }[] = [];
  wordPhones.forEach((phones, w) => phones.forEach((phone) => a.push({ phone, word: w })));
  const b = timed.map((t) => t.phone);
  const n = a.length;
  const m = b.length;
  // Edit distance table, (n+1) x (m+1).
  const d = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = 0; i <= n; i++) d[at(i, 0)] = i;
  for (let j = 0; j <= m; j++) d[at(0, j)] = j;
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1].phone === b[j - 1] ? 0 : 1;
      d[at(i, j)] = Math.min(d[at(i - 1, j)] + 1, d[at(i, j - 1)] + 1, d[at(i - 1, j - 1)] + cost);
    }
  }
  // Walk back; every timed phone is given to a word (deleted timed phones go to the word of the nearest
  // kept neighbour), so words tile the speech without gaps inside a phrase.
  const owner = new Int32Array(m).fill(-1);
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0 && d[at(i, j)] === d[at(i - 1, j - 1)] + (a[i - 1].phone === b[j - 1] ? 0 : 1)) {
      owner[j - 1] = a[i - 1].word;
      i--;
      j--;
    } else if (i > 0 && d[at(i, j)] === d[at(i - 1, j)] + 1) {
      i--;
    } else {
      j--;
    }
  }
  for (let k = 1; k < m; k++) if (owner[k] < 0) owner[k] = owner[k - 1];
  for (let k = m - 2; k >= 0; k--) if (owner[k] < 0) owner[k] = owner[k + 1];

  const out: WordTiming[] = [];
  for (let w = 0; w < words.length; w++) {
    let first = -1;
    let last = -1;
    for (let k = 0; k < m; k++) {
      if (owner[k] !== w) continue;
      if (first < 0) first = k;
      last = k;
    }
    if (first >= 0) out.push({ word: words[w], start: timed[first].start, end: timed[last].end });
  }
  return out;
}
