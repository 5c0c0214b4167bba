/**
 * Fine-tuning: what a run started from an lmk model (`--init-weights MODEL`) takes from it, and the settings
 * that suit the small sets a hospital fine-tunes on.
 */
import { readFileSync } from 'fs';
import { LandmarkName, LANDMARK_NAMES_KEY, parseLandmarkNames } from '../data/landmark-names';
import { ModelSpec, specFromMetadata } from '../models/spec';
import { Model, parseModel, readModelMetadata } from '../onnx';
import type { RefineSettings } from '../refine/crops';
import { joinSettings, REFINE_KEY, refinementStages } from '../refine/stages';
import { FRAMING_KEY, SHAPE_MODEL_KEY } from '../shape';
import { PLAUSIBILITY_KEY } from '../infer/predictor';
import { isSafetensors, parseSafetensors } from '../models/safetensors';
import { LOSSES, LossName } from './step-graph';

/** What an lmk model says of itself: the defaults of a run fine-tuned from it. */
export interface BaseModel {
  spec: ModelSpec;
  grid?: { height: number; width: number };
  sigma?: number;
  loss?: LossName;
  landmarkNames?: LandmarkName[];
  /**
   * Metadata the fine-tuned model keeps: the shape model (built from many more shapes than a small set
   * holds), the framing (a hospital's images are shown to the network as the base model's were, through a
   * window where they frame the anatomy otherwise) and the plausibility bound (calibrated on negatives that
   * a small set has none of).
   */
  kept: Record<string, string>;
  /** A refined model's refinement stages: the fine-tuned first stage is joined to them (they refine crops whichever first stage centred them). */
  refinements?: KeptRefinement[];
}

export interface KeptRefinement {
  model: Model;
  settings: RefineSettings;
}

/** Metadata of an lmk model or weights file; undefined for weights that are not lmk's (ImageNet, smp). */
export function readBaseModel(path: string): BaseModel | undefined {
  let metadata: Record<string, string>;
  const bytes = readFileSync(path);
  try {
    metadata = isSafetensors(bytes) ? parseSafetensors(bytes, path).metadata : readModelMetadata(bytes);
  } catch {
    // readWeightsFile names what is wrong with the file when the run loads it.
    return undefined;
  }
  const m = metadata;
  const spec = specFromMetadata(m);
  if (!spec) return undefined;
  const grid = m['lmk.grid_height'] && m['lmk.grid_width'] ? { height: Number(m['lmk.grid_height']), width: Number(m['lmk.grid_width']) } : undefined;
  const loss = LOSSES.find((l) => l === m['lmk.loss']);
  const refinements = !isSafetensors(bytes) && m[REFINE_KEY] !== undefined ? keptRefinements(parseModel(bytes), path) : undefined;
  const kept = Object.fromEntries([SHAPE_MODEL_KEY, FRAMING_KEY, PLAUSIBILITY_KEY].filter((k) => m[k] !== undefined).map((k) => [k, m[k]]));
  return {
    spec, grid, ...(m['lmk.sigma'] ? { sigma: Number(m['lmk.sigma']) } : {}), ...(loss ? { loss } : {}),
    ...(m[LANDMARK_NAMES_KEY] ? { landmarkNames: parseLandmarkNames(m[LANDMARK_NAMES_KEY], spec.classes, path) } : {}), kept,
    ...(refinements ? { refinements } : {}),
  };
}

function keptRefinements(base: Model, path: string): KeptRefinement[] {
  return refinementStages(base, path, path).map(({ model, settings }) => ({ model, settings: joinSettings(settings) }));
}

/** Fine-tuning sets up to this many images get the small-set defaults below. */
export const SMALL_SET_ITEMS = 50;

/**
 * A small set fine-tuned from a model: every image trains (none to spare for validation), the rate follows a
 * cosine from FINE_TUNE_LR over a fixed number of steps, whatever the set's size (measured: README, fine-tuning).
 */
export const FINE_TUNE_LR = 3e-4;
export const FINE_TUNE_STEPS = 800;
