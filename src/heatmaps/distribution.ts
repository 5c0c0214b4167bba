/**
 * Maps that are probability distributions over the grid (models trained with a spatial softmax loss): the
 * landmark is the distribution's mean in a small window around its mode, and its confidence the probability
 * mass in that window (near 1 for a sharp distribution, low when the mass is spread out or split between places).
 */
import { decodeHeatmapsAsync, decodeHeatmapsBatch } from './index';
import type { DecodedLandmarks } from './options';

/**
 * Half-width of the decoding window for targets of `sigma` grid pixels: 2 sigma, the 9x9 square at sigma 2.
 * Chosen on the ISBI training images with the CPU recipe's model (MRE 0.94 / 0.88 / 0.85 / 0.86 / 0.88 mm for
 * half-widths 2 to 6): narrower windows cut into the distribution and pull the mean to the mode's pixel.
 */
export const distributionWindow = (sigma: number): number => Math.max(1, Math.round(2 * sigma));

/** Softmax of each of `count` planes of `plane` logits (a new array). */
export function spatialSoftmax(logits: Float32Array, count: number, plane: number): Float32Array {
  if (logits.length !== count * plane) throw new RangeError(`spatialSoftmax: ${logits.length} values are not ${count} planes of ${plane}`);
  const out = new Float32Array(logits.length);
  for (let c = 0; c < count; c++) {
    const start = c * plane;
    let max = -Infinity;
    for (let i = start; i < start + plane; i++) if (logits[i] > max) max = logits[i];
    let sum = 0;
    for (let i = start; i < start + plane; i++) sum += (out[i] = Math.exp(logits[i] - max));
    for (let i = start; i < start + plane; i++) out[i] /= sum;
  }
  return out;
}

/** Replaces each map's score by its mass in the (2 window + 1)^2 square around the decoded point. */
function massScores(maps: Float32Array, height: number, width: number, window: number, decoded: DecodedLandmarks): DecodedLandmarks {
  const { points, scores } = decoded;
  for (let c = 0; c < scores.length; c++) {
    const cx = Math.round(points[2 * c]);
    const cy = Math.round(points[2 * c + 1]);
    if (!Number.isFinite(cx) || !Number.isFinite(cy)) continue;
    let mass = 0;
    for (let y = Math.max(0, cy - window); y <= Math.min(height - 1, cy + window); y++) {
      const row = c * height * width + y * width;
      for (let x = Math.max(0, cx - window); x <= Math.min(width - 1, cx + window); x++) mass += maps[row + x];
    }
    scores[c] = mass;
  }
  return decoded;
}

/** Decodes B x K distributions of H x W: points (soft-argmax around the mode) and their window masses. */
export function decodeDistributionsBatch(maps: Float32Array, B: number, K: number, H: number, W: number, sigma: number): DecodedLandmarks {
  const window = distributionWindow(sigma);
  return massScores(maps, H, W, window, decodeHeatmapsBatch(maps, B, K, H, W, { method: 'soft-argmax', window }));
}

/** `decodeDistributionsBatch` for K maps off the event loop. */
export async function decodeDistributionsAsync(maps: Float32Array, K: number, H: number, W: number, sigma: number): Promise<DecodedLandmarks> {
  const window = distributionWindow(sigma);
  return massScores(maps, H, W, window, await decodeHeatmapsAsync(maps, K, H, W, { method: 'soft-argmax', window }));
}
