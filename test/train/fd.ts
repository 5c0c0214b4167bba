import * as ort from 'onnxruntime-node';
import { GraphBuilder, serializeModel } from '../../src/onnx';
import { inferShapes } from '../../src/onnx/shapes';
import { addGradients } from '../../src/train/autodiff';

import { mulberry32 as rng } from '../../src/util/random';

export { rng };

export interface FdInput {
  name: string;
  dims: number[];
  /** Default: uniform in [-1, 1). */
  data?: Float32Array;
  /** Whether to check this input's gradient. Default true. */
  grad?: boolean;
}

export interface FdCase {
  inputs: FdInput[];
  /** Builds the function under test from the named inputs; returns its output (any shape). */
  build: (g: GraphBuilder, inputs: string[]) => string;
  /** Perturbation size (default 1e-2). */
  eps?: number;
  /** Elements checked per input at most (evenly spread; default 48). */
  maxElements?: number;
}

export interface FdResult {
  /** Largest |analytic - numeric| / (atol + rtol |numeric|) over all checked elements; <= 1 passes. */
  worst: number;
  checked: number;
}

const ATOL = 2e-3;
const RTOL = 2e-3;

/**
 * Checks autodiff against central differences. The function's output y is projected to a scalar
 * L = sum(R * y) with fixed random R, in float64 (Cast, Mul, ReduceSum), so that summing adds no
 * float32 rounding. What remains is the float32 rounding of y itself (relative ~1e-7 per element,
 * ~1e-5 absolute in L for our sizes) divided by 2 eps = 2e-2, i.e. ~1e-3 at worst, plus the O(eps^2)
 * truncation of central differences (~1e-4 for these smooth functions): hence atol = rtol = 2e-3.
 * A wrong rule is off by O(1). Kinked ops (Relu, Abs, MaxPool) get inputs kept away from their kinks.
 */
export async function checkGradients(c: FdCase, seed = 1): Promise<FdResult> {
  const random = rng(seed);
  const eps = c.eps ?? 1e-2;
  const g = new GraphBuilder('fd');
  const names = c.inputs.map((i) => g.input(i.name, 'float32', i.dims));
  const y = c.build(g, names);
  // Inputs the build declared itself (parameters of training layers) are checked too, with random values.
  const inputs = c.inputs.concat(g.graph.inputs.filter((v) => !names.includes(v.name)).map((v) => ({ name: v.name, dims: v.shape as number[] })));
  const yShape = inferShapes(g.graph).get(y)!;
  const count = yShape.dims.reduce((a, b) => a * b, 1);
  const projection = g.constant({ dataType: 'float64', dims: yShape.dims, data: Float64Array.from({ length: count }, () => random() * 2 - 1) }, 'R');
  const y64 = g.op1('Cast', [y], { to: { type: 'int', value: 11 } });
  const loss = g.op1('ReduceSum', [g.mul(y64, projection)], { keepdims: { type: 'int', value: 0 } });
  g.output(loss, 'loss', 'float64', []);
  const checkedInputs = inputs.filter((i) => i.grad !== false);
  const grads = addGradients(g, loss, checkedInputs.map((i) => i.name));
  grads.forEach((d, k) => g.output(d, `grad_${checkedInputs[k].name}`));

  const session = await ort.InferenceSession.create(serializeModel(g.build()));
  try {
    const values = inputs.map((i) => i.data ? Float32Array.from(i.data) : Float32Array.from({ length: i.dims.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1));
    const feeds = (): Record<string, ort.Tensor> =>
      Object.fromEntries(inputs.map((i, k) => [i.name, new ort.Tensor('float32', values[k], i.dims)]));
    const analytic = await session.run(feeds());
    const lossAt = async (): Promise<number> => ((await session.run(feeds(), ['loss'])).loss.data as Float64Array)[0];
    let worst = 0;
    let checked = 0;
    for (const input of checkedInputs) {
      const k = inputs.indexOf(input);
      const data = values[k];
      const grad = analytic[`grad_${input.name}`].data as Float32Array;
      if (grad.length !== data.length) throw new Error(`gradient of ${input.name} has ${grad.length} elements, input has ${data.length}`);
      const stride = Math.max(1, Math.floor(data.length / (c.maxElements ?? 48)));
      for (let j = 0; j < data.length; j += stride) {
        const original = data[j];
        data[j] = original + eps;
        const up = data[j];
        const lUp = await lossAt();
        data[j] = original - eps;
        const down = data[j];
        const lDown = await lossAt();
        data[j] = original;
        const numeric = (lUp - lDown) / (up - down);
        worst = Math.max(worst, Math.abs(grad[j] - numeric) / (ATOL + RTOL * Math.abs(numeric)));
        checked++;
      }
    }
    return { worst, checked };
  } finally {
    await session.release();
  }
}

/** Values in [-1, 1) kept at least `gap` away from 0 (for Relu/Abs kinks). */
export function awayFromZero(n: number, seed: number, gap = 0.05): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => {
    const v = gap + (1 - gap) * r();
    return r() < 0.5 ? -v : v;
  });
}

/** A random permutation of evenly spaced values: all distinct, neighbours `spacing` apart (for MaxPool). */
export function distinct(n: number, seed: number, spacing = 0.05): Float32Array {
  const r = rng(seed);
  const v = Float32Array.from({ length: n }, (_, i) => (i - n / 2) * spacing);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}
