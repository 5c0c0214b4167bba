/**
 * One training sample: the image read and resampled to the grid (src/data's one input path, as the
 * Predictor reads it; an image that frames its landmarks unlike the training framing through the window
 * that frames them as it does, as the Predictor's second look does), augmented
 * when it has a seed, ImageNet-normalised to 3 channels, zero-padded bottom/right to the network's
 * multiple of 32 (as the Predictor pads), and its target heatmaps rendered at the grid landmarks.
 */
import { augment, AugmentOptions } from '../data/augment';
import { frameWindow, readForGrid, reducedWindowToUnitGrid, reducedToUnitGrid, toNetworkInput, toWindowPoint, Window } from '../data/grid';
import { Random } from '../data/random';
import type { LandmarkItem, Point } from '../data/types';
import { renderHeatmaps } from '../heatmaps';
import { padBottomRight } from '../infer/padding';
import { Framing, framingWindow, reframes } from '../shape/framing';
import type { CropSampling, CropSource } from './crop-samples';

export interface SampleConfig {
  grid: { height: number; width: number };
  /** The network's input size: the grid padded to multiples of 32. */
  padded: { height: number; width: number };
  sigma: number;
  classes: number;
  inChannels: number;
  /** Ranges of the random augmentation of samples that have a seed. */
  augmentation: AugmentOptions;
  /** How the model's images frame their landmarks (none: every image as a whole). */
  framing?: Framing;
  /** Training the refinement stage: samples are crops about one landmark (crop-samples.ts); `grid` is the crop's. */
  refine?: CropSampling;
}

export interface PreparedSample {
  /** [inChannels, padded.height, padded.width]. */
  image: Float32Array;
  /** [classes, padded.height, padded.width]. */
  target: Float32Array;
  /** (x, y) per landmark in grid pixels, after augmentation. */
  gridLandmarks: Float32Array;
}

/** A grid image ([0, 1] grey) and the window of the image it shows. */
interface GridImage {
  unit: Float32Array;
  window: Window;
}

/** Grid images (or the refinement's crop sources) by image path: reading an x-ray costs more than a step's data work. */
export interface SampleCache {
  grids: Map<string, GridImage>;
  crops: Map<string, CropSource>;
}

export const sampleCache = (): SampleCache => ({ grids: new Map(), crops: new Map() });

async function gridImage(item: LandmarkItem, config: SampleConfig, cache: Map<string, GridImage>): Promise<GridImage> {
  const cached = cache.get(item.imagePath);
  if (cached) return cached;
  const image = await readForGrid(item.imagePath, config.grid);
  const { width, height } = image.info;
  if (width !== item.width || height !== item.height) {
    throw new Error(`${item.imagePath}: the image is ${width}x${height}, its annotations were made for ${item.width}x${item.height}`);
  }
  const frame = frameWindow(item);
  const framed = config.framing && framingWindow(item.landmarks, config.framing);
  const grid = framed && reframes(framed, frame)
    ? { unit: reducedWindowToUnitGrid(image, config.grid, framed), window: framed }
    : { unit: reducedToUnitGrid(image, config.grid), window: frame };
  cache.set(item.imagePath, grid);
  return grid;
}

export async function prepareSample(item: LandmarkItem, config: SampleConfig, augmentSeed: number | null, cache: SampleCache): Promise<PreparedSample> {
  const { grid, padded } = config;
  if (config.inChannels !== 3) throw new Error(`training reads grey x-rays as 3 identical channels; the model has ${config.inChannels} input channel(s)`);
  const shown = await gridImage(item, config, cache.grids);
  let unit = shown.unit;
  let points: Point[] = item.landmarks.map((p) => toWindowPoint(p, shown.window, grid));
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
