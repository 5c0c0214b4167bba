/**
 * The training loop: epochs of shuffled, augmented batches made on worker threads, one compiled
 * training step per batch (TrainStep), validation, ReduceLROnPlateau, early stopping, checkpoints,
 * a JSONL log, and a clean stop on an abort signal or a non-finite loss. `lmk train` is a thin layer
 * over `train`.
 */
import { promises as fsp } from 'fs';
import { dirname, join, resolve } from 'path';
import { AugmentOptions, DEFAULT_AUGMENT, validateAugmentOptions } from '../data/augment';
import { fromGridPoint } from '../data/grid';
import { LandmarkName, LANDMARK_NAMES_KEY, numberedLandmarkNames, serializeLandmarkNames } from '../data/landmark-names';
import type { ExecutionProvider } from '../infer/providers';
import type { LandmarkItem } from '../data/types';
import { Random } from '../data/random';
import { decodeDistributionsBatch, decodeHeatmapsBatch, spatialSoftmax } from '../heatmaps';
import { cropTopLeft, paddedSize } from '../infer/padding';
import { exportModel } from '../models/export';
import { Model, saveModel } from '../onnx';
import { initStateDict, validateSeed } from '../models/parameters';
import { derivedSeed } from '../models/random';
import { readSafetensors, writeSafetensors } from '../models/safetensors';
import { ModelSpec, resolveSpec } from '../models/spec';
import { buildShapeModel, MIN_SHAPE_ITEMS, MIN_SHAPE_LANDMARKS, serializeShapeModel, SHAPE_MODEL_KEY } from '../shape';
import { buildNetwork } from '../models/network';
import type { StateDict } from '../models/state-dict';
import { importSafetensors, readWeightsFile } from '../models/weights';
import { writeFileAtomic } from '../util/fs';
import { Batch, BatchMaker, SampleRequest } from './batches';
import { Checkpoint, loadCheckpoint, RunSettings, saveCheckpoint, TrainState } from './checkpoint';
import type { SampleConfig } from './samples';
import { cosineLr, DEFAULT_PLATEAU, EarlyStopping, LR_SCHEDULES, LrSchedule, PlateauOptions, ReduceLROnPlateau } from './schedule';
import { LOSSES, LossName, outputKind } from './step-graph';
import { defaultStepsPerRun, TrainStep } from './step';
import { sampleLosses } from './losses';

export interface TrainOptions {
  spec: ModelSpec;
  /** Training items (batches are drawn from these). */
  train: LandmarkItem[];
  /** Validation items (none: the plateau schedule follows the training loss and early stopping is off). */
  validation?: LandmarkItem[];
  /** Model grid (h x w); padded to multiples of 32 for the network, targets zero in the padding. */
  grid: { height: number; width: number };
  /** Target Gaussian sigma in grid pixels. */
  sigma: number;
  /** Default 'mse'. */
  loss?: LossName;
  /** Adam's learning rate. Default 1e-4. */
  lr?: number;
  weightDecay?: number;
  /** Default 2. */
  batch?: number;
  /** Number of epochs (default 200 unless `steps` is given). */
  epochs?: number;
  /** Number of optimizer steps, across epochs; replaces `epochs`. */
  steps?: number;
  /** Weights to start from: an smp-layout file, an ImageNet VGG19 file, an lmk checkpoint, or an lmk .onnx model. */
  initWeights?: string;
  /** What each landmark is, stored in the model (`lmk.landmarks`). Default: numbered. */
  landmarkNames?: LandmarkName[];
  /** Random affine and intensity augmentation of training samples. Default true. */
  augment?: boolean;
  /** Its ranges (default DEFAULT_AUGMENT: up to 10 degrees, 10 % scale, 5 % shift, mild intensity changes). */
  augmentation?: Partial<AugmentOptions>;
  /** Reshuffle the training items every epoch. Default true. */
  shuffle?: boolean;
  /** Seeds initialisation, data order and augmentation. Default 0. */
  seed?: number;
  /** Directory for checkpoint.safetensors, best.safetensors, model.safetensors and model.onnx. */
  outDir: string;
  /** Continue from OUT/checkpoint.safetensors. */
  resume?: boolean;
  /** JSONL log: one line per step and one per epoch. */
  logFile?: string;
  /** Where to write the final model weights (default OUT/model.safetensors). */
  saveFile?: string;
  /** Where to write the final ONNX model (default OUT/model.onnx). */
  exportFile?: string;
  /**
   * 'plateau' (default): ReduceLROnPlateau on the validation loss. 'cosine': from `lr` down to `minLr` along
   * a half cosine over the run (its steps, or its time limit where that comes first), after `warmupSteps`.
   */
  lrSchedule?: LrSchedule;
  /** Where the cosine schedule ends. Default lr / 100. */
  minLr?: number;
  /** Steps of linear warm-up from lr / 100 to lr (cosine schedule). Default 0. */
  warmupSteps?: number;
  /**
   * Stop once this many minutes of training have passed (counted across resumes), then validate and end
   * like a finished run. Runs of several steps are cut to end near the limit at the pace so far. The cosine
   * schedule follows the time.
   */
  timeLimitMinutes?: number;
  plateau?: Partial<PlateauOptions>;
  /** Epochs without improvement of the validation MRE before stopping. Default 20. */
  earlyStoppingPatience?: number;
  /** Also checkpoint every N steps (0: at epoch ends only). Default 0. */
  checkpointEvery?: number;
  /** ORT intra-op threads for the step (fix it for bit-exact resumes across machines). */
  threads?: number;
  /** Where the step runs: 'cpu' (default) or 'cuda' (ONNX Runtime's CUDA provider, see `lmk setup cuda`). */
  executionProvider?: ExecutionProvider;
  /** Batch-assembly worker threads (0: on the main thread). Default 1. */
  workers?: number;
  /**
   * Optimizer steps per ONNX Runtime run (an ONNX Loop keeps the state inside ONNX Runtime between them).
   * Default: `defaultStepsPerRun` (1 on the CPU). Blocks end where an epoch, a checkpoint or the time limit does.
   */
  stepsPerRun?: number;
}

export interface StepInfo {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  lr: number;
}

export interface EpochInfo {
  epoch: number;
  step: number;
  trainLoss: number;
  validationLoss?: number;
  /** Mean radial error on the validation items, in `mreUnit`. */
  validationMre?: number;
  mreUnit?: 'mm' | 'px';
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Whether the validation MRE is the best so far (its weights are kept as the run's result). */
  best: boolean;
  /** Seconds of this epoch's steps (this session's part of it, after a resume). */
  stepSeconds: number;
  /** Seconds the steps waited for batches: near zero while the workers keep ahead. */
  dataWaitSeconds: number;
}

export interface TrainHooks {
  onStart?(info: { startStep: number; totalSteps: number; batchesPerEpoch: number }): void;
  onStep?(info: StepInfo): void;
  /** Called for each epoch's validation, and once more for the partial epoch where a time limit ends the run. */
  onEpoch?(info: EpochInfo): void;
  /** Aborting stops after the current run of steps (`stepsPerRun` at most) with a checkpoint (SIGINT/SIGTERM in the CLI). */
  signal?: AbortSignal;
}

export type TrainStatus = 'finished' | 'early-stopped' | 'time-limit' | 'interrupted';

export interface TrainResult {
  status: TrainStatus;
  steps: number;
  epochs: number;
  /** Loss of the last step. */
  lastLoss?: number;
  bestEpoch?: number;
  /** The best validation MRE (in `mreUnit`), whose weights the final model holds. */
  bestValidationMre?: number;
  mreUnit?: 'mm' | 'px';
  checkpoint: string;
  /** Final weights (the best validation epoch's when there is validation); absent when interrupted. */
  weights?: StateDict;
  modelFile?: string;
  onnxFile?: string;
}

/** A non-finite loss: the run stops and keeps its last good checkpoint. */
export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
}

interface Resolved {
  spec: Required<ModelSpec>;
  landmarkNames: LandmarkName[];
  train: LandmarkItem[];
  validation: LandmarkItem[];
  grid: { height: number; width: number };
  padded: { height: number; width: number };
  sigma: number;
  loss: LossName;
  lr: number;
  weightDecay: number;
  batch: number;
  epochs: number | undefined;
  steps: number | undefined;
  augment: boolean;
  augmentation: AugmentOptions;
  shuffle: boolean;
  seed: number;
  lrSchedule: LrSchedule;
  minLr: number;
  warmupSteps: number;
  timeLimitSeconds: number | undefined;
  plateau: PlateauOptions;
  earlyStoppingPatience: number;
  checkpointEvery: number;
  workers: number;
  stepsPerRun: number;
}

const fail = (what: string): never => { throw new Error(`train: ${what}`); };

function positiveInteger(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= 1)) fail(`${name} must be a positive whole number, got ${v}`);
}

function resolveOptions(o: TrainOptions): Resolved {
  const spec = resolveSpec(o.spec, 'train');
  positiveInteger('grid height', o.grid.height);
  positiveInteger('grid width', o.grid.width);
  if (!(o.sigma > 0 && Number.isFinite(o.sigma))) fail(`sigma must be a positive number, got ${o.sigma}`);
  const loss = o.loss ?? 'mse';
  if (!LOSSES.includes(loss)) fail(`loss must be one of ${LOSSES.join(', ')}, got '${loss}'`);
  const lr = o.lr ?? 1e-4;
  if (!(lr > 0 && Number.isFinite(lr))) fail(`learning rate must be a positive number, got ${lr}`);
  const weightDecay = o.weightDecay ?? 0;
  if (!(weightDecay >= 0)) fail(`weight decay must be >= 0, got ${weightDecay}`);
  const batch = o.batch ?? 2;
  positiveInteger('batch', batch);
  if (o.epochs !== undefined && o.steps !== undefined) fail('give epochs or steps, not both');
  positiveInteger('epochs', o.epochs);
  positiveInteger('steps', o.steps);
  if (o.train.length < batch) fail(`${o.train.length} training item(s) cannot fill a batch of ${batch}`);
  const ids = new Set<string>();
  for (const item of o.train) {
    if (item.landmarks.length !== spec.classes) fail(`${item.imagePath}: ${item.landmarks.length} landmarks, the model has ${spec.classes} classes`);
    ids.add(item.id);
  }
  for (const item of o.validation ?? []) {
    if (item.landmarks.length !== spec.classes) fail(`${item.imagePath}: ${item.landmarks.length} landmarks, the model has ${spec.classes} classes`);
    if (ids.has(item.id)) fail(`item '${item.id}' is in both the training and the validation items`);
  }
  const lrSchedule = o.lrSchedule ?? 'plateau';
  if (!LR_SCHEDULES.includes(lrSchedule)) fail(`learning-rate schedule must be one of ${LR_SCHEDULES.join(', ')}, got '${lrSchedule}'`);
  const minLr = o.minLr ?? lr / 100;
  if (!(minLr >= 0 && minLr <= lr)) fail(`minimum learning rate must be in [0, ${lr}], got ${minLr}`);
  const warmupSteps = o.warmupSteps ?? 0;
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0)) fail(`warm-up steps must be a whole number >= 0, got ${warmupSteps}`);
  if (o.timeLimitMinutes !== undefined && !(o.timeLimitMinutes > 0 && Number.isFinite(o.timeLimitMinutes))) fail(`time limit must be a positive number of minutes, got ${o.timeLimitMinutes}`);
  const seed = validateSeed(o.seed ?? 0, 'train: seed');
  const augmentation = { ...DEFAULT_AUGMENT, ...o.augmentation };
  try {
    validateAugmentOptions(augmentation);
  } catch (err) {
    fail((err as Error).message);
  }
  const plateau = { ...DEFAULT_PLATEAU, ...o.plateau };
  if (!(plateau.factor > 0 && plateau.factor < 1)) fail(`plateau factor must be in (0, 1), got ${plateau.factor}`);
  if (!(Number.isInteger(plateau.patience) && plateau.patience >= 0)) fail(`plateau patience must be a whole number >= 0, got ${plateau.patience}`);
  const earlyStoppingPatience = o.earlyStoppingPatience ?? 20;
  positiveInteger('early-stopping patience', earlyStoppingPatience);
  const checkpointEvery = o.checkpointEvery ?? 0;
  if (!(Number.isInteger(checkpointEvery) && checkpointEvery >= 0)) fail(`checkpoint interval must be a whole number >= 0, got ${checkpointEvery}`);
  const workers = o.workers ?? 1;
  if (!(Number.isInteger(workers) && workers >= 0)) fail(`workers must be a whole number >= 0, got ${workers}`);
  const padded = { height: paddedSize(o.grid.height), width: paddedSize(o.grid.width) };
  positiveInteger('steps per run', o.stepsPerRun);
  const landmarkNames = o.landmarkNames ?? numberedLandmarkNames(spec.classes);
  if (landmarkNames.length !== spec.classes) fail(`${landmarkNames.length} landmark names for a model of ${spec.classes} classes`);
  const stepsPerRun = o.stepsPerRun ?? defaultStepsPerRun({ batch, inChannels: spec.inChannels, classes: spec.classes, ...padded }, o.executionProvider);
  return {
    spec, landmarkNames, train: o.train, validation: o.validation ?? [], grid: { ...o.grid },
    padded,
    sigma: o.sigma, loss, lr, weightDecay, batch,
    epochs: o.steps === undefined ? o.epochs ?? 200 : undefined, steps: o.steps,
    augment: o.augment ?? true, augmentation, shuffle: o.shuffle ?? true, seed, lrSchedule, minLr, warmupSteps,
    timeLimitSeconds: o.timeLimitMinutes === undefined ? undefined : o.timeLimitMinutes * 60, plateau, earlyStoppingPatience, checkpointEvery, workers, stepsPerRun,
  };
}

function settingsOf(r: Resolved): RunSettings {
  return {
    spec: r.spec, grid: r.grid, sigma: r.sigma, batch: r.batch, loss: r.loss, seed: r.seed,
    shuffle: r.shuffle, augment: r.augment, ...(r.augment ? { augmentation: r.augmentation } : {}), weightDecay: r.weightDecay, trainIds: r.train.map((i) => i.id),
  };
}

/** The first setting that differs between a checkpoint and this run, described; undefined when they agree. */
function settingsDifference(saved: RunSettings, now: RunSettings): string | undefined {
  for (const key of Object.keys(now) as (keyof RunSettings)[]) {
    const a = JSON.stringify(saved[key]);
    const b = JSON.stringify(now[key]);
    if (a !== b) return key === 'trainIds' ? 'the training items differ' : `${key} was ${a}, now ${b}`;
  }
  return undefined;
}

/** Weights to start from: a checkpoint's or model's smp tensors, an smp file, or an ImageNet encoder. */
export async function loadInitialWeights(path: string, spec: ModelSpec, seed: number): Promise<StateDict> {
  const contents = await readWeightsFile(path);
  const head = contents.tensors.get('segmentation_head.0.weight');
  // A different landmark count keeps everything but the head (fine-tuning chains A -> B -> target).
  const freshHead = head !== undefined && head.dims[0] !== resolveSpec(spec).classes;
  return importSafetensors(spec, contents, { seed, freshHead, source: path });
}

/** Optimizer steps the run trains for in all. */
function targetSteps(r: Resolved): number {
  return r.steps ?? Math.floor(r.train.length / r.batch) * r.epochs!;
}

/** The training data order: epoch e's permutation of the items and each sample's augmentation seed. */
function epochPlan(r: Resolved, epoch: number): SampleRequest[][] {
  const n = r.train.length;
  const order = r.shuffle ? new Random(derivedSeed(r.seed, `order:${epoch}`)).permutation(n) : Array.from({ length: n }, (_, i) => i);
  const batches: SampleRequest[][] = [];
  // The step graph has a fixed batch size: a last partial batch is dropped (it is in another order next epoch).
  for (let b = 0; b + r.batch <= n; b += r.batch) {
    batches.push(order.slice(b, b + r.batch).map((item) => ({
      item,
      augmentSeed: r.augment ? derivedSeed(r.seed, `augment:${epoch}:${item}`) : null,
    })));
  }
  return batches;
}

class JsonlLog {
  constructor(readonly path: string | undefined) {}

  /** On resume: keeps the lines up to the checkpoint (later ones are recomputed), dropping a torn last line. */
  async truncateTo(step: number, epoch: number): Promise<void> {
    if (!this.path) return;
    const text = await fsp.readFile(this.path, 'utf8').catch(() => '');
    const kept = text.split('\n').filter((line) => {
      try {
        const entry = JSON.parse(line) as { step?: number; epoch?: number };
        if (typeof entry.epoch === 'number') return entry.epoch <= epoch;
        return typeof entry.step === 'number' && entry.step <= step;
      } catch {
        return false;
      }
    });
    await writeFileAtomic(this.path, kept.map((l) => `${l}\n`).join(''));
  }

  async start(): Promise<void> {
    if (this.path) await writeFileAtomic(this.path, '');
  }

  /** Appends one line (a single small write: a crash leaves at most a torn last line, dropped on resume). */
  async write(entry: object): Promise<void> {
    if (this.path) await fsp.appendFile(this.path, `${JSON.stringify(entry)}\n`);
  }
}

/** Mean radial error in original pixels (or mm where the items say) from heatmaps of a batch. */
function radialErrors(heatmaps: Float32Array, items: LandmarkItem[], r: Resolved): { sum: number; count: number; unit: 'mm' | 'px' } {
  const k = r.spec.classes;
  const { height, width } = r.grid;
  // As the exported model does (see outputProbabilities): decode probabilities, not logits.
  const crop = (maps: Float32Array): Float32Array => cropTopLeft(maps, items.length, k, r.padded.height, r.padded.width, height, width);
  const decoded = r.loss === 'softmax_ce'
    ? decodeDistributionsBatch(crop(spatialSoftmax(heatmaps, items.length * k, r.padded.height * r.padded.width)), items.length, k, height, width, r.sigma)
    : decodeHeatmapsBatch(crop(r.loss === 'bce' ? heatmaps.map((v) => 1 / (1 + Math.exp(-v))) : heatmaps), items.length, k, height, width, { method: 'gaussian-fit', sigma: r.sigma });
  const mm = items.every((i) => i.mmPerPixel !== undefined);
  let sum = 0;
  items.forEach((item, b) => {
    for (let j = 0; j < k; j++) {
      const [x, y] = fromGridPoint([decoded.points[2 * (b * k + j)], decoded.points[2 * (b * k + j) + 1]], item, r.grid);
      const [tx, ty] = item.landmarks[j];
      sum += Math.hypot(x - tx, y - ty) * (mm ? item.mmPerPixel! : 1);
    }
  });
  return { sum, count: items.length * k, unit: mm ? 'mm' : 'px' };
}

/** Trains a model; see TrainOptions. Resolves when finished, stopped early or interrupted; rejects on a non-finite loss. */
export async function train(options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const r = resolveOptions(options);
  const outDir = resolve(options.outDir);
  await fsp.mkdir(outDir, { recursive: true });
  const checkpointPath = join(outDir, 'checkpoint.safetensors');
  const bestPath = join(outDir, 'best.safetensors');
  const modelPath = resolve(options.saveFile ?? join(outDir, 'model.safetensors'));
  const onnxPath = resolve(options.exportFile ?? join(outDir, 'model.onnx'));
  const log = new JsonlLog(options.logFile && resolve(options.logFile));
  const settings = settingsOf(r);

  let resumed: Checkpoint | undefined;
  if (options.resume) {
    resumed = await loadCheckpoint(checkpointPath).catch((err: Error) => {
      throw new Error(/cannot read \(ENOENT\)/.test(err.message) ? `${checkpointPath}: no checkpoint to resume from` : err.message);
    });
    const diff = settingsDifference(resumed.state.settings, settings);
    if (diff) throw new Error(`${checkpointPath}: cannot resume with different settings: ${diff}`);
    const done = resumed.state;
    const earlyStopped = r.validation.length > 0 && new EarlyStopping(r.earlyStoppingPatience, done.earlyStopping).shouldStop;
    const outOfTime = r.timeLimitSeconds !== undefined && (done.elapsedSeconds ?? 0) >= r.timeLimitSeconds;
    if (done.finished && (done.step >= targetSteps(r) || earlyStopped || outOfTime)) {
      // Nothing left to train (a larger --epochs/--steps extends a run that is not early-stopped): hand back the final model.
      const final = r.validation.length && (await fileExists(bestPath)) ? (await readSafetensors(bestPath)).tensors : resumed.weights;
      await writeModel(modelPath, onnxPath, final, r);
      return { status: 'finished', steps: done.step, epochs: done.epoch, checkpoint: checkpointPath, weights: final, modelFile: modelPath, onnxFile: onnxPath,
        bestEpoch: done.earlyStopping.best !== null && r.validation.length ? done.earlyStopping.bestEpoch : undefined, bestValidationMre: done.earlyStopping.best ?? undefined };
    }
    await removeStaleTemporaries(outDir);
  } else if (await fileExists(checkpointPath)) {
    throw new Error(`${checkpointPath}: a run already lives here; pass --resume to continue it, or choose another --out`);
  }

  const weights = resumed?.weights
    ?? (options.initWeights ? await loadInitialWeights(options.initWeights, r.spec, r.seed) : initStateDict(r.spec, r.seed));
  const step = await TrainStep.create({
    batch: r.batch, inChannels: r.spec.inChannels, height: r.padded.height, width: r.padded.width, classes: r.spec.classes,
    loss: r.loss, weightDecay: r.weightDecay, network: (layers, images) => buildNetwork(layers, r.spec, images),
  }, weights, { threads: options.threads, executionProvider: options.executionProvider, stepsPerRun: r.stepsPerRun });

  const sampleConfig: SampleConfig = { grid: r.grid, padded: r.padded, sigma: r.sigma, classes: r.spec.classes, inChannels: r.spec.inChannels, augmentation: r.augmentation };
  const trainBatches = new BatchMaker(r.train, sampleConfig, r.workers);
  const validationBatches = r.validation.length ? new BatchMaker(r.validation, sampleConfig, 0) : undefined;

  try {
    let state: TrainState;
    if (resumed) {
      step.loadOptimizerState(resumed.optimizer);
      state = { ...resumed.state, finished: false };
      await log.truncateTo(state.step, state.epoch);
    } else {
      state = {
        settings, epoch: 0, batchInEpoch: 0, epochLossSum: 0, step: 0, finished: false, elapsedSeconds: 0,
        plateau: new ReduceLROnPlateau(r.plateau, r.lr).state(), earlyStopping: new EarlyStopping(r.earlyStoppingPatience).state(),
      };
      await fsp.unlink(bestPath).catch(() => undefined);
      await log.start();
    }
    const plateau = new ReduceLROnPlateau(r.plateau, r.lr, state.plateau);
    const stopping = new EarlyStopping(r.earlyStoppingPatience, state.earlyStopping);
    const batchesPerEpoch = Math.floor(r.train.length / r.batch);
    const totalSteps = targetSteps(r);
    const hasValidation = r.validation.length > 0;
    // Training time of earlier sessions of this run plus this one's (from its start, setup included).
    const elapsedBefore = state.elapsedSeconds ?? 0;
    const sessionStart = performance.now();
    const elapsed = (): number => elapsedBefore + (performance.now() - sessionStart) / 1000;
    const timeUp = (): boolean => r.timeLimitSeconds !== undefined && elapsed() >= r.timeLimitSeconds;
    // This session's pace, for the rates and the size of blocks under a time limit.
    let sessionSteps = 0;
    let sessionStepSeconds = 0;
    const secondsPerStep = (): number | undefined => (sessionSteps > 0 ? sessionStepSeconds / sessionSteps : undefined);
    /** The rate for the step `ahead` steps after the next one, which starts `aheadSeconds` from now. */
    const learningRate = (ahead = 0, aheadSeconds = 0): number => {
      if (r.lrSchedule === 'plateau') return plateau.lr;
      const byTime = r.timeLimitSeconds === undefined ? 0 : (elapsed() + aheadSeconds) / r.timeLimitSeconds;
      const at = state.step + ahead;
      return cosineLr(r.lr, r.minLr, r.warmupSteps, at, Math.max(at / totalSteps, byTime));
    };
    let mreUnit: 'mm' | 'px' | undefined;

    const result = (status: TrainStatus, lastLoss?: number): TrainResult => ({
      status, steps: state.step, epochs: state.epoch, lastLoss, checkpoint: checkpointPath,
      bestEpoch: hasValidation && stopping.state().best !== null ? stopping.bestEpoch : undefined,
      bestValidationMre: stopping.state().best ?? undefined, mreUnit,
    });
    const checkpoint = async (): Promise<void> => {
      state.elapsedSeconds = elapsed();
      state.plateau = plateau.state();
      state.earlyStopping = stopping.state();
      await saveCheckpoint(checkpointPath, { weights: step.stateDict(), optimizer: step.optimizerState(), state });
    };
    const finish = async (status: TrainStatus, lastLoss?: number): Promise<TrainResult> => {
      state.finished = true;
      await checkpoint();
      const final = hasValidation && (await fileExists(bestPath)) ? (await readSafetensors(bestPath)).tensors : step.stateDict();
      await writeModel(modelPath, onnxPath, final, r);
      return { ...result(status, lastLoss), weights: final, modelFile: modelPath, onnxFile: onnxPath };
    };

    /** Validates the weights after `epoch` (when there are validation items), keeping them if their MRE is the best. */
    const validateEpoch = async (epoch: number, trainLoss: number, lr: number, stepSeconds: number, dataWaitSeconds: number): Promise<EpochInfo> => {
      const info: EpochInfo = { epoch, step: state.step, trainLoss, lr, best: false, stepSeconds, dataWaitSeconds };
      if (hasValidation) {
        const v = await validate(step, validationBatches!, r);
        info.validationLoss = v.loss;
        info.validationMre = v.mre;
        info.mreUnit = mreUnit = v.unit;
        info.best = stopping.record(epoch, v.mre);
        if (info.best) await writeSafetensors(bestPath, step.stateDict(), { 'lmk.epoch': String(epoch) });
      }
      hooks.onEpoch?.(info);
      return info;
    };
    const epochLine = (info: EpochInfo): object => ({
      epoch: info.epoch, step: info.step, train_loss: info.trainLoss,
      ...(hasValidation ? { val_loss: info.validationLoss, val_mre: info.validationMre, mre_unit: info.mreUnit } : {}),
      lr: info.lr,
    });

    hooks.onStart?.({ startStep: state.step, totalSteps, batchesPerEpoch });

    let lastLoss: number | undefined;
    while (state.step < totalSteps) {
      const plan = epochPlan(r, state.epoch + 1);
      // Keep two batches in flight per worker, and a block's worth, so that data work overlaps the step.
      const inFlight: Promise<Batch>[] = [];
      const depth = Math.max(1, 2 * r.workers, step.stepsPerRun);
      let next = state.batchInEpoch;
      const stepsLeft = totalSteps - state.step;
      const last = Math.min(plan.length, state.batchInEpoch + stepsLeft);
      const refill = (): void => {
        while (inFlight.length < depth && next < last) inFlight.push(trainBatches.make(plan[next++]));
      };
      refill();
      /** Steps in the next run: a block never crosses the epoch's end, a checkpoint, or (at the pace so far) the time limit. */
      const blockSize = (): number => {
        let size = Math.min(step.stepsPerRun, last - state.batchInEpoch);
        if (r.checkpointEvery > 0) size = Math.min(size, r.checkpointEvery - (state.step % r.checkpointEvery));
        if (r.timeLimitSeconds !== undefined) {
          const pace = secondsPerStep();
          size = pace === undefined ? 1 : Math.min(size, Math.max(1, Math.floor((r.timeLimitSeconds - elapsed()) / pace)));
        }
        return size;
      };
      let stepSeconds = 0;
      let dataWaitSeconds = 0;
      let lr = learningRate();
      while (state.batchInEpoch < last) {
        const waitStart = performance.now();
        const block: Batch[] = [];
        for (let size = blockSize(); block.length < size;) {
          block.push(await inFlight.shift()!);
          refill();
        }
        const stepStart = performance.now();
        dataWaitSeconds += (stepStart - waitStart) / 1000;
        const pace = secondsPerStep() ?? 0;
        const lrs = block.map((_, i) => learningRate(i, i * pace));
        const losses = await step.runBlock(block.map((b) => b.images), block.map((b) => b.targets), lrs);
        const seconds = (performance.now() - stepStart) / 1000;
        stepSeconds += seconds;
        sessionStepSeconds += seconds;
        sessionSteps += losses.length;
        for (const [i, loss] of losses.entries()) {
          if (!Number.isFinite(loss)) {
            const kept = (await fileExists(checkpointPath)) ? `the last good checkpoint ${checkpointPath} is kept` : 'no checkpoint was written yet';
            throw new TrainingDivergedError(`training diverged: the loss of step ${state.step + 1} is ${loss}; stopped, ${kept} (try a lower --lr)`);
          }
          lr = lrs[i];
          state.step++;
          state.batchInEpoch++;
          state.epochLossSum += loss;
          lastLoss = loss;
          await log.write({ step: state.step, loss });
          hooks.onStep?.({ step: state.step, totalSteps, epoch: state.epoch + 1, loss, lr });
        }
        if (hooks.signal?.aborted) {
          await checkpoint();
          return result('interrupted', lastLoss);
        }
        if (timeUp()) {
          // The partial epoch's validation decides whether its weights are the best (its log line is
          // dropped on --resume, which continues the epoch).
          if (hasValidation) {
            const info = await validateEpoch(state.epoch + 1, state.epochLossSum / state.batchInEpoch, lr, stepSeconds, dataWaitSeconds);
            await log.write({ ...epochLine(info), partial: true });
          }
          return await finish('time-limit', lastLoss);
        }
        if (r.checkpointEvery > 0 && state.step % r.checkpointEvery === 0 && state.batchInEpoch < plan.length) await checkpoint();
      }
      if (state.batchInEpoch < plan.length) break; // --steps ended inside an epoch

      // End of an epoch: validate, schedule, checkpoint.
      const trainLoss = state.epochLossSum / state.batchInEpoch;
      state.epoch++;
      state.batchInEpoch = 0;
      state.epochLossSum = 0;
      const info = await validateEpoch(state.epoch, trainLoss, lr, stepSeconds, dataWaitSeconds);
      plateau.step(info.validationLoss ?? trainLoss);
      await log.write(epochLine(info));
      if (hasValidation && stopping.shouldStop) return await finish('early-stopped', lastLoss);
      if (hooks.signal?.aborted) {
        await checkpoint();
        return result('interrupted', lastLoss);
      }
      await checkpoint();
    }
    return await finish('finished', lastLoss);
  } finally {
    await trainBatches.close();
    await validationBatches?.close();
    await step.release();
  }
}

/** Validation loss (the training loss's definition, BatchNorm in eval mode) and mean radial error. */
async function validate(step: TrainStep, batches: BatchMaker, r: Resolved): Promise<{ loss: number; mre: number; unit: 'mm' | 'px' }> {
  const plane = r.padded.height * r.padded.width;
  const imageSize = r.spec.inChannels * plane;
  const targetSize = r.spec.classes * plane;
  let lossSum = 0;
  let errorSum = 0;
  let errorCount = 0;
  let unit: 'mm' | 'px' = 'px';
  for (let start = 0; start < r.validation.length; start += r.batch) {
    const indices = Array.from({ length: Math.min(r.batch, r.validation.length - start) }, (_, k) => start + k);
    const batch = await batches.make(indices.map((item) => ({ item, augmentSeed: null })));
    const n = indices.length;
    // The step's graph has a fixed batch: a short last batch is filled with copies (eval-mode samples are independent).
    const images = new Float32Array(r.batch * imageSize);
    const targets = new Float32Array(r.batch * targetSize);
    for (let b = 0; b < r.batch; b++) {
      images.set(batch.images.subarray((b % n) * imageSize, (b % n + 1) * imageSize), b * imageSize);
      targets.set(batch.targets.subarray((b % n) * targetSize, (b % n + 1) * targetSize), b * targetSize);
    }
    const { prediction } = await step.evaluate(images, targets);
    const real = prediction.subarray(0, n * targetSize);
    for (const l of sampleLosses(r.loss, real, batch.targets.subarray(0, n * targetSize), n, r.spec.classes)) lossSum += l;
    const e = radialErrors(real, indices.map((i) => r.validation[i]), r);
    errorSum += e.sum;
    errorCount += e.count;
    unit = e.unit;
  }
  return { loss: lossSum / r.validation.length, mre: errorSum / errorCount, unit };
}

async function writeModel(modelPath: string, onnxPath: string, weights: StateDict, r: Resolved): Promise<void> {
  const metadata = {
    'lmk.grid_height': String(r.grid.height),
    'lmk.grid_width': String(r.grid.width),
    'lmk.sigma': String(r.sigma),
    // The training shape, for the Predictor's check against far-off points (where one can be checked).
    ...(r.spec.classes >= MIN_SHAPE_LANDMARKS && r.train.length >= MIN_SHAPE_ITEMS ? { [SHAPE_MODEL_KEY]: serializeShapeModel(buildShapeModel(r.train)) } : {}),
  };
  await fsp.mkdir(dirname(modelPath), { recursive: true });
  await writeSafetensors(modelPath, weights, metadata);
  await fsp.mkdir(dirname(onnxPath), { recursive: true });
  const model = exportModel(r.spec, weights, {
    metadata: { ...metadata, 'lmk.loss': r.loss, 'lmk.output': outputKind(r.loss), [LANDMARK_NAMES_KEY]: serializeLandmarkNames(r.landmarkNames) },
  });
  if (r.loss === 'bce' || r.loss === 'softmax_ce') outputProbabilities(model, r.loss);
  await saveModel(model, onnxPath);
}

/**
 * Models trained on logits end with what turns them into the maps the decoders read: BCE's sigmoid (peaks
 * about 1 when confident, positive, as the refinement windows expect), or softmax_ce's softmax over each
 * channel's grid (a distribution; see heatmaps/distribution.ts).
 */
function outputProbabilities(model: Model, loss: 'bce' | 'softmax_ce'): void {
  const output = model.graph.outputs[0].name;
  const producer = model.graph.nodes.find((n) => n.outputs.includes(output))!;
  const logits = `${output}_logits`;
  producer.outputs = producer.outputs.map((o) => (o === output ? logits : o));
  const node = (name: string, opType: string, inputs: string[], outputs: string[], attributes: Model['graph']['nodes'][number]['attributes'] = {}) =>
    model.graph.nodes.push({ name, opType, inputs, outputs, attributes });
  if (loss === 'bce') {
    node('heatmap_probabilities', 'Sigmoid', [logits], [output]);
    return;
  }
  // [N, K, H, W] -> [N, K, H x W] (whatever the grid), softmax, and back.
  model.graph.initializers.push({ name: 'heatmap_rows_shape', dataType: 'int64', dims: [3], data: BigInt64Array.from([0n, 0n, -1n]) });
  node('heatmap_rows', 'Reshape', [logits, 'heatmap_rows_shape'], [`${output}_rows`]);
  node('heatmap_softmax', 'Softmax', [`${output}_rows`], [`${output}_distribution`], { axis: { type: 'int', value: 2 } });
  node('heatmap_shape', 'Shape', [logits], [`${output}_shape`]);
  node('heatmap_distribution', 'Reshape', [`${output}_distribution`, `${output}_shape`], [output]);
}

async function fileExists(path: string): Promise<boolean> {
  return fsp.stat(path).then(() => true, () => false);
}

/** Temporary files of atomic writes that a killed run left behind (never the files themselves). */
async function removeStaleTemporaries(dir: string): Promise<void> {
  for (const name of await fsp.readdir(dir)) {
    if (/^\..+\.\d+\.[0-9a-z]+\.tmp$/.test(name)) await fsp.unlink(join(dir, name)).catch(() => undefined);
  }
}
