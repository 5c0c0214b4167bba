import { attr, Graph, GraphBuilder, Model, Node, ValueInfo } from '../onnx';
import type { OutputKind } from '../heatmaps';
import type { Layers } from '../models/layers';
import { addGradients } from './autodiff';
import { RunningStat, TrainableParam, TrainingLayers } from './training-layers';

export type LossName = 'mse' | 'bce' | 'adaptive_wing' | 'softmax_ce';
export const LOSSES: readonly LossName[] = ['mse', 'bce', 'adaptive_wing', 'softmax_ce'];

/** How a model trained with `loss` is read (exported softmax_ce models end with the spatial softmax). */
export const outputKind = (loss: LossName): OutputKind => (loss === 'softmax_ce' ? 'spatial-softmax' : 'heatmap');

/** Adam as torch.optim.Adam: bias-corrected, weight decay as L2 added to the gradient. */
export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export interface StepGraphOptions extends AdamOptions {
  batch: number;
  inChannels: number;
  height: number;
  width: number;
  /** Output heatmaps (= target channels). */
  classes: number;
  /** Default 'mse'. */
  loss?: LossName;
  /** Builds the network on the training Layers: images [B, C, H, W] in, heatmaps/logits [B, K, H, W] out. */
  network: (layers: Layers, images: string) => string;
}

/**
 * Names of the step graph's inputs and outputs. Inputs: every parameter under its smp name,
 * `adam.m.<name>` and `adam.v.<name>` (Adam moments), every BatchNorm running statistic under its
 * smp name, `images`, `targets`, `lr` (scalar) and `step` (scalar, 1 for the first update).
 * Outputs: `loss` (of the batch, before the update), `next.<name>` for each parameter and running
 * statistic, `next.adam.m.<name>`, `next.adam.v.<name>`.
 */
export const stepNames = {
  m: (param: string): string => `adam.m.${param}`,
  v: (param: string): string => `adam.v.${param}`,
  next: (value: string): string => `next.${value}`,
};

export interface CompiledStep {
  model: Model;
  params: TrainableParam[];
  runningStats: Omit<RunningStat, 'updated'>[];
  options: Required<Omit<StepGraphOptions, 'network'>>;
}

/** Validates options and fills in defaults; one clear error for the first bad field. */
export function resolveStepOptions(o: StepGraphOptions): Required<Omit<StepGraphOptions, 'network'>> {
  const positiveInt = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`training step: ${name} must be a positive integer, got ${String(v)}`);
  };
  positiveInt('batch', o.batch);
  positiveInt('inChannels', o.inChannels);
  positiveInt('height', o.height);
  positiveInt('width', o.width);
  positiveInt('classes', o.classes);
  const loss = o.loss ?? 'mse';
  if (!LOSSES.includes(loss)) throw new Error(`training step: loss must be one of ${LOSSES.join(', ')}, got '${String(loss)}'`);
  const r = { batch: o.batch, inChannels: o.inChannels, height: o.height, width: o.width, classes: o.classes, loss,
    beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.999, eps: o.eps ?? 1e-8, weightDecay: o.weightDecay ?? 0 };
  for (const [name, v] of [['beta1', r.beta1], ['beta2', r.beta2]] as const) {
    if (!(v >= 0 && v < 1)) throw new Error(`training step: ${name} must be in [0, 1), got ${v}`);
  }
  if (!(r.eps > 0)) throw new Error(`training step: eps must be positive, got ${r.eps}`);
  if (!(r.weightDecay >= 0)) throw new Error(`training step: weightDecay must be >= 0, got ${r.weightDecay}`);
  return r;
}

/**
 * The loss of prediction `p` against targets `t` (both [B, K, H, W]): for the heatmap losses the mean over
 * all elements; for `softmax_ce` the mean over the B x K channels of the cross-entropy between the target
 * normalised to sum 1 and the softmax of the channel's logits over the grid (a target that sums to 0, its
 * landmark shifted off the grid, adds 0).
 */
export function buildLoss(g: GraphBuilder, loss: LossName, p: string, t: string): string {
  if (loss === 'softmax_ce') {
    const logProb = g.op1('LogSoftmax', [g.reshape(p, [0, 0, -1])], { axis: attr.int(2) });
    const t3 = g.reshape(t, [0, 0, -1]);
    const target = g.div(t3, g.add(g.reduceSum(t3, [2], true), g.scalar(1e-30)));
    return meanInDouble(g, g.neg(g.reduceSum(g.mul(target, logProb), [2], false)));
  }
  return meanInDouble(g, elementLoss(g, loss, p, t));
}

/**
 * The mean of all elements, summed in float64: ORT sums float32 sequentially, which for the ~10^6
 * heatmap values put the loss ~1e-5 (relative) off PyTorch's pairwise sum; the gradient is unchanged.
 */
function meanInDouble(g: GraphBuilder, x: string): string {
  const mean = g.op1('ReduceMean', [g.op1('Cast', [x], { to: attr.int(11) })], { keepdims: attr.int(0) });
  return g.op1('Cast', [mean], { to: attr.int(1) });
}

/** The per-element loss of prediction `p` against targets `t`. */
function elementLoss(g: GraphBuilder, loss: Exclude<LossName, 'softmax_ce'>, p: string, t: string): string {
  switch (loss) {
    case 'mse': {
      const d = g.sub(p, t);
      return g.mul(d, d);
    }
    case 'bce': {
      // PyTorch's BCEWithLogits, stable form: max(x, 0) - x t + log(1 + exp(-|x|)).
      const softplusNegAbs = g.log(g.add(g.scalar(1), g.exp(g.neg(g.abs(p)))));
      return g.add(g.sub(g.relu(p), g.mul(p, t)), softplusNegAbs);
    }
    case 'adaptive_wing': {
      // Wang et al. 2019, defaults alpha 2.1, omega 14, epsilon 1, theta 0.5.
      const alpha = 2.1, omega = 14, epsilon = 1, theta = 0.5;
      const delta = g.abs(g.sub(t, p));
      const power = g.sub(g.scalar(alpha), t);
      const near = g.mul(g.scalar(omega), g.log(g.add(g.scalar(1), g.pow(g.div(delta, g.scalar(epsilon)), power))));
      const thetaPow = g.pow(g.scalar(theta / epsilon), power);
      const a = g.mul(
        g.mul(g.div(g.scalar(omega), g.add(g.scalar(1), thetaPow)), power),
        g.mul(g.pow(g.scalar(theta / epsilon), g.sub(power, g.scalar(1))), g.scalar(1 / epsilon)),
      );
      const c = g.sub(g.mul(a, g.scalar(theta)), g.mul(g.scalar(omega), g.log(g.add(g.scalar(1), thetaPow))));
      const far = g.sub(g.mul(a, delta), c);
      return g.op1('Where', [g.op1('Less', [delta, g.scalar(theta)]), near, far]);
    }
  }
}

/** Builds the network on training layers and checks that its output matches the targets' shape. */
function buildNetwork(g: GraphBuilder, layers: TrainingLayers, o: Required<Omit<StepGraphOptions, 'network'>>, network: StepGraphOptions['network']) {
  const images = g.input('images', 'float32', [o.batch, o.inChannels, o.height, o.width]);
  const targets = g.input('targets', 'float32', [o.batch, o.classes, o.height, o.width]);
  const prediction = network(layers, images);
  const predShape = layers.shapeOf(prediction);
  const want = [o.batch, o.classes, o.height, o.width];
  if (predShape.join() !== want.join()) throw new Error(`training step: the network outputs [${predShape}], targets are [${want}]`);
  return { prediction, loss: buildLoss(g, o.loss, prediction, targets) };
}

/**
 * The validation graph: the same network with BatchNorm in eval mode (running statistics), same
 * parameter and statistic input names as the step graph plus `images` and `targets`; outputs
 * `loss` and `prediction` [B, K, H, W]. Nothing is updated.
 */
export function compileEvalGraph(options: StepGraphOptions): Model {
  const o = resolveStepOptions(options);
  const g = new GraphBuilder('lmk_eval');
  const { prediction, loss } = buildNetwork(g, new TrainingLayers(g, 'eval'), o, options.network);
  g.output(loss, 'loss', 'float32', []);
  g.output(prediction, 'prediction', 'float32', [o.batch, o.classes, o.height, o.width]);
  return g.build({ purpose: 'lmk validation', loss: o.loss });
}

/**
 * Compiles forward + loss + backward + Adam into one ONNX graph (see `stepNames` for its interface).
 * Parameters that feed the loss get Adam updates; running statistics get their momentum updates.
 */
export function compileTrainStep(options: StepGraphOptions): CompiledStep {
  const o = resolveStepOptions(options);
  const g = new GraphBuilder('lmk_train_step');
  const layers = new TrainingLayers(g);
  const { loss } = buildNetwork(g, layers, o, options.network);
  g.output(loss, 'loss', 'float32', []);
  const lr = g.input('lr', 'float32', []);
  const step = g.input('step', 'float32', []);

  const params = layers.params;
  const grads = addGradients(g, loss, params.map((p) => p.name));

  // Scalars shared by every parameter, in float64 as torch.optim.Adam computes them in Python
  // (1 - 0.999^t in float32 is off by ~1e-5 relative at t = 1).
  const f64 = (v: number): string => g.constant({ dataType: 'float64', dims: [], data: Float64Array.of(v) }, 'f64');
  const toDouble = (v: string): string => g.op1('Cast', [v], { to: attr.int(11) });
  const toFloat = (v: string): string => g.op1('Cast', [v], { to: attr.int(1) });
  const step64 = toDouble(step);
  const stepSize = toFloat(g.div(toDouble(lr), g.sub(f64(1), g.pow(f64(o.beta1), step64))));
  const bc2Sqrt = toFloat(g.sqrt(g.sub(f64(1), g.pow(f64(o.beta2), step64))));
  params.forEach((p, k) => {
    const m = g.input(stepNames.m(p.name), 'float32', p.shape);
    const v = g.input(stepNames.v(p.name), 'float32', p.shape);
    const grad = o.weightDecay > 0 ? g.add(grads[k], g.mul(p.name, g.scalar(o.weightDecay))) : grads[k];
    // Updated tensors are written under their output names directly: an Identity would copy them.
    const named = (name: string) => ({ outputs: [name] });
    // torch: exp_avg.lerp_(grad, 1 - beta1), i.e. m + (1 - beta1) (g - m).
    const mNext = g.op1('Add', [m, g.mul(g.sub(grad, m), g.scalar(1 - o.beta1))], {}, named(stepNames.next(stepNames.m(p.name))));
    const vNext = g.op1('Add', [g.mul(v, g.scalar(o.beta2)), g.mul(g.mul(grad, grad), g.scalar(1 - o.beta2))], {}, named(stepNames.next(stepNames.v(p.name))));
    const denom = g.add(g.div(g.sqrt(vNext), bc2Sqrt), g.scalar(o.eps));
    const pNext = g.op1('Sub', [p.name, g.mul(g.div(mNext, denom), stepSize)], {}, named(stepNames.next(p.name)));
    for (const out of [pNext, mNext, vNext]) g.output(out, out, 'float32', p.shape);
  });
  for (const s of layers.runningStats) g.output(s.updated, stepNames.next(s.name), 'float32', s.shape);

  return {
    model: g.build({ purpose: 'lmk training step', loss: o.loss }),
    params,
    runningStats: layers.runningStats.map(({ name, shape, initial }) => ({ name, shape, initial })),
    options: o,
  };
}

/**
 * Names of the block graph's own inputs and outputs (`compileTrainBlock`); the state keeps the step graph's
 * names (`stepNames`).
 */
export const blockNames = {
  /** [M, B, C, H, W]: the block's M batches, one per step. */
  images: 'block.images',
  /** [M, B, K, H, W]. */
  targets: 'block.targets',
  /** [M]: the learning rate of each step. */
  lrs: 'block.lrs',
  /** Scalar: Adam's t of the block's first update. */
  firstStep: 'block.first_step',
  /** [M'], M' <= M: each step's loss before its update. */
  losses: 'block.losses',
};

/** The state carried from step to step, in the step graph's input order: parameters with their moments, then running statistics. */
export function stepStateNames(compiled: Pick<CompiledStep, 'params' | 'runningStats'>): { name: string; shape: number[] }[] {
  return [
    ...compiled.params.flatMap((p) => [p.name, stepNames.m(p.name), stepNames.v(p.name)].map((name) => ({ name, shape: p.shape }))),
    ...compiled.runningStats.map((r) => ({ name: r.name, shape: r.shape })),
  ];
}

/**
 * The step inside an ONNX Loop: one run does one optimizer step per stacked batch (M of them, from the
 * inputs' first dimension), and the state never leaves ONNX Runtime between steps. Inputs: the step graph's
 * state (same names) and `blockNames` images, targets, lrs and firstStep; outputs: the state after the block
 * under `next.<name>`, and the per-step losses. The loop ends after the first step whose loss is not finite,
 * which is then the last loss; the state outputs include that step's update, so a caller that wants the state
 * before it runs the good steps again.
 */
export function compileTrainBlock(options: StepGraphOptions): CompiledStep {
  const step = compileTrainStep(options);
  const o = step.options;
  const state = stepStateNames(step);
  // Every body value gets a prefix: a subgraph may read the outer graph's values, never shadow them.
  const inner = (name: string): string => (name === '' ? '' : `body/${name}`);
  const stepGraph = step.model.graph;
  const iteration = inner('iteration');
  const node = (name: string, opType: string, inputs: string[], outputs: string[], attributes: Node['attributes'] = {}): Node => ({ name: inner(name), opType, inputs, outputs, attributes });
  const infinity = { name: inner('infinity'), dataType: 'float32' as const, dims: [], data: Float32Array.of(Infinity) };
  const body: Graph = {
    name: 'lmk_train_step_body',
    inputs: [
      { name: iteration, dataType: 'int64', shape: [] },
      { name: inner('cond_in'), dataType: 'bool', shape: [] },
      ...state.map((v): ValueInfo => ({ name: inner(v.name), dataType: 'float32', shape: v.shape })),
    ],
    outputs: [
      { name: inner('cond_out'), dataType: 'bool', shape: [] },
      ...state.map((v): ValueInfo => ({ name: inner(stepNames.next(v.name)), dataType: 'float32', shape: v.shape })),
      { name: inner('loss'), dataType: 'float32', shape: [] },
    ],
    initializers: [...stepGraph.initializers.map((i) => ({ ...i, name: inner(i.name) })), infinity],
    nodes: [
      // This iteration's batch, rate and Adam step number.
      node('take_images', 'Gather', [blockNames.images, iteration], [inner('images')], { axis: attr.int(0) }),
      node('take_targets', 'Gather', [blockNames.targets, iteration], [inner('targets')], { axis: attr.int(0) }),
      node('take_lr', 'Gather', [blockNames.lrs, iteration], [inner('lr')], { axis: attr.int(0) }),
      node('iteration_float', 'Cast', [iteration], [inner('iteration_float')], { to: attr.int(1) }),
      node('step_number', 'Add', [blockNames.firstStep, inner('iteration_float')], [inner('step')]),
      ...stepGraph.nodes.map((n) => ({ ...n, name: inner(n.name), inputs: n.inputs.map(inner), outputs: n.outputs.map(inner) })),
      // Go on while the loss is finite (|NaN| < inf is false too).
      node('loss_magnitude', 'Abs', [inner('loss')], [inner('loss_magnitude')]),
      node('loss_finite', 'Less', [inner('loss_magnitude'), infinity.name], [inner('cond_out')]),
    ],
  };

  const g = new GraphBuilder('lmk_train_block');
  for (const v of state) g.input(v.name, 'float32', v.shape);
  g.input(blockNames.images, 'float32', ['steps', o.batch, o.inChannels, o.height, o.width]);
  g.input(blockNames.targets, 'float32', ['steps', o.batch, o.classes, o.height, o.width]);
  const lrs = g.input(blockNames.lrs, 'float32', ['steps']);
  g.input(blockNames.firstStep, 'float32', []);
  const count = g.reshape(g.op1('Shape', [lrs]), []);
  const proceed = g.constant({ dataType: 'bool', dims: [], data: Uint8Array.of(1) }, 'true');
  g.op('Loop', [count, proceed, ...state.map((v) => v.name)], { body: attr.graph(body) }, { outputs: [...state.map((v) => stepNames.next(v.name)), blockNames.losses] });
  for (const v of state) g.graph.outputs.push({ name: stepNames.next(v.name), dataType: 'float32', shape: v.shape });
  g.graph.outputs.push({ name: blockNames.losses, dataType: 'float32', shape: ['done'] });
  return { ...step, model: g.build({ purpose: 'lmk training block', loss: o.loss }) };
}
