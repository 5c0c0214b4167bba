import type { Layers } from '../layers';
import { ResolvedSpec, scaleChannels } from '../spec';
import type { EncoderDefinition } from './types';

/** torchvision resnext101_32x8d: Bottleneck blocks per layer, 32 groups of width 8 (times 2^layer). */
const BLOCKS = [3, 4, 23, 3];
const GROUPS = 32;
const WIDTH_PER_GROUP = 8;
const EXPANSION = 4;

/**
 * Channel plan at a width multiplier m: stem scale(64, m); layer l has scale(32, m) groups of
 * 8 * 2^l channels (the grouped 3x3 conv's width; 256 * 2^l at m = 1) and scale(256 * 2^l, m) outputs.
 */
function plan(m: number): { stem: number; groups: number; width: number[]; out: number[] } {
  const groups = scaleChannels(GROUPS, m);
  return {
    stem: scaleChannels(64, m),
    groups,
    width: BLOCKS.map((_, l) => groups * WIDTH_PER_GROUP * 2 ** l),
    out: BLOCKS.map((_, l) => scaleChannels(64 * EXPANSION * 2 ** l, m)),
  };
}

/** A bias-free conv with torchvision's ResNet init (kaiming-normal, fan_out) and its BatchNorm. */
function convBn(
  layers: Layers, x: string, conv: string, bn: string, inCh: number, outCh: number, kernel: number,
  o: { stride?: number; dilation?: number; group?: number } = {},
): string {
  const stride = o.stride ?? 1;
  const dilation = o.dilation ?? 1;
  const group = o.group ?? 1;
  // PyTorch's fan_out is out_channels x kernel area, whatever the groups.
  const w = layers.param(`${conv}.weight`, [outCh, inCh / group, kernel, kernel], { kind: 'kaiming_normal_fan_out', fanOut: outCh * kernel * kernel });
  const pad = Math.floor(kernel / 2) * dilation;
  const y = layers.g.conv(x, w, undefined, { strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [dilation, dilation], group });
  return layers.batchNorm(y, bn, outCh);
}

/**
 * smp's ResNetEncoder over torchvision's ResNeXt101-32x8d (names `encoder.conv1`, `encoder.layer3.22.conv2`, ...):
 * stem Conv 7x7/2 + BN + ReLU, MaxPool 3x3/2 pad 1, then layers 1-4 of Bottleneck blocks whose grouped
 * 3x3 conv carries the stride, with a 1x1 conv + BN projection shortcut on each layer's first block.
 * Features: the input, the stem (stride 2), layers 1-4 (strides 4-32). At output stride 8 (smp's
 * make_dilated for DeepLabV3) layers 3 and 4 keep stride 1 and dilate every conv by 2 and 4.
 */
export const resnext101Encoder: EncoderDefinition = {
  depth: 5,
  firstConvWeight: 'encoder.conv1.weight',

  outChannels(spec: ResolvedSpec): number[] {
    const p = plan(spec.widthMultiplier);
    return [spec.inChannels, p.stem, ...p.out];
  },

  build(layers: Layers, image: string, spec: ResolvedSpec, outputStride: 8 | 32 = 32): string[] {
    const { g } = layers;
    const p = plan(spec.widthMultiplier);
    const features = [image];
    // smp re-creates a first conv that is not 3-channel with PyTorch's default init.
    const fanIn = spec.inChannels * 49;
    const w1 = layers.param('encoder.conv1.weight', [p.stem, spec.inChannels, 7, 7],
      spec.inChannels === 3 ? { kind: 'kaiming_normal_fan_out', fanOut: p.stem * 49 } : { kind: 'uniform_fan_in', fanIn });
    let x = g.relu(layers.batchNorm(g.conv(image, w1, undefined, { strides: [2, 2], pads: [3, 3, 3, 3] }), 'encoder.bn1', p.stem));
    features.push(x);
    x = g.maxPool(x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });

    let inCh = p.stem;
    BLOCKS.forEach((count, l) => {
      const dilation = outputStride === 8 && l >= 2 ? 2 ** (l - 1) : 1;
      for (let b = 0; b < count; b++) {
        const prefix = `encoder.layer${l + 1}.${b}`;
        const stride = b === 0 && l > 0 && dilation === 1 ? 2 : 1;
        const width = p.width[l];
        const out = p.out[l];
        let y = g.relu(convBn(layers, x, `${prefix}.conv1`, `${prefix}.bn1`, inCh, width, 1, { dilation }));
        y = g.relu(convBn(layers, y, `${prefix}.conv2`, `${prefix}.bn2`, width, width, 3, { stride, dilation, group: p.groups }));
        y = convBn(layers, y, `${prefix}.conv3`, `${prefix}.bn3`, width, out, 1, { dilation });
        const shortcut = b === 0
          ? convBn(layers, x, `${prefix}.downsample.0`, `${prefix}.downsample.1`, inCh, out, 1, { stride, dilation })
          : x;
        x = g.relu(g.add(y, shortcut));
        inCh = out;
      }
      features.push(x);
    });
    return features;
  },

  imagenetName(key: string): string | null | undefined {
    if (/^(conv1|bn1|layer[1-4]\.\d+\.(conv[1-3]|bn[1-3]|downsample\.[01]))\.(weight|bias|running_mean|running_var)$/.test(key)) return `encoder.${key}`;
    if (/^(bn1|layer[1-4]\.\d+\.(bn[1-3]|downsample\.1))\.num_batches_tracked$/.test(key)) return null;
    // torchvision and timm: the classifier is fc.*
    if (/^fc\./.test(key)) return null;
    return undefined;
  },
};
