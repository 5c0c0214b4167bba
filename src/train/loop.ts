/**
 * The training loop: epochs of shuffled, augmented batches made on worker threads, one compiled
 * training step per batch (TrainStep), validation, ReduceLROnPlateau, early stopping, checkpoints,
 * a JSONL log, and a clean stop on an abort signal or a non-finite loss. `lmk train` is a thin layer
 * over `train`.
 */
import { promises as fsp } from 'fs';
import { join, resolve } from 'path';
import { fromGridPoint } from '../data/grid';
import type { LandmarkItem } from '../data/types';
import { Random } from '../data/random';
import { decodeDistributionsBatch, decodeHeatmapsBatch, spatialSoftmax } from '../heatmaps';
import { cropTopLeft } from '../infer/padding';
import { initStateDict } from '../models/parameters';
import { derivedSeed } from '../models/random';
import { readSafetensors, writeSafetensors } from '../models/safetensors';
import { buildNetwork } from '../models/network';
import type { StateDict } from '../models/state-dict';
import { writeFileAtomic } from '../util/fs';
import { Batch, BatchMaker, SampleRequest } from './batches';
import { Checkpoint, loadCheckpoint, saveCheckpoint, TrainState } from './checkpoint';
import { loadInitialWeights, writeModel } from './model-file';
import { epochUnits, Resolved, resolveOptions, settingsDifference, settingsOf, TrainOptions } from './options';
import type { SampleConfig } from './samples';
import { cosineLr, EarlyStopping, ReduceLROnPlateau } from './schedule';
import { TrainStep } from './step';
import { sampleLosses } from './losses';

export { loadInitialWeights } from './model-file';
export type { TrainOptions } from './options';

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

/** Optimizer steps the run trains for in all. */
function targetSteps(r: Resolved): number {
  return r.steps ?? Math.floor(epochUnits(r) / r.batch) * r.epochs!;
}

/** The training data order: epoch e's permutation of the items and each sample's augmentation seed. */
function epochPlan(r: Resolved, epoch: number): SampleRequest[][] {
  const n = epochUnits(r);
  const order = r.shuffle ? new Random(derivedSeed(r.seed, `order:${epoch}`)).permutation(n) : Array.from({ length: n }, (_, i) => i);
  const batches: SampleRequest[][] = [];
  const k = r.spec.classes;
  const request = (unit: number): SampleRequest => {
    if (!r.refine) return { item: unit, augmentSeed: r.augment ? derivedSeed(r.seed, `augment:${epoch}:${unit}`) : null };
    const item = Math.floor(unit / k);
    const landmark = unit % k;
    return { item, landmark, augmentSeed: r.augment ? derivedSeed(r.seed, `augment:${epoch}:${item}:${landmark}`) : null };
  };
  // The step graph has a fixed batch size: a last partial batch is dropped (it is in another order next epoch).
  for (let b = 0; b + r.batch <= n; b += r.batch) batches.push(order.slice(b, b + r.batch).map(request));
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

  const sampleConfig: SampleConfig = { grid: r.grid, padded: r.padded, sigma: r.sigma, classes: r.spec.classes, inChannels: r.spec.inChannels, augmentation: r.augmentation, framing: r.framing,
    ...(r.refine ? { refine: r.refine.sampling } : {}) };
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
    const batchesPerEpoch = Math.floor(epochUnits(r) / r.batch);
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

async function fileExists(path: string): Promise<boolean> {
  return fsp.stat(path).then(() => true, () => false);
}

/** Temporary files of atomic writes that a killed run left behind (never the files themselves). */
async function removeStaleTemporaries(dir: string): Promise<void> {
  for (const name of await fsp.readdir(dir)) {
    if (/^\..+\.\d+\.[0-9a-z]+\.tmp$/.test(name)) await fsp.unlink(join(dir, name)).catch(() => undefined);
  }
}
