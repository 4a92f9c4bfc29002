/**
 * Per-frame animation parameters: what the motion stage produces and the renderer consumes.
 * All values are dimensionless; 0 means the source photo's own pose/expression.
 */
export interface MotionFrame {
  /**
   * Jaw/mouth opening, 0 (closed) .. 1 (wide open). Conversational speech peaks around 0.6-0.75 on loud
   * syllables; 1 is reserved for shouting/singing.
   */
  jawOpen: number;
  /** Lip corner stretch (+) or pucker (-), about -1..1. */
  lipWidth: number;
  /** Lip rounding/protrusion (o, u, w), 0..1. */
  lipRound: number;
  /** Lip press/closure (m, b, p and silence), 0..1. */
  lipClose: number;
  /** Smile (+) or frown (-), -1..1: the mood's baseline plus emphasis. */
  smile: number;
  /** Eyelid closure per eye, 0 (open) .. 1 (closed). */
  blinkLeft: number;
  blinkRight: number;
  /** Eyebrow raise, 0..1. */
  browRaise: number;
  /**
   * Head rotation in radians relative to the photo, and translation in face widths.
   * Signs (image coordinates, x right, y down): headYaw > 0 turns the face toward the image's right,
   * headPitch > 0 tips the chin down (a nod), headRoll > 0 tilts the head clockwise as seen in the image,
   * headX > 0 moves right, headY > 0 moves down. Typical ranges: rotations within ±0.07 (4°), translations
   * within ±0.03.
   */
  headYaw: number;
  headPitch: number;
  headRoll: number;
  headX: number;
  headY: number;
  /** Gaze offset in radians (eyes only): gazeX > 0 looks toward the image's right, gazeY > 0 looks down. */
  gazeX: number;
  gazeY: number;
}

export const NEUTRAL_FRAME: Readonly<MotionFrame> = Object.freeze({
  jawOpen: 0, lipWidth: 0, lipRound: 0, lipClose: 0, smile: 0,
  blinkLeft: 0, blinkRight: 0, browRaise: 0,
  headYaw: 0, headPitch: 0, headRoll: 0, headX: 0, headY: 0, gazeX: 0, gazeY: 0,
});

/** One timed phoneme (from a synthesizer); the seam for exact visemes. Times in seconds. */
export interface PhonemeTiming {
  phoneme: string;
  start: number;
  end: number;
}
