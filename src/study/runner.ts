import { existsSync, promises as fsp } from 'fs';
import { hostname } from 'os';
import { join, relative, resolve } from 'path';
import type { Shard } from '../predict/shard';
import type { FormatName, Point } from '../data/types';
import {
  aggregateSummaries, AggregateSummary, BaselineSummary, ErrorTable, EvaluationSummary, formatPredictions, parsePredictions, PredictionRecord,
} from '../eval';
import { writeFileAtomic } from '../util/fs';
import { STUDY_FORMATS, StudyDataset, StudyInit, StudyPlan } from './plan';

/**
 * Runs training and scoring through two injected functions, so that the study knows no trainer and
 * tests can run it without one:
 *
 * - `TrainRunner(request)` trains on `request.data` starting from `request.init`, writes whatever it
 *   keeps into `request.outDir` (it may resume from what it left there), and resolves with the path
 *   of the model to score (inside `outDir`) and, if later stages start from another file, of those weights.
 * - `Evaluate(request)` predicts `request.data` with that model and scores it (src/eval
 *   `evaluatePredictions`), resolving with the summary, the error table and the predictions, and scores
 *   the mean shape of `request.trainData` on the same images (`evaluateMeanShape`) when it has items.
 *
 * Each run has its own folder: `run.json` (what was asked), the trainer's files, and, written last and
 * atomically, `predictions.jsonl`, `errors.json` and `metrics.json`. A run whose `metrics.json` is
 * there and whose model still exists is finished: a rerun skips it.
 *
 * Tasks of an array job (`shard`) share OUT: each takes its share of the folds or chains, and claims a run
 * before training it by creating `claim.json` in its folder (O_EXCL, so two tasks never train one run); a
 * task that needs a run another task holds (a chain's shared prefix) waits for its metrics. The same shard
 * again (a resubmitted array task) takes over its own claims. The tables need every run: until all are
 * finished, collecting them names the missing ones (UnfinishedRunsError).
 */

export interface DataSelection {
  format: FormatName;
  root: string;
  /** Published split, or a cross-validation fold of the training split ('train': the other folds; 'val': this one). */
  split: 'train' | 'test' | 'val';
  folds?: number;
  fold?: number;
}

export type InitSource =
  | { kind: 'imagenet'; weights: string }
  | { kind: 'scratch' }
  /** The model of an earlier run (fine-tuning chains). */
  | { kind: 'model'; path: string };

export interface TrainRequest {
  runId: string;
  data: DataSelection;
  init: InitSource;
  outDir: string;
  seed: number;
}

export interface TrainedModel {
  /** The model to score (an .onnx file for the real trainer). */
  model: string;
  /** Weights that later stages start from, when they differ from `model` (the trainer's .safetensors). */
  weights?: string;
}

export type TrainRunner = (request: TrainRequest) => Promise<TrainedModel>;

export interface EvaluateRequest {
  runId: string;
  model: string;
  data: DataSelection;
  /** What the model was trained on: the baseline's mean shape is taken over it. */
  trainData: DataSelection;
  outDir: string;
}

export interface EvaluationOutcome {
  summary: EvaluationSummary;
  errors: ErrorTable;
  predictions: PredictionRecord[];
  /** The mean shape of the training selection on the same images; absent when that selection is empty. */
  baseline?: BaselineSummary;
}

export type Evaluate = (request: EvaluateRequest) => Promise<EvaluationOutcome>;

/** What a finished run's `metrics.json` holds. */
export interface RunRecord {
  runId: string;
  /** The model scored, relative to the run folder. */
  model: string;
  /** Weights for later stages, relative to the run folder (when not the model itself). */
  weights?: string;
  data: DataSelection;
  summary: EvaluationSummary;
  /** Absent for runs finished before baselines were recorded, or with an empty training selection. */
  baseline?: BaselineSummary;
  finishedAt: string;
}

export interface RunEvent {
  runId: string;
  index: number;
  total: number;
  state: 'skipped' | 'waiting' | 'training' | 'evaluating' | 'finished';
  /** While waiting: the task that holds the run. */
  claim?: RunClaim;
}

/** Who trains a run (`claim.json` in its folder). */
export interface RunClaim {
  /** 'I-of-N' for a shard, 'whole' for a task of one. */
  shard: string;
  host: string;
  pid: number;
  claimedAt: string;
}

export interface MissingRun {
  runId: string;
  claim?: RunClaim;
}

/** Not every run the tables need has finished. */
export class UnfinishedRunsError extends Error {
  constructor(readonly missing: MissingRun[], total: number) {
    super(`${missing.length} of ${total} runs not finished: ${missing.map((m) => (m.claim
      ? `${m.runId} (claimed by shard ${m.claim.shard}, ${m.claim.host} pid ${m.claim.pid}, since ${m.claim.claimedAt})` : `${m.runId} (not started)`)).join(', ')}`);
  }
}

export interface RunnerOptions {
  outDir: string;
  train: TrainRunner;
  evaluate: Evaluate;
  seed?: number;
  onEvent?: (event: RunEvent) => void;
  /** This task's share of an array job (none: every run). */
  shard?: Shard;
  /** Train nothing: collect the finished runs and report (UnfinishedRunsError while any is missing). */
  reportOnly?: boolean;
  /** How often a task waiting for another task's run looks again (milliseconds). Default 30 s. */
  pollMs?: number;
}

const CLAIM_FILE = 'claim.json';
const shardLabel = (shard: Shard | undefined): string => (shard ? `${shard.index}-of-${shard.count}` : 'whole');
const inShard = (k: number, shard: Shard | undefined): boolean => !shard || k % shard.count === shard.index;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Claims the run for this task; resolves with the holder's claim where another task holds it. */
async function claimRun(runDir: string, shard: Shard | undefined): Promise<RunClaim | undefined> {
  const path = join(runDir, CLAIM_FILE);
  const mine: RunClaim = { shard: shardLabel(shard), host: hostname(), pid: process.pid, claimedAt: new Date().toISOString() };
  const text = JSON.stringify(mine) + '\n';
  try {
    await fsp.writeFile(path, text, { flag: 'wx' });
    return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const held = await readJson<RunClaim>(path);
  // Unreadable: another task is writing it this moment; look again later.
  if (!held) return { shard: 'unknown', host: '?', pid: 0, claimedAt: '?' };
  if (held.shard !== mine.shard) return held;
  // One task per array index at a time: a claim of this shard is a cancelled task's.
  await writeFileAtomic(path, text);
  return undefined;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fsp.readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The record of a finished run, or undefined if the run has not finished (or its model is gone). */
export async function finishedRun(runDir: string): Promise<RunRecord | undefined> {
  const record = await readJson<RunRecord>(join(runDir, 'metrics.json'));
  if (!record?.summary || !record.model) return undefined;
  const files = record.weights ? [record.model, record.weights] : [record.model];
  return files.every((f) => existsSync(join(runDir, f))) ? record : undefined;
}

export async function readErrors(runDir: string): Promise<ErrorTable | undefined> {
  return readJson<ErrorTable>(join(runDir, 'errors.json'));
}

interface RunSpec {
  runId: string;
  trainData: DataSelection;
  testData: DataSelection;
  init: InitSource;
}

function sameSelection(a: DataSelection, b: DataSelection): boolean {
  return a.format === b.format && resolve(a.root) === resolve(b.root) && a.split === b.split && a.folds === b.folds && a.fold === b.fold;
}

function describeSelection(d: DataSelection): string {
  return `${d.format} ${resolve(d.root)} ${d.split}${d.folds !== undefined ? ` (fold ${(d.fold ?? 0) + 1} of ${d.folds})` : ''}`;
}

async function executeRun(spec: RunSpec, index: number, total: number, options: RunnerOptions): Promise<RunRecord> {
  const runDir = resolve(options.outDir, 'runs', spec.runId);
  const done = await finishedRun(runDir);
  const emit = (state: RunEvent['state']): void => options.onEvent?.({ runId: spec.runId, index, total, state });
  if (done) {
    if (!sameSelection(done.data, spec.testData)) {
      throw new Error(`${runDir} holds a finished run scored on ${describeSelection(done.data)}, not ${describeSelection(spec.testData)}: choose another output folder`);
    }
    emit('skipped');
    return done;
  }
  await fsp.mkdir(runDir, { recursive: true });
  for (let waited = false; ; waited = true) {
    const holder = await claimRun(runDir, options.shard);
    if (!holder) break;
    if (!waited) options.onEvent?.({ runId: spec.runId, index, total, state: 'waiting', claim: holder });
    await sleep(options.pollMs ?? 30000);
    const finished = await finishedRun(runDir);
    if (finished) {
      emit('skipped');
      return finished;
    }
  }
  const seed = options.seed ?? 0;
  await writeFileAtomic(join(runDir, 'run.json'), JSON.stringify({ runId: spec.runId, train: spec.trainData, test: spec.testData, init: spec.init, seed }, null, 2) + '\n');
  emit('training');
  const { model, weights } = await options.train({ runId: spec.runId, data: spec.trainData, init: spec.init, outDir: runDir, seed });
  for (const file of weights ? [model, weights] : [model]) {
    if (!existsSync(file)) throw new Error(`run ${spec.runId}: the trainer reported ${file}, which does not exist`);
  }
  emit('evaluating');
  const outcome = await options.evaluate({ runId: spec.runId, model, data: spec.testData, trainData: spec.trainData, outDir: runDir });
  await writeFileAtomic(join(runDir, 'predictions.jsonl'), formatPredictions(outcome.predictions));
  await writeFileAtomic(join(runDir, 'errors.json'), JSON.stringify(outcome.errors) + '\n');
  const record: RunRecord = { runId: spec.runId, model: relative(runDir, resolve(model)), data: spec.testData, summary: outcome.summary, finishedAt: new Date().toISOString() };
  if (weights) record.weights = relative(runDir, resolve(weights));
  if (outcome.baseline) record.baseline = outcome.baseline;
  // Written last: its presence marks the run finished.
  await writeFileAtomic(join(runDir, 'metrics.json'), JSON.stringify(record, null, 2) + '\n');
  emit('finished');
  return record;
}

export type StudyRoots = Partial<Record<StudyDataset, string>>;

export interface StudyRunOptions extends RunnerOptions {
  plan: StudyPlan;
  roots: StudyRoots;
  /** ImageNet encoder weights; required when the plan's init is 'imagenet'. */
  imagenetWeights?: string;
}

/** The finished runs by id, in the order given; UnfinishedRunsError naming the others while any is missing. */
export async function collectRuns(outDir: string, runIds: string[]): Promise<Map<string, RunRecord>> {
  const records = new Map<string, RunRecord>();
  const missing: MissingRun[] = [];
  for (const runId of runIds) {
    const runDir = resolve(outDir, 'runs', runId);
    const record = await finishedRun(runDir);
    if (record) records.set(runId, record);
    else missing.push({ runId, ...(existsSync(join(runDir, CLAIM_FILE)) ? { claim: await readJson<RunClaim>(join(runDir, CLAIM_FILE)) } : {}) });
  }
  if (missing.length) throw new UnfinishedRunsError(missing, runIds.length);
  return records;
}

/** A shard's runs: those of its chains (chain k goes to shard k mod N), each chain's prefixes included. */
function shardRuns(plan: StudyPlan, shard: Shard | undefined): Set<string> {
  const parents = new Map(plan.runs.map((r) => [r.id, r.parent]));
  const own = new Set<string>();
  plan.chains.forEach((chain, k) => {
    if (!inShard(k, shard)) return;
    for (let id: string | undefined = chain.runId; id; id = parents.get(id)) own.add(id);
  });
  return own;
}

/**
 * Runs (or resumes) the plan's runs (a shard's: its chains'), parents first; then resolves with every run's
 * record by id, or rejects with UnfinishedRunsError while other tasks' runs are missing.
 */
export async function runStudy(options: StudyRunOptions): Promise<Map<string, RunRecord>> {
  const { plan } = options;
  if (options.reportOnly) return collectRuns(options.outDir, plan.runs.map((r) => r.id));
  if (plan.init === 'imagenet' && !options.imagenetWeights) throw new Error('the ImageNet chains need ImageNet weights (--init imagenet:FILE)');
  const needed = new Set(plan.runs.flatMap((r) => r.stages));
  for (const d of needed) if (!options.roots[d]) throw new Error(`the plan trains on ${d}: give its data set root`);
  const own = shardRuns(plan, options.shard);
  const records = new Map<string, RunRecord>();
  for (const [k, run] of plan.runs.entries()) {
    if (!own.has(run.id)) continue;
    const dataset = run.stages[run.stages.length - 1];
    const data = (split: 'train' | 'test'): DataSelection => ({ format: STUDY_FORMATS[dataset], root: options.roots[dataset] as string, split });
    let init: InitSource;
    if (run.parent) {
      const parent = records.get(run.parent);
      if (!parent) throw new Error(`run ${run.id} needs ${run.parent}, which the plan does not run first`);
      init = { kind: 'model', path: join(resolve(options.outDir, 'runs', run.parent), parent.weights ?? parent.model) };
    } else {
      init = initFor(plan.init, options.imagenetWeights);
    }
    records.set(run.id, await executeRun({ runId: run.id, trainData: data('train'), testData: data('test'), init }, k, plan.runs.length, options));
  }
  return collectRuns(options.outDir, plan.runs.map((r) => r.id));
}

function initFor(init: StudyInit, imagenetWeights: string | undefined): InitSource {
  return init === 'imagenet' ? { kind: 'imagenet', weights: imagenetWeights as string } : { kind: 'scratch' };
}

export interface CrossValidationOptions extends RunnerOptions {
  format: FormatName;
  root: string;
  folds?: number;
  init: StudyInit;
  imagenetWeights?: string;
}

export interface CrossValidationResult {
  folds: RunRecord[];
  aggregate: AggregateSummary;
  /** The mean shape's aggregate over the folds; only when every fold has a baseline. */
  baseline?: AggregateSummary;
}

/**
 * k-fold cross-validation on the training split (the paper's Table 1 protocol): run `fold-K` trains on the
 * other folds and is scored on fold K (a shard does the folds k with k mod N = I). Resolves once every fold
 * has finished (UnfinishedRunsError otherwise), with cv.json written.
 */
export async function runCrossValidation(options: CrossValidationOptions): Promise<CrossValidationResult> {
  const folds = options.folds ?? 5;
  if (!Number.isInteger(folds) || folds < 2) throw new Error(`folds must be a whole number of at least 2, got ${folds}`);
  const runIds = Array.from({ length: folds }, (_, fold) => `fold-${fold + 1}`);
  if (!options.reportOnly) {
    if (options.init === 'imagenet' && !options.imagenetWeights) throw new Error('ImageNet initialisation needs ImageNet weights (--init imagenet:FILE)');
    for (let fold = 0; fold < folds; fold++) {
      if (!inShard(fold, options.shard)) continue;
      const base = { format: options.format, root: options.root, folds, fold };
      await executeRun(
        { runId: runIds[fold], trainData: { ...base, split: 'train' }, testData: { ...base, split: 'val' }, init: initFor(options.init, options.imagenetWeights) },
        fold,
        folds,
        options,
      );
    }
  }
  const records = [...(await collectRuns(options.outDir, runIds)).values()];
  const other = records.find((r) => r.data.folds !== folds);
  if (other) throw new Error(`${resolve(options.outDir, 'runs', other.runId)} holds a finished run of ${other.data.folds} folds, not ${folds}: choose another output folder`);
  const aggregate = aggregateSummaries(records.map((r) => r.summary));
  const baselines = records.flatMap((r) => (r.baseline ? [r.baseline.summary] : []));
  const baseline = baselines.length === records.length ? aggregateSummaries(baselines) : undefined;
  await writeFileAtomic(resolve(options.outDir, 'cv.json'), JSON.stringify({ format: options.format, folds, aggregate, baseline, runs: records.map((r) => r.runId) }, null, 2) + '\n');
  return { folds: records, aggregate, baseline };
}

/** Predictions in a run folder, for overlays. */
export async function readRunPredictions(runDir: string): Promise<Map<string, Point[]>> {
  const path = join(runDir, 'predictions.jsonl');
  return parsePredictions(await fsp.readFile(path, 'utf8'), path);
}
