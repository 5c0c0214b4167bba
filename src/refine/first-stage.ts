/** The first stage a refinement stage is trained for: the facts of its model file the crops depend on. */
import type { Grid } from '../data/grid';
import { LandmarkName, LANDMARK_NAMES_KEY, parseLandmarkNames } from '../data/landmark-names';
import { resolveModelFile } from '../models/shipped';
import { readModelFile, readModelMetadata } from '../onnx';
import { Framing, FRAMING_KEY, parseFraming } from '../shape';
import { REFINE_KEY } from './stages';

export interface FirstStage {
  /** The model file (a shipped model's name resolved). */
  path: string;
  bytes: Uint8Array;
  grid: Grid;
  classes: number;
  landmarkNames: LandmarkName[];
  /** Its images' framing: crops are cut from the window the first stage sees each image in. */
  framing?: Framing;
}

export function readFirstStage(model: string): FirstStage {
  const path = resolveModelFile(model, 'first stage: ');
  const bytes = readModelFile(path, 'first-stage model');
  let m: Record<string, string>;
  try {
    m = readModelMetadata(bytes);
  } catch {
    throw new Error(`${path}: not an ONNX model`);
  }
  if (m[REFINE_KEY] !== undefined) throw new Error(`${path}: already has a refinement stage; give its first stage alone`);
  const grid = { height: Number(m['lmk.grid_height']), width: Number(m['lmk.grid_width']) };
  const classes = Number(m['lmk.classes']);
  if (!(grid.height >= 1 && grid.width >= 1 && classes >= 1)) throw new Error(`${path}: not an lmk model (it states no lmk.grid_height, lmk.grid_width and lmk.classes)`);
  return {
    path, bytes, grid, classes, landmarkNames: parseLandmarkNames(m[LANDMARK_NAMES_KEY], classes, path),
    ...(m[FRAMING_KEY] !== undefined ? { framing: parseFraming(m[FRAMING_KEY], `${path}: ${FRAMING_KEY}`) } : {}),
  };
}
