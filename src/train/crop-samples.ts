/**
 * One training sample of the refinement stage: the crop about one landmark that the Predictor would cut
 * after a first stage that missed it by a random offset (`jitter`), with every landmark that lies in it as a
 * target map. The crop comes from the decoded image at the refinement's resolution (src/refine/crops.ts),
 * through the window the first stage saw the image in (the whole frame, or its framing window as in
 * samples.ts). Augmentation: the offset, scale by the window's size, and intensity; no rotation (the crop
 * would show its corners).
 */
import { adjustIntensity, sampleAugmentation } from '../data/augment';
import { frameWindow, Grid, readForGrid, toWindowPoint, Window } from '../data/grid';
import { Random } from '../data/random';
import type { LandmarkItem, Point } from '../data/types';
import { renderHeatmaps } from '../heatmaps';
import type { ReducedImage } from '../io';
import { cropInput, cropStep, cropUnit, cropWindow, detailFor } from '../refine/crops';
import { framingWindow, reframes } from '../shape/framing';
import type { PreparedSample, SampleConfig } from './samples';

/** How crops are drawn: the first stage's grid sets their pixel size; offsets are in its grid pixels. */
export interface CropSampling {
  firstGrid: Grid;
  /** Crop pixels per first-stage grid pixel. */
  factor: number;
  /**
   * Offsets of the crop's centre from the landmark: per axis Gaussian with this sigma (first-stage grid
   * pixels), and one crop in TAIL_SHARE uniform over most of the crop (the first stage's far misses).
   */
  jitter: number;
}

const TAIL_SHARE = 0.2;
/** Tail offsets reach this share of the crop's half side. */
const TAIL_REACH = 0.75;

export interface CropSource {
  image: ReducedImage;
  window: Window;
}

export async function cropSource(item: LandmarkItem, config: SampleConfig, sampling: CropSampling, cache: Map<string, CropSource>): Promise<CropSource> {
  const cached = cache.get(item.imagePath);
  if (cached) return cached;
  const image = await readForGrid(item.imagePath, sampling.firstGrid, { detail: detailFor(sampling) });
  const { width, height } = image.info;
  if (width !== item.width || height !== item.height) {
    throw new Error(`${item.imagePath}: the image is ${width}x${height}, its annotations were made for ${item.width}x${item.height}`);
  }
  const frame = frameWindow(item);
  const framed = config.framing && framingWindow(item.landmarks, config.framing);
  const source = { image, window: framed && reframes(framed, frame) ? framed : frame };
  cache.set(item.imagePath, source);
  return source;
}

export async function prepareCropSample(item: LandmarkItem, landmark: number, config: SampleConfig, sampling: CropSampling, augmentSeed: number | null, cache: Map<string, CropSource>): Promise<PreparedSample> {
  const crop = config.grid.width;
  const cropGrid = { height: crop, width: crop };
  const source = await cropSource(item, config, sampling, cache);
  const step = cropStep(source.window, sampling.firstGrid, sampling.factor);
  const random = augmentSeed === null ? undefined : new Random(augmentSeed);
  let offset: Point = [0, 0];
  let scale = 1;
  if (random) {
    const reach = (TAIL_REACH * crop) / (2 * sampling.factor);
    offset = random.next() < TAIL_SHARE
      ? [random.uniform(-reach, reach), random.uniform(-reach, reach)]
      : [gaussian(random) * sampling.jitter, gaussian(random) * sampling.jitter];
    scale = random.uniform(1 - config.augmentation.scale, 1 + config.augmentation.scale);
  }
  const [x, y] = item.landmarks[landmark];
  const gridPixel = { x: step.x * sampling.factor, y: step.y * sampling.factor };
  const window = cropWindow([x + offset[0] * gridPixel.x, y + offset[1] * gridPixel.y], { x: step.x * scale, y: step.y * scale }, crop);
  let unit = cropUnit(source.image, window, crop, false);
  if (random) unit = adjustIntensity(unit, sampleAugmentation(random, cropGrid, config.augmentation));
  const points = item.landmarks.map((p) => toWindowPoint(p, window, cropGrid));
  const gridLandmarks = Float32Array.from(points.flat());
  const target = renderHeatmaps(gridLandmarks, crop, crop, { sigma: config.sigma, threads: 1 });
  // A landmark outside the crop has no target (an empty map adds nothing to softmax_ce): a map cut at the
  // edge would teach the edge.
  const plane = crop * crop;
  points.forEach(([px, py], k) => {
    if (!(px >= -0.5 && px <= crop - 0.5 && py >= -0.5 && py <= crop - 0.5)) target.fill(0, k * plane, (k + 1) * plane);
  });
  return { image: cropInput(unit, crop, 3), target, gridLandmarks };
}

/** A standard normal draw (Box-Muller). */
function gaussian(random: Random): number {
  const u = Math.max(random.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
}
