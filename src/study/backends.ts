import { existsSync } from 'fs';
import { join } from 'path';
import { formatLandmarkNames, loadDataset, Random } from '../data';
import { errorTable, evaluateMeanShape, evaluatePredictions, ProtocolName } from '../eval';
import type { ExecutionProvider } from '../infer';
import type { ModelSpec } from '../models';
import { derivedSeed } from '../models/random';
import { train, TrainHooks } from '../train/loop';
import type { LossName } from '../train/step-graph';
import { predictItems } from './predict-items';
import type { Evaluate, TrainRunner } from './runner';

/**
 * The real trainer and evaluator behind `lmk cv` and `lmk study` (the runner itself only sees the
 * `TrainRunner` / `Evaluate` interfaces of runner.ts).
 */

/** Scores a run's model, and the mean shape of its training selection, on its evaluation selection with the given protocol. */
export function predictorEvaluate(protocol: ProtocolName = 'physical', threads?: number): Evaluate {
  return async (request) => {
    const dataset = await loadDataset(request.data);
    if (dataset.items.length === 0) throw new Error(`${request.data.root}: no ${request.data.split} items to evaluate`);
    const predictions = await predictItems(request.model, dataset.items, { threads });
    const byId = new Map(predictions.map((p) => [p.id, p.landmarks]));
    const training = (await loadDataset(request.trainData)).items;
    return {
      summary: evaluatePredictions(dataset, byId, { protocol }),
      errors: errorTable(dataset, byId, protocol),
      predictions,
      baseline: training.length > 0 ? evaluateMeanShape(training, dataset, { protocol }) : undefined,
    };
  };
}

export interface StudyTrainSettings {
  arch?: ModelSpec['arch'];
  encoder?: ModelSpec['encoder'];
  widthMultiplier?: number;
  /** Model grid (h x w); default the data set's (the format's published grid). */
  grid?: { height: number; width: number };
  /** Target Gaussian sigma in grid pixels. Default 2. */
  sigma?: number;
  /** Default 'mse' (the paper's). */
  loss?: LossName;
  lr?: number;
  batch?: number;
  epochs?: number;
  steps?: number;
  /** Fraction of the training items held out for the plateau schedule and early stopping. Default 0.1. */
  valFraction?: number;
  threads?: number;
  workers?: number;
  /** Where the training step runs (default 'cpu'); evaluation runs on the CPU. */
  executionProvider?: ExecutionProvider;
}

/** `lmk train`'s loop as a TrainRunner: resumes a run folder's checkpoint, starts from the requested weights otherwise. */
export function trainerRunner(settings: StudyTrainSettings = {}, hooks: (runId: string) => TrainHooks = () => ({})): TrainRunner {
  return async (request) => {
    const dataset = await loadDataset(request.data);
    if (dataset.items.length < 2) throw new Error(`${request.data.root}: ${dataset.items.length} training items; at least 2 are needed`);
    const heldCount = Math.round(dataset.items.length * (settings.valFraction ?? 0.1));
    const held = new Set(new Random(derivedSeed(request.seed, 'validation')).permutation(dataset.items.length).slice(0, heldCount));
    const spec: ModelSpec = {
      arch: settings.arch ?? 'unetplusplus',
      encoder: settings.encoder ?? 'vgg19',
      classes: dataset.landmarkCount,
      inChannels: 3,
      widthMultiplier: settings.widthMultiplier ?? 1,
    };
    const initWeights = request.init.kind === 'imagenet' ? request.init.weights : request.init.kind === 'model' ? request.init.path : undefined;
    const result = await train(
      {
        spec,
        landmarkNames: formatLandmarkNames(dataset.format, dataset.landmarkCount),
        train: dataset.items.filter((_, i) => !held.has(i)),
        validation: dataset.items.filter((_, i) => held.has(i)),
        grid: settings.grid ?? dataset.grid,
        sigma: settings.sigma ?? 2,
        loss: settings.loss,
        lr: settings.lr,
        batch: settings.batch,
        epochs: settings.epochs,
        steps: settings.steps,
        initWeights,
        seed: request.seed,
        outDir: request.outDir,
        resume: existsSync(join(request.outDir, 'checkpoint.safetensors')),
        threads: settings.threads,
        workers: settings.workers,
        executionProvider: settings.executionProvider,
      },
      hooks(request.runId),
    );
    if (result.status === 'interrupted' || !result.onnxFile || !result.modelFile) {
      throw new Error(`run ${request.runId} was interrupted at step ${result.steps}; run the command again to resume it`);
    }
    return { model: result.onnxFile, weights: result.modelFile };
  };
}
