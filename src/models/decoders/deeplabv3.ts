import type { Layers } from '../layers';
import { ResolvedSpec, scaleChannels } from '../spec';
import type { DecoderOutput } from './blocks';

/** smp DeepLabV3 defaults: decoder_channels 256, atrous rates (12, 24, 36), ASPP dropout 0.5, encoder output stride 8. */
const DECODER_CHANNELS = 256;
const ATROUS_RATES = [12, 24, 36];
const ASPP_DROPOUT = 0.5;
const OUTPUT_STRIDE = 8;

/** A bias-free conv (smp decoder init: kaiming-uniform, fan_in), BatchNorm and ReLU. */
function convBnRelu(
  layers: Layers, x: string, conv: string, bn: string, inCh: number, outCh: number, kernel: number, dilation = 1,
): string {
  const w = layers.param(`${conv}.weight`, [outCh, inCh, kernel, kernel], { kind: 'kaiming_uniform', fanIn: inCh * kernel * kernel });
  const pad = Math.floor(kernel / 2) * dilation;
  const y = layers.g.conv(x, w, undefined, { pads: [pad, pad, pad, pad], dilations: [dilation, dilation] });
  return layers.g.relu(layers.batchNorm(y, bn, outCh));
}

/**
 * smp `DeepLabV3Decoder` over the last feature of an encoder dilated to output stride 8: ASPP
 * (`decoder.aspp.convs.0` 1x1; `.1`-`.3` 3x3 at dilation 12, 24, 36; `.4` image pooling: global average,
 * 1x1 conv, BN, ReLU, resized back, which from a 1x1 map is a broadcast), concatenation, `decoder.aspp.project`
 * (1x1 conv, BN, ReLU, dropout 0.5), then `decoder.conv` 3x3 + `decoder.bn` + ReLU. The head is a 1x1
 * conv followed by bilinear x8 upsampling (align_corners) back to the input grid.
 */
export function buildDeepLabV3Decoder(layers: Layers, features: string[], encoderChannels: number[], spec: ResolvedSpec): DecoderOutput {
  const { g } = layers;
  const x = features[features.length - 1];
  const inCh = encoderChannels[encoderChannels.length - 1];
  const out = scaleChannels(DECODER_CHANNELS, spec.widthMultiplier);
  const branches = [convBnRelu(layers, x, 'decoder.aspp.convs.0.0', 'decoder.aspp.convs.0.1', inCh, out, 1)];
  ATROUS_RATES.forEach((rate, i) => {
    branches.push(convBnRelu(layers, x, `decoder.aspp.convs.${i + 1}.0`, `decoder.aspp.convs.${i + 1}.1`, inCh, out, 3, rate));
  });
  const pooled = convBnRelu(layers, g.op1('GlobalAveragePool', [x]), 'decoder.aspp.convs.4.1', 'decoder.aspp.convs.4.2', inCh, out, 1);
  branches.push(layers.broadcastSpatial(pooled, x));
  let y = convBnRelu(layers, g.concat(branches, 1), 'decoder.aspp.project.0', 'decoder.aspp.project.1', out * branches.length, out, 1);
  y = layers.dropout(y, ASPP_DROPOUT, 'decoder.aspp.project.3');
  y = convBnRelu(layers, y, 'decoder.conv', 'decoder.bn', out, out, 3);
  return { value: y, channels: out, head: { kernel: 1, upsampling: OUTPUT_STRIDE } };
}
