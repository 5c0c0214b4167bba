import { attr, GraphBuilder } from '../../src/onnx';
import { GRADIENT_RULES } from '../../src/train/gradients';
import { resizeNearest2x } from '../../src/models/upsample';
import { awayFromZero, checkGradients, distinct, FdCase } from './fd';

const positive = (n: number, lo = 0.5, hi = 2): Float32Array => Float32Array.from({ length: n }, (_, i) => lo + ((i * 0.6180339) % 1) * (hi - lo));

/** One or more finite-difference cases per gradient rule, by op type. */
const CASES: Record<string, Record<string, FdCase>> = {
  Identity: { plain: { inputs: [{ name: 'x', dims: [2, 3] }], build: (g, [x]) => g.identity(x) } },
  Neg: { plain: { inputs: [{ name: 'x', dims: [2, 3] }], build: (g, [x]) => g.neg(x) } },
  Relu: { plain: { inputs: [{ name: 'x', dims: [3, 8], data: awayFromZero(24, 3) }], build: (g, [x]) => g.relu(x) } },
  Sigmoid: { plain: { inputs: [{ name: 'x', dims: [2, 5] }], build: (g, [x]) => g.sigmoid(g.mul(x, g.scalar(3))) } },
  Tanh: { plain: { inputs: [{ name: 'x', dims: [2, 5] }], build: (g, [x]) => g.op1('Tanh', [x]) } },
  Exp: { plain: { inputs: [{ name: 'x', dims: [2, 5] }], build: (g, [x]) => g.exp(x) } },
  Log: { plain: { inputs: [{ name: 'x', dims: [2, 5], data: positive(10) }], build: (g, [x]) => g.log(x) } },
  Abs: { plain: { inputs: [{ name: 'x', dims: [2, 8], data: awayFromZero(16, 4) }], build: (g, [x]) => g.abs(x) } },
  Sqrt: { plain: { inputs: [{ name: 'x', dims: [2, 5], data: positive(10) }], build: (g, [x]) => g.sqrt(x) } },
  Softplus: { plain: { inputs: [{ name: 'x', dims: [2, 5] }], build: (g, [x]) => g.op1('Softplus', [x]) } },
  LogSoftmax: {
    'last axis': { inputs: [{ name: 'x', dims: [2, 3, 6] }], build: (g, [x]) => g.op1('LogSoftmax', [g.mul(x, g.scalar(3))], { axis: attr.int(-1) }) },
    'middle axis': { inputs: [{ name: 'x', dims: [2, 4, 3] }], build: (g, [x]) => g.op1('LogSoftmax', [x], { axis: attr.int(1) }) },
  },
  Softmax: {
    'last axis': { inputs: [{ name: 'x', dims: [2, 3, 6] }], build: (g, [x]) => g.op1('Softmax', [g.mul(x, g.scalar(3))], { axis: attr.int(2) }) },
    'first axis': { inputs: [{ name: 'x', dims: [4, 3] }], build: (g, [x]) => g.op1('Softmax', [x], { axis: attr.int(0) }) },
  },
  Cast: { 'float32 -> float64 -> float32': { inputs: [{ name: 'x', dims: [4] }], build: (g, [x]) => g.op1('Cast', [g.op1('Cast', [x], { to: attr.int(11) })], { to: attr.int(1) }) } },
  Add: { broadcast: { inputs: [{ name: 'a', dims: [2, 3, 4] }, { name: 'b', dims: [3, 1] }], build: (g, [a, b]) => g.add(a, b) } },
  Sub: { broadcast: { inputs: [{ name: 'a', dims: [3, 1] }, { name: 'b', dims: [2, 3, 4] }], build: (g, [a, b]) => g.sub(a, b) } },
  Mul: {
    broadcast: { inputs: [{ name: 'a', dims: [2, 3, 4] }, { name: 'b', dims: [1, 3, 1] }], build: (g, [a, b]) => g.mul(a, b) },
    'same input twice': { inputs: [{ name: 'a', dims: [5] }], build: (g, [a]) => g.mul(a, a) },
    scalar: { inputs: [{ name: 'a', dims: [2, 3] }, { name: 's', dims: [] }], build: (g, [a, s]) => g.mul(a, s) },
  },
  Div: { broadcast: { inputs: [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [3], data: positive(3) }], build: (g, [a, b]) => g.div(a, b) } },
  Pow: {
    'base and exponent': { inputs: [{ name: 'a', dims: [2, 3], data: positive(6) }, { name: 'b', dims: [3] }], build: (g, [a, b]) => g.pow(a, b) },
    'constant exponent': { inputs: [{ name: 'a', dims: [2, 3], data: positive(6) }], build: (g, [a]) => g.pow(a, g.scalar(-0.5)) },
  },
  Sum: { broadcast: { inputs: [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [3] }, { name: 'c', dims: [2, 1] }], build: (g, [a, b, c]) => g.op1('Sum', [a, b, c]) } },
  Where: {
    broadcast: {
      inputs: [{ name: 'c', dims: [2, 3], grad: false }, { name: 'a', dims: [2, 3] }, { name: 'b', dims: [3] }],
      build: (g, [c, a, b]) => g.op1('Where', [g.op1('Greater', [c, g.scalar(0)]), a, b]),
    },
  },
  Conv: {
    'bias, padding': { inputs: [{ name: 'x', dims: [2, 3, 5, 5] }, { name: 'w', dims: [4, 3, 3, 3] }, { name: 'b', dims: [4] }], build: (g, [x, w, b]) => g.conv(x, w, b, { pads: [1, 1, 1, 1] }) },
    'stride 2, uncovered edge, asymmetric pads': { inputs: [{ name: 'x', dims: [1, 2, 6, 7] }, { name: 'w', dims: [3, 2, 3, 2] }], build: (g, [x, w]) => g.conv(x, w, undefined, { strides: [2, 2], pads: [1, 0, 0, 1] }) },
    'dilation 2': { inputs: [{ name: 'x', dims: [2, 2, 7, 7] }, { name: 'w', dims: [2, 2, 3, 3] }, { name: 'b', dims: [2] }], build: (g, [x, w, b]) => g.conv(x, w, b, { pads: [2, 2, 2, 2], dilations: [2, 2] }) },
    'groups 2': { inputs: [{ name: 'x', dims: [2, 4, 5, 5] }, { name: 'w', dims: [6, 2, 3, 3] }, { name: 'b', dims: [6] }], build: (g, [x, w, b]) => g.conv(x, w, b, { pads: [1, 1, 1, 1], group: 2 }) },
    'depthwise, stride 2': { inputs: [{ name: 'x', dims: [2, 3, 6, 6] }, { name: 'w', dims: [3, 1, 3, 3] }], build: (g, [x, w]) => g.conv(x, w, undefined, { pads: [1, 1, 1, 1], strides: [2, 2], group: 3 }) },
    'stride 2 depthwise, SAME pads (0, 0, 1, 1) as EfficientNet': { inputs: [{ name: 'x', dims: [1, 4, 8, 8] }, { name: 'w', dims: [4, 1, 3, 3] }], build: (g, [x, w]) => g.conv(x, w, undefined, { strides: [2, 2], pads: [0, 0, 1, 1], group: 4 }) },
    'stride 2, asymmetric pads, uncovered last row and column': { inputs: [{ name: 'x', dims: [1, 2, 7, 7] }, { name: 'w', dims: [2, 2, 3, 3] }], build: (g, [x, w]) => g.conv(x, w, undefined, { strides: [2, 2], pads: [1, 1, 0, 0] }) },
    'stride 1, asymmetric pads, dilation 2': { inputs: [{ name: 'x', dims: [1, 2, 6, 5] }, { name: 'w', dims: [3, 2, 2, 3] }], build: (g, [x, w]) => g.conv(x, w, undefined, { pads: [0, 2, 1, 0], dilations: [2, 2] }) },
    '1x1 with padding (wider than the kernel)': { inputs: [{ name: 'x', dims: [1, 2, 3, 3] }, { name: 'w', dims: [2, 2, 1, 1] }], build: (g, [x, w]) => g.conv(x, w, undefined, { pads: [1, 0, 2, 1] }) },
    'stride 1, weight larger than activations (ConvTranspose path)': { inputs: [{ name: 'x', dims: [1, 4, 2, 2] }, { name: 'w', dims: [4, 4, 3, 3] }], build: (g, [x, w]) => g.conv(x, w, undefined, { pads: [1, 1, 1, 1] }) },
    'wide input (Cin > Cout), padding': { inputs: [{ name: 'x', dims: [2, 5, 5, 4] }, { name: 'w', dims: [2, 5, 3, 3] }, { name: 'b', dims: [2] }], build: (g, [x, w, b]) => g.conv(x, w, b, { pads: [1, 1, 1, 1] }) },
    'wide input, stride 1, asymmetric pads, 2x3 kernel': { inputs: [{ name: 'x', dims: [2, 4, 6, 5] }, { name: 'w', dims: [2, 4, 2, 3] }], build: (g, [x, w]) => g.conv(x, w, undefined, { pads: [0, 2, 1, 0] }) },
    'wide input, 1x1 with padding': { inputs: [{ name: 'x', dims: [1, 3, 3, 3] }, { name: 'w', dims: [2, 3, 1, 1] }], build: (g, [x, w]) => g.conv(x, w, undefined, { pads: [1, 0, 2, 1] }) },
    'wide input, one image, stride 2 (sliced, not moved), asymmetric pads': { inputs: [{ name: 'x', dims: [1, 4, 6, 7] }, { name: 'w', dims: [3, 4, 3, 2] }], build: (g, [x, w]) => g.conv(x, w, undefined, { strides: [2, 2], pads: [1, 0, 0, 1] }) },
    'wide input, dilation 2': { inputs: [{ name: 'x', dims: [2, 3, 7, 6] }, { name: 'w', dims: [2, 3, 3, 3] }], build: (g, [x, w]) => g.conv(x, w, undefined, { pads: [2, 2, 2, 2], dilations: [2, 2] }) },
    '1x1': { inputs: [{ name: 'x', dims: [2, 3, 4, 4] }, { name: 'w', dims: [2, 3, 1, 1] }, { name: 'b', dims: [2] }], build: (g, [x, w, b]) => g.conv(x, w, b) },
  },
  MaxPool: {
    '2x2 stride 2': { inputs: [{ name: 'x', dims: [2, 2, 4, 6], data: distinct(96, 5) }], build: (g, [x]) => g.maxPool(x, { kernel: [2, 2], strides: [2, 2] }) },
    '3x3 stride 2 pad 1 (overlapping)': { inputs: [{ name: 'x', dims: [1, 2, 5, 5], data: distinct(50, 6) }], build: (g, [x]) => g.maxPool(x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }) },
  },
  GlobalAveragePool: { plain: { inputs: [{ name: 'x', dims: [2, 3, 3, 4] }], build: (g, [x]) => g.op1('GlobalAveragePool', [x]) } },
  Concat: { 'axis 1': { inputs: [{ name: 'a', dims: [2, 1, 3] }, { name: 'b', dims: [2, 2, 3] }], build: (g, [a, b]) => g.concat([a, b, a], 1) } },
  Slice: { 'negative start, clamped end': { inputs: [{ name: 'x', dims: [3, 6] }], build: (g, [x]) => g.slice(x, [1, -4], [3, 100], [0, 1]) } },
  Pad: { constant: { inputs: [{ name: 'x', dims: [2, 3] }], build: (g, [x]) => g.op1('Pad', [x, g.int64([1, 0, 2, 3])]) } },
  Reshape: { plain: { inputs: [{ name: 'x', dims: [2, 6] }], build: (g, [x]) => g.reshape(x, [3, -1]) } },
  Flatten: { plain: { inputs: [{ name: 'x', dims: [2, 3, 2] }], build: (g, [x]) => g.op1('Flatten', [x], { axis: attr.int(1) }) } },
  Unsqueeze: { plain: { inputs: [{ name: 'x', dims: [2, 3] }], build: (g, [x]) => g.op1('Unsqueeze', [x, g.int64([0, 3])]) } },
  Squeeze: { plain: { inputs: [{ name: 'x', dims: [2, 1, 3] }], build: (g, [x]) => g.op1('Squeeze', [x, g.int64([1])]) } },
  Transpose: { plain: { inputs: [{ name: 'x', dims: [2, 3, 4] }], build: (g, [x]) => g.transpose(x, [2, 0, 1]) } },
  Resize: {
    'nearest 2x (F.interpolate)': { inputs: [{ name: 'x', dims: [2, 3, 3, 4] }], build: (g, [x]) => resizeNearest2x(g, x) },
    'nearest, factors 1, 3, 2 by sizes': {
      inputs: [{ name: 'x', dims: [2, 2, 3] }],
      build: (g, [x]) => g.op1('Resize', [x, '', '', g.int64([2, 6, 6])], {
        mode: attr.string('nearest'), coordinate_transformation_mode: attr.string('asymmetric'), nearest_mode: attr.string('floor'),
      }),
    },
  },
  Expand: { 'new and unit axes': { inputs: [{ name: 'x', dims: [3, 1] }], build: (g, [x]) => g.expand(x, [2, 3, 4]) } },
  ReduceSum: {
    keepdims: { inputs: [{ name: 'x', dims: [2, 3, 4] }], build: (g, [x]) => g.reduceSum(x, [0, 2], true) },
    'no keepdims, all axes': { inputs: [{ name: 'x', dims: [2, 3] }], build: (g, [x]) => g.reduceSum(x, [0, 1], false) },
  },
  ReduceMean: {
    keepdims: { inputs: [{ name: 'x', dims: [2, 3, 4] }], build: (g, [x]) => g.reduceMean(x, [1], true) },
    'no keepdims, negative axis': { inputs: [{ name: 'x', dims: [2, 3, 4] }], build: (g, [x]) => g.reduceMean(x, [-1], false) },
  },
  MatMul: {
    'batched, broadcast': { inputs: [{ name: 'a', dims: [2, 3, 4] }, { name: 'b', dims: [4, 5] }], build: (g, [a, b]) => g.matmul(a, b) },
    'batch broadcast on the left': { inputs: [{ name: 'a', dims: [1, 3, 4] }, { name: 'b', dims: [2, 4, 2] }], build: (g, [a, b]) => g.matmul(a, b) },
  },
};

describe('gradient rules match central finite differences', () => {
  test('every rule in the table has at least one case', () => {
    expect(Object.keys(GRADIENT_RULES).filter((op) => !CASES[op])).toEqual([]);
  });

  for (const [op, cases] of Object.entries(CASES)) {
    for (const [label, c] of Object.entries(cases)) {
      test(`${op}: ${label}`, async () => {
        const { worst, checked } = await checkGradients(c);
        expect(checked).toBeGreaterThan(0);
        expect(worst).toBeLessThanOrEqual(1);
      });
    }
  }
});

describe('autodiff', () => {
  test('a wrong rule is caught: the checker is sensitive', async () => {
    const saved = GRADIENT_RULES.Sigmoid;
    GRADIENT_RULES.Sigmoid = (ctx, node, dOut) => [ctx.g.mul(dOut[0]!, node.outputs[0])];
    try {
      const { worst } = await checkGradients(CASES.Sigmoid.plain);
      expect(worst).toBeGreaterThan(10);
    } finally {
      GRADIENT_RULES.Sigmoid = saved;
    }
  });

  test('an op without a rule on the path is reported by name', async () => {
    await expect(checkGradients({ inputs: [{ name: 'x', dims: [3] }], build: (g, [x]) => g.op1('Floor', [x]) })).rejects.toThrow(/no gradient rule for Floor/);
  });

  test('Resize other than nearest upsampling by integer factors is refused by name', async () => {
    const linear = (g: GraphBuilder, x: string): string => g.op1('Resize', [x, '', g.float32([1, 1, 2, 2])], { mode: attr.string('linear') });
    await expect(checkGradients({ inputs: [{ name: 'x', dims: [1, 1, 2, 2] }], build: (g, [x]) => linear(g, x) })).rejects.toThrow(/Resize .*nearest upsampling by integer factors/);
  });

  test('a value that does not reach the loss gets a zero gradient', async () => {
    const { worst } = await checkGradients({
      inputs: [{ name: 'x', dims: [3] }, { name: 'unused', dims: [2] }],
      build: (g: GraphBuilder, [x]) => g.mul(x, x),
    });
    expect(worst).toBeLessThanOrEqual(1);
  });
});
