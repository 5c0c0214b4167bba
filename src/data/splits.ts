import { Random } from './random';

/**
 * Deterministic k-fold cross-validation over a training part: items are shuffled once with a fixed seed
 * and dealt round-robin into `folds` folds, so fold sizes differ by at most one and every run agrees.
 */

export const DEFAULT_FOLD_SEED = 0;

export function validateFolds(folds: number, fold: number): void {
  if (!Number.isInteger(folds) || folds < 2) throw new RangeError(`folds must be an integer of at least 2, got ${folds}`);
  if (!Number.isInteger(fold) || fold < 0 || fold >= folds) throw new RangeError(`fold must be an integer from 0 to ${folds - 1}, got ${fold}`);
}

/** The fold (0..folds-1) of each of `count` items. */
export function foldAssignment(count: number, folds: number, seed = DEFAULT_FOLD_SEED): number[] {
  const assignment = new Array<number>(count);
  new Random(seed).permutation(count).forEach((item, position) => { assignment[item] = position % folds; });
  return assignment;
}

/** Splits `items` (in canonical order) into the training folds and the held-out fold `fold`. */
export function selectFold<T>(items: T[], folds: number, fold: number, seed = DEFAULT_FOLD_SEED): { train: T[]; val: T[] } {
  validateFolds(folds, fold);
  const assignment = foldAssignment(items.length, folds, seed);
  return {
    train: items.filter((_, i) => assignment[i] !== fold),
    val: items.filter((_, i) => assignment[i] === fold),
  };
}
