export { createFaceAnalyzer } from "./analyzer.js";
export type { FaceAnalyzer, FaceAnalyzerOptions, DetectOptions } from "./analyzer.js";
export { FACE_TRIANGLES, FACE_UV } from "./topology.js";
export * from "./landmarks.js";
export type { Box, Face, HeadPose, Triangulation } from "./types.js";
export { FaceTracker, OneEuroFilter, smoothMeshes, thumbnail, meanAbsDiff, shiftFace } from "./track.js";
export type { FaceTrack, TrackOptions, TrackDetector } from "./track.js";
