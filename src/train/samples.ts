/**
 * One training sample: the image read and resampled to the grid (src/data's one input path, as the
 * Predictor reads it), augmented
 * when it has a seed, ImageNet-normalised to 3 channels, zero-padded bottom/right to the network's
 * multiple of 32 (as the Predictor pads), and its target heatmaps rendered at the grid landmarks.
 */
import { augment, AugmentOptions } from '../data/augment';
import { readForGrid, reducedToUnitGrid, toGridPoints, toNetworkInput } from '../data/grid';
import { Random } from '../data/random';
import type { LandmarkItem, Point } from '../data/types';
import { renderHeatmaps } from '../heatmaps';
import { padBottomRight } from '../infer/padding';

export interface SampleConfig {
  grid: { height: number; width: number };
  /** The network's input size: the grid padded to multiples of 32. */
  padded: { height: number; width: number };
  sigma: number;
  classes: number;
  inChannels: number;
  /** Ranges of the random augmentation of samples that have a seed. */
  augmentation: AugmentOptions;
}

export interface PreparedSample {
  /** [inChannels, padded.height, padded.width]. */
  image: Float32Array;
  /** [classes, padded.height, padded.width]. */
  target: Float32Array;
  /** (x, y) per landmark in grid pixels, after augmentation. */
  gridLandmarks: Float32Array;
}

/** Grid images ([0, 1] grey) by image path: reading and resampling an x-ray costs more than a step's data work. */
export type SampleCache = Map<string, Float32Array>;

async function unitGridImage(item: LandmarkItem, config: SampleConfig, cache: SampleCache): Promise<Float32Array> {
  const cached = cache.get(item.imagePath);
  if (cached) return cached;
  const image = await readForGrid(item.imagePath, config.grid);
  const { width, height } = image.info;
  if (width !== item.width || height !== item.height) {
    throw new Error(`${item.imagePath}: the image is ${width}x${height}, its annotations were made for ${item.width}x${item.height}`);
  }
  const unit = reducedToUnitGrid(image, config.grid);
  cache.set(item.imagePath, unit);
  return unit;
}

export async function prepareSample(item: LandmarkItem, config: SampleConfig, augmentSeed: number | null, cache: SampleCache): Promise<PreparedSample> {
  const { grid, padded } = config;
  if (config.inChannels !== 3) throw new Error(`training reads grey x-rays as 3 identical channels; the model has ${config.inChannels} input channel(s)`);
  let unit = await unitGridImage(item, config, cache);
  let points: Point[] = toGridPoints(item.landmarks, item, grid);
  if (augmentSeed !== null) {
    const augmented = augment(unit, grid, points, new Random(augmentSeed), config.augmentation);
    unit = augmented.pixels;
    points = augmented.landmarks;
  }
  const image = padBottomRight(toNetworkInput(unit, grid), 1, 3, grid.height, grid.width, padded.height, padded.width);
  const gridLandmarks = Float32Array.from(points.flat());
  const heatmaps = renderHeatmaps(gridLandmarks, grid.height, grid.width, { sigma: config.sigma, threads: 1 });
  const target = padBottomRight(heatmaps, 1, config.classes, grid.height, grid.width, padded.height, padded.width);
  return { image, target, gridLandmarks };
}
