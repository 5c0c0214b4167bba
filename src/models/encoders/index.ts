import type { EncoderDefinition } from './types';
import { vgg19Encoder } from './vgg19';
import { resnext101Encoder } from './resnext101';
import { efficientnetB7Encoder } from './efficientnet-b7';

export type { EncoderDefinition } from './types';

/** Encoders by smp name. Adding one: a new file in this folder and one line here. */
export const ENCODERS = {
  vgg19: vgg19Encoder,
  resnext101_32x8d: resnext101Encoder,
  'efficientnet-b7': efficientnetB7Encoder,
} satisfies Record<string, EncoderDefinition>;

export type EncoderName = keyof typeof ENCODERS;

export function getEncoder(name: EncoderName): EncoderDefinition {
  return ENCODERS[name];
}
