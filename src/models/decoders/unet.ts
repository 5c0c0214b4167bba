import type { Layers } from '../layers';
import type { ResolvedSpec } from '../spec';
import { conv2dReLU, decoderBlock, decoderChannels, DecoderOutput } from './blocks';

/**
 * smp `UnetDecoder` (no attention, nearest upsampling, BatchNorm) with the center block that smp
 * adds for VGG encoders only (`decoder.center.0`, `decoder.center.1`). smp upsamples to the next
 * feature's size, which is exactly x2 for inputs that are multiples of 32.
 */
export function buildUnetDecoder(layers: Layers, features: string[], encoderChannels: number[], spec: ResolvedSpec): DecoderOutput {
  const outChannels = decoderChannels(spec);
  const feats = features.slice(1).reverse();
  const encCh = encoderChannels.slice(1).reverse();
  const head = encCh[0];
  const inChannels = [head, ...outChannels.slice(0, -1)];
  const skipChannels = [...encCh.slice(1), 0];

  let x = feats[0];
  if (spec.encoder.startsWith('vgg')) {
    x = conv2dReLU(layers, x, 'decoder.center.0', head, head);
    x = conv2dReLU(layers, x, 'decoder.center.1', head, head);
  }
  for (let i = 0; i < outChannels.length; i++) {
    const skip = i + 1 < feats.length ? feats[i + 1] : undefined;
    x = decoderBlock(layers, x, skip, `decoder.blocks.${i}`, inChannels[i], skipChannels[i], outChannels[i]);
  }
  return { value: x, channels: outChannels[outChannels.length - 1] };
}
