/**
 * Finds and loads the native heatmap addon, once, on first use: $LMK_NATIVE_ADDON (a path to a .node file,
 * or `none` to use the TypeScript reference) if set, else the more recently built of build-cuda/Release
 * (`npm run build:cuda`) and build/Release (the CPU build that `npm ci` makes): the last build wins.
 */
import { existsSync, statSync } from 'fs';
import { join, resolve } from 'path';

/** The raw binding (native/addon.cc). Arguments are validated again there; outputs are passed in. */
export interface Addon {
  render(points: Float32Array, height: number, width: number, sigma: number, radius: number, out: Float32Array, outZeroed: boolean, threads: number, useCuda: boolean): Float32Array;
  renderAsync(points: Float32Array, height: number, width: number, sigma: number, radius: number, out: Float32Array, outZeroed: boolean, threads: number, useCuda: boolean): Promise<Float32Array>;
  decode(heatmaps: Float32Array, count: number, height: number, width: number, method: number, window: number, points: Float32Array, scores: Float32Array, threads: number, useCuda: boolean): void;
  decodeAsync(heatmaps: Float32Array, count: number, height: number, width: number, method: number, window: number, points: Float32Array, scores: Float32Array, threads: number, useCuda: boolean): Promise<void>;
  info(): { cuda: boolean; cudaDevices: number; cudaError?: string };
}

export interface NativeInfo {
  /** Whether the functions run in the native addon (else in the TypeScript reference). */
  available: boolean;
  /** The .node file in use. */
  path?: string;
  /** Whether the addon was built with CUDA kernels, and how many devices it sees. */
  cuda: boolean;
  cudaDevices: number;
  /** Why the addon is not in use, or why CUDA has no device. */
  reason?: string;
}

const PACKAGE_ROOT = resolve(__dirname, '..', '..');
const ADDON_FUNCTIONS = ['render', 'renderAsync', 'decode', 'decodeAsync', 'info'] as const;

let loaded: { addon?: Addon; info: NativeInfo } | undefined;
let warned = false;

function candidatePaths(): string[] | string {
  const chosen = process.env.LMK_NATIVE_ADDON;
  if (chosen === 'none') return 'disabled by LMK_NATIVE_ADDON=none';
  if (chosen) return [resolve(chosen)];
  const builds = ['build-cuda', 'build'].map((dir) => join(PACKAGE_ROOT, dir, 'Release', 'lmk_heatmaps.node'));
  const built = (path: string) => (existsSync(path) ? statSync(path).mtimeMs : -1);
  return builds.sort((a, b) => built(b) - built(a));
}

function load(): { addon?: Addon; info: NativeInfo } {
  const paths = candidatePaths();
  if (typeof paths === 'string') return { info: { available: false, cuda: false, cudaDevices: 0, reason: paths } };
  const problems: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) continue;
    try {
      const addon = require(path) as Addon;
      const missing = ADDON_FUNCTIONS.filter((f) => typeof addon[f] !== 'function');
      if (missing.length) throw new Error(`it lacks ${missing.join(', ')}`);
      const { cuda, cudaDevices, cudaError } = addon.info();
      return { addon, info: { available: true, path, cuda, cudaDevices, reason: cudaError } };
    } catch (err) {
      problems.push(`${path} did not load: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const reason = problems.length ? problems.join('; ') : `not built (no ${paths.join(' or ')})`;
  return { info: { available: false, cuda: false, cudaDevices: 0, reason } };
}

/** What the heatmap functions run on. Does not warn. */
export function nativeInfo(): NativeInfo {
  loaded ??= load();
  return { ...loaded.info };
}

/** Whether the native addon is in use (else the TypeScript reference). */
export function nativeAvailable(): boolean {
  return nativeInfo().available;
}

/** The addon, or undefined after warning (once per process) that the TypeScript reference is used instead. */
export function nativeAddon(): Addon | undefined {
  loaded ??= load();
  if (!loaded.addon && !warned) {
    warned = true;
    process.emitWarning(
      `lmk: the native heatmap addon is not available (${loaded.info.reason}); using the slower TypeScript reference. Build it with \`npm run build:native\`.`,
      { code: 'LMK_NATIVE_UNAVAILABLE' },
    );
  }
  return loaded.addon;
}
