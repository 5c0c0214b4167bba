import type { LossName } from './step-graph';

/**
 * Per-sample losses of predictions against targets ([n, ...] each, the same length), each the mean
 * over that sample's elements, with the step graph's definitions (see buildLoss in step-graph.ts).
 * Validation needs them per sample, where the step graph gives one mean over a fixed-size batch.
 */
export function sampleLosses(loss: LossName, prediction: Float32Array, targets: Float32Array, n: number): number[] {
  if (prediction.length !== targets.length || prediction.length % n !== 0) {
    throw new Error(`losses: ${prediction.length} predictions and ${targets.length} targets do not split into ${n} samples`);
  }
  const size = prediction.length / n;
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

const ELEMENT_LOSSES: Record<LossName, (p: number, t: number) => number> = {
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
