import { mkdir } from 'fs/promises';
import { basename, join, resolve } from 'path';
import { loadDataset, Dataset, Point } from '../data';
import {
  constantPredictions, defaultThresholds, errorTable, evaluatePredictions, EvaluationSummary, meanShape,
  PredictionRecord, Predictions, writePredictions,
} from '../eval';
import { train, TrainHooks, TrainResult } from '../train/loop';
import type { LossName } from '../train/step-graph';
import { predictItems } from '../study/predict-items';
import { overlayImageFile } from '../study/overlay';
import { sdrCurvePng, perLandmarkPng } from '../study/plots';
import { writeFileAtomic } from '../util/fs';
import { generateSyntheticSet, SYNTHETIC_LANDMARK_NAMES, writeSyntheticCsvDataset } from './synthetic';
import { ModelSpec } from '../models';

/**
 * The demo recipe: small enough to train on two CPU cores in a few minutes, large enough that the
 * network localises the synthetic hands' landmarks several times better than their mean shape.
 */
export interface DemoRecipe {
  trainCases: number;
  testCases: number;
  /** Side of the generated images in pixels. */
  imageSize: number;
  /** Side of the model grid. */
  gridSize: number;
  spec: ModelSpec;
  sigma: number;
  loss: LossName;
  lr: number;
  batch: number;
  steps: number;
  augment: boolean;
}

export const DEMO_RECIPE: DemoRecipe = {
  trainCases: 400,
  testCases: 40,
  imageSize: 128,
  gridSize: 64,
  spec: { arch: 'unetplusplus', encoder: 'vgg19', classes: SYNTHETIC_LANDMARK_NAMES.length, inChannels: 3, widthMultiplier: 0.25 },
  // Measured here (2500 steps, 2026-11-28): softmax_ce at sigma 2 reached 0.42 px against 15.76 px for the
  // mean shape, where the best heatmap recipe (mse, sigma 4; sigma 2-3, batch 4-8 or adaptive wing were worse)
  // reached 3.61 px.
  sigma: 2,
  loss: 'softmax_ce',
  lr: 1e-3,
  batch: 2,
  steps: 2500,
  // The generator already varies pose, scale and shape; affine augmentation on top only slows the start.
  augment: false,
};

export interface DemoOptions {
  out: string;
  seed?: number;
  /** Optimizer steps (default DEMO_RECIPE.steps). */
  steps?: number;
  /** ORT threads for training and prediction. */
  threads?: number;
  /** Changes to the recipe (experiments; the CLI uses the recipe as it is). */
  recipe?: Partial<DemoRecipe>;
}

export interface DemoReport {
  metrics: { mre: number; mre_unit: string; mre_std: number; sdr: Record<string, number> };
  baseline: { mre: number; sdr: Record<string, number> };
  /** Baseline MRE divided by the model's. */
  improvement: number;
  data: { train: number; test: number; landmarks: number; image_size: number; seed: number };
  training: { steps: number; seconds: number; last_loss?: number; spec: ModelSpec; grid: number; sigma: number; loss: LossName; lr: number; batch: number };
  files: Record<string, string>;
}

export interface DemoHooks {
  onPhase?(phase: string): void;
  train?: TrainHooks;
  onPredicted?(done: number, total: number): void;
}

function sdrRecord(s: EvaluationSummary): Record<string, number> {
  return Object.fromEntries(s.sdr.map((r) => [String(r.threshold), r.percent]));
}

function fmt(v: number, digits = 2): string {
  return v.toFixed(digits);
}

function reportMarkdown(r: DemoReport, model: EvaluationSummary, baseline: EvaluationSummary): string {
  const thresholds = model.sdr.map((s) => s.threshold);
  const lines = [
    '# lmk demo report',
    '',
    `A U-Net++/VGG19 (width x${r.training.spec.widthMultiplier}) trained from scratch for ${r.training.steps} steps ` +
      `(${fmt(r.training.seconds, 0)} s, ${r.training.grid}x${r.training.grid} grid, ${r.training.loss} loss) on ${r.data.train} synthetic hand radiographs of ${r.data.image_size}x${r.data.image_size} px, ` +
      `evaluated on ${r.data.test} held-out cases against the mean-shape baseline (every landmark at its training mean).`,
    '',
    `| predictor | MRE (${r.metrics.mre_unit}) | std | ${thresholds.map((t) => `SDR ${t} px`).join(' | ')} |`,
    `|---|---|---|${thresholds.map(() => '---').join('|')}|`,
    `| lmk model | ${fmt(model.mre.value)} | ${fmt(model.mre.std)} | ${model.sdr.map((s) => `${fmt(s.percent, 1)} %`).join(' | ')} |`,
    `| mean shape | ${fmt(baseline.mre.value)} | ${fmt(baseline.mre.std)} | ${baseline.sdr.map((s) => `${fmt(s.percent, 1)} %`).join(' | ')} |`,
    '',
    `The model's MRE is ${fmt(r.improvement, 1)}x lower than the baseline's.`,
    '',
    '## Per landmark (model)',
    '',
    '| landmark | MRE (px) |',
    '|---|---|',
    ...model.per_landmark.map((l, j) => `| ${j + 1} ${SYNTHETIC_LANDMARK_NAMES[j] ?? ''} | ${fmt(l.mre)} |`),
    '',
    '## Files',
    '',
    ...Object.entries(r.files).map(([k, v]) => `- ${k}: \`${v}\``),
    '',
    '![SDR curves](sdr.png)',
    '',
    '![Per-landmark error](per-landmark.png)',
    '',
  ];
  return lines.join('\n');
}

/** Generate data, train, predict, evaluate against the mean shape, and write the report. */
export async function runDemo(options: DemoOptions, hooks: DemoHooks = {}): Promise<DemoReport> {
  const out = resolve(options.out);
  const seed = options.seed ?? 1;
  const recipe: DemoRecipe = { ...DEMO_RECIPE, ...options.recipe };
  const steps = options.steps ?? recipe.steps;
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${seed}`);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  const size = recipe.imageSize;
  const grid = { height: recipe.gridSize, width: recipe.gridSize };
  await mkdir(out, { recursive: true });

  hooks.onPhase?.('generating the synthetic data set');
  const dataDir = join(out, 'data');
  const trainCases = generateSyntheticSet({ count: recipe.trainCases, seed, width: size, height: size });
  const testCases = generateSyntheticSet({ count: recipe.testCases, seed: seed + 1_000_003, width: size, height: size, firstIndex: recipe.trainCases });
  await writeSyntheticCsvDataset(dataDir, trainCases, { testCases });
  const trainSet = await loadDataset({ format: 'csv', root: dataDir, split: 'train', grid });
  const testSet = await loadDataset({ format: 'csv', root: dataDir, split: 'test', grid });

  hooks.onPhase?.('training');
  const runDir = join(out, 'run');
  const started = Date.now();
  const result: TrainResult = await train({
    spec: recipe.spec, train: trainSet.items, grid, sigma: recipe.sigma, loss: recipe.loss, lr: recipe.lr, batch: recipe.batch,
    steps, seed, outDir: runDir, threads: options.threads, augment: recipe.augment, exportFile: join(out, 'model.onnx'),
  }, hooks.train);
  const seconds = (Date.now() - started) / 1000;
  if (result.status === 'interrupted' || !result.onnxFile) throw new Error(`training stopped before the end (checkpoint kept in ${result.checkpoint})`);

  hooks.onPhase?.('predicting the held-out cases');
  const records: PredictionRecord[] = await predictItems(result.onnxFile, testSet.items, {
    threads: options.threads, onItem: (done) => hooks.onPredicted?.(done, testSet.items.length),
  });
  const predictionsFile = join(out, 'predictions.jsonl');
  await writePredictions(predictionsFile, records);

  hooks.onPhase?.('evaluating and writing the report');
  const predictions: Predictions = new Map(records.map((r) => [r.id, r.landmarks as Point[]]));
  const baselinePredictions = constantPredictions(testSet.items, meanShape(trainSet.items));
  const model = evaluatePredictions(testSet, predictions);
  const baseline = evaluatePredictions(testSet, baselinePredictions);

  const overlayDir = join(out, 'overlays');
  await mkdir(overlayDir, { recursive: true });
  for (const item of testSet.items.slice(0, 6)) {
    const png = await overlayImageFile(item.imagePath, item.landmarks, predictions.get(item.id)!);
    await writeFileAtomic(join(overlayDir, `${basename(item.id).replace(/\.[^.]+$/, '')}.png`), png);
  }
  const flat = (ds: Dataset, p: Predictions) => errorTable(ds, p, 'physical').errors.flat();
  const thresholds = defaultThresholds('csv', 'px');
  await writeFileAtomic(join(out, 'sdr.png'), await sdrCurvePng(
    [{ label: 'lmk model', errors: flat(testSet, predictions) }, { label: 'mean shape', errors: flat(testSet, baselinePredictions) }],
    'px', thresholds, 'Synthetic hands: SDR versus threshold'));
  await writeFileAtomic(join(out, 'per-landmark.png'), await perLandmarkPng(
    [{ label: 'lmk model', summary: model }, { label: 'mean shape', summary: baseline }], 'Synthetic hands: error per landmark'));

  const report: DemoReport = {
    metrics: { mre: model.mre.value, mre_unit: model.mre.unit, mre_std: model.mre.std, sdr: sdrRecord(model) },
    baseline: { mre: baseline.mre.value, sdr: sdrRecord(baseline) },
    improvement: baseline.mre.value / model.mre.value,
    data: { train: trainSet.items.length, test: testSet.items.length, landmarks: trainSet.landmarkCount, image_size: size, seed },
    training: { steps: result.steps, seconds, last_loss: result.lastLoss, spec: recipe.spec, grid: recipe.gridSize, sigma: recipe.sigma, loss: recipe.loss, lr: recipe.lr, batch: recipe.batch },
    files: {
      data: dataDir, model: result.onnxFile, weights: result.modelFile ?? '', predictions: predictionsFile,
      overlays: overlayDir, sdr_plot: join(out, 'sdr.png'), per_landmark_plot: join(out, 'per-landmark.png'),
      report_json: join(out, 'report.json'), report_md: join(out, 'report.md'),
    },
  };
  await writeFileAtomic(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFileAtomic(join(out, 'report.md'), reportMarkdown(report, model, baseline));
  return report;
}
