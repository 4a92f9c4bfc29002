/**
 * Image input: header check (pixel count before decoding, so decompression bombs fail fast), decoding with sharp
 * (EXIF orientation honoured), and fitting to the output frame: the aspect bucket nearest the picture, resized to
 * cover it, center-cropped but SHIFTED so face boxes stay inside. The transform maps source pixels to frame pixels:
 *   frameX = srcX * scale - offsetX,  frameY = srcY * scale - offsetY.
 *
 * @example
 *   const header = await readImageHeader(file, "image_url");
 *   const src = await decodeImage(file, "image_url");
 *   const { image, transform, bucket } = await fitImage(src, chooseBucket(src.width, src.height, "480p"), faceBoxes);
 */
import sharp, { type Metadata } from "sharp";
import type { Resolution } from "../api/endpoints.js";
import { InputError } from "../errors.js";
import type { Box, Face } from "../face/types.js";
import { describeFile } from "./probe.js";
import type { RawImage } from "./types.js";

/** Largest accepted input picture, in pixels (about 8000 x 6250). Checked from the header, before decoding. */
export const MAX_INPUT_PIXELS = 50_000_000;
/** Smallest accepted side, in pixels. */
export const MIN_INPUT_SIDE = 16;

export type AspectName = "16:9" | "9:16" | "1:1" | "4:3" | "3:4";

export interface FrameBucket {
  aspect: AspectName;
  width: number;
  height: number;
}

/** The output frames: short side 480 or 720, even sizes. */
export const BUCKETS: Readonly<Record<Resolution, readonly FrameBucket[]>> = Object.freeze({
  "480p": [
    { aspect: "16:9", width: 854, height: 480 },
    { aspect: "9:16", width: 480, height: 854 },
    { aspect: "1:1", width: 480, height: 480 },
    { aspect: "4:3", width: 640, height: 480 },
    { aspect: "3:4", width: 480, height: 640 },
  ],
  "720p": [
    { aspect: "16:9", width: 1280, height: 720 },
    { aspect: "9:16", width: 720, height: 1280 },
    { aspect: "1:1", width: 720, height: 720 },
    { aspect: "4:3", width: 960, height: 720 },
    { aspect: "3:4", width: 720, height: 960 },
  ],
});

const ASPECT_RATIO: Record<AspectName, number> = { "16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1, "4:3": 4 / 3, "3:4": 3 / 4 };

/** The bucket whose aspect ratio is nearest the picture's (on a log scale, so 2:1 and 1:2 are treated alike). Pure. */
export function chooseBucket(width: number, height: number, resolution: Resolution): FrameBucket {
  const ar = Math.log(width / height);
  let best = BUCKETS[resolution][0];
  let bestDist = Infinity;
  for (const b of BUCKETS[resolution]) {
    const d = Math.abs(ar - Math.log(ASPECT_RATIO[b.aspect]));
    if (d < bestDist - 1e-12) {
      best = b;
      bestDist = d;
    }
  }
  return best;
}

/** Source pixels → frame pixels: frame = src * scale - offset. */
export interface FitTransform {
  scale: number;
  offsetX: number;
  offsetY: number;
}

export function mapPoint(x: number, y: number, t: FitTransform): [number, number] {
  return [x * t.scale - t.offsetX, y * t.scale - t.offsetY];
}

export function mapBox(box: Box, t: FitTransform): Box {
  return { x: box.x * t.scale - t.offsetX, y: box.y * t.scale - t.offsetY, width: box.width * t.scale, height: box.height * t.scale };
}

/** A face found in source pixels, moved into frame pixels (mesh x/y/z all scale; z is in the same pixel-ish units). */
export function mapFace(face: Face, t: FitTransform): Face {
  const mesh = new Float32Array(face.mesh.length);
  for (let i = 0; i + 2 < face.mesh.length; i += 3) {
    mesh[i] = face.mesh[i] * t.scale - t.offsetX;
    mesh[i + 1] = face.mesh[i + 1] * t.scale - t.offsetY;
    mesh[i + 2] = face.mesh[i + 2] * t.scale;
  }
  return { ...face, box: mapBox(face.box, t), mesh };
}

/** A transform followed by another (first a, then b). */
export function composeTransforms(a: FitTransform, b: FitTransform): FitTransform {
  return { scale: a.scale * b.scale, offsetX: a.offsetX * b.scale + b.offsetX, offsetY: a.offsetY * b.scale + b.offsetY };
}

export interface ScalePlan {
  bucket: FrameBucket;
  /** Source → resized factor (the picture covers the frame). */
  scale: number;
  /** The resized picture, at least the frame in both sides. */
  resizedWidth: number;
  resizedHeight: number;
}

/** How much to resize a source picture so it covers the bucket. Pure. */
export function planScale(srcWidth: number, srcHeight: number, bucket: FrameBucket): ScalePlan {
  const scale = Math.max(bucket.width / srcWidth, bucket.height / srcHeight);
  return {
    bucket,
    scale,
    resizedWidth: Math.max(bucket.width, Math.round(srcWidth * scale)),
    resizedHeight: Math.max(bucket.height, Math.round(srcHeight * scale)),
  };
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** One axis of the crop: start centered, then shift so [lo, hi] is inside the window when it fits. */
function shiftAxis(total: number, window: number, spans: { lo: number; hi: number }[]): number {
  const max = total - window;
  let offset = max / 2;
  for (const { lo, hi } of spans) {
    if (hi - lo <= window) {
      offset = clamp(offset, hi - window, lo);
      return Math.round(clamp(offset, 0, max));
    }
  }
  // Not even the bare primary box fits: center on it.
  const last = spans[spans.length - 1];
  if (last) offset = (last.lo + last.hi) / 2 - window / 2;
  return Math.round(clamp(offset, 0, max));
}

/** Room kept around faces (fractions of the box): the head and hair above, chin and neck below. */
export const FACE_MARGIN = { x: 0.25, top: 0.45, bottom: 0.25 };

/**
 * Where to cut a window of frameWidth x frameHeight out of a picture of width x height so that `boxes` (in that
 * picture's pixels) stay inside. boxes[0] matters most (the speaker). In order of preference the window holds:
 * all boxes with FACE_MARGIN, all bare boxes, boxes[0] with margin, boxes[0] bare; else it centers on boxes[0].
 * Centered when there are no boxes. Pure.
 */
export function planCropOffset(width: number, height: number, frameWidth: number, frameHeight: number, boxes: readonly Box[] = []):
  { offsetX: number; offsetY: number } {
  const valid = boxes.filter((b) => b.width > 0 && b.height > 0 && b.x + b.width > 0 && b.y + b.height > 0 && b.x < width && b.y < height);
  if (valid.length === 0) {
    return { offsetX: Math.round((width - frameWidth) / 2), offsetY: Math.round((height - frameHeight) / 2) };
  }
  type Margin = { x: number; top: number; bottom: number };
  const span = (set: readonly Box[], m: Margin) => {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const b of set) {
      x0 = Math.min(x0, b.x - b.width * m.x);
      x1 = Math.max(x1, b.x + b.width * (1 + m.x));
      y0 = Math.min(y0, b.y - b.height * m.top);
      y1 = Math.max(y1, b.y + b.height * (1 + m.bottom));
    }
    return { x: { lo: x0, hi: x1 }, y: { lo: y0, hi: y1 } };
  };
  const bare: Margin = { x: 0, top: 0, bottom: 0 };
  const candidates = [span(valid, FACE_MARGIN), span(valid, bare), span(valid.slice(0, 1), FACE_MARGIN), span(valid.slice(0, 1), bare)];
  return {
    offsetX: shiftAxis(width, frameWidth, candidates.map((c) => c.x)),
    offsetY: shiftAxis(height, frameHeight, candidates.map((c) => c.y)),
  };
}

export interface FitPlan extends ScalePlan {
  transform: FitTransform;
}

/** The whole fit from source size and face boxes in source pixels. Pure. */
export function planFit(srcWidth: number, srcHeight: number, bucket: FrameBucket, sourceBoxes: readonly Box[] = []): FitPlan {
  const s = planScale(srcWidth, srcHeight, bucket);
  const scaled = sourceBoxes.map((b) => mapBox(b, { scale: s.scale, offsetX: 0, offsetY: 0 }));
  const { offsetX, offsetY } = planCropOffset(s.resizedWidth, s.resizedHeight, bucket.width, bucket.height, scaled);
  return { ...s, transform: { scale: s.scale, offsetX, offsetY } };
}

export interface ImageHeader {
  /** sharp's decoder name: jpeg, png, webp, gif, tiff, avif, heif, svg... */
  format: string;
  /** Displayed size (after EXIF orientation). */
  width: number;
  height: number;
  hasAlpha: boolean;
}

export interface ImageLimits {
  /** Default MAX_INPUT_PIXELS. */
  maxPixels?: number;
}

const IMAGE_ADVICE = "send a JPEG, PNG or WebP picture";

async function notAnImage(file: string, field: string): Promise<InputError> {
  const found = await describeFile(file).catch(() => "unreadable file");
  return InputError.field(field, `the file is not a decodable image (found: ${found}); ${IMAGE_ADVICE}`, "invalid_image");
}

/** Reads only the header: format, displayed size; rejects non-images and oversized pictures before any decoding. */
export async function readImageHeader(file: string, field: string, limits: ImageLimits = {}): Promise<ImageHeader> {
  const maxPixels = limits.maxPixels ?? MAX_INPUT_PIXELS;
  let meta: Metadata;
  try {
    meta = await sharp(file, { limitInputPixels: false }).metadata();
  } catch {
    throw await notAnImage(file, field);
  }
  if (!meta.width || !meta.height || (meta.format as string) === "pdf") throw await notAnImage(file, field);
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (width * height > maxPixels) {
    throw InputError.field(field,
      `the picture is ${width}x${height} (${(width * height / 1e6).toFixed(1)} megapixels), over the ${maxPixels >= 1e6 ? `${+(maxPixels / 1e6).toFixed(1)} megapixel` : `${maxPixels} pixel`} limit; send a smaller picture`,
      "image_too_large");
  }
  if (Math.min(width, height) < MIN_INPUT_SIDE) {
    throw InputError.field(field, `the picture is only ${width}x${height}; send one at least ${MIN_INPUT_SIDE} pixels on each side (480 or more is best)`,
      "image_too_small");
  }
  return { format: meta.format, width, height, hasAlpha: meta.hasAlpha ?? false };
}

export interface DecodeOptions extends ImageLimits {
  /** 3 (default): alpha flattened onto white; 4: RGBA. */
  channels?: 3 | 4;
  /** Resize while decoding (to exactly this size, stretching if the aspect differs; sharp uses shrink-on-load). */
  resizeTo?: { width: number; height: number };
}

/** Decodes a picture (EXIF orientation applied, sRGB, 8 bits) to a RawImage. Throws InputError naming the field. */
export async function decodeImage(file: string, field: string, options: DecodeOptions = {}): Promise<RawImage> {
  const header = await readImageHeader(file, field, options);
  const channels = options.channels ?? 3;
  try {
    let img = sharp(file, { limitInputPixels: options.maxPixels ?? MAX_INPUT_PIXELS, failOn: "error", autoOrient: true })
      .toColourspace("srgb");
    if (options.resizeTo) img = img.resize(options.resizeTo.width, options.resizeTo.height, { fit: "fill", kernel: "lanczos3" });
    img = channels === 4 ? img.ensureAlpha() : header.hasAlpha ? img.flatten({ background: "#ffffff" }) : img.removeAlpha();
    const { data, info } = await img.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) throw new Error(`decoded ${info.channels} channels, wanted ${channels}`);
    return { width: info.width, height: info.height, channels, data };
  } catch (err) {
    if (err instanceof InputError) throw err;
    const found = await describeFile(file).catch(() => "unreadable file");
    throw InputError.field(field,
      `the picture could not be decoded (${found}: ${(err as Error).message.split("\n")[0]}); ${IMAGE_ADVICE}`, "invalid_image");
  }
}

function rawInput(image: RawImage) {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });
}

/** Cuts a window out of a RawImage. */
export async function cropImage(image: RawImage, left: number, top: number, width: number, height: number): Promise<RawImage> {
  if (left === 0 && top === 0 && width === image.width && height === image.height) return image;
  const { data, info } = await rawInput(image).extract({ left, top, width, height }).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: image.channels, data };
}

export interface FittedImage {
  /** Exactly bucket.width x bucket.height. */
  image: RawImage;
  bucket: FrameBucket;
  /** Source pixels → frame pixels. */
  transform: FitTransform;
}

/**
 * Resizes a picture to cover the bucket and crops it, keeping `faceBoxes` (source pixels) inside the frame.
 * @example const fitted = await fitImage(src, chooseBucket(src.width, src.height, "720p"), [face.box]);
 */
export async function fitImage(src: RawImage, bucket: FrameBucket, faceBoxes: readonly Box[] = []): Promise<FittedImage> {
  const plan = planFit(src.width, src.height, bucket, faceBoxes);
  const { data, info } = await rawInput(src)
    .resize(plan.resizedWidth, plan.resizedHeight, { fit: "fill", kernel: "lanczos3" })
    .extract({ left: plan.transform.offsetX, top: plan.transform.offsetY, width: bucket.width, height: bucket.height })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { image: { width: info.width, height: info.height, channels: src.channels, data }, bucket, transform: plan.transform };
}

/** Writes a RawImage as PNG (for looking at frames and for tests). */
export async function writePng(image: RawImage, file: string): Promise<void> {
  await rawInput(image).png().toFile(file);
}
