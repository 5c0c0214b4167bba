/** Data sets: formats, published splits and folds, the image <-> model-grid mapping, augmentation. */
export * from './types';
export { loadDataset, FORMATS, DEFAULT_GRIDS, SPLITS } from './load';
export type { LoadDatasetOptions, SplitSelection } from './load';
export { selectFold, foldAssignment, validateFolds, DEFAULT_FOLD_SEED } from './splits';
export {
  toGridPoint, fromGridPoint, toGridPoints, fromGridPoints, resizeToGrid, resizeReducedToGrid, readForGrid, reduceForGrid, coarsenForGrid, reducedToUnitGrid, reducedWindowToUnitGrid, frameWindow, fromWindowPoint, toWindowPoint, toUnitRange, toUnitGrid, toNetworkInput, toModelInput,
  IMAGENET_MEAN, IMAGENET_STD,
} from './grid';
export type { Grid, Size, Window } from './grid';
export { augment, sampleAugmentation, augmentMatrix, applyAffine, invertAffine, warpAffine, adjustIntensity, validateAugmentOptions, DEFAULT_AUGMENT } from './augment';
export type { AugmentOptions, AugmentParams, Affine, Augmented } from './augment';
export { Random } from './random';
export { DatasetError } from './parse';
export {
  ISBI2015_LANDMARK_NAMES, LANDMARK_NAMES_KEY, numberedLandmarkNames, formatLandmarkNames, readLandmarkNamesFile, serializeLandmarkNames, parseLandmarkNames,
} from './landmark-names';
export type { LandmarkName } from './landmark-names';
