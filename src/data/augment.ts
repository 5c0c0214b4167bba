import { Grid } from './grid';
import { Random } from './random';
import { Point } from './types';

/**
 * Training augmentation on the model grid, seeded: a random affine (rotation and scale about the grid centre,
 * then translation) and intensity changes (gamma, contrast, brightness) on [0, 1] grey. Landmarks go through
 * the same matrix as the pixels.
 */

export interface AugmentOptions {
  /** Rotation drawn from [-r, r] degrees. */
  rotationDeg: number;
  /** Scale drawn from [1 - s, 1 + s]. */
  scale: number;
  /** Translation drawn from [-t, t] times the grid width (x) and height (y). */
  translation: number;
  /** Added brightness drawn from [-b, b]. */
  brightness: number;
  /** Contrast factor about mid-grey drawn from [1 - c, 1 + c]. */
  contrast: number;
  /** Gamma drawn log-uniformly from [1 / (1 + g), 1 + g]. */
  gamma: number;
}

export const DEFAULT_AUGMENT: AugmentOptions = { rotationDeg: 10, scale: 0.1, translation: 0.05, brightness: 0.1, contrast: 0.2, gamma: 0.2 };

export interface AugmentParams {
  rotationDeg: number;
  scale: number;
  translateX: number;
  translateY: number;
  brightness: number;
  contrast: number;
  gamma: number;
}

/** Row-major 2x3 affine [a, b, c, d, e, f]: x' = a x + b y + c, y' = d x + e y + f. */
export type Affine = [number, number, number, number, number, number];

export function validateAugmentOptions(o: AugmentOptions): void {
  for (const [key, value] of Object.entries(o)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`augmentation ${key} must be a non-negative number, got ${value}`);
  }
  if (o.scale >= 1) throw new RangeError(`augmentation scale must be below 1, got ${o.scale}`);
  if (o.contrast >= 1) throw new RangeError(`augmentation contrast must be below 1, got ${o.contrast}`);
}

export function sampleAugmentation(random: Random, grid: Grid, options: AugmentOptions = DEFAULT_AUGMENT): AugmentParams {
  validateAugmentOptions(options);
  const logGamma = Math.log(1 + options.gamma);
  return {
    rotationDeg: random.uniform(-options.rotationDeg, options.rotationDeg),
    scale: random.uniform(1 - options.scale, 1 + options.scale),
    translateX: random.uniform(-options.translation, options.translation) * grid.width,
    translateY: random.uniform(-options.translation, options.translation) * grid.height,
    brightness: random.uniform(-options.brightness, options.brightness),
    contrast: random.uniform(1 - options.contrast, 1 + options.contrast),
    gamma: Math.exp(random.uniform(-logGamma, logGamma)),
  };
}

/** The forward matrix (input grid -> augmented grid): rotate and scale about the grid centre, then translate. */
export function augmentMatrix(p: AugmentParams, grid: Grid): Affine {
  const cx = (grid.width - 1) / 2;
  const cy = (grid.height - 1) / 2;
  const t = (p.rotationDeg * Math.PI) / 180;
  const a = p.scale * Math.cos(t);
  const b = -p.scale * Math.sin(t);
  const d = p.scale * Math.sin(t);
  const e = p.scale * Math.cos(t);
  return [a, b, cx + p.translateX - a * cx - b * cy, d, e, cy + p.translateY - d * cx - e * cy];
}

export function invertAffine([a, b, c, d, e, f]: Affine): Affine {
  const det = a * e - b * d;
  if (det === 0) throw new RangeError('affine matrix is singular');
  return [e / det, -b / det, (b * f - c * e) / det, -d / det, a / det, (c * d - a * f) / det];
}

export function applyAffine([a, b, c, d, e, f]: Affine, [x, y]: Point): Point {
  return [a * x + b * y + c, d * x + e * y + f];
}

/** Warps [0, 1] grey on the grid by `matrix` (bilinear; outside the source is black) and maps landmarks alike. */
export function warpAffine(pixels: Float32Array, grid: Grid, matrix: Affine): Float32Array {
  const { width: W, height: H } = grid;
  const [a, b, c, d, e, f] = invertAffine(matrix);
  const out = new Float32Array(W * H);
  const at = (x: number, y: number): number => (x >= 0 && x < W && y >= 0 && y < H ? pixels[y * W + x] : 0);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sx = a * x + b * y + c;
      const sy = d * x + e * y + f;
      if (sx <= -1 || sy <= -1 || sx >= W || sy >= H) continue;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      out[y * W + x] =
        (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
    }
  }
  return out;
}

/** Gamma, then contrast about mid-grey, then brightness; clamped to [0, 1]. In place. */
export function adjustIntensity(pixels: Float32Array, p: Pick<AugmentParams, 'gamma' | 'contrast' | 'brightness'>): Float32Array {
  for (let i = 0; i < pixels.length; i++) {
    const v = (Math.pow(Math.min(1, Math.max(0, pixels[i])), p.gamma) - 0.5) * p.contrast + 0.5 + p.brightness;
    pixels[i] = Math.min(1, Math.max(0, v));
  }
  return pixels;
}

export interface Augmented {
  pixels: Float32Array;
  /** Landmarks in the augmented grid; they may fall outside it. */
  landmarks: Point[];
  matrix: Affine;
  params: AugmentParams;
}

/** One augmented training sample from [0, 1] grey on the grid and its landmarks in grid coordinates. */
export function augment(pixels: Float32Array, grid: Grid, landmarks: Point[], random: Random, options: AugmentOptions = DEFAULT_AUGMENT): Augmented {
  if (pixels.length !== grid.width * grid.height) throw new RangeError(`grid image has ${pixels.length} values, ${grid.height}x${grid.width} expected`);
  const params = sampleAugmentation(random, grid, options);
  const matrix = augmentMatrix(params, grid);
  const warped = adjustIntensity(warpAffine(pixels, grid, matrix), params);
  return { pixels: warped, landmarks: landmarks.map((p) => applyAffine(matrix, p)), matrix, params };
}
