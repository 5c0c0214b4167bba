import * as ort from 'onnxruntime-node';
import { buildNetwork, countMacs, initStateDict, ModelSpec, resolveSpec } from '../models';
import { GraphBuilder, serializeModel } from '../onnx';
import type { LossName } from './step-graph';
import type { ExecutionProvider } from '../infer/providers';
import { defaultStepsPerRun, sessionOptions, TrainStep } from './step';

export interface TrainBenchOptions {
  batch: number;
  height: number;
  width: number;
  /** Timed steps, after the warm-up steps. */
  steps: number;
  /**
   * Untimed steps first (default 2): ORT grows its arena in the first run and plans memory from the second,
   * and both are slower than the steady state (measurements in README.md).
   */
  warmup?: number;
  loss?: LossName;
  /** ORT intra-op threads (default: ORT's choice). */
  threads?: number;
  /** Default 'cpu'. */
  executionProvider?: ExecutionProvider;
  /** Optimizer steps per ONNX Runtime run (default: `defaultStepsPerRun`). */
  stepsPerRun?: number;
}

export interface TrainBenchResult {
  /** Per optimizer step: each timed run's time divided by its steps. */
  step_s: { min: number; median: number; max: number };
  steps_per_run: number;
  /** Graph compilation and session creation. */
  setup_s: number;
  /** The untimed warm-up runs, in order (each `steps_per_run` steps). */
  warmup_s: number[];
  losses: number[];
  /**
   * The step's convolution work in GFLOP: three times the forward pass's convolutions (forward, input
   * gradient, weight gradient; `countMacs`, 2 FLOP per multiply-accumulate), for the whole batch.
   */
  conv_gflop: number;
  /** `conv_gflop` over the median step time. */
  conv_gflop_s: number;
  /**
   * What ONNX Runtime's MatMul reaches on this machine with the same provider and threads, measured in the
   * same process after the steps: the dense rate the step's convolutions could at best approach.
   */
  matmul_gflop_s: number;
  parameters: number;
  execution_provider: ExecutionProvider;
  batch: number;
  height: number;
  width: number;
}

/**
 * Times the training step (forward, backward, Adam) of a spec on random weights and data, for
 * `lmk-bench --train`. Steps run back to back on one session, as in training, `stepsPerRun` to a run;
 * `steps` is rounded up to whole runs.
 */
export async function benchTrainStep(spec: ModelSpec, o: TrainBenchOptions): Promise<TrainBenchResult> {
  const s = resolveSpec(spec, 'lmk-bench --train');
  for (const [name, v] of [['batch', o.batch], ['height', o.height], ['width', o.width], ['steps', o.steps]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`lmk-bench --train: ${name} must be a positive integer, got ${String(v)}`);
  }
  const warmup = o.warmup ?? 2;
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`lmk-bench --train: warmup must be a whole number >= 0, got ${String(warmup)}`);
  if (o.height % 32 !== 0 || o.width % 32 !== 0) throw new Error(`lmk-bench --train: height and width must be multiples of 32, got ${o.height}x${o.width}`);
  const stepsPerRun = o.stepsPerRun ?? defaultStepsPerRun({ batch: o.batch, inChannels: s.inChannels, classes: s.classes, height: o.height, width: o.width }, o.executionProvider);
  const t0 = performance.now();
  const weights = initStateDict(s, 0);
  const step = await TrainStep.create({
    batch: o.batch, inChannels: s.inChannels, height: o.height, width: o.width, classes: s.classes, loss: o.loss,
    network: (layers, images) => buildNetwork(layers, s, images),
  }, weights, { threads: o.threads, executionProvider: o.executionProvider, stepsPerRun });
  const setup = (performance.now() - t0) / 1000;
  try {
    // Deterministic data: a smooth image and one Gaussian per heatmap.
    const images = Float32Array.from({ length: o.batch * s.inChannels * o.height * o.width }, (_, i) => Math.sin(i * 0.001));
    const targets = new Float32Array(o.batch * s.classes * o.height * o.width);
    for (let m = 0; m < o.batch * s.classes; m++) {
      const cx = (m * 37) % o.width, cy = (m * 53) % o.height;
      for (let y = Math.max(0, cy - 6); y < Math.min(o.height, cy + 7); y++) {
        for (let x = Math.max(0, cx - 6); x < Math.min(o.width, cx + 7); x++) targets[(m * o.height + y) * o.width + x] = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 8);
      }
    }
    const losses: number[] = [];
    const all: number[] = [];
    const runs = Math.ceil(o.steps / stepsPerRun);
    const block = Array.from({ length: stepsPerRun }, () => 1e-4);
    for (let k = 0; k < warmup + runs; k++) {
      const t = performance.now();
      losses.push(...await step.runBlock(block.map(() => images), block.map(() => targets), block));
      all.push((performance.now() - t) / 1000);
    }
    const [warmupTimes, times] = [all.slice(0, warmup), all.slice(warmup).map((t) => t / stepsPerRun)];
    const sorted = times.slice().sort((a, b) => a - b);
    const parameters = step.compiled.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
    const median = sorted[Math.floor(sorted.length / 2)];
    const convGflop = (3 * 2 * o.batch * countMacs(s, o.height, o.width)) / 1e9;
    return {
      step_s: { min: sorted[0], median, max: sorted[sorted.length - 1] }, steps_per_run: stepsPerRun,
      setup_s: setup, warmup_s: warmupTimes, losses,
      conv_gflop: convGflop, conv_gflop_s: convGflop / median, matmul_gflop_s: await matMulRate(o), parameters, execution_provider: o.executionProvider ?? 'cpu', batch: o.batch, height: o.height, width: o.width,
    };
  } finally {
    await step.release();
  }
}

/**
 * ONNX Runtime's MatMul rate in GFLOP/s: chained square products inside one graph (so no input or output
 * copies count), the better of two runs after an untimed one. 2048-wide on the CPU, 8192 on a GPU.
 */
async function matMulRate(o: Pick<TrainBenchOptions, 'threads' | 'executionProvider'>): Promise<number> {
  const [n, chain] = o.executionProvider === 'cuda' ? [8192, 8] : [2048, 4];
  const g = new GraphBuilder('matmul_rate');
  const a = g.expand(g.input('value', 'float32', []), [n, n]);
  let x = a;
  for (let k = 0; k < chain; k++) x = g.matmul(x, a);
  g.output(g.reduceSum(x, [0, 1], false), 'sum', 'float32', []);
  const session = await ort.InferenceSession.create(serializeModel(g.build()), sessionOptions(o));
  try {
    // 1/n keeps every product's entries at 1/n: no overflow, no denormals.
    const feeds = { value: new ort.Tensor('float32', Float32Array.of(1 / n), []) };
    let best = Infinity;
    for (let k = 0; k < 3; k++) {
      const t = performance.now();
      await session.run(feeds);
      if (k > 0) best = Math.min(best, (performance.now() - t) / 1000);
    }
    return (chain * 2 * n ** 3) / best / 1e9;
  } finally {
    await session.release();
  }
}
