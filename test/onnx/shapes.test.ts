import * as ort from 'onnxruntime-node';
import { attr, GraphBuilder, inferShapes, serializeModel } from '../../src/onnx';

describe('static shape inference', () => {
  test('agrees with onnxruntime on the ops training graphs use', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 3, 9, 8]);
    const w = g.input('w', 'float32', [4, 3, 3, 2]);
    const values = [
      g.conv(x, w, undefined, { strides: [2, 2], pads: [1, 0, 0, 1], dilations: [1, 2] }),
      g.op1('ConvTranspose', [g.input('t', 'float32', [1, 4, 3, 3]), g.input('tw', 'float32', [4, 2, 3, 3])], { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), output_padding: attr.ints([1, 0]) }),
      g.maxPool(x, { kernel: [2, 2], strides: [2, 2], ceilMode: true }),
      g.reshape(x, [0, -1, 4]),
      g.slice(x, [-3, 1], [100, -1], [2, 3]),
      g.op1('Unsqueeze', [x, g.int64([0, -1])]),
      g.op1('Squeeze', [g.reshape(x, [2, 1, 3, 72]), g.int64([1])]),
      g.transpose(x, [3, 1, 0, 2]),
      g.expand(g.input('e', 'float32', [3, 1]), [2, 1, 5]),
      g.reduceSum(x, [1, -1], false),
      g.reduceMean(x, [0], true),
      g.matmul(g.input('a', 'float32', [2, 1, 3, 4]), g.input('b', 'float32', [5, 4, 6])),
      g.concat([x, x], 1),
      g.op1('Pad', [x, g.int64([0, 0, 1, 2, 0, 0, 3, 4])]),
      g.add(x, g.input('bias', 'float32', [8])),
      g.op1('Greater', [x, g.scalar(0)]),
    ];
    const shapes = inferShapes(g.graph);
    values.forEach((v, i) => g.output(v, `out${i}`, shapes.get(v)!.dataType));
    const session = await ort.InferenceSession.create(serializeModel(g.build()));
    const feeds: Record<string, ort.Tensor> = {};
    for (const v of g.graph.inputs) {
      const dims = v.shape as number[];
      feeds[v.name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
    }
    const out = await session.run(feeds);
    await session.release();
    values.forEach((v, i) => expect([`out${i}`, shapes.get(v)!.dims]).toEqual([`out${i}`, out[`out${i}`].dims]));
    expect(shapes.get(values[values.length - 1])!.dataType).toBe('bool');
  });

  test('refuses symbolic inputs and unknown ops, naming them', () => {
    const g = new GraphBuilder();
    g.input('x', 'float32', ['N', 3]);
    expect(() => inferShapes(g.graph)).toThrow(/graph input 'x' needs a static shape/);
    const h = new GraphBuilder();
    h.op1('Frobnicate', [h.input('y', 'float32', [2])], {}, { name: 'f1' });
    expect(() => inferShapes(h.graph)).toThrow(/Frobnicate f1: no static shape rule/);
  });
});
