import type { LossName } from './step-graph';

/**
 * Per-sample losses of predictions against targets ([n, channels, ...] each, the same length), with the
 * step graph's definitions (see buildLoss in step-graph.ts): the mean over the sample's elements, or for
 * softmax_ce over its channels. Validation needs them per sample, where the step graph gives one mean
 * over a fixed-size batch.
 */
export function sampleLosses(loss: LossName, prediction: Float32Array, targets: Float32Array, n: number, channels: number): number[] {
  if (prediction.length !== targets.length || prediction.length % (n * channels) !== 0) {
    throw new Error(`losses: ${prediction.length} predictions and ${targets.length} targets do not split into ${n} samples of ${channels} channels`);
  }
  const size = prediction.length / n;
  if (loss === 'softmax_ce') {
    const plane = size / channels;
    return Array.from({ length: n }, (_, s) => {
      let sum = 0;
      for (let c = s * channels; c < (s + 1) * channels; c++) sum += softmaxCrossEntropy(prediction, targets, c * plane, plane);
      return sum / channels;
    });
  }
  const elementLoss = ELEMENT_LOSSES[loss];
  const out: number[] = [];
  for (let s = 0; s < n; s++) {
    let sum = 0;
    for (let i = s * size; i < (s + 1) * size; i++) sum += elementLoss(prediction[i], targets[i]);
    out.push(sum / size);
  }
  return out;
}

// Adaptive wing (Wang et al. 2019) with the step graph's constants.
const ALPHA = 2.1, OMEGA = 14, EPSILON = 1, THETA = 0.5;

/** Cross-entropy of one channel: target normalised to sum 1 against the log-softmax of the logits. */
function softmaxCrossEntropy(logits: Float32Array, targets: Float32Array, start: number, size: number): number {
  let max = -Infinity;
  let targetSum = 0;
  for (let i = start; i < start + size; i++) {
    max = Math.max(max, logits[i]);
    targetSum += targets[i];
  }
  let expSum = 0;
  for (let i = start; i < start + size; i++) expSum += Math.exp(logits[i] - max);
  const logNorm = max + Math.log(expSum);
  let ce = 0;
  for (let i = start; i < start + size; i++) ce -= targets[i] * (logits[i] - logNorm);
  return targetSum > 0 ? ce / targetSum : 0;
}

const ELEMENT_LOSSES: Record<Exclude<LossName, 'softmax_ce'>, (p: number, t: number) => number> = {
  mse: (p, t) => (p - t) * (p - t),
  // BCE with logits, stable form: max(x, 0) - x t + log(1 + exp(-|x|)).
  bce: (p, t) => Math.max(p, 0) - p * t + Math.log1p(Math.exp(-Math.abs(p))),
  adaptive_wing: (p, t) => {
    const delta = Math.abs(t - p);
    const power = ALPHA - t;
    if (delta < THETA) return OMEGA * Math.log1p((delta / EPSILON) ** power);
    const thetaPow = (THETA / EPSILON) ** power;
    const a = (OMEGA / (1 + thetaPow)) * power * (THETA / EPSILON) ** (power - 1) / EPSILON;
    const c = a * THETA - OMEGA * Math.log1p(thetaPow);
    return a * delta - c;
  },
};
