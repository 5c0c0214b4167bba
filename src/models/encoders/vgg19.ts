import type { Layers } from '../layers';
import { ResolvedSpec, scaleChannels } from '../spec';
import type { EncoderDefinition } from './types';

/** torchvision's VGG cfg 'E' (VGG19, no BatchNorm): conv widths, 'M' for a 2x2 max-pool. */
const CFG_E: (number | 'M')[] = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'];

interface FeatureLayer { index: number; kind: 'conv' | 'relu' | 'pool'; outChannels?: number }

/** `features` as torchvision's make_layers numbers it: Conv2d, ReLU per width, MaxPool2d per 'M'. */
function featureLayers(): FeatureLayer[] {
  const layers: FeatureLayer[] = [];
  for (const v of CFG_E) {
    if (v === 'M') layers.push({ index: layers.length, kind: 'pool' });
    else {
      layers.push({ index: layers.length, kind: 'conv', outChannels: v });
      layers.push({ index: layers.length, kind: 'relu' });
    }
  }
  return layers;
}

const FEATURES = featureLayers();
/** smp's stage ends: the layer before each MaxPool, then the last layer (the final MaxPool, kept). */
const OUT_INDEXES = new Set([...FEATURES.filter((l) => l.kind === 'pool').map((l) => l.index - 1), FEATURES.length - 1]);

export const vgg19Encoder: EncoderDefinition = {
  depth: 5,
  firstConvWeight: 'encoder.features.0.weight',

  outChannels(spec: ResolvedSpec): number[] {
    return [64, 128, 256, 512, 512, 512].map((c) => scaleChannels(c, spec.widthMultiplier));
  },

  build(layers: Layers, image: string, spec: ResolvedSpec): string[] {
    const { g } = layers;
    const features: string[] = [];
    let x = image;
    let channels: number = spec.inChannels;
    for (const layer of FEATURES) {
      if (layer.kind === 'conv') {
        const out = scaleChannels(layer.outChannels!, spec.widthMultiplier);
        const fanIn = channels * 9;
        // torchvision initialises VGG convs kaiming-normal (fan_out) with zero bias; smp re-creates
        // a first conv that is not 3-channel with PyTorch's default init.
        const defaultInit = layer.index === 0 && spec.inChannels !== 3;
        const w = layers.param(`encoder.features.${layer.index}.weight`, [out, channels, 3, 3],
          defaultInit ? { kind: 'uniform_fan_in', fanIn } : { kind: 'kaiming_normal_fan_out', fanOut: out * 9 });
        const b = layers.param(`encoder.features.${layer.index}.bias`, [out],
          defaultInit ? { kind: 'uniform_fan_in', fanIn } : { kind: 'zeros' });
        x = g.conv(x, w, b, { pads: [1, 1, 1, 1] });
        channels = out;
      } else if (layer.kind === 'relu') {
        x = g.relu(x);
      } else {
        x = g.maxPool(x, { kernel: [2, 2], strides: [2, 2] });
      }
      if (OUT_INDEXES.has(layer.index)) features.push(x);
    }
    return features;
  },

  imagenetName(key: string): string | null | undefined {
    if (/^features\.\d+\.(weight|bias)$/.test(key)) return `encoder.${key}`;
    // torchvision: classifier.*; timm vgg19.tv_in1k: pre_logits.* (the fc layers as convs) and head.*
    if (/^(classifier|pre_logits|head)\./.test(key)) return null;
    return undefined;
  },
};
