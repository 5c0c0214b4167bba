import type { Layers } from '../layers';
import type { ResolvedSpec } from '../spec';
import type { EncoderDefinition } from './types';

/** efficientnet-pytorch's (lukemelas) B7 global parameters. */
const WIDTH_COEFFICIENT = 2.0;
const DEPTH_COEFFICIENT = 3.1;
/** The resolution its static "SAME" paddings are computed for. */
const IMAGE_SIZE = 600;
const DROP_CONNECT_RATE = 0.2;
const BN = { epsilon: 1e-3, momentum: 0.01 };
const SE_RATIO = 0.25;

/** The seven base stages: repeats, kernel, stride, expansion, input and output filters (B0 widths). */
const STAGES = [
  { repeats: 1, kernel: 3, stride: 1, expand: 1, input: 32, output: 16 },
  { repeats: 2, kernel: 3, stride: 2, expand: 6, input: 16, output: 24 },
  { repeats: 2, kernel: 5, stride: 2, expand: 6, input: 24, output: 40 },
  { repeats: 3, kernel: 3, stride: 2, expand: 6, input: 40, output: 80 },
  { repeats: 3, kernel: 5, stride: 1, expand: 6, input: 80, output: 112 },
  { repeats: 4, kernel: 5, stride: 2, expand: 6, input: 112, output: 192 },
  { repeats: 1, kernel: 3, stride: 1, expand: 6, input: 192, output: 320 },
];

/** smp's out_indexes for efficientnet-b7: the blocks after which strides 4, 8, 16, 32 are reached. */
const OUT_INDEXES = [10, 17, 37, 54];

/** efficientnet-pytorch's round_filters: scale, round to a multiple of 8 (at least 8), never more than 10% down. */
export function roundFilters(filters: number, widthCoefficient: number): number {
  const scaled = filters * widthCoefficient;
  let rounded = Math.max(8, Math.floor(Math.trunc(scaled + 4) / 8) * 8);
  if (rounded < 0.9 * scaled) rounded += 8;
  return rounded;
}

export interface MBConvBlock {
  index: number;
  kernel: number;
  stride: number;
  expand: number;
  input: number;
  output: number;
  /** The input resolution the block's static padding was computed for (600-pixel image). */
  imageSize: number;
  /**
   * Identity skip (with stochastic depth). Only repeated blocks have one: the reference tests
   * `stride == 1` on the block arguments, where a stage's first block still holds its stride as a list
   * ([1]), so that block never adds its input even when the channel counts match (which happens at small
   * width multipliers, e.g. block 0 at 1/8: 8 -> 8).
   */
  skip: boolean;
}

/** The 55 MBConv blocks of B7 at width coefficient 2.0 x multiplier, as EfficientNet.__init__ lays them out. */
export function efficientnetB7Blocks(widthMultiplier: number): MBConvBlock[] {
  const wc = WIDTH_COEFFICIENT * widthMultiplier;
  const blocks: MBConvBlock[] = [];
  let imageSize = Math.ceil(IMAGE_SIZE / 2); // after the stride-2 stem
  for (const s of STAGES) {
    const repeats = Math.ceil(DEPTH_COEFFICIENT * s.repeats);
    const output = roundFilters(s.output, wc);
    let input = roundFilters(s.input, wc);
    let stride = s.stride;
    for (let r = 0; r < repeats; r++) {
      blocks.push({ index: blocks.length, kernel: s.kernel, stride, expand: s.expand, input, output, imageSize, skip: r > 0 });
      if (r === 0) imageSize = Math.ceil(imageSize / stride);
      input = output;
      stride = 1;
    }
  }
  return blocks;
}

/**
 * Conv2dStaticSamePadding's zero padding as ONNX pads [top, left, bottom, right]: TensorFlow "SAME" for
 * a square `imageSize` input; the extra pixel of an odd total goes bottom/right.
 */
export function staticSamePads(imageSize: number, kernel: number, stride: number): number[] {
  const out = Math.ceil(imageSize / stride);
  const total = Math.max((out - 1) * stride + kernel - imageSize, 0);
  const before = Math.floor(total / 2);
  return [before, before, total - before, total - before];
}

const silu = (layers: Layers, x: string): string => layers.g.mul(x, layers.g.sigmoid(x));

/**
 * A conv of efficientnet-pytorch: PyTorch's default init (U(+-1/sqrt(fan_in)) for weight and bias).
 * `dilation` > 1 is smp's make_dilated: stride 1, symmetric padding (k // 2) * dilation instead of the static padding.
 */
function conv(
  layers: Layers, x: string, name: string, inCh: number, outCh: number, kernel: number,
  o: { stride?: number; group?: number; bias?: boolean; imageSize?: number; dilation?: number } = {},
): string {
  const group = o.group ?? 1;
  const dilation = o.dilation ?? 1;
  const fanIn = (inCh / group) * kernel * kernel;
  const w = layers.param(`${name}.weight`, [outCh, inCh / group, kernel, kernel], { kind: 'uniform_fan_in', fanIn });
  const b = o.bias ? layers.param(`${name}.bias`, [outCh], { kind: 'uniform_fan_in', fanIn }) : undefined;
  const stride = dilation > 1 ? 1 : o.stride ?? 1;
  const pads = dilation > 1
    ? new Array(4).fill(Math.floor(kernel / 2) * dilation)
    : staticSamePads(o.imageSize ?? 1, kernel, stride);
  return layers.g.conv(x, w, b, { strides: [stride, stride], pads, dilations: [dilation, dilation], group });
}

/**
 * smp's EfficientNetEncoder over efficientnet-pytorch's (lukemelas) EfficientNet-B7, names `encoder._conv_stem`,
 * `encoder._blocks.N._depthwise_conv`, ...: stem Conv 3x3/2 + BN + SiLU, then 55 MBConv blocks (1x1 expansion
 * unless the ratio is 1, depthwise conv, squeeze-excitation, 1x1 projection, identity skip with stochastic depth
 * 0.2 x index / 55 on repeated blocks). BatchNorm eps 1e-3, momentum 0.01. Features: the input, the stem, and
 * the outputs of blocks 10, 17, 37 and 54. Every conv has the static TF "SAME" padding efficientnet-pytorch
 * computes for a 600-pixel image. At output stride 8 (smp's make_dilated for DeepLabV3) blocks 18-37 and 38-54
 * have stride 1 and dilation 2 and 4 with symmetric padding. `_conv_head`/`_bn1` exist in smp's model but never
 * run; they are not built (and are ignored on import). A width multiplier m scales the width coefficient
 * (2.0 m, rounded as round_filters does).
 */
export const efficientnetB7Encoder: EncoderDefinition = {
  depth: 5,
  firstConvWeight: 'encoder._conv_stem.weight',

  outChannels(spec: ResolvedSpec): number[] {
    const wc = WIDTH_COEFFICIENT * spec.widthMultiplier;
    const blocks = efficientnetB7Blocks(spec.widthMultiplier);
    return [spec.inChannels, roundFilters(32, wc), ...OUT_INDEXES.map((i) => blocks[i].output)];
  },

  build(layers: Layers, image: string, spec: ResolvedSpec, outputStride: 8 | 32 = 32): string[] {
    const { g } = layers;
    const blocks = efficientnetB7Blocks(spec.widthMultiplier);
    const stem = roundFilters(32, WIDTH_COEFFICIENT * spec.widthMultiplier);
    const bn = (x: string, prefix: string, channels: number) => layers.batchNorm(x, prefix, channels, BN);
    let x = conv(layers, image, 'encoder._conv_stem', spec.inChannels, stem, 3, { stride: 2, imageSize: IMAGE_SIZE });
    x = silu(layers, bn(x, 'encoder._bn0', stem));
    const features = [image, x];

    for (const b of blocks) {
      const prefix = `encoder._blocks.${b.index}`;
      const dilation = outputStride === 8 && b.index > OUT_INDEXES[1] ? (b.index > OUT_INDEXES[2] ? 4 : 2) : 1;
      const expanded = b.input * b.expand;
      const input = x;
      let y = x;
      if (b.expand !== 1) {
        y = conv(layers, y, `${prefix}._expand_conv`, b.input, expanded, 1, { dilation });
        y = silu(layers, bn(y, `${prefix}._bn0`, expanded));
      }
      y = conv(layers, y, `${prefix}._depthwise_conv`, expanded, expanded, b.kernel, { stride: b.stride, group: expanded, imageSize: b.imageSize, dilation });
      y = silu(layers, bn(y, `${prefix}._bn1`, expanded));

      const squeezed = Math.max(1, Math.trunc(b.input * SE_RATIO));
      let s = g.op1('GlobalAveragePool', [y]);
      s = silu(layers, conv(layers, s, `${prefix}._se_reduce`, expanded, squeezed, 1, { bias: true, dilation }));
      s = conv(layers, s, `${prefix}._se_expand`, squeezed, expanded, 1, { bias: true, dilation });
      y = g.mul(g.sigmoid(s), y);

      y = conv(layers, y, `${prefix}._project_conv`, expanded, b.output, 1, { dilation });
      y = bn(y, `${prefix}._bn2`, b.output);
      if (b.skip) {
        const p = (DROP_CONNECT_RATE * b.index) / blocks.length;
        y = g.add(layers.dropSamples(y, p, prefix), input);
      }
      x = y;
      if (OUT_INDEXES.includes(b.index)) features.push(x);
    }
    return features;
  },

  unusedSmpName(name: string): boolean {
    return /^encoder\.(_conv_head\.weight|_bn1\.(weight|bias|running_mean|running_var|num_batches_tracked))$/.test(name);
  },

  imagenetName(key: string): string | null | undefined {
    if (/^(_conv_stem\.weight|_bn0\.(weight|bias|running_mean|running_var)|_blocks\.\d+\.(_expand_conv|_depthwise_conv|_project_conv|_se_reduce|_se_expand|_bn[0-2])\.(weight|bias|running_mean|running_var))$/.test(key)) {
      return `encoder.${key}`;
    }
    // The classifier and the unused head conv, and BatchNorm counters.
    if (/^(_fc|_conv_head|_bn1)\./.test(key) || key.endsWith('.num_batches_tracked')) return null;
    return undefined;
  },
};
