import * as ort from 'onnxruntime-node';
import { GraphBuilder, parseModel, readModelMetadata, serializeModel, attr } from '../../src/onnx';

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

describe('GraphBuilder', () => {
  test('a Conv + Relu graph runs in onnxruntime with the expected values', async () => {
    const g = new GraphBuilder('tiny');
    const x = g.input('x', 'float32', ['N', 1, 3, 3]);
    const w = g.initializer('w', { dataType: 'float32', dims: [1, 1, 3, 3], data: new Float32Array(9).fill(1) });
    const b = g.float32([-4]);
    const y = g.relu(g.conv(x, w, b, { pads: [1, 1, 1, 1] }));
    g.output(y, 'y', 'float32', ['N', 1, 3, 3]);
    const bytes = serializeModel(g.build());
    const input = new ort.Tensor('float32', Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1]), [1, 1, 3, 3]);
    const out = await run(bytes, { x: input });
    // 3x3 box sums of ones with zero padding: corners 4, edges 6, centre 9; minus 4, then ReLU.
    expect(Array.from(out.y.data as Float32Array)).toEqual([0, 2, 0, 2, 5, 2, 0, 2, 0]);
  });

  test('serialisation round-trips nodes, attributes, initializers, symbolic shapes and metadata', () => {
    const g = new GraphBuilder('rt');
    const x = g.input('x', 'float32', ['N', 2, 'H', 4]);
    const t = g.transpose(x, [0, 2, 1, 3]);
    const r = g.reduceMean(t, [1], false);
    const s = g.op1('LeakyRelu', [r], { alpha: attr.float(0.25) });
    const c = g.slice(s, [0], [1], [1]);
    g.output(c, 'y');
    const model = parseModel(serializeModel(g.build({ arch: 'test' })));
    expect(model.opset).toBe(17);
    expect(model.metadata).toEqual({ arch: 'test' });
    expect(model.graph.inputs).toEqual([{ name: 'x', dataType: 'float32', shape: ['N', 2, 'H', 4] }]);
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['Transpose', 'ReduceMean', 'LeakyRelu', 'Slice', 'Identity']);
    expect(model.graph.nodes[0].attributes.perm).toEqual({ type: 'ints', value: [0, 2, 1, 3] });
    expect(model.graph.nodes[2].attributes.alpha).toEqual({ type: 'float', value: 0.25 });
    const starts = model.graph.initializers.find((i) => i.name === model.graph.nodes[3].inputs[1]);
    expect(starts?.dataType).toBe('int64');
    expect(Array.from(starts!.data as BigInt64Array)).toEqual([0n]);
  });

  test('small constants are shared and names stay unique', () => {
    const g = new GraphBuilder();
    expect(g.int64([1, 2])).toBe(g.int64([1, 2]));
    expect(g.int64([1, 2])).not.toBe(g.int64([2, 1]));
    g.input('a', 'float32', [1]);
    expect(() => g.input('a', 'float32', [1])).toThrow(/already used/);
    const names = new Set(Array.from({ length: 100 }, () => g.fresh('v')));
    expect(names.size).toBe(100);
  });

  test('parseModel refuses bytes that are not a model', () => {
    expect(() => parseModel(new Uint8Array([1, 2, 3, 4, 5]))).toThrow();
  });
});

describe('readModelMetadata', () => {
  test('reads metadata_props without decoding the graph, and finds none where there are none', () => {
    const g = new GraphBuilder('m');
    g.initializer('big', { dataType: 'float32', dims: [1000], data: new Float32Array(1000).fill(3) });
    g.output(g.relu(g.input('x', 'float32', [1])), 'y');
    expect(readModelMetadata(serializeModel(g.build({ 'lmk.arch': 'unet', 'lmk.classes': '19' })))).toEqual({ 'lmk.arch': 'unet', 'lmk.classes': '19' });
    expect(readModelMetadata(serializeModel(g.build()))).toEqual({});
  });
});
