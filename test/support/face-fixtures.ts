/**
 * Real-face test fixtures, cut deterministically from the group photos that @vladmandic/face-api ships
 * (node_modules/@vladmandic/face-api/demo/sample1..6.jpg, 1920 px wide). No network, no ../shared.
 *
 * @example
 *   const { image, png, faces } = await loadPortraitFixture();      // 1280x720 RGB, one frontal face
 */
import { createRequire } from "node:module";
import path from "node:path";
import sharp from "sharp";
import type { Box } from "../../src/face/types.js";
import type { RawImage } from "../../src/media/types.js";

const require = createRequire(import.meta.url);

export interface FaceFixture {
  /** Packed RGB pixels. */
  image: RawImage;
  /** The same picture as PNG (e.g. to upload it, or to write it to /tmp and look at it). */
  png: Buffer;
  /** Where the faces are, approximately (face mesh bounds, forehead to chin), largest first, in fixture pixels. */
  faces: Box[];
  /** The source photo. */
  source: string;
}

export interface FixtureSize {
  width?: number;
  height?: number;
}

/** Path of face-api's demo photo sample1..6.jpg. */
export function samplePhotoPath(n: 1 | 2 | 3 | 4 | 5 | 6): string {
  // require.resolve gives dist/face-api.node.js, the package's "main".
  return path.join(path.dirname(require.resolve("@vladmandic/face-api")), "..", "demo", `sample${n}.jpg`);
}

/** Face mesh bounds in the source photos, measured once with src/face (refined mesh). */
const FACES = {
  /** sample6, second from left: frontal (yaw -0.17), evenly lit, lips closed in a slight smile. */
  closedMouth: { photo: 6, box: { x: 244, y: 517, width: 225, height: 241 } },
  /** sample5, bottom left: frontal (yaw -0.04), a different woman, mouth open (speaking). */
  openMouth: { photo: 5, box: { x: 362, y: 905, width: 220, height: 259 } },
} as const;

/**
 * One frontal, well-lit face with CLOSED lips, centred and large (about 60% of the height at 16:9), default
 * 1280x720. Cut from sample6.jpg around the face (the largest such crop that fits), then resized.
 */
export async function loadPortraitFixture(size: FixtureSize = {}): Promise<FaceFixture> {
  return portrait(FACES.closedMouth, size);
}

/** A DIFFERENT person from loadPortraitFixture's, frontal, mouth OPEN; same framing rules, from sample5.jpg. */
export async function loadOpenMouthFixture(size: FixtureSize = {}): Promise<FaceFixture> {
  return portrait(FACES.openMouth, size);
}

/**
 * Three women side by side, faces about 200 px tall, 1280x720 (default): a 16:9 cut of sample3.jpg,
 * face centres left to right at about x = 0.21, 0.55 and 0.83 of the width.
 */
export async function loadGroupFixture(size: FixtureSize = {}): Promise<FaceFixture> {
  const region = { left: 400, top: 80, width: 1420, height: 799 };
  const inPhoto: Box[] = [
    { x: 1071, y: 244, width: 230, height: 256 },
    { x: 1476, y: 326, width: 216, height: 241 },
    { x: 593, y: 358, width: 206, height: 239 },
  ];
  return cut(samplePhotoPath(3), region, inPhoto, size);
}

async function portrait(face: { photo: 1 | 2 | 3 | 4 | 5 | 6; box: Box }, size: FixtureSize): Promise<FaceFixture> {
  const width = size.width ?? 1280;
  const height = size.height ?? 720;
  const source = samplePhotoPath(face.photo);
  const meta = await sharp(source).metadata();
  const photoW = meta.width ?? 0;
  const photoH = meta.height ?? 0;
  const cx = face.box.x + face.box.width / 2;
  const cy = face.box.y + face.box.height / 2;
  // The largest region of the output's aspect centred on the face that stays inside the photo, and no taller
  // than 2.4 face heights (so the face stays large).
  const aspect = width / height;
  const halfW = Math.min(cx, photoW - cx, aspect * Math.min(cy, photoH - cy), (aspect * face.box.height * 2.4) / 2);
  const regionW = Math.floor(2 * halfW);
  const regionH = Math.floor(regionW / aspect);
  const region = {
    left: Math.round(cx - regionW / 2),
    top: Math.round(cy - regionH / 2),
    width: regionW,
    height: regionH,
  };
  return cut(source, region, [face.box], { width, height });
}

async function cut(
  source: string,
  region: { left: number; top: number; width: number; height: number },
  facesInPhoto: Box[],
  size: FixtureSize,
): Promise<FaceFixture> {
  const width = size.width ?? 1280;
  const height = size.height ?? 720;
  const { data, info } = await sharp(source)
    .extract(region)
    .resize(width, height, { fit: "fill", kernel: "lanczos3" })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`fixture: expected RGB, got ${info.channels} channels`);
  const sx = width / region.width;
  const sy = height / region.height;
  const faces = facesInPhoto
    .map((b) => ({ x: (b.x - region.left) * sx, y: (b.y - region.top) * sy, width: b.width * sx, height: b.height * sy }))
    .sort((a, b) => b.width * b.height - a.width * a.height);
  const image: RawImage = { width, height, channels: 3, data };
  const png = await sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
  return { image, png, faces, source };
}
