/**
 * The seven fal avatar endpoints: ids, input schemas (names, defaults, enums and ranges exactly as
 * ../shared/seeds gives them, with the contradictions settled as its README says) and the output schema.
 *
 * @example
 *   const endpoint = findEndpoint("fal-ai/ai-avatar");
 *   const input = endpoint.input.parse(body); // throws z.ZodError with loc/msg per field
 */
import { z } from "zod";

export const VOICES = [
  "Aria", "Roger", "Sarah", "Laura", "Charlie", "George", "Callum", "River", "Liam", "Charlotte",
  "Alice", "Matilda", "Will", "Jessica", "Eric", "Chris", "Brian", "Daniel", "Lily", "Bill",
] as const;
export type VoiceName = (typeof VOICES)[number];

export const RESOLUTIONS = ["480p", "720p"] as const;
export type Resolution = (typeof RESOLUTIONS)[number];
export const ACCELERATIONS = ["none", "regular", "high"] as const;
export type Acceleration = (typeof ACCELERATIONS)[number];

/** Video frame rate of every endpoint: num_frames / FPS is the video's length in seconds. */
export const FPS = 25;

const IMAGE_URL = z.string().min(1).describe(
  "URL of the input image. If the input image does not match the chosen aspect ratio, it is resized and center cropped.",
);
const AUDIO_URL = z.string().min(1).describe("The URL of the audio file.");
const PROMPT = z.string().describe("The text prompt to guide video generation.");
const TEXT_INPUT = z.string().min(1).max(5000).describe("The text input to guide video generation.");

function numFrames(def: number, max: number) {
  return z.number().int().min(41).max(max).default(def).describe(
    `Number of frames to generate, at ${FPS} frames per second (${41}..${max}). Default value: ${def}`,
  );
}
const resolution = () =>
  z.enum(RESOLUTIONS).default("480p").describe("Resolution of the video to generate. Must be either 480p or 720p.");
const seed = (def: number) =>
  z.number().int().min(0).max(4294967295).default(def).describe(
    "Random seed for reproducibility. If None, a random seed is chosen.",
  );
const acceleration = () =>
  z.enum(ACCELERATIONS).default("regular").describe("The acceleration level to use for generation.");
const voice = (description: string) => z.enum(VOICES).describe(description);

/** Mouthpiece's extension beyond fal: bind a track to a face by its box in source-image pixels. */
const personBox = (n: 1 | 2) =>
  z.tuple([z.number().min(0), z.number().min(0), z.number().positive(), z.number().positive()])
    .optional()
    .describe(`Mouthpiece extension: [x, y, width, height] in source-image pixels of the face that speaks track ${n}.`);

export const AvatarSingleAudioRequest = z.object({
  image_url: IMAGE_URL,
  audio_url: AUDIO_URL,
  prompt: PROMPT,
  num_frames: numFrames(145, 241),
  resolution: resolution(),
  seed: seed(42),
  acceleration: acceleration(),
});

export const AvatarMultiAudioPersonRequest = z.object({
  image_url: IMAGE_URL,
  first_audio_url: AUDIO_URL.describe("The URL of the Person 1 audio file."),
  second_audio_url: AUDIO_URL.optional().describe("The URL of the Person 2 audio file."),
  prompt: PROMPT,
  num_frames: numFrames(181, 241),
  resolution: resolution(),
  seed: seed(81),
  use_only_first_audio: z.boolean().default(false).describe("Whether to use only the first audio file."),
  acceleration: acceleration(),
  person1_box: personBox(1),
  person2_box: personBox(2),
});

export const AvatarSingleTextRequest = z.object({
  image_url: IMAGE_URL,
  text_input: TEXT_INPUT,
  voice: voice("The voice to use for speech generation"),
  prompt: PROMPT,
  num_frames: numFrames(136, 241),
  resolution: resolution(),
  seed: seed(42),
  acceleration: acceleration(),
});

export const AvatarMultiTextRequest = z.object({
  image_url: IMAGE_URL,
  first_text_input: TEXT_INPUT,
  second_text_input: TEXT_INPUT,
  voice1: voice("The first person's voice to use for speech generation").default("Sarah"),
  voice2: voice("The second person's voice to use for speech generation").default("Roger"),
  prompt: PROMPT,
  num_frames: numFrames(191, 241),
  resolution: resolution(),
  seed: seed(81),
  acceleration: acceleration(),
  person1_box: personBox(1),
  person2_box: personBox(2),
});

export const InfiniTalkSingleAudioRequest = z.object({
  image_url: IMAGE_URL,
  audio_url: AUDIO_URL,
  prompt: PROMPT,
  num_frames: numFrames(145, 721),
  resolution: resolution(),
  seed: seed(42),
  acceleration: acceleration(),
});

export const InfiniTalkSingleTextRequest = z.object({
  image_url: IMAGE_URL,
  text_input: TEXT_INPUT,
  voice: voice("The voice to use for speech generation"),
  prompt: PROMPT,
  num_frames: numFrames(145, 721),
  resolution: resolution(),
  seed: seed(42),
  acceleration: acceleration(),
});

export const InfiniTalkVideoToVideoRequest = z.object({
  video_url: z.string().min(1).describe("URL of the input video."),
  audio_url: AUDIO_URL,
  prompt: PROMPT,
  num_frames: numFrames(145, 721),
  resolution: resolution(),
  seed: seed(42),
  acceleration: acceleration(),
});

export const FileOutput = z.object({
  url: z.string().describe("The URL where the file can be downloaded from."),
  content_type: z.string().optional().describe("The mime type of the file."),
  file_name: z.string().optional().describe("The name of the file. It will be auto-generated if not provided."),
  file_size: z.number().int().optional().describe("The size of the file in bytes."),
});
export type FileOutput = z.infer<typeof FileOutput>;

export const VideoOutput = z.object({
  video: FileOutput.describe("The generated video file."),
  seed: z.number().int().describe("The seed used for generation."),
});
export type VideoOutput = z.infer<typeof VideoOutput>;

export type AvatarSingleAudioInput = z.infer<typeof AvatarSingleAudioRequest>;
export type AvatarMultiAudioInput = z.infer<typeof AvatarMultiAudioPersonRequest>;
export type AvatarSingleTextInput = z.infer<typeof AvatarSingleTextRequest>;
export type AvatarMultiTextInput = z.infer<typeof AvatarMultiTextRequest>;
export type VideoToVideoInput = z.infer<typeof InfiniTalkVideoToVideoRequest>;

/** The kind of work an endpoint does; the pipeline dispatches on it. */
export type EndpointKind = "single-audio" | "multi-audio" | "single-text" | "multi-text" | "video-to-video";

export interface EndpointDef {
  id: string;
  title: string;
  kind: EndpointKind;
  /** The fal model family: ai-avatar (MultiTalk, up to 241 frames) or infinitalk (up to 721 frames). */
  family: "ai-avatar" | "infinitalk";
  input: z.ZodObject;
  /** Input fields that carry a file URL (uploads, data URIs, storage URLs). */
  fileFields: readonly string[];
}

export const ENDPOINTS: readonly EndpointDef[] = [
  {
    id: "fal-ai/ai-avatar", title: "AI Avatar (image + audio)", kind: "single-audio", family: "ai-avatar",
    input: AvatarSingleAudioRequest, fileFields: ["image_url", "audio_url"],
  },
  {
    id: "fal-ai/ai-avatar/multi", title: "AI Avatar: two people, two audio tracks", kind: "multi-audio",
    family: "ai-avatar", input: AvatarMultiAudioPersonRequest,
    fileFields: ["image_url", "first_audio_url", "second_audio_url"],
  },
  {
    id: "fal-ai/ai-avatar/single-text", title: "AI Avatar (image + text)", kind: "single-text",
    family: "ai-avatar", input: AvatarSingleTextRequest, fileFields: ["image_url"],
  },
  {
    id: "fal-ai/ai-avatar/multi-text", title: "AI Avatar: two people, two texts", kind: "multi-text",
    family: "ai-avatar", input: AvatarMultiTextRequest, fileFields: ["image_url"],
  },
  {
    id: "fal-ai/infinitalk", title: "InfiniTalk (image + audio, long)", kind: "single-audio",
    family: "infinitalk", input: InfiniTalkSingleAudioRequest, fileFields: ["image_url", "audio_url"],
  },
  {
    id: "fal-ai/infinitalk/single-text", title: "InfiniTalk (image + text, long)", kind: "single-text",
    family: "infinitalk", input: InfiniTalkSingleTextRequest, fileFields: ["image_url"],
  },
  {
    id: "fal-ai/infinitalk/video-to-video", title: "InfiniTalk video-to-video (re-lip-sync)",
    kind: "video-to-video", family: "infinitalk", input: InfiniTalkVideoToVideoRequest,
    fileFields: ["video_url", "audio_url"],
  },
];

export function findEndpoint(id: string): EndpointDef | undefined {
  return ENDPOINTS.find((e) => e.id === id);
}
