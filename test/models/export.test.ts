import * as ort from 'onnxruntime-node';
import { exportModel, initStateDict, ModelSpec, resizeNearest2x, WeightsMismatchError } from '../../src/models';
import { GraphBuilder, serializeModel } from '../../src/onnx';

async function withSession<T>(bytes: Uint8Array, use: (s: ort.InferenceSession) => Promise<T>): Promise<T> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await use(session);
  } finally {
    await session.release();
  }
}

describe('exportModel', () => {
  test('one input `image` and one output `heatmaps` with symbolic N, H, W; metadata; runs at several sizes', async () => {
    const spec: ModelSpec = { arch: 'unetplusplus', encoder: 'vgg19', classes: 4, inChannels: 1, widthMultiplier: 0.125 };
    const model = exportModel(spec, initStateDict(spec, 1), { metadata: { 'lmk.grid_height': '64' } });
    expect(model.graph.inputs).toEqual([{ name: 'image', dataType: 'float32', shape: ['N', 1, 'H', 'W'] }]);
    expect(model.graph.outputs).toEqual([{ name: 'heatmaps', dataType: 'float32', shape: ['N', 4, 'H', 'W'] }]);
    expect(model.metadata).toEqual({
      'lmk.arch': 'unetplusplus', 'lmk.encoder': 'vgg19', 'lmk.classes': '4', 'lmk.in_channels': '1',
      'lmk.width_multiplier': '0.125', 'lmk.grid_height': '64',
    });
    // BatchNorm stays an inference-mode op; no training-only ops.
    expect(new Set(model.graph.nodes.map((n) => n.opType))).toEqual(new Set(['Conv', 'Relu', 'MaxPool', 'Resize', 'Concat', 'BatchNormalization', 'Identity']));
    await withSession(serializeModel(model), async (session) => {
      for (const [n, h, w] of [[1, 32, 32], [3, 64, 96]]) {
        const image = new ort.Tensor('float32', new Float32Array(n * h * w).map((_, i) => Math.sin(i)), [n, 1, h, w]);
        const out = (await session.run({ image })).heatmaps;
        expect(out.dims).toEqual([n, 4, h, w]);
        expect((out.data as Float32Array).every(Number.isFinite)).toBe(true);
      }
    });
  });

  test('refuses a state dict that does not fit, naming tensors', () => {
    const spec: ModelSpec = { arch: 'unet', encoder: 'vgg19', classes: 2, inChannels: 3, widthMultiplier: 0.125 };
    const sd = initStateDict(spec, 1);
    sd.delete('decoder.center.1.1.running_mean');
    sd.set('segmentation_head.0.bias', { dims: [3], data: new Float32Array(3) });
    expect(() => exportModel(spec, sd)).toThrow(WeightsMismatchError);
    expect(() => exportModel(spec, sd)).toThrow(/1 missing \(decoder.center.1.1.running_mean \[64\]\); 1 mis-shaped \(segmentation_head.0.bias \[3\], expected \[2\]\)/);
  });
});

describe('nearest x2 upsampling', () => {
  test('equals F.interpolate(scale_factor=2, mode="nearest"): output (y, x) reads input (floor(y/2), floor(x/2))', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1, 1, 'H', 'W']);
    g.output(resizeNearest2x(g, x), 'y');
    const [h, w] = [3, 5];
    const input = Float32Array.from({ length: h * w }, (_, i) => i * 1.5 - 4);
    await withSession(serializeModel(g.build()), async (session) => {
      const y = (await session.run({ x: new ort.Tensor('float32', input, [1, 1, h, w]) })).y;
      expect(y.dims).toEqual([1, 1, 2 * h, 2 * w]);
      const expected = Array.from({ length: 4 * h * w }, (_, i) => {
        const row = Math.floor(i / (2 * w));
        const col = i % (2 * w);
        return input[Math.floor(row / 2) * w + Math.floor(col / 2)];
      });
      expect(Array.from(y.data as Float32Array)).toEqual(expected);
    });
  });
});
