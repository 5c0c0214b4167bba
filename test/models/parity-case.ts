import { listTensors, ModelSpec, Rng, StateDict, Tensor } from '../../src/models';

/**
 * Weights and input for the smp parity fixtures, drawn exactly as scripts/parity/smp_parity.py
 * (mode `fixture`) draws them: one mulberry32 stream from `seed` over the tensors in sorted-name order
 * (conv weights U(+-sqrt(6/fan_in)); BatchNorm scales and running variances U(0.5, 1.5); biases and
 * running means U(-0.2, 0.2)), and the input U(-2, 2) from the stream of seed + 1.
 */
export function parityCase(spec: ModelSpec, seed: number, inputShape: number[]): { weights: StateDict; image: Tensor } {
  const { parameters, buffers } = listTensors(spec);
  const tensors = [...parameters, ...buffers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rng = new Rng(seed);
  const weights: StateDict = new Map();
  for (const t of tensors) {
    const data = new Float32Array(t.shape.reduce((a, b) => a * b, 1));
    if (t.shape.length === 4) {
      const b = Math.sqrt(6 / (t.shape[1] * t.shape[2] * t.shape[3]));
      rng.fillUniform(data, -b, b);
    } else if (t.name.endsWith('running_var') || t.name.endsWith('.weight')) {
      rng.fillUniform(data, 0.5, 1.5);
    } else {
      rng.fillUniform(data, -0.2, 0.2);
    }
    weights.set(t.name, { dims: t.shape, data });
  }
  const image = new Float32Array(inputShape.reduce((a, b) => a * b, 1));
  new Rng(seed + 1).fillUniform(image, -2, 2);
  return { weights, image: { dims: inputShape, data: image } };
}
