import * as ort from 'onnxruntime-node';
import { serializeModel } from '../onnx';
import { cudaProviderProblem, ExecutionProvider } from '../infer/providers';
import { CompiledStep, compileEvalGraph, compileTrainStep, StepGraphOptions, stepNames } from './step-graph';

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
}

/**
 * ORT settings for the step graph (measurements in src/train/README.md). Intra-op threads do not spin
 * between ops: the step's kernels are long, and on a shared CPU spinning threads took time from working ones.
 */
function sessionOptions(o: TrainStepSessionOptions): ort.InferenceSession.SessionOptions {
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

function tensorOf(t: NamedTensor): ort.Tensor {
  return new ort.Tensor('float32', t.data, t.dims);
}

/**
 * One compiled training step on an ONNX Runtime session: `run(images, targets, lr)` does forward,
 * loss, backward and the Adam update, and keeps the updated parameters, moments and running
 * statistics as the inputs of the next call (the output tensors are fed back as they are, no copy).
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
    const compiled = compileTrainStep(options);
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

  /**
   * One update on a batch: images [B, C, H, W], targets [B, K, H, W] (row-major float32).
   * Returns the batch's loss before the update.
   */
  async run(images: Float32Array, targets: Float32Array, lr: number): Promise<number> {
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`train step: learning rate must be a finite number >= 0, got ${lr}`);
    const feeds: Record<string, ort.Tensor> = {
      ...this.batchFeeds(images, targets),
      lr: new ort.Tensor('float32', Float32Array.of(lr), []),
      step: new ort.Tensor('float32', Float32Array.of(this.updates + 1), []),
    };
    for (const [name, t] of this.state) feeds[name] = t;
    const out = await this.session.run(feeds);
    const loss = (out.loss.data as Float32Array)[0];
    // A non-finite loss leaves the state as it was: the caller decides (the loop stops and keeps its last checkpoint).
    if (!Number.isFinite(loss)) return loss;
    for (const name of this.state.keys()) this.state.set(name, out[stepNames.next(name)]);
    this.updates++;
    return loss;
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
