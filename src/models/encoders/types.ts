import type { Layers } from '../layers';
import type { ResolvedSpec } from '../spec';

/**
 * An encoder as smp composes it: `build` returns one feature per stage, strides 1, 2, 4, ... 2^depth,
 * with `outChannels(spec)[i]` channels each. Parameters are named as in smp (`encoder.*`).
 */
export interface EncoderDefinition {
  /** Number of downsampling stages (features returned: depth + 1). */
  readonly depth: number;
  outChannels(spec: ResolvedSpec): number[];
  /**
   * `outputStride` 8 (DeepLabV3) replaces the strides of the stride-16 and stride-32 stages by dilation
   * 2 and 4, as smp's make_dilated does; default 32. Encoders without dilation support reject it.
   */
  build(layers: Layers, image: string, spec: ResolvedSpec, outputStride?: 8 | 32): string[];
  /** The first convolution's weight: for 1 input channel an ImageNet file's RGB filters are summed into it. */
  readonly firstConvWeight: string;
  /**
   * Maps a tensor name in an ImageNet classification checkpoint (torchvision or timm) to its smp name,
   * null for keys that are ignored (classifier heads), undefined for keys that do not belong to such a file.
   */
  imagenetName(key: string): string | null | undefined;
  /** smp state-dict names of modules smp builds but never runs (not built here; ignored on import). */
  unusedSmpName?(name: string): boolean;
}
