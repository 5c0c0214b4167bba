import type { SegmentationHeadOptions } from '../heads';
import type { Layers } from '../layers';
import { ResolvedSpec, scaleChannels } from '../spec';

/** smp's default `decoder_channels` for U-Net and U-Net++. */
export const DECODER_CHANNELS = [256, 128, 64, 32, 16];

export function decoderChannels(spec: ResolvedSpec): number[] {
  return DECODER_CHANNELS.map((c) => scaleChannels(c, spec.widthMultiplier));
}

/**
 * smp `Conv2dReLU` with BatchNorm: Conv 3x3 (padding 1, no bias) as `${prefix}.0`, BatchNorm2d as
 * `${prefix}.1`, ReLU. smp initialises decoder convs kaiming-uniform (fan_in).
 */
export function conv2dReLU(layers: Layers, x: string, prefix: string, inChannels: number, outChannels: number): string {
  const fanIn = inChannels * 9;
  const w = layers.param(`${prefix}.0.weight`, [outChannels, inChannels, 3, 3], { kind: 'kaiming_uniform', fanIn });
  const y = layers.g.conv(x, w, undefined, { pads: [1, 1, 1, 1] });
  return layers.g.relu(layers.batchNorm(y, `${prefix}.1`, outChannels));
}

/**
 * smp `DecoderBlock` without attention: nearest x2 upsampling, concatenation with the skip features
 * (upsampled first), then two Conv2dReLU (`conv1`, `conv2`).
 */
export function decoderBlock(
  layers: Layers, x: string, skip: string | undefined, prefix: string,
  inChannels: number, skipChannels: number, outChannels: number,
): string {
  let y = layers.upsampleNearest2x(x);
  if (skip !== undefined) y = layers.g.concat([y, skip], 1);
  y = conv2dReLU(layers, y, `${prefix}.conv1`, inChannels + skipChannels, outChannels);
  return conv2dReLU(layers, y, `${prefix}.conv2`, outChannels, outChannels);
}

/** What a decoder gives the head. */
export interface DecoderOutput {
  value: string;
  channels: number;
  /** The segmentation head's kernel and bilinear upsampling (DeepLabV3); default kernel 3, no upsampling. */
  head?: SegmentationHeadOptions;
}

/** A decoder over encoder features (strides 1..32, as smp's encoders return them). */
export type DecoderBuild = (layers: Layers, features: string[], encoderChannels: number[], spec: ResolvedSpec) => DecoderOutput;
