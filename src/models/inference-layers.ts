import { GraphBuilder } from '../onnx';
import type { BatchNormOptions, Layers, ParamInit } from './layers';
import { formatShape, sameShape, StateDict } from './state-dict';
import { resizeNearest2x } from './upsample';
import { expandSpatialLike, resizeBilinearAlignCorners } from './resize';

/**
 * What every inference-mode graph does the same way: Resize for upsampling, Shape/Expand for broadcasting,
 * and dropout and stochastic depth as the identity. Subclasses say where parameters come from.
 */
export abstract class InferenceModeLayers implements Layers {
  constructor(readonly g: GraphBuilder) {}

  abstract param(name: string, shape: number[], init: ParamInit): string;
  abstract batchNorm(x: string, prefix: string, channels: number, options?: BatchNormOptions): string;

  upsampleNearest2x(x: string): string {
    return resizeNearest2x(this.g, x);
  }

  upsampleBilinear(x: string, factor: number): string {
    return resizeBilinearAlignCorners(this.g, x, factor);
  }

  broadcastSpatial(pooled: string, like: string): string {
    return expandSpatialLike(this.g, pooled, like);
  }

  dropout(x: string): string {
    return x;
  }

  dropSamples(x: string): string {
    return x;
  }
}

/**
 * Layers for inference: parameters become initializers (named as in smp) from a state dict, BatchNorm
 * is ONNX BatchNormalization in inference mode (onnxruntime folds it into the preceding Conv).
 * Tensor data is shared with the state dict, not copied.
 */
export class InferenceLayers extends InferenceModeLayers {
  constructor(g: GraphBuilder, private readonly stateDict: StateDict) {
    super(g);
  }

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
}
