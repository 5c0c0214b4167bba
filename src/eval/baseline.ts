import type { LandmarkItem, Point } from '../data/types';
import type { Predictions } from './protocols';

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
