/**
 * The 20 voices of fal's text endpoints (ElevenLabs' premade voices), spoken offline by Flite.
 *
 * Each voice is one of Flite's built-in voices with its own pitch, pace, intonation range and formant
 * scale. The formant scale k resizes the vocal tract: the Flite output is declared at k times its sample
 * rate (a shorter/longer tract: every formant, the pitch and the pace scale by k), and Flite is asked for
 * pitch / k and pace / k up front, so pitch and pace come out as set and only the timbre moves.
 * See docs/voices.md for how these were chosen and measured.
 */
import { VOICES, type VoiceName } from "../api/endpoints.js";
import { FLITE_VOICE_F0, type FliteVoice } from "./flite.js";

export type VoiceGender = "female" | "male" | "neutral";

export interface VoiceSettings {
  /** Flite's built-in voice: slt (US female), rms (US male), awb (Scottish male), kal16 (US male, diphone). */
  base: FliteVoice;
  /**
   * Target mean F0 in Hz as heard. Absent for rms, whose F0 Flite cannot move: it is then the base voice's
   * own F0 times the formant scale (see nominalPitch).
   */
  pitch?: number;
  /** Standard deviation of F0 in Hz as heard: how lively the intonation is. */
  pitchRange: number;
  /** Speaking rate relative to the base voice's own pace (1.1 = 10% faster). */
  rate: number;
  /** Formant (vocal tract) scale: above 1 a smaller, brighter voice; below 1 a larger, darker one. */
  formant: number;
}

export interface VoiceInfo {
  name: VoiceName;
  gender: VoiceGender;
  /** The accent of the ElevenLabs voice this one stands in for. */
  accent: string;
  /** What Mouthpiece's offline voice actually sounds like (the nearest accent Flite has). */
  spokenAccent: string;
  description: string;
  engine: "flite";
  settings: VoiceSettings;
  /** The ElevenLabs premade voice's id, used when an ElevenLabs key is configured. */
  elevenLabsId: string;
}

type Row = [VoiceName, VoiceGender, string, string, string, VoiceSettings, string];

const v = (base: FliteVoice, pitch: number | undefined, pitchRange: number, rate: number, formant: number): VoiceSettings =>
  (pitch === undefined ? { base, pitchRange, rate, formant } : { base, pitch, pitchRange, rate, formant });

/** The mean F0 a voice is set to sound at (Hz): its pitch, or its base voice's own F0 moved by the formant scale. */
export function nominalPitch(settings: VoiceSettings): number {
  return settings.pitch ?? Math.round(FLITE_VOICE_F0[settings.base].own * settings.formant);
}

// name, gender, accent, spoken accent, description, settings, ElevenLabs id
const ROWS: Row[] = [
  ["Aria", "female", "American", "American", "Middle-aged, calm, slightly husky", v("slt", 182, 26, 0.98, 0.96), "9BWtsMINqrJLrRacOk9x"],
  ["Roger", "male", "American", "American", "Middle-aged, confident", v("rms", undefined, 0, 1.0, 1.0), "CwhRBWXzGAHq8TQ4Fs17"],
  ["Sarah", "female", "American", "American", "Young, soft", v("slt", 198, 28, 0.94, 1.0), "EXAVITQu4vr4xnSDxMaL"],
  ["Laura", "female", "American", "American", "Young, upbeat", v("slt", 210, 36, 1.0, 1.02), "FGY2WhTYpPnrIDTdsKH5"],
  ["Charlie", "male", "Australian", "Scottish (Flite awb, nearest non-American English)", "Young, natural, casual", v("awb", 124, 22, 1.04, 1.02), "IKne3meq5aSn9XLyUdCD"],
  ["George", "male", "British", "Scottish (Flite awb, nearest British English)", "Middle-aged, warm storyteller", v("awb", 106, 16, 0.94, 0.97), "JBFqnCBsd6RMkjVDRZzb"],
  ["Callum", "male", "Transatlantic", "American", "Middle-aged, intense, husky", v("rms", undefined, 0, 0.97, 0.96), "N2lVS1w4EtoT3dr4eOWO"],
  ["River", "neutral", "American", "American", "Gender-neutral, relaxed", v("slt", 157, 18, 0.96, 0.93), "SAz9YHcvj6GT2YYXdXww"],
  ["Liam", "male", "American", "American", "Young, articulate", v("rms", undefined, 0, 1.06, 1.1), "TX3LPaxmHKxFdv7VOQHJ"],
  ["Charlotte", "female", "Swedish", "American, with a sing-song Scandinavian melody", "Young, sultry, melodic", v("slt", 192, 46, 0.9, 0.97), "XB0fDUnXU5powFXDhCwa"],
  ["Alice", "female", "British", "American (Flite has no British female voice)", "Middle-aged, confident, clear", v("slt", 188, 22, 1.0, 0.99), "Xb7hH8MSUJpSbSDYk0k2"],
  ["Matilda", "female", "American", "American", "Middle-aged, warm, friendly", v("slt", 176, 24, 0.95, 0.94), "XrExE9yKIg1WjnnlVkGX"],
  ["Will", "male", "American", "American", "Young, friendly, optimistic", v("kal16", 122, 20, 1.0, 1.02), "bIHbv24MWmeRgasZH58o"],
  ["Jessica", "female", "American", "American", "Young, expressive, playful", v("slt", 216, 38, 0.97, 0.98), "cgSgspJ2msm6clMCkdW9"],
  ["Eric", "male", "American", "American", "Middle-aged, smooth, friendly", v("rms", undefined, 0, 0.96, 1.06), "cjVigY5qzO86Huf0OWal"],
  ["Chris", "male", "American", "American", "Middle-aged, casual, natural", v("kal16", 110, 18, 0.97, 1.0), "iP95p4xoKVk53GoZ742B"],
  ["Brian", "male", "American", "American", "Middle-aged, deep, resonant", v("rms", undefined, 0, 0.94, 0.92), "nPczCjzI2devNBz1zQrb"],
  ["Daniel", "male", "British", "Scottish (Flite awb, nearest British English)", "Middle-aged, authoritative newsreader", v("awb", 96, 14, 1.0, 0.99), "onwK4e9ZLuTAKqWW03F9"],
  ["Lily", "female", "British", "American (Flite has no British female voice)", "Middle-aged, warm, gentle", v("slt", 172, 20, 0.92, 0.96), "pFZP5JQG7iQjIQuC4Bku"],
  ["Bill", "male", "American", "American", "Old, trustworthy", v("kal16", 98, 14, 0.92, 0.96), "pqHfZKP75CvOlQylNhV4"],
];

export const VOICE_CATALOG: Readonly<Record<VoiceName, Readonly<VoiceInfo>>> = Object.freeze(
  Object.fromEntries(ROWS.map(([name, gender, accent, spokenAccent, description, settings, elevenLabsId]) => [
    name,
    Object.freeze({ name, gender, accent, spokenAccent, description, engine: "flite" as const, settings: Object.freeze(settings), elevenLabsId }),
  ])) as Record<VoiceName, VoiceInfo>,
);

/** The catalog as a list, in fal's order. */
export function listVoices(): VoiceInfo[] {
  return VOICES.map((name) => VOICE_CATALOG[name]);
}

export function isVoiceName(name: string): name is VoiceName {
  return (VOICES as readonly string[]).includes(name);
}
