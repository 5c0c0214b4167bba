import * as ort from 'onnxruntime-node';
import { GraphBuilder, serializeModel } from '../../src/onnx';
import { sampleLosses } from '../../src/train/losses';
import { buildLoss, LOSSES } from '../../src/train/step-graph';
import { TrainingLayers } from '../../src/train/training-layers';
import { checkGradients, rng } from './fd';

describe('training layers and losses match finite differences', () => {
  test('BatchNorm in training mode (input, weight and bias)', async () => {
    const { worst, checked } = await checkGradients({
      inputs: [{ name: 'x', dims: [2, 3, 3, 4] }],
      build: (g, [x]) => new TrainingLayers(g).batchNorm(x, 'bn', 3),
    });
    expect(checked).toBeGreaterThan(48);
    expect(worst).toBeLessThanOrEqual(1);
  });

  test('nearest 2x upsampling', async () => {
    const { worst } = await checkGradients({ inputs: [{ name: 'x', dims: [1, 2, 3, 2] }], build: (g, [x]) => new TrainingLayers(g).upsampleNearest2x(x) });
    expect(worst).toBeLessThanOrEqual(1);
  });

  for (const loss of LOSSES) {
    test(`${loss} loss`, async () => {
      const r = rng(9);
      const { worst } = await checkGradients({
        inputs: [
          { name: 'p', dims: [2, 2, 3, 3], data: Float32Array.from({ length: 36 }, () => r() * 3 - 1) },
          { name: 't', dims: [2, 2, 3, 3], data: Float32Array.from({ length: 36 }, () => r()), grad: false },
        ],
        build: (g, [p, t]) => buildLoss(g, loss, p, t),
      });
      expect(worst).toBeLessThanOrEqual(1);
    });
  }
});

describe('training layers compute what PyTorch computes', () => {
  test('BatchNorm normalises with the biased batch variance and updates running stats with the unbiased one', async () => {
    const [n, c, h, w] = [2, 2, 2, 3];
    const g = new GraphBuilder();
    const layers = new TrainingLayers(g);
    const x = g.input('x', 'float32', [n, c, h, w]);
    g.output(layers.batchNorm(x, 'bn', c, { momentum: 0.2, epsilon: 1e-3 }), 'y');
    for (const s of layers.runningStats) g.output(s.updated, `next.${s.name}`);
    expect(layers.params.map((p) => p.name)).toEqual(['bn.weight', 'bn.bias']);
    expect(layers.runningStats.map((s) => [s.name, s.initial])).toEqual([['bn.running_mean', 0], ['bn.running_var', 1]]);
    const session = await ort.InferenceSession.create(serializeModel(g.build()));
    const r = rng(3);
    const xs = Float32Array.from({ length: n * c * h * w }, () => r() * 4);
    const f = (data: number[], dims: number[]): ort.Tensor => new ort.Tensor('float32', Float32Array.from(data), dims);
    const out = await session.run({
      x: new ort.Tensor('float32', xs, [n, c, h, w]), 'bn.weight': f([2, 0.5], [c]), 'bn.bias': f([1, -1], [c]),
      'bn.running_mean': f([0.5, 0], [c]), 'bn.running_var': f([1, 2], [c]),
    });
    await session.release();
    for (let ch = 0; ch < c; ch++) {
      const vals: number[] = [];
      for (let b = 0; b < n; b++) for (let i = 0; i < h * w; i++) vals.push(xs[(b * c + ch) * h * w + i]);
      const mean = vals.reduce((a, b) => a + b) / vals.length;
      const ss = vals.reduce((a, v) => a + (v - mean) ** 2, 0);
      const [weight, bias, rm, rv] = ch === 0 ? [2, 1, 0.5, 1] : [0.5, -1, 0, 2];
      expect((out['next.bn.running_mean'].data as Float32Array)[ch]).toBeCloseTo(0.8 * rm + 0.2 * mean, 5);
      expect((out['next.bn.running_var'].data as Float32Array)[ch]).toBeCloseTo(0.8 * rv + (0.2 * ss) / (vals.length - 1), 5);
      const y0 = (out.y.data as Float32Array)[ch * h * w];
      expect(y0).toBeCloseTo(((xs[ch * h * w] - mean) / Math.sqrt(ss / vals.length + 1e-3)) * weight + bias, 4);
    }
  });

  test('upsampling repeats each pixel into a 2x2 block', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1, 1, 2, 2]);
    g.output(new TrainingLayers(g).upsampleNearest2x(x), 'y');
    const session = await ort.InferenceSession.create(serializeModel(g.build()));
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [1, 1, 2, 2]) });
    await session.release();
    expect(out.y.dims).toEqual([1, 1, 4, 4]);
    expect(Array.from(out.y.data as Float32Array)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });
});

describe('validation losses (sampleLosses) are the step graph\'s losses', () => {
  for (const loss of LOSSES) {
    test(`${loss}: the mean of the per-sample losses is the graph's batch loss`, async () => {
      const dims = [3, 2, 4, 5];
      const n = dims.reduce((a, b) => a * b);
      const r = rng(17);
      const p = Float32Array.from({ length: n }, () => r() * 4 - 2);
      const t = Float32Array.from({ length: n }, () => r());
      // One channel's target is empty (its landmark shifted off the grid): softmax_ce counts it as 0.
      t.fill(0, 20, 40);
      const g = new GraphBuilder();
      g.output(buildLoss(g, loss, g.input('p', 'float32', dims), g.input('t', 'float32', dims)), 'loss', 'float32', []);
      const session = await ort.InferenceSession.create(serializeModel(g.build()));
      const out = await session.run({ p: new ort.Tensor('float32', p, dims), t: new ort.Tensor('float32', t, dims) });
      await session.release();
      const perSample = sampleLosses(loss, p, t, dims[0], dims[1]);
      expect(perSample).toHaveLength(3);
      expect(perSample.reduce((a, b) => a + b) / 3).toBeCloseTo((out.loss.data as Float32Array)[0], 5);
    });
  }
});
