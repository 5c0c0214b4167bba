/**
 * The TypeScript reference of the heatmap functions: the specification the native addon (native/) is tested
 * against, and the fallback where the addon is not built. Same arithmetic as native/heatmap_core.h, in
 * double precision, stored as float32.
 */
import { checkDecode, checkRender } from './options';
import type { CheckedDecode, CheckedRender, DecodedLandmarks, DecodeOptions, RenderOptions } from './options';

/** Inclusive pixel range of [centre - radius, centre + radius] inside [0, size); lo > hi when empty. */
function clippedSpan(centre: number, radius: number, size: number): [number, number] {
  return [Math.max(Math.ceil(centre - radius), 0), Math.min(Math.floor(centre + radius), size - 1)];
}

export function renderChecked(a: CheckedRender): Float32Array {
  const { points, count, height, width, radius, out } = a;
  const inv2Sigma2 = 1 / (2 * a.sigma * a.sigma);
  const radius2 = radius * radius;
  const plane = height * width;
  if (!a.outZeroed) out.fill(0);
  for (let i = 0; i < count; i++) {
    const px = points[2 * i];
    const py = points[2 * i + 1];
    const [x0, x1] = clippedSpan(px, radius, width);
    const [y0, y1] = clippedSpan(py, radius, height);
    if (x0 > x1 || y0 > y1) continue;
    const gx = new Float64Array(x1 - x0 + 1);
    const dx2 = new Float64Array(x1 - x0 + 1);
    for (let x = x0; x <= x1; x++) {
      const dx = x - px;
      dx2[x - x0] = dx * dx;
      gx[x - x0] = Math.exp(-dx * dx * inv2Sigma2);
    }
    const base = i * plane;
    for (let y = y0; y <= y1; y++) {
      const dy = y - py;
      const dy2 = dy * dy;
      const gy = Math.exp(-dy * dy * inv2Sigma2);
      const row = base + y * width;
      for (let x = x0; x <= x1; x++) {
        if (dx2[x - x0] + dy2 <= radius2) out[row + x] = gx[x - x0] * gy;
      }
    }
  }
  return out;
}

/** First index (raster order) of the largest value in hm[start, start + size); NaNs ignored; -1 if none. */
function findPeak(hm: Float32Array, start: number, size: number): number {
  let best = -Infinity;
  let index = -1;
  for (let k = start, end = start + size; k < end; k++) {
    if (hm[k] > best) {
      best = hm[k];
      index = k - start;
    }
  }
  return index;
}

interface Window {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

function windowAround(px: number, py: number, half: number, height: number, width: number): Window {
  return { x0: Math.max(px - half, 0), x1: Math.min(px + half, width - 1), y0: Math.max(py - half, 0), y1: Math.min(py + half, height - 1) };
}

/** Soft-argmax; near a border the window shrinks on both sides alike (a one-sided cut biases the mean inwards). */
function softArgmax(hm: Float32Array, base: number, height: number, width: number, px: number, py: number, half: number): [number, number] {
  const halfX = Math.min(half, px, width - 1 - px);
  const halfY = Math.min(half, py, height - 1 - py);
  const w: Window = { x0: px - halfX, x1: px + halfX, y0: py - halfY, y1: py + halfY };
  let sw = 0;
  let swx = 0;
  let swy = 0;
  for (let y = w.y0; y <= w.y1; y++) {
    let rowW = 0;
    let rowWx = 0;
    for (let x = w.x0; x <= w.x1; x++) {
      const v = hm[base + y * width + x];
      const weight = v > 0 ? v : 0;
      rowW += weight;
      rowWx += weight * x;
    }
    sw += rowW;
    swx += rowWx;
    swy += rowW * y;
  }
  return sw > 0 ? [swx / sw, swy / sw] : [px, py];
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** Weighted least squares of log v = a + b dx + c dy + d (dx^2 + dy^2); see DecodeMethod. */
function gaussianFit(hm: Float32Array, base: number, width: number, px: number, py: number, half: number, w: Window): [number, number] | undefined {
  const m = Array.from({ length: 4 }, () => new Float64Array(5));
  const basis = new Float64Array(4);
  for (let y = w.y0; y <= w.y1; y++) {
    for (let x = w.x0; x <= w.x1; x++) {
      const v = hm[base + y * width + x];
      if (!(v > 0 && v <= FLOAT32_MAX)) continue;
      const weight = v * v;
      const dx = x - px;
      const dy = y - py;
      basis[0] = 1;
      basis[1] = dx;
      basis[2] = dy;
      basis[3] = dx * dx + dy * dy;
      const target = Math.log(v);
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) m[i][j] += weight * basis[i] * basis[j];
        m[i][4] += weight * basis[i] * target;
      }
    }
  }
  const scale = Math.max(m[0][0], m[1][1], m[2][2], m[3][3]);
  if (!(scale > 0)) return undefined;
  for (let col = 0; col < 4; col++) {
    let pivot = col;
    for (let r = col + 1; r < 4; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    if (!(Math.abs(m[pivot][col]) > 1e-12 * scale)) return undefined;
    if (pivot !== col) [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = col + 1; r < 4; r++) {
      const f = m[r][col] / m[col][col];
      for (let j = col; j < 5; j++) m[r][j] -= f * m[col][j];
    }
  }
  const coef = new Float64Array(4);
  for (let r = 3; r >= 0; r--) {
    let s = m[r][4];
    for (let j = r + 1; j < 4; j++) s -= m[r][j] * coef[j];
    coef[r] = s / m[r][r];
  }
  if (!(coef[3] < 0)) return undefined;
  const cx = -coef[1] / (2 * coef[3]);
  const cy = -coef[2] / (2 * coef[3]);
  const limit = half + 0.5;
  if (!(Math.abs(cx) <= limit && Math.abs(cy) <= limit)) return undefined;
  return [px + cx, py + cy];
}

export function decodeChecked(a: CheckedDecode): DecodedLandmarks {
  const { heatmaps, count, height, width, method, window: half } = a;
  const plane = height * width;
  const points = new Float32Array(2 * count);
  const scores = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const base = i * plane;
    const peak = findPeak(heatmaps, base, plane);
    if (peak < 0) {
      points[2 * i] = points[2 * i + 1] = scores[i] = NaN;
      continue;
    }
    scores[i] = heatmaps[base + peak];
    const px = peak % width;
    const py = (peak - px) / width;
    let xy: [number, number] = [px, py];
    if (method !== 'argmax') {
      const fitted = method === 'gaussian-fit' ? gaussianFit(heatmaps, base, width, px, py, half, windowAround(px, py, half, height, width)) : undefined;
      xy = fitted ?? softArgmax(heatmaps, base, height, width, px, py, half);
    }
    points[2 * i] = xy[0];
    points[2 * i + 1] = xy[1];
  }
  return { points, scores };
}

/**
 * K heatmaps of H x W (K = points.length / 2): exp(-((x - px)^2 + (y - py)^2) / (2 sigma^2)) at integer (x, y),
 * 0 farther than options.radius (default 4 sigma) from (px, py). Landmarks partly or wholly outside the grid
 * render what falls inside. B x K points render B x K x H x W: the layout is the same.
 */
export function renderHeatmaps(points: Float32Array, height: number, width: number, options: RenderOptions): Float32Array {
  return renderChecked(checkRender('reference.renderHeatmaps', points, height, width, options));
}

/** Landmark (x, y) and peak value of each of K heatmaps of H x W. See DecodeMethod and DecodedLandmarks. */
export function decodeHeatmaps(heatmaps: Float32Array, K: number, H: number, W: number, options: DecodeOptions): DecodedLandmarks {
  return decodeChecked(checkDecode('reference.decodeHeatmaps', heatmaps, K, H, W, options));
}
