/**
 * The training options: what `train` takes, and how they are resolved once (defaults, checks) into the
 * values the loop, its checkpoints and its model files read.
 */
import { AugmentOptions, DEFAULT_AUGMENT, validateAugmentOptions } from '../data/augment';
import { LandmarkName, numberedLandmarkNames } from '../data/landmark-names';
import type { LandmarkItem } from '../data/types';
import type { ExecutionProvider } from '../infer/providers';
import { paddedSize } from '../infer/padding';
import { validateSeed } from '../models/parameters';
import { ModelSpec, resolveSpec } from '../models/spec';
import { buildFraming, Framing, FRAMING_KEY, MIN_SHAPE_ITEMS, MIN_SHAPE_LANDMARKS, parseFraming } from '../shape';
import type { FirstStage } from '../refine/first-stage';
import type { KeptRefinement } from './base-model';
import type { RunSettings } from './checkpoint';
import type { CropSampling } from './crop-samples';
import { DEFAULT_PLATEAU, LR_SCHEDULES, LrSchedule, PlateauOptions } from './schedule';
import { LOSSES, LossName } from './step-graph';
import { defaultStepsPerRun } from './step';

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
  /**
   * Metadata of the model fine-tuned from that the new model keeps instead of building its own (the shape
   * model, the plausibility bound: see train/base-model.ts).
   */
  keptMetadata?: Record<string, string>;
  /** The refinement stages of a refined model fine-tuned from, joined to the new first stage (train/base-model.ts). */
  keptRefinements?: KeptRefinement[];
  /**
   * Train the refinement stage of a first-stage model instead (src/refine): samples are crops about each
   * landmark, `grid` is the crop's (square, a multiple of 32) and `sigma` in crop pixels; the model file
   * written holds both stages. Read the first stage with readFirstStage.
   */
  refine?: { firstStage: FirstStage; factor: number; jitter: number };
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

/** The options after defaults and checks: what the loop and its files read. */
export interface Resolved {
  spec: Required<ModelSpec>;
  landmarkNames: LandmarkName[];
  keptMetadata: Record<string, string>;
  keptRefinements: KeptRefinement[];
  /** How the training images frame their landmarks: the base model's when fine-tuning, else the training items'. */
  framing: Framing | undefined;
  /** Training the refinement stage: its first stage and how crops are drawn. */
  refine: { firstStage: FirstStage; sampling: CropSampling } | undefined;
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

export function resolveOptions(o: TrainOptions): Resolved {
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
  if (o.train.length * (o.refine ? spec.classes : 1) < batch) fail(`${o.train.length} training item(s) cannot fill a batch of ${batch}`);
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
  const landmarkNames = o.landmarkNames ?? o.refine?.firstStage.landmarkNames ?? numberedLandmarkNames(spec.classes);
  if (landmarkNames.length !== spec.classes) fail(`${landmarkNames.length} landmark names for a model of ${spec.classes} classes`);
  const refine = o.refine && resolveRefine(o, spec.classes);
  const keptFraming = o.keptMetadata?.[FRAMING_KEY];
  const framing = refine ? refine.firstStage.framing
    : keptFraming !== undefined ? parseFraming(keptFraming, `train: ${FRAMING_KEY}`)
      : spec.classes >= MIN_SHAPE_LANDMARKS && o.train.length >= MIN_SHAPE_ITEMS ? buildFraming(o.train) : undefined;
  const stepsPerRun = o.stepsPerRun ?? defaultStepsPerRun({ batch, inChannels: spec.inChannels, classes: spec.classes, ...padded }, o.executionProvider);
  return {
    spec, landmarkNames, keptMetadata: o.keptMetadata ?? {}, keptRefinements: o.refine ? [] : o.keptRefinements ?? [], framing, refine, train: o.train, validation: o.validation ?? [], grid: { ...o.grid },
    padded,
    sigma: o.sigma, loss, lr, weightDecay, batch,
    epochs: o.steps === undefined ? o.epochs ?? 200 : undefined, steps: o.steps,
    augment: o.augment ?? true, augmentation, shuffle: o.shuffle ?? true, seed, lrSchedule, minLr, warmupSteps,
    timeLimitSeconds: o.timeLimitMinutes === undefined ? undefined : o.timeLimitMinutes * 60, plateau, earlyStoppingPatience, checkpointEvery, workers, stepsPerRun,
  };
}

/** The refinement stage's checks: a square crop the network takes as it is, the first stage's landmarks, no validation yet. */
function resolveRefine(o: TrainOptions, classes: number): Resolved['refine'] {
  const { firstStage, factor, jitter } = o.refine!;
  const crop = o.grid.width;
  if (o.grid.height !== crop || crop % 32 !== 0) fail(`the refinement stage's crop must be square and a multiple of 32, got ${o.grid.height}x${crop}`);
  if (!(factor > 0 && Number.isFinite(factor))) fail(`the crop factor must be a positive number, got ${factor}`);
  if (!(jitter >= 0 && Number.isFinite(jitter))) fail(`the crop jitter must be a number >= 0, got ${jitter}`);
  if (firstStage.classes !== classes) fail(`${firstStage.path}: the first stage finds ${firstStage.classes} landmarks, the refinement stage ${classes}`);
  if (o.validation?.length) fail('the refinement stage trains without validation (its crops are scored by lmk eval on the joined model): give no validation items (--val-fraction 0)');
  return { firstStage, sampling: { firstGrid: firstStage.grid, factor, jitter } };
}

/** Training units per epoch: the items, or for the refinement stage each item's crop about each landmark. */
export function epochUnits(r: Resolved): number {
  return r.train.length * (r.refine ? r.spec.classes : 1);
}

export function settingsOf(r: Resolved): RunSettings {
  return {
    spec: r.spec, grid: r.grid, sigma: r.sigma, batch: r.batch, loss: r.loss, seed: r.seed,
    shuffle: r.shuffle, augment: r.augment, ...(r.augment ? { augmentation: r.augmentation } : {}), weightDecay: r.weightDecay, trainIds: r.train.map((i) => i.id),
    ...(r.refine ? { refine: r.refine.sampling } : {}),
  };
}

/** The first setting that differs between a checkpoint and this run, described; undefined when they agree. */
export function settingsDifference(saved: RunSettings, now: RunSettings): string | undefined {
  for (const key of Object.keys(now) as (keyof RunSettings)[]) {
    const a = JSON.stringify(saved[key]);
    const b = JSON.stringify(now[key]);
    if (a !== b) return key === 'trainIds' ? 'the training items differ' : `${key} was ${a}, now ${b}`;
  }
  return undefined;
}
