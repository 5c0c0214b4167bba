import { getEncoder } from './encoders';
import { DECODERS, ENCODER_OUTPUT_STRIDE } from './decoders';
import { buildSegmentationHead } from './heads';
import type { Layers } from './layers';
import { ModelSpec, resolveSpec } from './spec';

export type { ModelSpec, ResolvedSpec, Arch } from './spec';
export { resolveSpec, ARCHS, OUTPUT_STRIDE } from './spec';

/**
 * Encoder + decoder + head, as smp composes them. `image` is an NCHW value with `spec.inChannels`
 * channels and H, W multiples of 32; returns the raw heatmaps value [N, classes, H, W].
 */
export function buildNetwork(layers: Layers, spec: ModelSpec, image: string): string {
  const s = resolveSpec(spec);
  const encoder = getEncoder(s.encoder);
  const features = encoder.build(layers, image, s, ENCODER_OUTPUT_STRIDE[s.arch]);
  const decoded = DECODERS[s.arch](layers, features, encoder.outChannels(s), s);
  return buildSegmentationHead(layers, decoded.value, decoded.channels, s.classes, decoded.head);
}
