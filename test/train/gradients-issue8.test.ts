import { GraphBuilder } from '../../src/onnx';
import { alignCornersMatrix } from '../../src/models/resize';
import { checkGradients, FdCase } from './fd';

/**
 * The composites that ResNeXt, EfficientNet-B7 and DeepLabV3 add, checked end to end against central
 * differences (their ops' rules have their own cases in gradients.test.ts).
 */
const silu = (g: GraphBuilder, x: string): string => g.mul(x, g.sigmoid(x));

const CASES: Record<string, FdCase> = {
  'SiLU (Sigmoid x Mul, one input on both sides)': {
    inputs: [{ name: 'x', dims: [2, 3, 2, 2] }], build: (g, [x]) => silu(g, g.mul(x, g.scalar(2))),
  },
  'squeeze-excitation: global pool, 1x1 convs with bias, SiLU, sigmoid gate': {
    inputs: [{ name: 'x', dims: [2, 4, 3, 3] }, { name: 'wr', dims: [2, 4, 1, 1] }, { name: 'br', dims: [2] }, { name: 'we', dims: [4, 2, 1, 1] }, { name: 'be', dims: [4] }],
    build: (g, [x, wr, br, we, be]) => {
      const s = g.conv(silu(g, g.conv(g.op1('GlobalAveragePool', [x]), wr, br)), we, be);
      return g.mul(g.sigmoid(s), x);
    },
  },
  'depthwise 5x5 stride 2 with asymmetric static SAME padding, then SiLU': {
    inputs: [{ name: 'x', dims: [2, 3, 7, 6] }, { name: 'w', dims: [3, 1, 5, 5] }],
    build: (g, [x, w]) => silu(g, g.conv(x, w, undefined, { strides: [2, 2], pads: [1, 1, 2, 2], group: 3 })),
  },
  'grouped 3x3 dilation 2 (dilated ResNeXt)': {
    inputs: [{ name: 'x', dims: [2, 4, 6, 6] }, { name: 'w', dims: [4, 2, 3, 3] }],
    build: (g, [x, w]) => g.conv(x, w, undefined, { pads: [2, 2, 2, 2], dilations: [2, 2], group: 2 }),
  },
  'bilinear x4 align_corners as two MatMuls with fixed matrices': {
    inputs: [{ name: 'x', dims: [1, 2, 3, 4] }],
    build: (g, [x]) => {
      const rows = g.constant({ dataType: 'float32', dims: [12, 3], data: alignCornersMatrix(3, 12) });
      const colsT = g.transpose(g.constant({ dataType: 'float32', dims: [16, 4], data: alignCornersMatrix(4, 16) }), [1, 0]);
      return g.matmul(rows, g.matmul(x, colsT));
    },
  },
  'ASPP image pooling: global pool broadcast back with Expand, concatenated': {
    inputs: [{ name: 'x', dims: [2, 3, 3, 4] }],
    build: (g, [x]) => g.concat([x, g.expand(g.op1('GlobalAveragePool', [x]), [2, 3, 3, 4])], 1),
  },
};

describe('gradients of the Table 1 composites match central finite differences', () => {
  for (const [label, c] of Object.entries(CASES)) {
    test(label, async () => {
      const { worst, checked } = await checkGradients(c);
      expect(checked).toBeGreaterThan(0);
      expect(worst).toBeLessThanOrEqual(1);
    });
  }
});
