/**
 * Named groups of the 478-point face mesh (MediaPipe indices, as @vladmandic/human numbers them).
 *
 * Sides follow MediaPipe's convention: RIGHT is the SUBJECT's right, which is the IMAGE LEFT in an
 * ordinary (non-mirrored) photo of a frontal face. Contours are ordered from the image-left corner to the
 * image-right corner (upper and lower contours of one feature share their two corner points), so that
 * `upper[i]` and `lower[i]` sit roughly above one another.
 *
 * Topology notes for the renderer (see topology.ts): the mesh's triangles cover the eye openings (the lids
 * are triangulated across), but NOT the mouth: the inner-lip polygon is a hole; MOUTH_TRIANGLES fills it.
 */
import type { Box } from "./types.js";

/** Mouth corners (image left, image right); also the first/last points of every lip contour below. */
export const MOUTH_CORNER_RIGHT = 61;
export const MOUTH_CORNER_LEFT = 291;
/** Inner-lip corners (where the inner contours meet). */
export const MOUTH_INNER_CORNER_RIGHT = 78;
export const MOUTH_INNER_CORNER_LEFT = 308;

/** Outer edge of the upper lip (vermilion border), corner to corner, through 0 (cupid's bow centre). */
export const LIPS_OUTER_UPPER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291] as const;
/** Outer edge of the lower lip, corner to corner, through 17 (lowest middle point). */
export const LIPS_OUTER_LOWER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291] as const;
/** Inner edge of the upper lip (the mouth opening's top), corner to corner, through 13. */
export const LIPS_INNER_UPPER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308] as const;
/** Inner edge of the lower lip (the mouth opening's bottom), corner to corner, through 14. */
export const LIPS_INNER_LOWER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308] as const;
/** Middle contours between the outer and inner edges (useful for lip shading/thickness). */
export const LIPS_MID_UPPER = [76, 184, 74, 73, 72, 11, 302, 303, 304, 408, 306] as const;
export const LIPS_MID_LOWER = [76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306] as const;
export const LIPS_SEMI_INNER_UPPER = [62, 183, 42, 41, 38, 12, 268, 271, 272, 407, 292] as const;
export const LIPS_SEMI_INNER_LOWER = [62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292] as const;
/** Middle points: upper lip top (0), upper lip inner (13), lower lip inner (14), lower lip bottom (17). */
export const LIP_UPPER_OUTER_MID = 0;
export const LIP_UPPER_INNER_MID = 13;
export const LIP_LOWER_INNER_MID = 14;
export const LIP_LOWER_OUTER_MID = 17;
/** Every point of the lips (outer, middle and inner contours), each once. */
export const LIPS_ALL: readonly number[] = unique([
  ...LIPS_OUTER_UPPER, ...LIPS_OUTER_LOWER, ...LIPS_MID_UPPER, ...LIPS_MID_LOWER,
  ...LIPS_SEMI_INNER_UPPER, ...LIPS_SEMI_INNER_LOWER, ...LIPS_INNER_UPPER, ...LIPS_INNER_LOWER,
]);

/**
 * Triangles that fill the mouth opening (the hole inside the inner lip contours), as a strip between
 * LIPS_INNER_UPPER and LIPS_INNER_LOWER. Same index space as FACE_TRIANGLES.
 */
export const MOUTH_TRIANGLES: Uint16Array = stripTriangles(LIPS_INNER_UPPER, LIPS_INNER_LOWER);

/** Subject's right eye (image left): lid margins, outer corner 33 to inner corner 133. */
export const RIGHT_EYE_UPPER = [33, 246, 161, 160, 159, 158, 157, 173, 133] as const;
export const RIGHT_EYE_LOWER = [33, 7, 163, 144, 145, 153, 154, 155, 133] as const;
export const RIGHT_EYE_OUTER_CORNER = 33;
export const RIGHT_EYE_INNER_CORNER = 133;
/** Middle of the upper and lower lid margins (lid opening = distance between them). */
export const RIGHT_EYE_UPPER_MID = 159;
export const RIGHT_EYE_LOWER_MID = 145;
/** Rings around the eye above/below the lid margin (crease, under-eye), image-left to image-right. */
export const RIGHT_EYE_UPPER_RING1 = [130, 247, 30, 29, 27, 28, 56, 190, 243] as const;
export const RIGHT_EYE_LOWER_RING1 = [130, 25, 110, 24, 23, 22, 26, 112, 243] as const;
export const RIGHT_EYE_UPPER_RING2 = [226, 113, 225, 224, 223, 222, 221, 189, 244] as const;
export const RIGHT_EYE_LOWER_RING2 = [226, 31, 228, 229, 230, 231, 232, 233, 244] as const;

/** Subject's left eye (image right): lid margins, inner corner 362 to outer corner 263. */
export const LEFT_EYE_UPPER = [362, 398, 384, 385, 386, 387, 388, 466, 263] as const;
export const LEFT_EYE_LOWER = [362, 382, 381, 380, 374, 373, 390, 249, 263] as const;
export const LEFT_EYE_OUTER_CORNER = 263;
export const LEFT_EYE_INNER_CORNER = 362;
export const LEFT_EYE_UPPER_MID = 386;
export const LEFT_EYE_LOWER_MID = 374;
export const LEFT_EYE_UPPER_RING1 = [463, 414, 286, 258, 257, 259, 260, 467, 359] as const;
export const LEFT_EYE_LOWER_RING1 = [463, 341, 256, 252, 253, 254, 339, 255, 359] as const;
export const LEFT_EYE_UPPER_RING2 = [464, 413, 441, 442, 443, 444, 445, 342, 446] as const;
export const LEFT_EYE_LOWER_RING2 = [464, 453, 452, 451, 450, 449, 448, 261, 446] as const;

/**
 * Iris points (the last 10 of the 478). In @vladmandic/human's numbering the FIRST iris block (468-472)
 * belongs to the subject's LEFT eye (image right) and 473-477 to the subject's RIGHT eye (image left)
 * (the reverse of MediaPipe's own naming; checked on real photos in test/face). Centre first, then 4 rim points.
 */
export const LEFT_IRIS = [468, 469, 470, 471, 472] as const;
export const RIGHT_IRIS = [473, 474, 475, 476, 477] as const;
export const LEFT_IRIS_CENTER = 468;
export const RIGHT_IRIS_CENTER = 473;

/** Brows, from the outer end to the inner end. Upper edge and lower edge. */
export const RIGHT_BROW_UPPER = [156, 70, 63, 105, 66, 107, 55, 193] as const;
export const RIGHT_BROW_LOWER = [35, 124, 46, 53, 52, 65] as const;
export const LEFT_BROW_UPPER = [383, 300, 293, 334, 296, 336, 285, 417] as const;
export const LEFT_BROW_LOWER = [265, 353, 276, 283, 282, 295] as const;

/**
 * Face oval (silhouette), a closed loop starting at the forehead top (10), running down the image-right side
 * (subject's left) to the chin (152) and back up the image-left side.
 */
export const FACE_OVAL = [
  10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176,
  149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
] as const;
/** Jaw line: the lower part of the oval, from the image-left ear (234) via the chin (152) to the image-right ear (454). */
export const JAW_LINE = [
  234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323, 454,
] as const;
export const CHIN = 152;
export const FOREHEAD_TOP = 10;
/** Face-width reference points at the cheeks/ears (image left, image right). */
export const FACE_SIDE_RIGHT = 234;
export const FACE_SIDE_LEFT = 454;

/** Nose: bridge from between the eyes (168) down the midline to the tip (1) and the base under it (2). */
export const NOSE_BRIDGE = [168, 6, 197, 195, 5, 4, 1] as const;
export const NOSE_TIP = 1;
export const NOSE_BOTTOM = 2;
export const NOSE_ALA_RIGHT = 98;
export const NOSE_ALA_LEFT = 327;
/** Nostril/base contour, image left to image right, through the base (2). */
export const NOSE_BASE = [98, 97, 2, 326, 327] as const;
export const MIDWAY_BETWEEN_EYES = 168;

/** Cheek centres (image left, image right). */
export const CHEEK_RIGHT = 205;
export const CHEEK_LEFT = 425;

/** Read point `i` of a flat [x, y, z, ...] mesh. */
export function point(mesh: ArrayLike<number>, i: number): { x: number; y: number; z: number } {
  return { x: mesh[i * 3], y: mesh[i * 3 + 1], z: mesh[i * 3 + 2] };
}

/** Mean x/y of some points of a flat mesh. */
export function centroid(mesh: ArrayLike<number>, indices: readonly number[]): { x: number; y: number } {
  let x = 0;
  let y = 0;
  for (const i of indices) {
    x += mesh[i * 3];
    y += mesh[i * 3 + 1];
  }
  return { x: x / indices.length, y: y / indices.length };
}

/** Distance in the image plane between points a and b of a flat mesh. */
export function distance2d(mesh: ArrayLike<number>, a: number, b: number): number {
  return Math.hypot(mesh[a * 3] - mesh[b * 3], mesh[a * 3 + 1] - mesh[b * 3 + 1]);
}

/** Distance between the two eye centres (mean of the lid contours), the usual face-size scale. */
export function interocularDistance(mesh: ArrayLike<number>): number {
  const r = centroid(mesh, [...RIGHT_EYE_UPPER, ...RIGHT_EYE_LOWER]);
  const l = centroid(mesh, [...LEFT_EYE_UPPER, ...LEFT_EYE_LOWER]);
  return Math.hypot(r.x - l.x, r.y - l.y);
}

function unique(values: readonly number[]): number[] {
  return [...new Set(values)];
}

function stripTriangles(upper: readonly number[], lower: readonly number[]): Uint16Array {
  const out: number[] = [];
  for (let i = 0; i + 1 < upper.length; i++) {
    const [u0, u1, l0, l1] = [upper[i], upper[i + 1], lower[i], lower[i + 1]];
    if (u0 !== l0) out.push(u0, l0, u1);
    if (u1 !== l1) out.push(u1, l0, l1);
  }
  return Uint16Array.from(out);
}

/** Intersection over union of two boxes (0 when they do not overlap). */
export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}
