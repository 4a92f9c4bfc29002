/** WAV encoding of PCM tracks (wavefile). */
import wavefile from "wavefile";
import type { Pcm } from "../media/types.js";

/** 16-bit mono WAV of a PCM track, at the track's own sample rate. */
export function encodeWav(pcm: Pcm): Buffer {
  const ints = new Int16Array(pcm.samples.length);
  for (let i = 0; i < ints.length; i++) ints[i] = Math.max(-32768, Math.min(32767, Math.round(pcm.samples[i] * 32767)));
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, pcm.sampleRate, "16", ints);
  return Buffer.from(wav.toBuffer());
}
