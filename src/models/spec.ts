import type { EncoderName } from './encoders';
import { ENCODERS } from './encoders';

export type Arch = 'unetplusplus' | 'unet' | 'deeplabv3';
export const ARCHS: readonly Arch[] = ['unetplusplus', 'unet', 'deeplabv3'];

/** What a network is: architecture, encoder, number of heatmaps, input channels and width. */
export interface ModelSpec {
  arch: Arch;
  encoder: EncoderName;
  /** Number of output heatmaps (landmarks). */
  classes: number;
  /** 3 for RGB input; 1 for grey input (smp sums the RGB filters of the first conv). */
  inChannels: 1 | 3;
  /** Scales every encoder and decoder channel count (small configurations for tests, demo, CPU recipes). Default 1. */
  widthMultiplier?: number;
}

/**
 * The spec an lmk model or run states in its metadata (`lmk.arch`, `lmk.encoder`, `lmk.classes`,
 * `lmk.in_channels`, `lmk.width_multiplier`), unvalidated; undefined where it states none.
 */
export function specFromMetadata(m: Record<string, string>): ModelSpec | undefined {
  if (!m['lmk.arch'] || !m['lmk.encoder'] || !m['lmk.classes']) return undefined;
  return {
    arch: m['lmk.arch'] as Arch, encoder: m['lmk.encoder'] as EncoderName, classes: Number(m['lmk.classes']),
    inChannels: m['lmk.in_channels'] === '1' ? 1 : 3, widthMultiplier: Number(m['lmk.width_multiplier'] ?? 1),
  };
}

/** A spec after validation, with defaults filled in. */
export type ResolvedSpec = Required<ModelSpec>;

/** The encoder's stride: input height and width must be multiples of it. */
export const OUTPUT_STRIDE = 32;

/**
 * Validates a spec up front and fills in defaults; throws one clear error naming the bad field.
 * `source` prefixes the message (for example a file name or 'lmk export').
 */
export function resolveSpec(spec: ModelSpec, source = 'model spec'): ResolvedSpec {
  const fail = (what: string): never => { throw new Error(`${source}: ${what}`); };
  if (!ARCHS.includes(spec.arch)) fail(`arch must be one of ${ARCHS.join(', ')}, got '${String(spec.arch)}'`);
  if (!Object.prototype.hasOwnProperty.call(ENCODERS, spec.encoder)) {
    fail(`encoder must be one of ${Object.keys(ENCODERS).join(', ')}, got '${String(spec.encoder)}'`);
  }
  // smp's DeepLabV3 dilates the encoder (output stride 8); VGG cannot be dilated (smp refuses it too).
  if (spec.arch === 'deeplabv3' && spec.encoder === 'vgg19') fail('deeplabv3 is not defined for encoder vgg19 (use resnext101_32x8d or efficientnet-b7)');
  if (!Number.isInteger(spec.classes) || spec.classes < 1) fail(`classes must be a positive integer, got ${String(spec.classes)}`);
  if (spec.inChannels !== 1 && spec.inChannels !== 3) fail(`inChannels must be 1 or 3, got ${String(spec.inChannels)}`);
  const widthMultiplier = spec.widthMultiplier ?? 1;
  if (typeof widthMultiplier !== 'number' || !Number.isFinite(widthMultiplier) || widthMultiplier <= 0 || widthMultiplier > 1) {
    fail(`widthMultiplier must be a number in (0, 1], got ${String(spec.widthMultiplier)}`);
  }
  return { arch: spec.arch, encoder: spec.encoder, classes: spec.classes, inChannels: spec.inChannels, widthMultiplier };
}

/** A channel count scaled by the width multiplier (at least 1). */
export function scaleChannels(channels: number, widthMultiplier: number): number {
  return Math.max(1, Math.round(channels * widthMultiplier));
}
