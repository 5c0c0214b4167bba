import { elementCount, GraphBuilder } from '../onnx';
import { inferShapes } from '../onnx/shapes';
import type { BatchNormOptions, Layers, ParamInit } from './layers';
import { buildNetwork } from './network';
import { ModelSpec, resolveSpec } from './spec';

/**
 * Layers that build a network with static shapes and no weights, for counting: parameters are graph
 * inputs, BatchNorm is the inference op, resizes are Reshape/Expand of the right output shape.
 */
class ShapeLayers implements Layers {
  readonly g = new GraphBuilder('count');
  private dims(x: string): number[] {
    return inferShapes(this.g.graph).get(x)!.dims;
  }

  param(name: string, shape: number[], _init: ParamInit): string {
    return this.g.input(name, 'float32', shape);
  }

  batchNorm(x: string, prefix: string, channels: number, options: BatchNormOptions = {}): string {
    const [w, b, m, v] = ['weight', 'bias', 'running_mean', 'running_var'].map((k) => this.g.input(`${prefix}.${k}`, 'float32', [channels]));
    return this.g.batchNormInference(x, w, b, m, v, options.epsilon ?? 1e-5);
  }

  private repeat(x: string, factor: number): string {
    const [n, c, h, w] = this.dims(x);
    return this.g.reshape(this.g.expand(this.g.reshape(x, [n, c, h, 1, w, 1]), [n, c, h, factor, w, factor]), [n, c, h * factor, w * factor]);
  }

  upsampleNearest2x(x: string): string { return this.repeat(x, 2); }
  upsampleBilinear(x: string, factor: number): string { return this.repeat(x, factor); }

  broadcastSpatial(pooled: string, like: string): string {
    const [n, c] = this.dims(pooled);
    const [, , h, w] = this.dims(like);
    return this.g.expand(pooled, [n, c, h, w]);
  }

  dropout(x: string): string { return x; }
  dropSamples(x: string): string { return x; }
}

/**
 * Multiply-accumulates of one forward pass of `spec` on a 1 x C x height x width input, counted over the
 * convolutions (N Cout Ho Wo Cin/groups kh kw each); BatchNorm, activations and resizes are not counted.
 * Modules smp builds but never runs are not counted either.
 */
export function countMacs(spec: ModelSpec, height: number, width: number): number {
  const s = resolveSpec(spec);
  const layers = new ShapeLayers();
  const image = layers.g.input('image', 'float32', [1, s.inChannels, height, width]);
  buildNetwork(layers, s, image);
  const shapes = inferShapes(layers.g.graph);
  let macs = 0;
  for (const node of layers.g.graph.nodes) {
    if (node.opType !== 'Conv') continue;
    const [, cinG, kh, kw] = shapes.get(node.inputs[1])!.dims;
    // The weight is [Cout, Cin / groups, kh, kw]: each output element takes Cin / groups x kh x kw products.
    macs += elementCount(shapes.get(node.outputs[0])!.dims) * cinG * kh * kw;
  }
  return macs;
}
