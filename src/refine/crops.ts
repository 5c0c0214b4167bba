/**
 * The refinement stage's view of an image: for each landmark a square crop about the first stage's estimate,
 * `factor` times finer than the first stage's grid, sampled from the decoded image (never from the grid).
 * Its pixel size follows the window the first stage saw (the whole frame, or a second look's), so a crop
 * covers the same anatomy whatever the scanner's pixel size. Training and the Predictor both crop here.
 */
import type { Grid, Window } from '../data/grid';
import { reducedWindowToUnitGrid, toNetworkInput } from '../data/grid';
import type { ReducedImage } from '../io';
import type { Point } from '../data/types';

export interface RefineSettings {
  /** Crop side in crop pixels (a multiple of 32: the network's input, unpadded). */
  crop: number;
  /** Crop pixels per first-stage grid pixel (3: a 256-row grid's 0.94 mm become 0.31 mm on ISBI images). */
  factor: number;
  /** Target sigma in crop pixels (the decoding window). */
  sigma: number;
  /**
   * A refined point replaces the first stage's only where the refinement's score reaches this: a crop whose
   * map is diffuse has found nothing it knows, and a far move from it is a guess.
   */
  minScore: number;
  /**
   * The refined point's weight in its average with the first stage's (1: it replaces the first stage's):
   * the two stages' errors are partly independent, so their weighted mean is nearer than either.
   */
  refinedWeight: number;
}

/**
 * The minScore lmk train writes: chosen on ISBI images 121-150 with both stages trained on 001-120, against
 * no gate, for three refinement settings (docs/refinement.md); lmk join --min-score sets another.
 */
export const REFINE_MIN_SCORE = 0.7;

/**
 * The refinedWeight lmk train writes: chosen on ISBI images 121-150 with both stages trained on 001-120
 * (docs/refinement.md); files written before it replace the first stage's point (1).
 */
export const REFINED_WEIGHT = 0.75;

/** Original pixels per crop pixel when the first stage saw `window` on `grid`. */
export function cropStep(window: Window, grid: Grid, factor: number): { x: number; y: number } {
  return { x: window.width / (grid.width * factor), y: window.height / (grid.height * factor) };
}

/** The window of side `crop` crop pixels centred on `centre` (original pixels). */
export function cropWindow([x, y]: Point, step: { x: number; y: number }, crop: number): Window {
  const width = crop * step.x;
  const height = crop * step.y;
  return { left: x - width / 2, top: y - height / 2, width, height };
}

/**
 * The reduced read a refined model needs: its crop pixels are `factor` times smaller than the grid's, so the
 * decode keeps at least that resolution (and the grid's usual twice).
 */
export function detailFor(settings: Pick<RefineSettings, 'factor'>): number {
  return Math.max(2, settings.factor);
}

/** One crop as [0, 1] grey, mirrored (each row reversed) when it lies in the mirrored image. */
export function cropUnit(image: ReducedImage, window: Window, crop: number, mirrored: boolean): Float32Array {
  const grid = { height: crop, width: crop };
  if (!mirrored) return reducedWindowToUnitGrid(image, grid, window);
  // `window` lies in the mirrored image: its mirror in the image, sampled, then each row reversed.
  const inImage = { ...window, left: image.info.width - 1 - window.left - window.width };
  const unit = reducedWindowToUnitGrid(image, grid, inImage);
  const out = new Float32Array(unit.length);
  for (let row = 0; row < crop; row++) for (let x = 0; x < crop; x++) out[row * crop + x] = unit[row * crop + crop - 1 - x];
  return out;
}

/** [0, 1] grey crop -> the network input (3 ImageNet-normalised channels, or the first of them). */
export function cropInput(unit: Float32Array, crop: number, inChannels: 1 | 3): Float32Array {
  const full = toNetworkInput(unit, { height: crop, width: crop });
  return inChannels === 3 ? full : full.slice(0, crop * crop);
}
