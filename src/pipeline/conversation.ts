/**
 * Conversations (fal-ai/ai-avatar/multi, .../multi-text), the pure parts: who is person 1 and person 2 in the
 * picture, when each one speaks, and the voice tracks and audio mix that follow. docs/conversations.md tells the
 * rules to users.
 *
 * - People: the two largest faces; person 1 is the left one, person 2 the right one. `person1_box` /
 *   `person2_box` (source pixels, mapped to the frame) bind a person to the face they overlap best (IoU).
 *   One face only: both people are that face.
 * - Turns: person 1 from 0 s, person 2 after person 1's last sound plus a short gap (TURN_GAP_SEC), placed so
 *   the gap is measured between the voices, whatever silence the files carry at their ends.
 *
 * @example
 *   const who = bindPeople(faces, { person1: mapBox(box, transform) }, describeBox);
 *   const at = planSecondTurn(first.voicedTo, second.voicedFrom);   // seconds, whole milliseconds
 *   const track2 = shiftPcm(second.pcm, at);
 */
import { InputError } from "../errors.js";
import type { Box, Face } from "../face/types.js";
import { exactLengthFilter } from "../media/audio.js";
import type { Pcm } from "../media/types.js";
import { iou } from "../face/landmarks.js";

/** The pause between one person's last sound and the other's first, seconds. */
export const TURN_GAP_SEC = 0.4;

// ---- people ----

export interface PeopleBinding {
  /** Indices into the faces list of the faces that speak track 1 and track 2 (equal when there is one face). */
  person1: number;
  person2: number;
  /** How they were chosen. */
  rule: "one face" | "two largest, left to right" | "person boxes";
}

const area = (b: Box) => b.width * b.height;
const centreX = (b: Box) => b.x + b.width / 2;

/**
 * Binds the two people to faces. `boxes` are in the faces' pixels (the frame); `describe` turns a frame box into
 * words for error messages (e.g. in source pixels). Throws InputError: no face at all (field image_url), a person
 * box that overlaps no face, or two boxes that can only select the same face. Pure.
 */
export function bindPeople(
  faces: readonly Face[],
  boxes: { person1?: Box; person2?: Box },
  describe: (box: Box) => string = (b) => `[${[b.x, b.y, b.width, b.height].map(Math.round).join(", ")}]`,
): PeopleBinding {
  if (faces.length === 0) {
    throw InputError.field("image_url",
      "no face was found in the picture: a conversation needs one or two people whose faces are visible; send a " +
      "sharper or larger picture with the faces turned toward the camera", "no_face");
  }
  const bySize = faces.map((_, i) => i).sort((a, b) => area(faces[b].box) - area(faces[a].box));
  const given = (["person1", "person2"] as const).filter((p) => boxes[p]);
  if (given.length === 0) {
    if (faces.length === 1) return { person1: 0, person2: 0, rule: "one face" };
    const [a, b] = bySize.slice(0, 2).sort((i, j) => centreX(faces[i].box) - centreX(faces[j].box));
    return { person1: a, person2: b, rule: "two largest, left to right" };
  }

  const found = () => faces.map((f) => describe(f.box)).join(", ");
  const overlaps: Partial<Record<"person1" | "person2", number[]>> = {};
  for (const p of given) {
    const o = faces.map((f) => iou(boxes[p]!, f.box));
    if (!o.some((v) => v > 0)) {
      throw InputError.field(`${p}_box`,
        `the box ${describe(boxes[p]!)} overlaps none of the faces found; faces were found at ${found()} ` +
        "([x, y, width, height] in pixels of the input image): give a box around one of them", "no_face_in_box");
    }
    overlaps[p] = o;
  }
  const best = (o: number[], except = -1) => o.reduce((bi, v, i) => (i !== except && (bi < 0 || v > o[bi]) ? i : bi), -1);

  if (faces.length === 1) return { person1: 0, person2: 0, rule: "person boxes" };
  if (overlaps.person1 && overlaps.person2) {
    const o1 = overlaps.person1;
    const o2 = overlaps.person2;
    let pick: [number, number] | null = null;
    let score = -1;
    for (let i = 0; i < faces.length; i++) {
      for (let j = 0; j < faces.length; j++) {
        if (i === j || o1[i] <= 0 || o2[j] <= 0) continue;
        if (o1[i] + o2[j] > score) {
          score = o1[i] + o2[j];
          pick = [i, j];
        }
      }
    }
    if (!pick) {
      throw InputError.field("person2_box",
        `person1_box and person2_box both select the face at ${describe(faces[best(o1)].box)}: give boxes around two ` +
        `different faces (found at ${found()})`, "same_face");
    }
    return { person1: pick[0], person2: pick[1], rule: "person boxes" };
  }
  // One box: that person gets the face it overlaps best, the other the largest remaining face.
  const only = given[0];
  const chosen = best(overlaps[only]!);
  const other = bySize.find((i) => i !== chosen) ?? chosen;
  return only === "person1"
    ? { person1: chosen, person2: other, rule: "person boxes" }
    : { person1: other, person2: chosen, rule: "person boxes" };
}

// ---- turns ----

export interface VoicedSpan {
  /** First and last moment (seconds) where the track is not silent; from >= to when it is silent throughout. */
  from: number;
  to: number;
}

/**
 * Where a track has sound: 10 ms windows whose RMS is within `rangeDb` of the loudest window's (and above an
 * absolute floor of -60 dBFS). Pure.
 */
export function voicedSpan(pcm: Pcm, options: { rangeDb?: number; windowSec?: number } = {}): VoicedSpan {
  const win = Math.max(1, Math.round(pcm.sampleRate * (options.windowSec ?? 0.01)));
  const windows = Math.ceil(pcm.samples.length / win);
  const rms = new Float32Array(windows);
  let peak = 0;
  for (let w = 0; w < windows; w++) {
    let s = 0;
    const from = w * win;
    const to = Math.min(pcm.samples.length, from + win);
    for (let i = from; i < to; i++) {
      const v = pcm.samples[i];
      if (Number.isFinite(v)) s += v * v;
    }
    rms[w] = Math.sqrt(s / Math.max(1, to - from));
    peak = Math.max(peak, rms[w]);
  }
  const threshold = Math.max(1e-3, peak * 10 ** (-(options.rangeDb ?? 30) / 20));
  let first = -1;
  let last = -1;
  for (let w = 0; w < windows; w++) {
    if (rms[w] >= threshold && peak > 1e-3) {
      if (first < 0) first = w;
      last = w;
    }
  }
  if (first < 0) return { from: 0, to: 0 };
  return { from: (first * win) / pcm.sampleRate, to: Math.min(pcm.samples.length, (last + 1) * win) / pcm.sampleRate };
}

/**
 * When the second track starts (seconds from the video's start, whole milliseconds, >= 0) so that its first sound
 * comes `gapSec` after the first track's last sound. A silent first track (voicedTo 0) lets the second start at
 * once. Pure.
 */
export function planSecondTurn(firstVoicedTo: number, secondVoicedFrom: number, gapSec = TURN_GAP_SEC): number {
  const gap = firstVoicedTo > 0 ? gapSec : 0;
  return Math.max(0, Math.round((firstVoicedTo + gap - secondVoicedFrom) * 1000) / 1000);
}

/** The track moved `offsetSec` later, same length (silence before it, its end cut). Pure. */
export function shiftPcm(pcm: Pcm, offsetSec: number): Pcm {
  const n = pcm.samples.length;
  const shift = Math.round(offsetSec * pcm.sampleRate);
  if (shift <= 0) return pcm;
  const out = new Float32Array(n);
  if (shift < n) out.set(pcm.samples.subarray(0, n - shift), shift);
  return { sampleRate: pcm.sampleRate, samples: out };
}

/** Two tracks of the same rate summed sample by sample (length of the longer). Pure. */
export function addPcm(a: Pcm, b: Pcm): Pcm {
  if (a.sampleRate !== b.sampleRate) throw new RangeError(`addPcm: rates differ (${a.sampleRate} vs ${b.sampleRate})`);
  const out = new Float32Array(Math.max(a.samples.length, b.samples.length));
  out.set(a.samples);
  for (let i = 0; i < b.samples.length; i++) out[i] += b.samples[i];
  return { sampleRate: a.sampleRate, samples: out };
}

/**
 * ffmpeg arguments that mix equal-length WAVs into one stereo 16-bit WAV of exactly `samples` samples at `rate`,
 * each input delayed by its offset (seconds; whole milliseconds are exact): every input is made stereo, delayed,
 * and the inputs are summed per side. Pure.
 */
export function buildTurnMixArgs(inputs: readonly { path: string; offsetSec: number }[], outPath: string, samples: number, rate: number): string[] {
  if (inputs.length < 2) throw new Error("mixing needs at least two inputs");
  const prep = inputs.map((input, i) => {
    const ms = Math.round(input.offsetSec * 1000);
    const delay = ms > 0 ? `,adelay=${ms}|${ms}` : "";
    return `[${i}:a:0]aresample=${rate},aformat=sample_fmts=fltp:channel_layouts=stereo${delay},apad[s${i}]`;
  });
  const merged = `${inputs.map((_, i) => `[s${i}]`).join("")}amerge=inputs=${inputs.length}`;
  const left = inputs.map((_, i) => `c${2 * i}`).join("+");
  const right = inputs.map((_, i) => `c${2 * i + 1}`).join("+");
  return [
    "-nostdin", "-hide_banner", "-v", "error",
    ...inputs.flatMap((f) => ["-i", f.path]),
    "-filter_complex", `${prep.join(";")};${merged},pan=stereo|c0=${left}|c1=${right},${exactLengthFilter(rate, samples)}[out]`,
    "-map", "[out]", "-c:a", "pcm_s16le", "-ar", String(rate), "-f", "wav", "-y", outPath,
  ];
}
