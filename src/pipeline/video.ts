/**
 * fal-ai/infinitalk/video-to-video: re-lip-sync (dub) a video to new audio.
 *
 * Two passes over the source, never the whole video in memory:
 *   1. decode (src/media/decode.ts: any container/codec, rotation, VFR → 25 fps frames of the output bucket) the
 *      first min(source, num_frames) frames; each goes to a raw frame cache file in the job dir (random access for
 *      the ping-pong) and to the face tracker (src/face/track.ts: key-frame detection, cuts, One Euro smoothing);
 *   2. num_frames output frames: source frame pingPongIndex(i) (forwards, backwards, forwards... never a jump cut)
 *      with its face re-lip-synced by the dubbing renderer (src/render/dub.ts) to the new audio's mouth curves,
 *      streamed into the encoder with the new audio as the sound.
 * Frames without a tracked face pass through untouched.
 */
import { open } from "node:fs/promises";
import path from "node:path";
import { FPS } from "../api/endpoints.js";
import { CancelledError, InputError, ProcessError } from "../errors.js";
import { FaceTracker, shiftFace, type FaceTrack, type TrackDetector } from "../face/track.js";
import type { Face } from "../face/types.js";
import { decodeVideoFrames, openVideoInput } from "../media/decode.js";
import { encodeVideo } from "../media/encode.js";
import type { RawImage } from "../media/types.js";
import { buildMotionTrack } from "../motion/index.js";
import type { MotionFrame } from "../motion/types.js";
import { DubRenderer, referenceScore } from "../render/dub.js";
import type { EngineFrame, FrameStream } from "./engine.js";
import { str } from "./input.js";
import { commonInput } from "./single.js";
import { allOrAbort, fetchFile, prepareTrack, storeVideo, timed, type KindRunner, type StepEnv } from "./steps.js";

export interface VideoRunnerOptions {
  /**
   * The detector the tracker runs on key frames. Default: env.trackDetector (the CLI passes the analyzer in
   * its fast mode) when set, else the pipeline's face detector. A fast one makes dubbing about twice as fast; the reference
   * frames are always analysed with the pipeline's detector (the renderer's rig wants its refined mesh).
   */
  trackDetector?: TrackDetector;
  /** Frames between tracker detections. Default: the tracker's (16). */
  keyInterval?: number;
  /** Dubbing renderers kept (one per shot). Default 4. */
  maxShots?: number;
}

/** Source frame shown at output frame i when the source has `length` frames: forwards, then backwards, and so on. */
export function pingPongIndex(i: number, length: number): number {
  if (length <= 1) return 0;
  const period = 2 * (length - 1);
  const k = i % period;
  return k < length ? k : period - k;
}

/** The reference frame of each shot: the key frame whose tracked mouth is most closed and head most frontal. */
export function chooseReferences(track: FaceTrack): Map<number, number> {
  const best = new Map<number, { index: number; score: number }>();
  for (const k of track.keyFrames) {
    const face = track.faces[k];
    if (!face) continue;
    const seg = track.segments[k];
    const score = referenceScore(face);
    const cur = best.get(seg);
    if (!cur || score < cur.score) best.set(seg, { index: k, score });
  }
  return new Map([...best].map(([seg, b]) => [seg, b.index]));
}

export function createVideoToVideoRunner(options: VideoRunnerOptions = {}): KindRunner {
  const maxShots = Math.max(1, options.maxShots ?? 4);
  return async (env, job, request) => {
    const input = request.input;
    const videoUrl = str(input, "video_url");
    const audioUrl = str(input, "audio_url");
    const { numFrames, resolution, acceleration, prompt, seed } = commonInput(input);
    const signal = job.ctx.signal;

    const [videoFile, audioFile] = await allOrAbort(job.controller, [
      () => fetchFile(env, job, videoUrl, "video_url"),
      () => fetchFile(env, job, audioUrl, "audio_url"),
    ] as const);
    const [video, audio] = await allOrAbort(job.controller, [
      () => timed(job, "probe video_url", () => openVideoInput(videoFile.path, "video_url", { bins: env.bins, resolution, signal }),
        (v) => `${v.stream.codec} ${v.stream.width}x${v.stream.height} rot ${v.stream.rotation} ${v.stream.fps.toFixed(2)} fps, ` +
          `${v.durationSec.toFixed(2)} s → ${v.width}x${v.height} @ ${FPS}`),
      () => prepareTrack(env, job, audioFile.path, "audio_url", numFrames, FPS),
    ] as const);
    const { width, height } = video;
    const frameBytes = width * height * 3;
    const expected = Math.min(numFrames, video.expectedFrames(FPS));
    const total = expected + numFrames;

    // Pass 1: decode, cache, track.
    const cachePath = path.join(job.dir, "frames.rgb");
    const cache = await open(cachePath, "w+");
    try {
      const tracker = new FaceTracker(options.trackDetector ?? env.trackDetector ?? env.faceDetector, { keyInterval: options.keyInterval, fps: FPS });
      const length = await timed(job, "decode + track video_url", async () => {
        let n = 0;
        try {
          for await (const frame of decodeVideoFrames(videoFile.path, { bins: env.bins, width, height, fps: FPS, maxFrames: numFrames, signal })) {
            await cache.write(frame.data, 0, frameBytes, n * frameBytes);
            await tracker.push(frame, { signal });
            n++;
            job.ctx.progress(Math.min(n, expected), total);
          }
        } catch (err) {
          // ffprobe read the file but ffmpeg cannot decode it: a corrupt video, the sender's to fix.
          if (err instanceof ProcessError) {
            throw InputError.field("video_url", `the video could not be decoded after ${n} frames (${err.message}); send an MP4, MOV, WebM or MKV video file`, "invalid_file");
          }
          throw err;
        }
        await tracker.flush({ signal });
        return n;
      }, (n) => `${n} frames, detector ${Math.round(tracker.detectMs)} ms, flow ${Math.round(tracker.flowMs)} ms`);
      if (signal.aborted) throw new CancelledError();
      if (length === 0) throw InputError.field("video_url", "the video has no frames to decode; send a video of at least one frame (MP4, MOV, WebM or MKV)", "invalid_file");
      const track = tracker.finish();
      const tracked = track.faces.filter((f) => f !== null).length;
      job.ctx.log(`tracking: ${track.keyFrames.length} key frames, ${track.cuts.length} cut(s), face on ${tracked}/${length} frames`);
      if (tracked === 0) job.ctx.log("no face found in the video: it is passed through with the new audio", "warn");
      if (length < numFrames) job.ctx.log(`the video has ${length} frames at ${FPS} fps, num_frames is ${numFrames}: it plays forwards and backwards to fill it`);

      const references = chooseReferences(track);
      const motion = await timed(job, "motion", async () => buildMotionTrack({ pcm: audio.pcm, numFrames, fps: FPS, seed, prompt }));

      const readFrame = async (s: number, into: Buffer): Promise<RawImage> => {
        await cache.read(into, 0, frameBytes, s * frameBytes);
        return { width, height, channels: 3, data: into };
      };
      // One dubbing renderer per shot (the reference frame's picture and faces), the most recent kept.
      const shots = new Map<number, DubRenderer>();
      const shotFor = async (seg: number): Promise<DubRenderer | null> => {
        const cached = shots.get(seg);
        if (cached) {
          shots.delete(seg);
          shots.set(seg, cached);
          return cached;
        }
        const ref = references.get(seg);
        if (ref === undefined) return null;
        const trackFace = track.faces[ref] as Face;
        const picture = await readFrame(ref, Buffer.alloc(frameBytes));
        // The refined analysis on a square crop around the tracked face (no tiles: a few times cheaper).
        const crop = cropAround(picture, trackFace);
        const found = (await env.faceDetector.detect(crop.image, { signal })).map((f) => shiftFace(f, crop.x, crop.y));
        const rigFace = nearestFace(found, trackFace) ?? trackFace;
        const dub = new DubRenderer(picture, rigFace, trackFace, { acceleration, seed });
        job.ctx.log(`shot ${seg}: reference frame ${ref}, mouth ${dub.mouthKind}`, "debug");
        shots.set(seg, dub);
        if (shots.size > maxShots) shots.delete(shots.keys().next().value as number);
        return dub;
      };

      const frameBuf = Buffer.alloc(frameBytes);
      const stream: FrameStream = {
        pixelFormat: "rgb24",
        width,
        height,
        async *frames(): AsyncGenerator<EngineFrame> {
          for (let i = 0; i < numFrames; i++) {
            if (signal.aborted) return;
            const s = pingPongIndex(i, length);
            const frame = await readFrame(s, frameBuf);
            const face = track.faces[s];
            const dub = face ? await shotFor(track.segments[s]) : null;
            const data = dub ? Buffer.from(dub.render(frame, face, motion[i] as MotionFrame)) : Buffer.from(frame.data);
            yield { index: i, data };
          }
        },
      };
      const outPath = path.join(job.dir, "video.mp4");
      let lastReported = -1;
      await timed(job, `dub + encode ${numFrames} frames`, () => encodeVideo({
        stream, numFrames, fps: FPS, audioPath: audio.muxPath, outPath, acceleration, bins: env.bins, ctx: job.ctx,
        onProgress: (p) => {
          const done = Math.min(p.frame, numFrames);
          if (done > lastReported) {
            lastReported = done;
            job.ctx.progress(expected + done, total);
          }
        },
      }), (r) => `${(r.frames * 1000 / r.ms).toFixed(1)} fps, ${r.size} bytes`);
      job.ctx.progress(total, total);
      const stored = await storeVideo(env, job, outPath);
      return { video: stored, seed };
    } finally {
      await cache.close();
    }
  };
}

/** A square crop of 2.2 face sizes around a face (clamped to the picture), and where it sits. */
function cropAround(image: RawImage, face: Face): { image: RawImage; x: number; y: number } {
  const side = Math.round(2.2 * Math.max(face.box.width, face.box.height));
  const w = Math.min(side, image.width), h = Math.min(side, image.height);
  const x = Math.max(0, Math.min(image.width - w, Math.round(face.box.x + face.box.width / 2 - w / 2)));
  const y = Math.max(0, Math.min(image.height - h, Math.round(face.box.y + face.box.height / 2 - h / 2)));
  const data = Buffer.alloc(w * h * 3);
  for (let r = 0; r < h; r++) image.data.copy(data, r * w * 3, ((y + r) * image.width + x) * 3, ((y + r) * image.width + x + w) * 3);
  return { image: { width: w, height: h, channels: 3, data }, x, y };
}


/** The face of `faces` that overlaps `like` most (null when none overlaps it by half). */
function nearestFace(faces: readonly Face[], like: Face): Face | null {
  let best: Face | null = null;
  let bestIou = 0.5;
  for (const f of faces) {
    const w = Math.min(f.box.x + f.box.width, like.box.x + like.box.width) - Math.max(f.box.x, like.box.x);
    const h = Math.min(f.box.y + f.box.height, like.box.y + like.box.height) - Math.max(f.box.y, like.box.y);
    if (w <= 0 || h <= 0) continue;
    const o = (w * h) / (f.box.width * f.box.height + like.box.width * like.box.height - w * h);
    if (o > bestIou) {
      best = f;
      bestIou = o;
    }
  }
  return best;
}

/** The video-to-video runner with the defaults (the pipeline's detector tracks). */
export const runVideoToVideo: KindRunner = createVideoToVideoRunner();
