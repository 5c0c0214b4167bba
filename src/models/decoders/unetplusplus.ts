import type { Layers } from '../layers';
import type { ResolvedSpec } from '../spec';
import { decoderBlock, decoderChannels, DecoderOutput } from './blocks';

/**
 * smp `UnetPlusPlusDecoder` (no attention, nearest upsampling, BatchNorm). Nodes are `x_d_l`
 * (`decoder.blocks.x_d_l`); node x_d_l (d > 0) concatenates [upsampled x_d_(l-1), x_(d+1)_l ...
 * x_l_l, encoder feature]. smp also creates a VGG `decoder.center` block that its forward never
 * runs; it is not built here.
 */
export function buildUnetPlusPlusDecoder(layers: Layers, features: string[], encoderChannels: number[], spec: ResolvedSpec): DecoderOutput {
  const outChannels = decoderChannels(spec);
  // Drop the stride-1 feature; deepest first.
  const feats = features.slice(1).reverse();
  const encCh = encoderChannels.slice(1).reverse();
  const inChannels = [encCh[0], ...outChannels.slice(0, -1)];
  const skipChannels = [...encCh.slice(1), 0];
  const depth = inChannels.length - 1;

  const blockChannels = (d: number, l: number): [number, number, number] => (d === 0
    ? [inChannels[l], skipChannels[l] * (l + 1), outChannels[l]]
    : [skipChannels[l - 1], skipChannels[l] * (l + 1 - d), skipChannels[l]]);

  const dense = new Map<string, string>();
  const block = (d: number, l: number, x: string, skip: string | undefined): string => {
    const [inCh, skipCh, outCh] = blockChannels(d, l);
    const y = decoderBlock(layers, x, skip, `decoder.blocks.x_${d}_${l}`, inCh, skipCh, outCh);
    dense.set(`x_${d}_${l}`, y);
    return y;
  };

  for (let layer = 0; layer < depth; layer++) {
    for (let d = 0; d < depth - layer; d++) {
      if (layer === 0) {
        block(d, d, feats[d], feats[d + 1]);
      } else {
        const l = d + layer;
        const cat: string[] = [];
        for (let idx = d + 1; idx <= l; idx++) cat.push(dense.get(`x_${idx}_${l}`)!);
        cat.push(feats[l + 1]);
        block(d, l, dense.get(`x_${d}_${l - 1}`)!, layers.g.concat(cat, 1));
      }
    }
  }
  const value = block(0, depth, dense.get(`x_0_${depth - 1}`)!, undefined);
  return { value, channels: outChannels[depth] };
}
