import { constants } from 'buffer';

/**
 * How a model's outputs are read: `heatmap` (Gaussian peaks, decoded by their maximum) or `spatial-softmax`
 * (each channel is a distribution over the grid, decoded by `decodeDistributions*`).
 */
export type OutputKind = 'heatmap' | 'spatial-softmax';

/** Where the native addon runs: 'auto' uses CUDA when the addon was built with it and a device is present. */
export type Backend = 'auto' | 'cpu' | 'cuda';

export interface RenderOptions {
  /** Standard deviation of the Gaussian, in pixels of the grid. */
  sigma: number;
  /** Truncation radius in pixels: values farther than this from the landmark are 0. Default 4 sigma. */
  radius?: number;
  /** Array to write into (K x H x W values), e.g. reused across training steps; it is overwritten entirely. */
  out?: Float32Array;
  /** Native only: threads to split the heatmaps over. Default: the machine's available parallelism. */
  threads?: number;
  /** Native only. Default 'auto'. */
  backend?: Backend;
}

/**
 * - `argmax`: the brightest pixel (first in raster order on ties); integer coordinates.
 * - `soft-argmax`: mean of the coordinates in the (2 window + 1)^2 square around the brightest pixel,
 *   weighted by the heatmap clamped at 0 (so that negative network outputs do not pull the estimate).
 * - `gaussian-fit`: weighted least-squares fit of an isotropic Gaussian (a quadratic in log space, weights
 *   v^2) to the positive pixels of the same window; exact on a clean Gaussian and without soft-argmax's
 *   small bias from the window being centred on a whole pixel. Falls back to soft-argmax where the fit
 *   is degenerate (fewer than 4 positive pixels, no peak curvature, or a centre outside the window).
 */
export type DecodeMethod = 'argmax' | 'soft-argmax' | 'gaussian-fit';
export const DECODE_METHODS: readonly DecodeMethod[] = ['argmax', 'soft-argmax', 'gaussian-fit'];

export interface DecodeOptions {
  method: DecodeMethod;
  /** Sigma of the target Gaussians; sets the default window (ceil(3 sigma)). */
  sigma?: number;
  /** Half-width in pixels of the refinement window around the peak; overrides the one derived from sigma. */
  window?: number;
  /** Native only: threads to split the heatmaps over. Default: the machine's available parallelism. */
  threads?: number;
  /** Native only. Default 'auto'. */
  backend?: Backend;
}

/**
 * Decoded landmarks. `points` holds (x, y) per heatmap in pixels of the heatmap grid. `scores` holds each
 * heatmap's peak value, in the network's output units: about 1 for a confident detection by a model trained
 * on peak-1 targets, lower (even negative) when it is unsure. A heatmap with no comparable value (all NaN)
 * decodes to NaN point and score; NaN pixels are otherwise ignored.
 */
export interface DecodedLandmarks {
  points: Float32Array;
  scores: Float32Array;
}

/** The largest number of float32 values one array may hold in this Node. */
export const MAX_VALUES = Math.floor(constants.MAX_LENGTH / 4);
/** The largest dimension: the native addon indexes with 32-bit signed grids. */
export const MAX_DIMENSION = 0x7fffffff;
const MAX_THREADS = 1024;

export interface CheckedRender {
  points: Float32Array;
  count: number;
  height: number;
  width: number;
  sigma: number;
  radius: number;
  out: Float32Array;
  /** Whether out was allocated here (so holds zeros and only the windows need writing). */
  outZeroed: boolean;
  threads?: number;
  backend: Backend;
}

export interface CheckedDecode {
  heatmaps: Float32Array;
  count: number;
  height: number;
  width: number;
  method: DecodeMethod;
  window: number;
  threads?: number;
  backend: Backend;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (Array.isArray(value)) return 'Array';
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value === 'number' ? String(value) : typeof value;
}

function float32Array(fn: string, name: string, value: unknown): Float32Array {
  // Checked by tag rather than instanceof so that arrays from another realm (worker, vm) pass.
  if (!ArrayBuffer.isView(value) || Object.prototype.toString.call(value) !== '[object Float32Array]') {
    throw new TypeError(`${fn}: ${name} must be a Float32Array (got ${describe(value)})`);
  }
  return value as Float32Array;
}

export function dimension(fn: string, name: string, value: unknown): number {
  if (typeof value !== 'number') throw new TypeError(`${fn}: ${name} must be a number (got ${describe(value)})`);
  if (!Number.isInteger(value) || value < 1 || value > MAX_DIMENSION) {
    throw new RangeError(`${fn}: ${name} must be an integer from 1 to ${MAX_DIMENSION} (got ${value})`);
  }
  return value;
}

function positive(fn: string, name: string, value: unknown): number {
  if (typeof value !== 'number') throw new TypeError(`${fn}: ${name} must be a number (got ${describe(value)})`);
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${fn}: ${name} must be a positive finite number (got ${value})`);
  }
  return value;
}

function valueCount(fn: string, count: number, height: number, width: number): number {
  const n = count * height * width;
  if (n > MAX_VALUES) {
    throw new RangeError(`${fn}: ${count} x ${height} x ${width} values is more than one Float32Array can hold (${MAX_VALUES})`);
  }
  return n;
}

function nativeOptions(fn: string, options: { threads?: unknown; backend?: unknown }): { threads?: number; backend: Backend } {
  const { threads, backend = 'auto' } = options;
  if (threads !== undefined && (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)) {
    throw new RangeError(`${fn}: options.threads must be an integer from 1 to ${MAX_THREADS} (got ${describe(threads)})`);
  }
  if (backend !== 'auto' && backend !== 'cpu' && backend !== 'cuda') {
    throw new RangeError(`${fn}: options.backend must be 'auto', 'cpu' or 'cuda' (got ${describe(backend)})`);
  }
  return { threads: threads as number | undefined, backend };
}

function optionsObject(fn: string, options: unknown): Record<string, unknown> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${fn}: options must be an object (got ${describe(options)})`);
  }
  return options as Record<string, unknown>;
}

export function checkRender(fn: string, points: unknown, height: unknown, width: unknown, options: unknown): CheckedRender {
  const pts = float32Array(fn, 'points', points);
  if (pts.length === 0 || pts.length % 2 !== 0) {
    throw new RangeError(`${fn}: points must hold one or more (x, y) pairs (got ${pts.length} values)`);
  }
  const bad = pts.findIndex((c) => !Number.isFinite(c));
  if (bad >= 0) throw new RangeError(`${fn}: points[${bad}] is ${pts[bad]}; every coordinate must be finite`);
  const count = pts.length / 2;
  const h = dimension(fn, 'height', height);
  const w = dimension(fn, 'width', width);
  const n = valueCount(fn, count, h, w);
  const opts = optionsObject(fn, options);
  const sigma = positive(fn, 'options.sigma', opts.sigma);
  const radius = opts.radius === undefined ? 4 * sigma : positive(fn, 'options.radius', opts.radius);
  let out: Float32Array;
  if (opts.out === undefined) {
    out = new Float32Array(n);
  } else {
    out = float32Array(fn, 'options.out', opts.out);
    if (out.length !== n) throw new RangeError(`${fn}: options.out has ${out.length} values; expected ${count} x ${h} x ${w} = ${n}`);
    if (out.buffer === pts.buffer) throw new RangeError(`${fn}: options.out must not share memory with points`);
  }
  return { points: pts, count, height: h, width: w, sigma, radius, out, outZeroed: opts.out === undefined, ...nativeOptions(fn, opts) };
}

export function checkDecode(fn: string, heatmaps: unknown, count: unknown, height: unknown, width: unknown, options: unknown): CheckedDecode {
  const hm = float32Array(fn, 'heatmaps', heatmaps);
  const k = dimension(fn, 'K', count);
  const h = dimension(fn, 'H', height);
  const w = dimension(fn, 'W', width);
  const n = valueCount(fn, k, h, w);
  if (hm.length !== n) throw new RangeError(`${fn}: heatmaps has ${hm.length} values; expected K x H x W = ${k} x ${h} x ${w} = ${n}`);
  const opts = optionsObject(fn, options);
  const method = opts.method as DecodeMethod;
  if (!DECODE_METHODS.includes(method)) {
    throw new RangeError(`${fn}: options.method must be one of ${DECODE_METHODS.join(', ')} (got ${describe(opts.method)})`);
  }
  let window = 1;
  if (opts.window !== undefined) {
    window = dimension(fn, 'options.window', opts.window);
  } else if (opts.sigma !== undefined) {
    window = Math.max(1, Math.ceil(3 * positive(fn, 'options.sigma', opts.sigma)));
  } else if (method !== 'argmax') {
    throw new RangeError(`${fn}: ${method} needs options.sigma (the window is ceil(3 sigma)) or options.window`);
  }
  return { heatmaps: hm, count: k, height: h, width: w, method, window, ...nativeOptions(fn, opts) };
}

/** A batch size that divides `total` items into equal groups. */
export function checkBatch(fn: string, batch: unknown, total: number, what: string): number {
  const b = dimension(fn, 'batch', batch);
  if (total % b !== 0) throw new RangeError(`${fn}: ${what} (${total}) is not a multiple of batch (${b})`);
  return b;
}
