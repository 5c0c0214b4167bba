import { GraphBuilder } from '../onnx';
import type { BatchNormOptions, Layers, ParamInit } from './layers';
import { formatShape, sameShape, StateDict } from './state-dict';
import { resizeNearest2x } from './upsample';
import { expandSpatialLike, resizeBilinearAlignCorners } from './resize';

/**
 * Layers for inference: parameters become initializers (named as in smp) from a state dict, BatchNorm
 * is ONNX BatchNormalization in inference mode (onnxruntime folds it into the preceding Conv).
 * Tensor data is shared with the state dict, not copied.
 */
export class InferenceLayers implements Layers {
  constructor(readonly g: GraphBuilder, private readonly stateDict: StateDict) {}

  private tensor(name: string, shape: number[]): string {
    const t = this.stateDict.get(name);
    if (!t) throw new Error(`state dict has no '${name}' ${formatShape(shape)}`);
    if (!sameShape(t.dims, shape)) throw new Error(`state dict '${name}' is ${formatShape(t.dims)}, expected ${formatShape(shape)}`);
    return this.g.initializer(name, { dataType: 'float32', dims: [...t.dims], data: t.data });
  }

  param(name: string, shape: number[], _init: ParamInit): string {
    return this.tensor(name, shape);
  }

  batchNorm(x: string, prefix: string, channels: number, options: BatchNormOptions = {}): string {
    const [w, b, m, v] = ['weight', 'bias', 'running_mean', 'running_var'].map((k) => this.tensor(`${prefix}.${k}`, [channels]));
    return this.g.batchNormInference(x, w, b, m, v, options.epsilon ?? 1e-5);
  }

  upsampleNearest2x(x: string): string {
    return resizeNearest2x(this.g, x);
  }

  upsampleBilinear(x: string, factor: number): string {
    return resizeBilinearAlignCorners(this.g, x, factor);
  }

  broadcastSpatial(pooled: string, like: string): string {
    return expandSpatialLike(this.g, pooled, like);
  }

  /** Dropout is the identity for inference. */
  dropout(x: string): string {
    return x;
  }

  /** Stochastic depth is the identity for inference. */
  dropSamples(x: string): string {
    return x;
  }
}
