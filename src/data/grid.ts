import { DecodedImage, readImageReduced, ReducedImage, reduceImage, shrinkFactor, toDisplayUnit } from '../io';
import { Point } from './types';

/**
 * The one mapping between an original image (W x H) and the model grid (Wg x Hg). Pixel centres sit at
 * integer coordinates and pixel edges at half-integers, so the image spans [-0.5, W - 0.5]; the two spans
 * are matched edge to edge:
 *
 *   x_grid = (x + 0.5) * Wg / W - 0.5        x = (x_grid + 0.5) * W / Wg - 0.5     (likewise y with H, Hg)
 *
 * `resizeToGrid` samples with the same convention (output pixel i is centred on source coordinate
 * (i + 0.5) * W / Wg - 0.5), so a bright dot at landmark p lands at toGrid(p). Downscaling is antialiased
 * with a triangle filter widened by the scale factor (as PIL's bilinear); upscaling is plain bilinear.
 *
 * Files reach the grid in two stages (`readForGrid`, then `reducedToUnitGrid`), the same for training and
 * inference: the image is decoded at 1/s of its size (s = 8, 4, 2 or 1, the largest that keeps twice the
 * grid's resolution; JPEG files are scaled by libjpeg while decoding, other images box-reduced), whose
 * pixel k is centred on original coordinate s * (k + 0.5) - 0.5; the triangle filter then samples the
 * reduced image at the grid pixels' original centres, so the mapping above holds exactly on every path.
 */

export interface Grid {
  height: number;
  width: number;
}

export interface Size {
  width: number;
  height: number;
}

export function toGridPoint([x, y]: Point, image: Size, grid: Grid): Point {
  return [((x + 0.5) * grid.width) / image.width - 0.5, ((y + 0.5) * grid.height) / image.height - 0.5];
}

export function fromGridPoint([x, y]: Point, image: Size, grid: Grid): Point {
  return [((x + 0.5) * image.width) / grid.width - 0.5, ((y + 0.5) * image.height) / grid.height - 0.5];
}

export function toGridPoints(points: Point[], image: Size, grid: Grid): Point[] {
  return points.map((p) => toGridPoint(p, image, grid));
}

export function fromGridPoints(points: Point[], image: Size, grid: Grid): Point[] {
  return points.map((p) => fromGridPoint(p, image, grid));
}

/**
 * A part of an original image the grid is laid over, in its pixel-edge coordinates: the whole image is
 * { left: -0.5, top: -0.5, width: W, height: H }. A window may reach past the image (black there).
 */
export interface Window {
  left: number;
  top: number;
  width: number;
  height: number;
}

export function frameWindow(image: Size): Window {
  return { left: -0.5, top: -0.5, width: image.width, height: image.height };
}

/** Original pixel -> grid pixel through a window (with the whole frame, `toGridPoint`). */
export function toWindowPoint([x, y]: Point, window: Window, grid: Grid): Point {
  return [((x - window.left) * grid.width) / window.width - 0.5, ((y - window.top) * grid.height) / window.height - 0.5];
}

/** Grid pixel -> original pixel through a window (with the whole frame, `fromGridPoint`). */
export function fromWindowPoint([x, y]: Point, window: Window, grid: Grid): Point {
  return [window.left + ((x + 0.5) * window.width) / grid.width, window.top + ((y + 0.5) * window.height) / grid.height];
}

/** Per output index: first source index and normalised weights of the taps. */
interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  maxTaps: number;
}

/**
 * Output pixel i is centred on input coordinate offset + (i + 0.5) * scale - 0.5. Taps past the input's
 * edges are dropped and the rest renormalised, or with `replicate` (windows reaching past the image) they
 * read the edge pixel.
 */
function taps(inSize: number, outSize: number, scale: number, offset = 0, replicate = false): Taps {
  const support = Math.max(scale, 1);
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * maxTaps);
  for (let i = 0; i < outSize; i++) {
    const centre = offset + (i + 0.5) * scale - 0.5;
    const first = Math.floor(centre - support) + 1;
    const last = Math.ceil(centre + support) - 1;
    const clamp = (j: number) => Math.min(inSize - 1, Math.max(0, j));
    const lo = replicate ? clamp(first) : Math.max(0, first);
    const hi = replicate ? clamp(last) : Math.min(inSize - 1, last);
    let sum = 0;
    for (let j = replicate ? first : lo; j <= (replicate ? last : hi); j++) {
      const w = Math.max(0, 1 - Math.abs(j - centre) / support);
      weights[i * maxTaps + clamp(j) - lo] += w;
      sum += w;
    }
    for (let k = 0; k <= hi - lo; k++) weights[i * maxTaps + k] /= sum;
    start[i] = lo;
    count[i] = hi - lo + 1;
  }
  return { start, count, weights, maxTaps };
}

/** Resamples a single-channel row-major image to the grid (see the convention above). */
export function resizeToGrid(data: Float32Array, image: Size, grid: Grid): Float32Array {
  return resample(data, image, grid, image.width / grid.width, image.height / grid.height);
}

/** Resamples a reduced image to the grid at its original pixel centres (see ReducedImage). */
export function resizeReducedToGrid(image: Pick<ReducedImage, 'data' | 'width' | 'height' | 'shrink' | 'info'>, grid: Grid): Float32Array {
  const s = image.shrink;
  return resample(image.data, image, grid, image.info.width / (s * grid.width), image.info.height / (s * grid.height));
}

interface Placement {
  offsetX: number;
  offsetY: number;
  replicate: boolean;
}

function resample(data: Float32Array, image: Size, grid: Grid, scaleX: number, scaleY: number, at: Placement = { offsetX: 0, offsetY: 0, replicate: false }): Float32Array {
  const { width: W, height: H } = image;
  const { width: Wg, height: Hg } = grid;
  if (data.length !== W * H) throw new RangeError(`image data has ${data.length} values, ${W}x${H} expected`);
  const tx = taps(W, Wg, scaleX, at.offsetX, at.replicate);
  const ty = taps(H, Hg, scaleY, at.offsetY, at.replicate);
  // Only the rows the vertical taps read: a crop's window needs a band of the image, not all of it.
  let rowLo = H;
  let rowHi = -1;
  for (let y = 0; y < Hg; y++) {
    rowLo = Math.min(rowLo, ty.start[y]);
    rowHi = Math.max(rowHi, ty.start[y] + ty.count[y] - 1);
  }
  const rows = new Float32Array(Math.max(0, rowHi - rowLo + 1) * Wg);
  for (let y = rowLo; y <= rowHi; y++) {
    const src = y * W;
    const dst = (y - rowLo) * Wg;
    for (let x = 0; x < Wg; x++) {
      const s = src + tx.start[x];
      const w = x * tx.maxTaps;
      let acc = 0;
      for (let k = 0; k < tx.count[x]; k++) acc += data[s + k] * tx.weights[w + k];
      rows[dst + x] = acc;
    }
  }
  const out = new Float32Array(Hg * Wg);
  for (let y = 0; y < Hg; y++) {
    const dst = y * Wg;
    for (let k = 0; k < ty.count[y]; k++) {
      const weight = ty.weights[y * ty.maxTaps + k];
      const src = (ty.start[y] + k - rowLo) * Wg;
      for (let x = 0; x < Wg; x++) out[dst + x] += rows[src + x] * weight;
    }
  }
  return out;
}

/**
 * Preprocess stage for a window of the image (the Predictor's second look at an image framed unlike the
 * training images): the window on the grid with values in [0, 1]. Where it reaches past the image the edge
 * pixels are repeated: on images that frame the anatomy larger than training, black borders cost the
 * network more than repeated edges do (measured: README, other devices). With the whole frame as the
 * window it equals `reducedToUnitGrid` but at the outermost grid pixels, whose filters reach past the edge.
 */
export function reducedWindowToUnitGrid(image: ReducedImage, grid: Grid, window: Window): Float32Array {
  const s = image.shrink;
  // Reduced pixel k is centred on original s (k + 0.5) - 0.5, so original x is reduced (x + 0.5) / s - 0.5.
  const placement = { offsetX: (window.left + 0.5) / s, offsetY: (window.top + 0.5) / s, replicate: true };
  return toDisplayUnit(resample(image.data, image, grid, window.width / (s * grid.width), window.height / (s * grid.height), placement), image.valueRange, image.display);
}

/** Grey values scaled to [0, 1] by the image's value range (8-bit: /255; deeper images: their stored range). */
export function toUnitRange(data: Float32Array, valueRange: [number, number]): Float32Array {
  const [lo, hi] = valueRange;
  const span = hi > lo ? hi - lo : 1;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.min(1, Math.max(0, (data[i] - lo) / span));
  return out;
}

/** A decoded image as far as the grid needs it (size and values). */
type GridSource = Pick<DecodedImage, 'width' | 'height' | 'data' | 'valueRange'> & Partial<DecodedImage>;

/**
 * What a reduced read for `grid` must keep: `detail` times the grid's resolution on each side (2; a model
 * with a refinement stage reads its finer crops from the same decode: src/refine).
 */
function reducedSizeFor(grid: Grid, detail = 2): { minWidth: number; minHeight: number } {
  return { minWidth: detail * grid.width, minHeight: detail * grid.height };
}

export interface GridReadOptions {
  maxPixels?: number;
  /** Grid resolutions the decode keeps (default 2). */
  detail?: number;
}

/** Read stage of the one input path: a file (or its bytes) decoded at the size `grid` needs. */
export function readForGrid(source: string | Uint8Array, grid: Grid, options: GridReadOptions = {}): Promise<ReducedImage> {
  const { detail, ...read } = options;
  return readImageReduced(source, { ...read, ...reducedSizeFor(grid, detail) });
}

/** An already decoded image reduced as `readForGrid` reduces files that are not JPEG. */
export function reduceForGrid(image: GridSource, grid: Grid, detail?: number): ReducedImage {
  const { minWidth, minHeight } = reducedSizeFor(grid, detail);
  return reduceImage(image, shrinkFactor(image.width, image.height, minWidth, minHeight));
}

/**
 * A finer read (`detail` above 2) brought to the shrink that a read for `grid` alone has: box means of box
 * means are box means, so the grid input equals a one-stage model's (JPEG files, scaled while decoding, differ
 * by the decoder's rounding).
 */
export function coarsenForGrid(image: ReducedImage, grid: Grid): ReducedImage {
  const { minWidth, minHeight } = reducedSizeFor(grid);
  const s = shrinkFactor(image.info.width, image.info.height, minWidth, minHeight);
  if (s <= image.shrink) return image;
  return { ...reduceImage(image, s / image.shrink), info: image.info, shrink: s };
}

/** Preprocess stage: the image on the model grid with values in [0, 1] (what augmentation works on). */
export function reducedToUnitGrid(image: ReducedImage, grid: Grid): Float32Array {
  // Resampling is linear and the display transform per value, so the window can follow the resampling.
  return toDisplayUnit(resizeReducedToGrid(image, grid), image.valueRange, image.display);
}

/** A decoded image on the model grid with values in [0, 1], by the same two stages as files. */
export function toUnitGrid(image: GridSource, grid: Grid): Float32Array {
  return reducedToUnitGrid(reduceForGrid(image, grid), grid);
}

export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** [0, 1] grey on the grid -> the network input: 3 identical channels, ImageNet-normalised, CHW. */
export function toNetworkInput(unit: Float32Array, grid: Grid): Float32Array {
  const plane = grid.height * grid.width;
  if (unit.length !== plane) throw new RangeError(`grid image has ${unit.length} values, ${grid.height}x${grid.width} expected`);
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = IMAGENET_MEAN[c];
    const inv = 1 / IMAGENET_STD[c];
    const base = c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = (unit[i] - mean) * inv;
  }
  return out;
}

/** A decoded image -> the network input on `grid` (3 x Hg x Wg, CHW). */
export function toModelInput(image: GridSource, grid: Grid): Float32Array {
  return toNetworkInput(toUnitGrid(image, grid), grid);
}
