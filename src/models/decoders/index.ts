import type { Arch } from '../spec';
import type { DecoderBuild } from './blocks';
import { buildUnetPlusPlusDecoder } from './unetplusplus';
import { buildUnetDecoder } from './unet';
import { buildDeepLabV3Decoder } from './deeplabv3';

export type { DecoderBuild, DecoderOutput } from './blocks';

/** Decoders by architecture name. */
export const DECODERS: Record<Arch, DecoderBuild> = {
  unetplusplus: buildUnetPlusPlusDecoder,
  unet: buildUnetDecoder,
  deeplabv3: buildDeepLabV3Decoder,
};

/** The encoder's output stride per architecture: smp's DeepLabV3 dilates its encoder to stride 8. */
export const ENCODER_OUTPUT_STRIDE: Record<Arch, 8 | 32> = {
  unetplusplus: 32,
  unet: 32,
  deeplabv3: 8,
};
