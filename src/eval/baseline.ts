import type { LandmarkItem, Point } from '../data/types';
import type { EvaluationSummary } from './metrics';
import { EvaluateOptions, EvaluationDataset, evaluatePredictions, Predictions } from './protocols';

/** The mean-shape baseline: every landmark at its mean position over the training items (original pixels). */
export function meanShape(items: Pick<LandmarkItem, 'landmarks'>[]): Point[] {
  if (items.length === 0) throw new Error('the mean shape needs at least one training item');
  const count = items[0].landmarks.length;
  if (items.some((i) => i.landmarks.length !== count)) throw new Error('training items differ in their number of landmarks');
  return Array.from({ length: count }, (_, j): Point => [
    items.reduce((s, i) => s + i.landmarks[j][0], 0) / items.length,
    items.reduce((s, i) => s + i.landmarks[j][1], 0) / items.length,
  ]);
}

/** Predicts `shape` for every item: the baseline's predictions, to score with `evaluatePredictions`. */
export function constantPredictions(items: Pick<LandmarkItem, 'id'>[], shape: Point[]): Predictions {
  return new Map(items.map((i) => [i.id, shape.map((p): Point => [p[0], p[1]])]));
}

/** The mean shape of `n_train` training items, scored like a model. */
export interface BaselineSummary {
  n_train: number;
  summary: EvaluationSummary;
}

/**
 * Scores the mean shape of `training` on `dataset` exactly as a model's predictions are scored (same images,
 * protocol and thresholds), so that a model can be told apart from the trivial answer.
 */
export function evaluateMeanShape(training: Pick<LandmarkItem, 'landmarks'>[], dataset: EvaluationDataset, options: EvaluateOptions = {}): BaselineSummary {
  return { n_train: training.length, summary: evaluatePredictions(dataset, constantPredictions(dataset.items, meanShape(training)), options) };
}
