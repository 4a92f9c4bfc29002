/**
 * Two people in one picture take turns: fal-ai/ai-avatar/multi (two audio files) and fal-ai/ai-avatar/multi-text
 * (two texts, two voices). See conversation.ts for the rules (who is person 1, when person 2 speaks) and
 * docs/conversations.md for the users' side.
 *
 * Every voice track handed to the engine spans the whole video (silence outside its turn), so the motion stage
 * sees when each person speaks and turns the other toward them; the muxed sound is both turns mixed.
 */
import path from "node:path";
import { FPS, type VoiceName } from "../api/endpoints.js";
import type { Box } from "../face/types.js";
import { MUX_SAMPLE_RATE, samplesForFrames, type PreparedAudio } from "../media/audio.js";
import { runProcess } from "../media/ffmpeg.js";
import { mapBox, type FitTransform } from "../media/image.js";
import type { PhonemeTiming } from "../motion/types.js";
import { addPcm, bindPeople, buildTurnMixArgs, planSecondTurn, shiftPcm, voicedSpan, type PeopleBinding } from "./conversation.js";
import type { EngineJob, VoiceTrack } from "./engine.js";
import { bool, maxNumFrames, optionalBox, optionalStr, str } from "./input.js";
import { commonInput, tooLongMessage, voiceOf } from "./single.js";
import { fitPhonemes, framesFor, offsetPhonemes, speakTrack } from "./speech.js";
import {
  allOrAbort, fetchFile, prepareImage, prepareTrack, renderAndEncode, storeVideo, timed,
  type JobScope, type KindRunner, type PreparedImage, type StepEnv,
} from "./steps.js";
import type { RunRequest } from "./types.js";

/** One person's line, prepared: exact-length audio from t = 0 of its own, where its voice is, its phonemes. */
export interface Turn {
  field: string;
  audio: PreparedAudio;
  /** First and last sound (seconds from the track's own start). */
  voicedFrom: number;
  voicedTo: number;
  /** Phoneme timings from the track's own start (text turns). */
  phonemes?: PhonemeTiming[];
}

interface ConversationInput {
  numFrames: number;
  seed: number;
  prompt: string;
  acceleration: EngineJob["acceleration"];
  boxes: { person1?: Box; person2?: Box };
}

function personBoxes(input: Record<string, unknown>) {
  return { person1: optionalBox(input, "person1_box"), person2: optionalBox(input, "person2_box") };
}

function priorityBoxes(boxes: { person1?: Box; person2?: Box }): Box[] {
  return [boxes.person1, boxes.person2].filter((b): b is Box => b !== undefined);
}

/** fal-ai/ai-avatar/multi: first_audio_url, then second_audio_url (unless absent or use_only_first_audio). */
export const runMultiAudio: KindRunner = async (env, job, request) => {
  const input = request.input;
  const imageUrl = str(input, "image_url");
  const firstUrl = str(input, "first_audio_url");
  const secondUrl = optionalStr(input, "second_audio_url");
  const onlyFirst = bool(input, "use_only_first_audio", false);
  const common = commonInput(input);
  const boxes = personBoxes(input);
  if (onlyFirst && secondUrl) job.ctx.log("use_only_first_audio: second_audio_url is not used");
  const useSecond = !onlyFirst && secondUrl !== undefined;

  const prepareTurn = async (url: string, field: string): Promise<Turn> => {
    const file = await fetchFile(env, job, url, field);
    const audio = await prepareTrack(env, job, file.path, field, common.numFrames, FPS);
    const span = voicedSpan(audio.pcm);
    if (span.to <= span.from) job.ctx.log(`${field} is silent`, "warn");
    // The voice may go on past the video's end: then its real end is unknown here, and later than the video.
    const runsOn = audio.source.durationSec > common.numFrames / FPS && span.to >= common.numFrames / FPS - 0.02;
    return { field, audio, voicedFrom: span.from, voicedTo: runsOn ? audio.source.durationSec : span.to };
  };
  const [picture, first, second] = await allOrAbort(job.controller, [
    async () => prepareImage(env, job, (await fetchFile(env, job, imageUrl, "image_url")).path, "image_url",
      common.resolution, priorityBoxes(boxes), { keepLargest: 2 }),
    () => prepareTurn(firstUrl, "first_audio_url"),
    async () => (useSecond ? prepareTurn(secondUrl!, "second_audio_url") : undefined),
  ] as const);
  return converse(env, job, request, picture, second ? [first, second] : [first], { ...common, boxes });
};

/** fal-ai/ai-avatar/multi-text: first_text_input spoken with voice1, then second_text_input with voice2. */
export const runMultiText: KindRunner = async (env, job, request) => {
  const input = request.input;
  const imageUrl = str(input, "image_url");
  const texts = [str(input, "first_text_input"), str(input, "second_text_input")] as const;
  const voices: [VoiceName, VoiceName] = [voiceOf(input, "voice1", "Sarah"), voiceOf(input, "voice2", "Roger")];
  const common = commonInput(input);
  const boxes = personBoxes(input);

  const speak = async (k: 0 | 1): Promise<Turn> => {
    const field = k === 0 ? "first_text_input" : "second_text_input";
    const spoken = await speakTrack(env, job, { text: texts[k], voice: voices[k], field, voiceField: `voice${k + 1}` }, common.numFrames);
    return {
      field,
      audio: spoken.audio,
      voicedFrom: spoken.voicedFrom,
      voicedTo: spoken.voicedTo,
      phonemes: spoken.phonemes,
    };
  };
  const [picture, first, second] = await allOrAbort(job.controller, [
    async () => prepareImage(env, job, (await fetchFile(env, job, imageUrl, "image_url")).path, "image_url",
      common.resolution, priorityBoxes(boxes), { keepLargest: 2 }),
    () => speak(0),
    () => speak(1),
  ] as const);
  return converse(env, job, request, picture, [first, second], { ...common, boxes });
};

/** Source pixels of a frame box, as "[x, y, w, h]". */
function inSource(box: Box, t: FitTransform): string {
  const b = [(box.x + t.offsetX) / t.scale, (box.y + t.offsetY) / t.scale, box.width / t.scale, box.height / t.scale];
  return `[${b.map(Math.round).join(", ")}]`;
}

/** Binds people to faces, places the turns, renders and stores. */
async function converse(env: StepEnv, job: JobScope, request: RunRequest, picture: PreparedImage, turns: Turn[],
  input: ConversationInput): Promise<{ video: Awaited<ReturnType<typeof storeVideo>>; seed: number }> {
  const { numFrames } = input;
  const videoSec = numFrames / FPS;
  const t = picture.transform;
  const mapped = {
    person1: input.boxes.person1 && mapBox(input.boxes.person1, t),
    person2: input.boxes.person2 && mapBox(input.boxes.person2, t),
  };
  const people = bindPeople(picture.faces, mapped, (b) => inSource(b, t));
  logPeople(job, picture, people, turns.length);

  // Turns: person 1 from the start, person 2 after person 1's last sound and a short gap.
  const offsets = [0];
  if (turns.length === 2) offsets.push(planSecondTurn(turns[0].voicedTo, turns[1].voicedFrom));
  const spans = turns.map((turn, k) => ({ from: turn.voicedFrom + offsets[k], to: turn.voicedTo + offsets[k] }));
  job.ctx.log(`turns: ${spans.map((s, k) => `person ${k + 1} speaks ${s.from.toFixed(2)}-${s.to.toFixed(2)} s`).join(", ")}` +
    ` of ${videoSec.toFixed(2)} s`);
  const end = Math.max(...spans.map((s) => s.to));
  if (end > videoSec + 0.02) {
    const late = turns.length === 2 && spans[1].from >= videoSec;
    const what = late
      ? `person 2's turn would start at ${spans[1].from.toFixed(2)} s, after the video's end, so ${turns[1].field} is not heard`
      : `the conversation lasts ${end.toFixed(2)} s`;
    job.ctx.log(tooLongMessage(what, numFrames, framesFor(end), maxNumFrames(request.endpoint),
      turns.length === 2 ? `${turns[0].field} or ${turns[1].field}` : turns[0].field), "warn");
  }

  // Voice tracks over the whole video, each bound to its person's face.
  const pcms = turns.map((turn, k) => shiftPcm(turn.audio.pcm, offsets[k]));
  const phonemes = turns.map((turn, k) => turn.phonemes && offsetPhonemes(turn.phonemes, offsets[k], videoSec));
  const faceOf = [people.person1, people.person2];
  let tracks: VoiceTrack[];
  if (turns.length === 2 && people.person1 === people.person2) {
    // One face speaks both turns: one track, with both phoneme runs (turn 1's cut where turn 2 begins).
    const merged = phonemes[0] && phonemes[1]
      ? [...fitPhonemes(phonemes[0], offsets[1]), ...phonemes[1].filter((p) => p.end > offsets[1])]
      : undefined;
    tracks = [{ pcm: addPcm(pcms[0], pcms[1]), faceIndex: people.person1, phonemes: merged }];
  } else {
    tracks = turns.map((_, k) => ({ pcm: pcms[k], faceIndex: faceOf[k], phonemes: phonemes[k] }));
  }

  const muxPath = turns.length === 1 ? turns[0].audio.muxPath : await mixTurns(env, job, turns, offsets, numFrames);
  const engineJob: EngineJob = {
    image: picture.image,
    faces: picture.faces,
    tracks,
    numFrames,
    fps: FPS,
    seed: input.seed,
    prompt: input.prompt,
    acceleration: input.acceleration,
  };
  const encoded = await renderAndEncode(env, job, engineJob, muxPath);
  const video = await storeVideo(env, job, encoded.outPath);
  return { video, seed: input.seed };
}

function logPeople(job: JobScope, picture: PreparedImage, people: PeopleBinding, turnCount: number): void {
  const { faces, transform: t } = picture;
  const where = (i: number) => `the face at ${inSource(faces[i].box, t)}`;
  if (people.person1 === people.person2) {
    job.ctx.log(faces.length === 1
      ? `only one face was found: it speaks ${turnCount === 2 ? "both tracks" : "the first track"} (${where(0)})`
      : `person1_box and person2_box select the same face: it speaks both tracks (${where(people.person1)})`, "warn");
  } else {
    const listener = turnCount === 1 ? " (listens: there is no second track)" : "";
    job.ctx.log(`people (${people.rule}): person 1 (track 1) is ${where(people.person1)}, ` +
      `person 2 (track 2) is ${where(people.person2)}${listener}; boxes in input-image pixels`);
  }
  const others = faces.length - new Set([people.person1, people.person2]).size;
  if (others > 0) job.ctx.log(`${others} other face(s) in the picture listen without moving their mouths`);
}

/** Mixes the turns' mux WAVs, each at its offset, into one stereo WAV of exactly the video's length. */
async function mixTurns(env: StepEnv, job: JobScope, turns: Turn[], offsets: number[], numFrames: number): Promise<string> {
  const out = path.join(job.dir, "conversation-mux.wav");
  const rate = MUX_SAMPLE_RATE;
  await timed(job, "mix turns", () => runProcess(env.bins.ffmpeg,
    buildTurnMixArgs(turns.map((turn, k) => ({ path: turn.audio.muxPath, offsetSec: offsets[k] })), out,
      samplesForFrames(numFrames, FPS, rate), rate),
    { label: "ffmpeg (audio mix)", signal: job.ctx.signal }));
  return out;
}
