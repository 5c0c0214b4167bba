/** Landmarks as DICOM SR: a TID 1500 Measurement Report per image (Comprehensive SR), written and read back. */
export { buildLandmarkSr, modelAlgorithm, landmarkName, SR_CODES, COMPREHENSIVE_SR_SOP_CLASS, LANDMARK_CODING_SCHEME, lmkVersion, uidProblem } from './build';
export type { LandmarkSr, LandmarkSrOptions, SrAlgorithm } from './build';
export { readLandmarkSr } from './read';
export type { LandmarkSrContents, SrLandmark, SrMeasurement } from './read';
export { toScoordPoint, fromScoordPoint, PIXEL_CENTRE_IN_SCOORD } from './coordinates';
export { derivedUid } from './uid';
