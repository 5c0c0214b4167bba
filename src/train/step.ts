import { freemem } from 'os';
import * as ort from 'onnxruntime-node';
import { serializeModel } from '../onnx';
import { cudaProviderProblem, ExecutionProvider } from '../infer/providers';
import { blockNames, CompiledStep, compileEvalGraph, compileTrainBlock, compileTrainStep, StepGraphOptions, stepNames } from './step-graph';

/** A float32 tensor by name: parameters and running statistics (smp names), or optimizer moments. */
export interface NamedTensor {
  dims: number[];
  data: Float32Array;
}
export type TensorDict = Map<string, NamedTensor>;

/** Adam's state: the number of updates done and the moments of every parameter (smp names). */
export interface OptimizerState {
  step: number;
  m: TensorDict;
  v: TensorDict;
}

export interface TrainStepSessionOptions {
  /** ORT intra-op threads; default: ORT's choice (one per physical core). */
  threads?: number;
  /**
   * Default 'all'. Optimising a 10k-node step graph takes ONNX Runtime about a minute on this CPU;
   * short runs of deep encoders (tests) start far sooner with 'basic'.
   */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Default 'cpu'. 'cuda' needs the provider (`lmk setup cuda`) and a GPU; no silent fallback. */
  executionProvider?: ExecutionProvider;
  /**
   * Optimizer steps one `runBlock` may do in one ONNX Runtime run (default 1). Above 1 the step runs inside an
   * ONNX Loop (`compileTrainBlock`) and the state stays in ONNX Runtime for the whole block.
   */
  stepsPerRun?: number;
}

/**
 * ORT settings for the step graph (measurements in src/train/README.md). Intra-op threads do not spin
 * between ops: the step's kernels are long, and on a shared CPU spinning threads took time from working ones.
 */
export function sessionOptions(o: TrainStepSessionOptions): ort.InferenceSession.SessionOptions {
  const s: ort.InferenceSession.SessionOptions = {
    executionProviders: o.executionProvider === 'cuda' ? ['cuda'] : ['cpu'],
    graphOptimizationLevel: o.graphOptimizationLevel ?? 'all',
    executionMode: 'sequential',
    enableCpuMemArena: true,
    enableMemPattern: true,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  if (o.threads !== undefined) s.intraOpNumThreads = o.threads;
  return s;
}

/** The most optimizer steps per run that lmk chooses by itself. */
const MAX_DEFAULT_STEPS_PER_RUN = 8;
/** Memory a block's stacked images and targets may take: at most this, and an eighth of the free memory. */
const BLOCK_BYTES = 512 * 2 ** 20;

/**
 * Steps per run for a step of this size: 1 on the CPU, where blocks measured no faster (src/train/README.md)
 * and one step per run keeps a signal or the time limit to one step; on CUDA as many as
 * `MAX_DEFAULT_STEPS_PER_RUN` whose stacked batches fit the memory allowed, so that the state stays on the device.
 */
export function defaultStepsPerRun(o: { batch: number; inChannels: number; classes: number; height: number; width: number }, executionProvider: ExecutionProvider = 'cpu'): number {
  if (executionProvider === 'cpu') return 1;
  const batchBytes = 4 * o.batch * (o.inChannels + o.classes) * o.height * o.width;
  return Math.max(1, Math.min(MAX_DEFAULT_STEPS_PER_RUN, Math.floor(Math.min(BLOCK_BYTES, freemem() / 8) / batchBytes)));
}

function tensorOf(t: NamedTensor): ort.Tensor {
  return new ort.Tensor('float32', t.data, t.dims);
}

/**
 * One compiled training step on an ONNX Runtime session: `run(images, targets, lr)` does forward,
 * loss, backward and the Adam update, and keeps the updated parameters, moments and running
 * statistics as the inputs of the next call (the output tensors are fed back as they are, no copy).
 * `runBlock` does up to `stepsPerRun` such steps in one run.
 */
export class TrainStep {
  private readonly state = new Map<string, ort.Tensor>();
  private updates = 0;

  private evalSession?: ort.InferenceSession;

  private constructor(
    readonly compiled: CompiledStep,
    private readonly session: ort.InferenceSession,
    private readonly options: StepGraphOptions,
    private readonly sessionSettings: TrainStepSessionOptions,
  ) {}

  /**
   * Compiles the step and creates its session. `weights` holds every parameter (and optionally the
   * running statistics; absent ones start as PyTorch's: mean 0, var 1) by smp name.
   */
  static async create(options: StepGraphOptions, weights: TensorDict, session: TrainStepSessionOptions = {}): Promise<TrainStep> {
    if (session.executionProvider === 'cuda') {
      const problem = cudaProviderProblem();
      if (problem) throw new Error(`train step: ${problem}`);
    }
    const stepsPerRun = session.stepsPerRun ?? 1;
    if (!Number.isInteger(stepsPerRun) || stepsPerRun < 1) throw new Error(`train step: steps per run must be a positive integer, got ${String(stepsPerRun)}`);
    const compiled = stepsPerRun > 1 ? compileTrainBlock(options) : compileTrainStep(options);
    const ortSession = await ort.InferenceSession.create(serializeModel(compiled.model), sessionOptions(session));
    const step = new TrainStep(compiled, ortSession, options, session);
    step.loadWeights(weights);
    step.resetOptimizer();
    return step;
  }

  /** Number of updates done so far (Adam's t). */
  get step(): number {
    return this.updates;
  }

  /** The most steps one `runBlock` does in one ONNX Runtime run. */
  get stepsPerRun(): number {
    return this.sessionSettings.stepsPerRun ?? 1;
  }

  /**
   * One update on a batch: images [B, C, H, W], targets [B, K, H, W] (row-major float32).
   * Returns the batch's loss before the update.
   */
  async run(images: Float32Array, targets: Float32Array, lr: number): Promise<number> {
    const [loss] = await this.runBlock([images], [targets], [lr]);
    return loss;
  }

  /**
   * One update per batch, in order, at most `stepsPerRun` of them: returns each step's loss before its
   * update. A non-finite loss ends the block: it is the last loss returned, and the state is that of
   * before its step (the caller decides; the loop stops and keeps its last checkpoint).
   */
  async runBlock(images: Float32Array[], targets: Float32Array[], lrs: number[]): Promise<number[]> {
    const count = images.length;
    if (count < 1 || count > this.stepsPerRun || targets.length !== count || lrs.length !== count) {
      throw new Error(`train step: a block needs 1 to ${this.stepsPerRun} batches with one target and one learning rate each, got ${count}, ${targets.length} and ${lrs.length}`);
    }
    for (const lr of lrs) if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`train step: learning rate must be a finite number >= 0, got ${lr}`);
    const feeds: Record<string, ort.Tensor> = this.stepsPerRun === 1
      ? {
        ...this.batchFeeds(images[0], targets[0]),
        lr: new ort.Tensor('float32', Float32Array.of(lrs[0]), []),
        step: new ort.Tensor('float32', Float32Array.of(this.updates + 1), []),
      }
      : {
        ...this.blockFeeds(images, targets),
        [blockNames.lrs]: new ort.Tensor('float32', Float32Array.from(lrs), [count]),
        [blockNames.firstStep]: new ort.Tensor('float32', Float32Array.of(this.updates + 1), []),
      };
    for (const [name, t] of this.state) feeds[name] = t;
    const out = await this.session.run(feeds);
    const losses = Array.from(this.stepsPerRun === 1 ? (out.loss.data as Float32Array) : (out[blockNames.losses].data as Float32Array));
    const bad = losses.findIndex((l) => !Number.isFinite(l));
    if (bad >= 0) {
      // The outputs include the bad step's update: keep the state as it was and redo the good steps.
      if (bad > 0) await this.runBlock(images.slice(0, bad), targets.slice(0, bad), lrs.slice(0, bad));
      return losses.slice(0, bad + 1);
    }
    for (const name of this.state.keys()) this.state.set(name, out[stepNames.next(name)]);
    this.updates += losses.length;
    return losses;
  }

  /**
   * Validation: loss and heatmaps [B, K, H, W] of a batch with BatchNorm in eval mode (running
   * statistics), on the current parameters; changes nothing. The eval session is created on first use.
   */
  async evaluate(images: Float32Array, targets: Float32Array): Promise<{ loss: number; prediction: Float32Array }> {
    this.evalSession ??= await ort.InferenceSession.create(serializeModel(compileEvalGraph(this.options)), sessionOptions(this.sessionSettings));
    const feeds = this.batchFeeds(images, targets);
    for (const name of this.evalSession.inputNames) if (!feeds[name]) feeds[name] = this.state.get(name)!;
    const out = await this.evalSession.run(feeds);
    return { loss: (out.loss.data as Float32Array)[0], prediction: out.prediction.data as Float32Array };
  }

  /** Parameters and BatchNorm running statistics by smp name (a copy). */
  stateDict(): TensorDict {
    const names = [...this.compiled.params.map((p) => p.name), ...this.compiled.runningStats.map((s) => s.name)];
    return new Map(names.map((n) => [n, this.copy(n)]));
  }

  /** Replaces parameters (all required) and running statistics (optional) from a state dict. */
  loadWeights(weights: TensorDict): void {
    for (const p of this.compiled.params) this.state.set(p.name, this.checked(weights, p.name, p.shape, true)!);
    for (const s of this.compiled.runningStats) {
      const given = this.checked(weights, s.name, s.shape, false);
      this.state.set(s.name, given ?? new ort.Tensor('float32', new Float32Array(s.shape[0]).fill(s.initial), s.shape));
    }
  }

  /** Adam's step count and moments (copies), for checkpoints. */
  optimizerState(): OptimizerState {
    const m = new Map<string, NamedTensor>();
    const v = new Map<string, NamedTensor>();
    for (const p of this.compiled.params) {
      m.set(p.name, this.copy(stepNames.m(p.name)));
      v.set(p.name, this.copy(stepNames.v(p.name)));
    }
    return { step: this.updates, m, v };
  }

  /** Restores Adam's state saved by `optimizerState` (every parameter's moments are required). */
  loadOptimizerState(state: OptimizerState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`optimizer state: step must be a non-negative integer, got ${state.step}`);
    for (const p of this.compiled.params) {
      this.state.set(stepNames.m(p.name), this.checked(state.m, p.name, p.shape, true, 'optimizer state m')!);
      this.state.set(stepNames.v(p.name), this.checked(state.v, p.name, p.shape, true, 'optimizer state v')!);
    }
    this.updates = state.step;
  }

  /** Zero moments and step 0, as a fresh torch.optim.Adam. */
  resetOptimizer(): void {
    for (const p of this.compiled.params) {
      const n = p.shape.reduce((a, b) => a * b, 1);
      this.state.set(stepNames.m(p.name), new ort.Tensor('float32', new Float32Array(n), p.shape));
      this.state.set(stepNames.v(p.name), new ort.Tensor('float32', new Float32Array(n), p.shape));
    }
    this.updates = 0;
  }

  async release(): Promise<void> {
    await this.session.release();
    await this.evalSession?.release();
  }

  private batchFeeds(images: Float32Array, targets: Float32Array): Record<string, ort.Tensor> {
    const o = this.compiled.options;
    const imageDims = [o.batch, o.inChannels, o.height, o.width];
    const targetDims = [o.batch, o.classes, o.height, o.width];
    if (images.length !== imageDims.reduce((a, b) => a * b)) throw new Error(`train step: images have ${images.length} values, expected [${imageDims}]`);
    if (targets.length !== targetDims.reduce((a, b) => a * b)) throw new Error(`train step: targets have ${targets.length} values, expected [${targetDims}]`);
    return { images: new ort.Tensor('float32', images, imageDims), targets: new ort.Tensor('float32', targets, targetDims) };
  }

  /** The block's batches (each checked as a single step's) stacked along a new first axis. */
  private blockFeeds(images: Float32Array[], targets: Float32Array[]): Record<string, ort.Tensor> {
    const batches = images.map((x, i) => this.batchFeeds(x, targets[i]));
    const stack = (name: 'images' | 'targets'): ort.Tensor => {
      const { dims, data } = batches[0][name];
      const all = new Float32Array(batches.length * data.length);
      batches.forEach((b, i) => all.set(b[name].data as Float32Array, i * data.length));
      return new ort.Tensor('float32', all, [batches.length, ...dims]);
    };
    return { [blockNames.images]: stack('images'), [blockNames.targets]: stack('targets') };
  }

  private copy(name: string): NamedTensor {
    const t = this.state.get(name)!;
    return { dims: t.dims.slice(), data: Float32Array.from(t.data as Float32Array) };
  }

  private checked(dict: TensorDict, name: string, shape: number[], required: boolean, what = 'weights'): ort.Tensor | undefined {
    const t = dict.get(name);
    if (!t) {
      if (required) throw new Error(`${what}: missing tensor '${name}'`);
      return undefined;
    }
    if (t.dims.join() !== shape.join() || t.data.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new Error(`${what}: tensor '${name}' has shape [${t.dims}], the model needs [${shape}]`);
    }
    // Copied so that later updates never alias the caller's arrays.
    return tensorOf({ dims: shape, data: Float32Array.from(t.data) });
  }
}
