import { attr, GraphBuilder, Initializer } from '../onnx';
import { derivedSeed } from '../models/random';
import { alignCornersMatrix } from '../models/resize';
import { resizeNearest2x } from '../models/upsample';
import { inferNode, StaticShape } from '../onnx/shapes';
import type { BatchNormOptions, Layers, ParamInit } from '../models/layers';

/** A trainable parameter: a graph input named by its smp state-dict name. */
export interface TrainableParam {
  name: string;
  shape: number[];
  init: ParamInit;
}

/** A BatchNorm running statistic: a graph input (its current value) and the output holding its update. */
export interface RunningStat {
  name: string;
  shape: number[];
  /** PyTorch's initial value: running_mean 0, running_var 1. */
  initial: 0 | 1;
  /** The value of the updated statistic inside the graph. */
  updated: string;
}

/**
 * The training implementation of `Layers`: parameters become graph inputs (so that autodiff can
 * differentiate with respect to them and the step graph can update them), BatchNorm runs in
 * training mode from differentiable primitives with PyTorch's semantics (or, in 'eval' mode, with the
 * running statistics, for validation on the same parameter tensors); nearest upsampling is the
 * inference graph's Resize, bilinear two MatMuls. Shapes are static: batch and grid are fixed for a training session.
 */
export class TrainingLayers implements Layers {
  readonly params: TrainableParam[] = [];
  readonly runningStats: RunningStat[] = [];
  private readonly shapes = new Map<string, StaticShape>();
  private readonly inits = new Map<string, Initializer>();
  private inferredNodes = 0;
  private inferredInits = 0;

  /**
   * 'eval' normalises with the running statistics (PyTorch's model.eval()) and updates nothing.
   * `randomSeed` seeds dropout and stochastic depth masks (see randomMask).
   */
  constructor(readonly g: GraphBuilder, readonly mode: 'train' | 'eval' = 'train', readonly randomSeed = 0) {}

  /** The static shape of a value built so far (shape inference catches up with the builder lazily). */
  shapeOf(value: string): number[] {
    const graph = this.g.graph;
    for (; this.inferredInits < graph.initializers.length; this.inferredInits++) {
      const i = graph.initializers[this.inferredInits];
      this.inits.set(i.name, i);
      this.shapes.set(i.name, { dataType: i.dataType, dims: i.dims });
    }
    for (const v of graph.inputs) {
      if (!this.shapes.has(v.name) && v.shape?.every((d) => typeof d === 'number')) this.shapes.set(v.name, { dataType: v.dataType, dims: v.shape as number[] });
    }
    for (; this.inferredNodes < graph.nodes.length; this.inferredNodes++) inferNode(graph.nodes[this.inferredNodes], this.shapes, this.inits);
    const s = this.shapes.get(value);
    if (!s) throw new Error(`training graph: no static shape for '${value}'`);
    return s.dims;
  }

  param(name: string, shape: number[], init: ParamInit): string {
    this.g.input(name, 'float32', shape);
    this.params.push({ name, shape: shape.slice(), init });
    return name;
  }

  batchNorm(x: string, prefix: string, channels: number, options: BatchNormOptions = {}): string {
    const g = this.g;
    const eps = options.epsilon ?? 1e-5;
    const momentum = options.momentum ?? 0.1;
    const [n, c, h, w] = this.shapeOf(x);
    if (c !== channels) throw new Error(`batchNorm ${prefix}: input has ${c} channels, expected ${channels}`);
    const weight = this.param(`${prefix}.weight`, [c], { kind: 'ones' });
    const bias = this.param(`${prefix}.bias`, [c], { kind: 'zeros' });
    const runningMean = g.input(`${prefix}.running_mean`, 'float32', [c]);
    const runningVar = g.input(`${prefix}.running_var`, 'float32', [c]);
    if (this.mode === 'eval') {
      this.runningStats.push({ name: runningMean, shape: [c], initial: 0, updated: runningMean }, { name: runningVar, shape: [c], initial: 1, updated: runningVar });
      const scale = g.div(weight, g.sqrt(g.add(runningVar, g.scalar(eps))));
      const shift = g.sub(bias, g.mul(runningMean, scale));
      return g.add(g.mul(x, g.reshape(scale, [1, c, 1, 1])), g.reshape(shift, [1, c, 1, 1]));
    }

    // Normalise with the batch mean and biased batch variance, as PyTorch does in training mode.
    const mean = g.reduceMean(x, [0, 2, 3], true);
    const centered = g.sub(x, mean);
    const variance = g.reduceMean(g.mul(centered, centered), [0, 2, 3], true);
    const scale = g.div(g.reshape(weight, [1, c, 1, 1]), g.sqrt(g.add(variance, g.scalar(eps))));
    const y = g.add(g.mul(centered, scale), g.reshape(bias, [1, c, 1, 1]));

    // Running statistics use the unbiased variance; they are outputs, not on the loss path.
    const count = n * h * w;
    const keep = g.scalar(1 - momentum);
    const newMean = g.add(g.mul(runningMean, keep), g.mul(g.reshape(mean, [c]), g.scalar(momentum)));
    const newVar = g.add(g.mul(runningVar, keep), g.mul(g.reshape(variance, [c]), g.scalar((momentum * count) / Math.max(count - 1, 1))));
    this.runningStats.push(
      { name: runningMean, shape: [c], initial: 0, updated: newMean },
      { name: runningVar, shape: [c], initial: 1, updated: newVar },
    );
    return y;
  }

  /** Resize as in inference (a third of the time of Reshape/Expand/Reshape here); its gradient sums 2x2 blocks. */
  upsampleNearest2x(x: string): string {
    return resizeNearest2x(this.g, x);
  }

  /** Bilinear (align_corners) as two MatMuls with fixed interpolation matrices: Ah X Aw^T. */
  upsampleBilinear(x: string, factor: number): string {
    const g = this.g;
    const [, , h, w] = this.shapeOf(x);
    const rows = g.constant({ dataType: 'float32', dims: [h * factor, h], data: alignCornersMatrix(h, h * factor) }, 'interp_rows');
    const colsT = g.transpose(g.constant({ dataType: 'float32', dims: [w * factor, w], data: alignCornersMatrix(w, w * factor) }, 'interp_cols'), [1, 0]);
    return g.matmul(rows, g.matmul(x, colsT));
  }

  broadcastSpatial(pooled: string, like: string): string {
    const [n, c] = this.shapeOf(pooled);
    const [, , h, w] = this.shapeOf(like);
    return this.g.expand(pooled, [n, c, h, w]);
  }

  dropout(x: string, p: number, name: string): string {
    return this.randomMask(x, this.shapeOf(x), p, name);
  }

  dropSamples(x: string, p: number, name: string): string {
    return this.randomMask(x, [this.shapeOf(x)[0], 1, 1, 1], p, name);
  }

  /**
   * x times a mask of shape `maskShape` (broadcast over x) that is 0 with probability p and 1 / (1 - p)
   * otherwise ('eval' mode: x itself), drawn as efficientnet-pytorch's drop_connect does:
   * floor(1 - p + U[0, 1)) / (1 - p). The uniform draw is RandomUniformLike of a constant, so the mask is
   * a constant of the backward pass and needs no gradient rule (ONNX Dropout would do, but onnxruntime
   * removes it from inference sessions). The seed attribute is derived from (randomSeed, name);
   * onnxruntime seeds the node's generator once per session and draws anew at every run, so a session's
   * sequence of masks is reproducible.
   */
  private randomMask(x: string, maskShape: number[], p: number, name: string): string {
    if (!(p >= 0 && p < 1)) throw new Error(`${name}: drop probability must be in [0, 1), got ${p}`);
    if (p === 0 || this.mode === 'eval') return x;
    const g = this.g;
    const zeros = g.op1('ConstantOfShape', [g.int64(maskShape)], { value: attr.tensor({ dataType: 'float32', dims: [1], data: new Float32Array(1) }) });
    const u = g.op1('RandomUniformLike', [zeros], { seed: attr.float(derivedSeed(this.randomSeed, name)) });
    const keep = 1 - p;
    const mask = g.mul(g.op1('Floor', [g.add(u, g.scalar(keep))]), g.scalar(1 / keep));
    return g.mul(x, mask);
  }
}
