/**
 * One person, one voice: fal-ai/ai-avatar and fal-ai/infinitalk (an audio file), fal-ai/ai-avatar/single-text
 * and fal-ai/infinitalk/single-text (text spoken with one of the 20 voices; the exact phoneme timings drive the
 * mouth). The largest face speaks; without a face the picture is not animated (a warning in the logs).
 */
import { ACCELERATIONS, FPS, RESOLUTIONS, VOICES, type VoiceName } from "../api/endpoints.js";
import type { EngineJob } from "./engine.js";
import { int, maxNumFrames, oneOf, str } from "./input.js";
import { framesFor, speakTrack } from "./speech.js";
import { allOrAbort, chooseSeed, fetchFile, prepareImage, prepareTrack, renderAndEncode, storeVideo, type KindRunner } from "./steps.js";

/** The inputs every endpoint shares. */
export function commonInput(input: Record<string, unknown>) {
  return {
    numFrames: int(input, "num_frames"),
    resolution: oneOf(input, "resolution", RESOLUTIONS, "480p"),
    acceleration: oneOf(input, "acceleration", ACCELERATIONS, "regular"),
    prompt: typeof input.prompt === "string" ? input.prompt : "",
    seed: chooseSeed(input),
  };
}

/** A voice field: required (no default) unless `def` is given. */
export function voiceOf(input: Record<string, unknown>, field: string, def?: VoiceName): VoiceName {
  if (input[field] === undefined && def === undefined) str(input, field); // throws "missing"
  return oneOf<VoiceName>(input, field, VOICES, def ?? "Aria");
}

/** fal-ai/ai-avatar and fal-ai/infinitalk: one picture, one audio track. */
export const runSingleAudio: KindRunner = async (env, job, request) => {
  const input = request.input;
  const imageUrl = str(input, "image_url");
  const audioUrl = str(input, "audio_url");
  const { numFrames, resolution, acceleration, prompt, seed } = commonInput(input);

  const [imageFile, audioFile] = await allOrAbort(job.controller, [
    () => fetchFile(env, job, imageUrl, "image_url"),
    () => fetchFile(env, job, audioUrl, "audio_url"),
  ] as const);
  const [picture, audio] = await allOrAbort(job.controller, [
    () => prepareImage(env, job, imageFile.path, "image_url", resolution),
    () => prepareTrack(env, job, audioFile.path, "audio_url", numFrames, FPS),
  ] as const);

  const engineJob: EngineJob = {
    image: picture.image,
    faces: picture.faces,
    tracks: [{ pcm: audio.pcm, faceIndex: picture.faces.length > 0 ? 0 : null }],
    numFrames,
    fps: FPS,
    seed,
    prompt,
    acceleration,
  };
  const encoded = await renderAndEncode(env, job, engineJob, audio.muxPath);
  const video = await storeVideo(env, job, encoded.outPath);
  return { video, seed };
};

/**
 * fal-ai/ai-avatar/single-text and fal-ai/infinitalk/single-text: the text is spoken with `voice`; the video's
 * sound is that speech, trimmed or padded to num_frames / 25 s, and its phoneme timings drive the mouth.
 */
export const runSingleText: KindRunner = async (env, job, request) => {
  const input = request.input;
  const imageUrl = str(input, "image_url");
  const text = str(input, "text_input");
  const voice = voiceOf(input, "voice");
  const { numFrames, resolution, acceleration, prompt, seed } = commonInput(input);

  const [picture, spoken] = await allOrAbort(job.controller, [
    async () => prepareImage(env, job, (await fetchFile(env, job, imageUrl, "image_url")).path, "image_url", resolution),
    () => speakTrack(env, job, { text, voice, field: "text_input", voiceField: "voice" }, numFrames),
  ] as const);
  const videoSec = numFrames / FPS;
  if (spoken.speechSec > videoSec + 1e-6) {
    job.ctx.log(tooLongMessage(`the speech of text_input lasts ${spoken.speechSec.toFixed(2)} s`, numFrames,
      framesFor(spoken.speechSec), maxNumFrames(request.endpoint), "text_input"), "warn");
  }

  const engineJob: EngineJob = {
    image: picture.image,
    faces: picture.faces,
    tracks: [{ pcm: spoken.audio.pcm, faceIndex: picture.faces.length > 0 ? 0 : null, phonemes: spoken.phonemes }],
    numFrames,
    fps: FPS,
    seed,
    prompt,
    acceleration,
  };
  const encoded = await renderAndEncode(env, job, engineJob, spoken.audio.muxPath);
  const video = await storeVideo(env, job, encoded.outPath);
  return { video, seed };
};

/** "<what>, but num_frames N makes S s: the end is cut; num_frames M would fit it" (+ the endpoint's limit). */
export function tooLongMessage(what: string, numFrames: number, needed: number, max: number | undefined, shorten: string): string {
  const base = `${what}, but num_frames ${numFrames} makes ${(numFrames / FPS).toFixed(2)} s: the end is cut`;
  if (max !== undefined && needed > max) {
    return `${base}; it needs ${needed} frames, more than this endpoint's limit of ${max} (${(max / FPS).toFixed(2)} s): shorten ${shorten}`;
  }
  return `${base}; num_frames ${needed} would fit it`;
}
