/**
 * Heatmap rendering (training targets) and decoding (landmarks from network outputs), in the native addon
 * (native/: C++ threads, CUDA when built with it and a device is present) or, where the addon is not
 * built, in the TypeScript reference (with one warning). Both compute the same values (to 1e-5).
 *
 * Layout: heatmaps are K x H x W float32, row-major; points are K (x, y) pairs, x = column, y = row, pixel
 * centres at integers, in pixels of the heatmap grid. A batch B x K is the same layout with K' = B x K.
 *
 * The async forms run on the libuv thread pool (then split over threads) and leave the event loop free;
 * do not modify or transfer their arrays until the promise settles. In the fallback they run on the
 * main thread.
 */
import { availableParallelism } from 'os';
import { nativeAddon, nativeInfo } from './native';
import type { Addon } from './native';
import { checkBatch, checkDecode, checkRender, dimension } from './options';
import type { Backend, CheckedDecode, CheckedRender, DecodedLandmarks, DecodeMethod, DecodeOptions, RenderOptions } from './options';
import { decodeChecked, renderChecked } from './reference';

export * as reference from './reference';
export { nativeAvailable, nativeInfo } from './native';
export type { NativeInfo } from './native';
export { DECODE_METHODS } from './options';
export type { Backend, DecodedLandmarks, DecodeMethod, DecodeOptions, OutputKind, RenderOptions } from './options';

const METHOD_CODES: Record<DecodeMethod, number> = { argmax: 0, 'soft-argmax': 1, 'gaussian-fit': 2 };
const DEFAULT_THREADS = Math.max(1, Math.min(availableParallelism(), 1024));

function useCuda(fn: string, backend: Backend): boolean {
  if (backend === 'cpu') return false;
  const info = nativeInfo();
  if (backend === 'cuda' && info.cudaDevices === 0) {
    const why = !info.available ? 'the native addon is not available' : !info.cuda ? 'the addon was built without CUDA (npm run build:cuda)' : `no CUDA device (${info.reason ?? 'none found'})`;
    throw new Error(`${fn}: options.backend is 'cuda' but ${why}`);
  }
  return info.cudaDevices > 0;
}

function renderArgs(fn: string, a: CheckedRender) {
  return [a.points, a.height, a.width, a.sigma, a.radius, a.out, a.outZeroed, a.threads ?? DEFAULT_THREADS, useCuda(fn, a.backend)] as const;
}

function decodeArgs(fn: string, a: CheckedDecode, points: Float32Array, scores: Float32Array) {
  return [a.heatmaps, a.count, a.height, a.width, METHOD_CODES[a.method], a.window, points, scores, a.threads ?? DEFAULT_THREADS, useCuda(fn, a.backend)] as const;
}

/**
 * K heatmaps of H x W (K = points.length / 2): exp(-((x - px)^2 + (y - py)^2) / (2 sigma^2)) at integer (x, y),
 * peak 1 when the landmark sits on a pixel centre, 0 farther than options.radius (default 4 sigma). Landmarks
 * partly or wholly outside the grid render what falls inside.
 */
export function renderHeatmaps(points: Float32Array, height: number, width: number, options: RenderOptions): Float32Array {
  const fn = 'renderHeatmaps';
  const a = checkRender(fn, points, height, width, options);
  const addon = nativeAddon();
  return addon ? addon.render(...renderArgs(fn, a)) : renderChecked(a);
}

/** B x K heatmaps of H x W for B x K points (B x K x 2 values): B x K x H x W values. */
export function renderHeatmapsBatch(points: Float32Array, batch: number, height: number, width: number, options: RenderOptions): Float32Array {
  const fn = 'renderHeatmapsBatch';
  const a = checkRender(fn, points, height, width, options);
  checkBatch(fn, batch, a.count, 'the number of points');
  const addon = nativeAddon();
  return addon ? addon.render(...renderArgs(fn, a)) : renderChecked(a);
}

/** `renderHeatmaps` (any number of points, so batches too) off the event loop. */
export async function renderHeatmapsAsync(points: Float32Array, height: number, width: number, options: RenderOptions): Promise<Float32Array> {
  const fn = 'renderHeatmapsAsync';
  const a = checkRender(fn, points, height, width, options);
  const addon = nativeAddon();
  return addon ? addon.renderAsync(...renderArgs(fn, a)) : renderChecked(a);
}

function decodeWith(addon: Addon, fn: string, a: CheckedDecode): DecodedLandmarks {
  const points = new Float32Array(2 * a.count);
  const scores = new Float32Array(a.count);
  addon.decode(...decodeArgs(fn, a, points, scores));
  return { points, scores };
}

/** Landmark (x, y) and score of each of K heatmaps of H x W. See DecodeMethod and DecodedLandmarks. */
export function decodeHeatmaps(heatmaps: Float32Array, K: number, H: number, W: number, options: DecodeOptions): DecodedLandmarks {
  const fn = 'decodeHeatmaps';
  const a = checkDecode(fn, heatmaps, K, H, W, options);
  const addon = nativeAddon();
  return addon ? decodeWith(addon, fn, a) : decodeChecked(a);
}

/** Decodes B x K x H x W heatmaps: B x K points (B x K x 2 values) and B x K scores. */
export function decodeHeatmapsBatch(heatmaps: Float32Array, B: number, K: number, H: number, W: number, options: DecodeOptions): DecodedLandmarks {
  const fn = 'decodeHeatmapsBatch';
  const b = dimension(fn, 'B', B);
  const a = checkDecode(fn, heatmaps, b * dimension(fn, 'K', K), H, W, options);
  const addon = nativeAddon();
  return addon ? decodeWith(addon, fn, a) : decodeChecked(a);
}

/** `decodeHeatmaps` (K may be B x K for a batch) off the event loop. */
export async function decodeHeatmapsAsync(heatmaps: Float32Array, K: number, H: number, W: number, options: DecodeOptions): Promise<DecodedLandmarks> {
  const fn = 'decodeHeatmapsAsync';
  const a = checkDecode(fn, heatmaps, K, H, W, options);
  const addon = nativeAddon();
  if (!addon) return decodeChecked(a);
  const points = new Float32Array(2 * a.count);
  const scores = new Float32Array(a.count);
  await addon.decodeAsync(...decodeArgs(fn, a, points, scores));
  return { points, scores };
}

export { decodeDistributionsAsync, decodeDistributionsBatch, distributionWindow, spatialSoftmax } from './distribution';
