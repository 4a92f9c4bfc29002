/** What face analysis finds in a picture. Coordinates are pixels of the analysed picture. */

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface HeadPose {
  /** Radians: yaw (turn left/right), pitch (nod), roll (tilt). */
  yaw: number;
  pitch: number;
  roll: number;
}

export interface Face {
  box: Box;
  score: number;
  /** The 478-point MediaPipe face mesh (468 + 10 iris), x/y in pixels, z in the model's depth units. */
  mesh: Float32Array; // length 478 * 3, [x0, y0, z0, x1, ...]
  pose: HeadPose;
}

/** The mesh's triangles (indices into the first 468 points), from the face model's own topology. */
export type Triangulation = Uint16Array | number[];
