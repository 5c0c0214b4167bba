import type { Layers } from './layers';

/**
 * smp `SegmentationHead` with kernel 3 and no upsampling (DeepLabV3: kernel 1, then bilinear upsampling), no
 * activation: one raw heatmap per class.
 * smp initialises it xavier-uniform with zero bias.
 */
export function buildSegmentationHead(layers: Layers, x: string, inChannels: number, classes: number, options: SegmentationHeadOptions = {}): string {
  const k = options.kernel ?? 3;
  const pad = Math.floor(k / 2);
  const w = layers.param('segmentation_head.0.weight', [classes, inChannels, k, k],
    { kind: 'xavier_uniform', fanIn: inChannels * k * k, fanOut: classes * k * k });
  const b = layers.param('segmentation_head.0.bias', [classes], { kind: 'zeros' });
  const y = layers.g.conv(x, w, b, { pads: [pad, pad, pad, pad] });
  const up = options.upsampling ?? 1;
  return up > 1 ? layers.upsampleBilinear(y, up) : y;
}

/** smp SegmentationHead arguments that differ between decoders (DeepLabV3: kernel 1, bilinear x8). */
export interface SegmentationHeadOptions {
  kernel?: 1 | 3;
  /** nn.UpsamplingBilinear2d factor (align_corners=True) after the conv. */
  upsampling?: number;
}
