import type { Layers } from '../../src/models/layers';
import type { TensorDict } from '../../src/train/step';

/**
 * A tiny encoder-decoder with every op kind of U-Net++/VGG19 (conv with and without bias, training
 * BatchNorm, ReLU, 2x2 max-pool, nearest 2x upsampling, skip concat, 1x1 head). Its twin in PyTorch is
 * scripts/parity/tiny_step.py; both fill weights and data from the same formulas.
 */
export function tinyNet(classes: number) {
  return (layers: Layers, x: string): string => {
    const { g } = layers;
    const w = (name: string, shape: number[]): string => layers.param(name, shape, { kind: 'kaiming_uniform', fanIn: shape.slice(1).reduce((a, b) => a * b, 1) });
    const b = (name: string, n: number): string => layers.param(name, [n], { kind: 'zeros' });
    const c1 = g.relu(layers.batchNorm(g.conv(x, w('c1.weight', [4, 3, 3, 3]), undefined, { pads: [1, 1, 1, 1] }), 'bn1', 4));
    const p = g.maxPool(c1, { kernel: [2, 2], strides: [2, 2] });
    const c2 = g.relu(g.conv(p, w('c2.weight', [8, 4, 3, 3]), b('c2.bias', 8), { pads: [1, 1, 1, 1] }));
    const cat = g.concat([layers.upsampleNearest2x(c2), c1], 1);
    const c3 = g.relu(layers.batchNorm(g.conv(cat, w('c3.weight', [4, 12, 3, 3]), undefined, { pads: [1, 1, 1, 1] }), 'bn3', 4));
    return g.conv(c3, w('head.weight', [classes, 4, 1, 1]), b('head.bias', classes));
  };
}

/** Parameter k of `shape`: biases 0.1 sin, BatchNorm weights 1 + 0.1 sin, conv weights sin / sqrt(fan-in). */
export function formulaWeights(params: { name: string; shape: number[] }[]): TensorDict {
  return new Map(params.map((p, k) => {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const s = (i: number): number => Math.sin(0.731 * i + 1.37 * k + 0.1);
    const isBnWeight = /^bn\d+\.weight$/.test(p.name);
    const scale = p.shape.length > 1 ? 1 / Math.sqrt(p.shape.slice(1).reduce((a, b) => a * b, 1)) : 0.1;
    return [p.name, { dims: p.shape, data: Float32Array.from({ length: n }, (_, i) => (isBnWeight ? 1 : 0) + scale * s(i)) }];
  }));
}

/** Batch `index` of images [B, 3, H, W] and Gaussian targets (sigma 2) [B, K, H, W]. */
export function formulaBatch(index: number, batch: number, classes: number, h: number, w: number): { images: Float32Array; targets: Float32Array } {
  const images = Float32Array.from({ length: batch * 3 * h * w }, (_, i) => Math.sin(0.05 * i + index) * Math.cos(0.013 * i));
  const targets = new Float32Array(batch * classes * h * w);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < classes; k++) {
      const cx = (3 + 5 * k + 2 * b + index) % w;
      const cy = (4 + 3 * k + 3 * b + 2 * index) % h;
      for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
        targets[((b * classes + k) * h + r) * w + c] = Math.exp(-((c - cx) ** 2 + (r - cy) ** 2) / 8);
      }
    }
  }
  return { images, targets };
}
