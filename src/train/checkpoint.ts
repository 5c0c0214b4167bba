/**
 * Training checkpoints, in the run's output folder:
 * - `checkpoint.safetensors`: every parameter and BatchNorm running statistic under its smp name (a
 *   plain weights file for `--init-weights`, `lmk export --weights` and `loadWeights`), with
 *   `__metadata__`: the model spec (`lmk.arch`, ...), grid and sigma (`lmk.grid_height`,
 *   `lmk.grid_width`, `lmk.sigma`) and `lmk.train_state`, a JSON `TrainState` (epoch, step, data-order
 *   position, learning rate, scheduler and early-stopping state, the settings that must not change on
 *   resume, and the name of its optimizer file);
 * - `optimizer-<step>.safetensors`: Adam's moments as `m.<smp name>` and `v.<smp name>`.
 * Each file is written atomically, the optimizer file first and under a new name, and older optimizer
 * files are removed only after the checkpoint that names the new one is in place: a run killed at
 * any moment leaves a checkpoint whose optimizer file exists.
 */
import { promises as fsp } from 'fs';
import { dirname, join } from 'path';
import { readSafetensors, serializeSafetensors } from '../models/safetensors';
import { specMetadata } from '../models/export';
import type { ModelSpec } from '../models/spec';
import type { StateDict } from '../models/state-dict';
import { writeFileAtomic } from '../util/fs';
import type { EarlyStoppingState, PlateauState } from './schedule';
import type { OptimizerState, TensorDict } from './step';

const M_PREFIX = 'm.';
const V_PREFIX = 'v.';
const STATE_KEY = 'lmk.train_state';
const OPTIMIZER_FILE = /^optimizer-\d+\.safetensors$/;

/** Settings that fix what a run computes; `--resume` refuses a checkpoint whose settings differ. */
export interface RunSettings {
  spec: Required<ModelSpec>;
  grid: { height: number; width: number };
  sigma: number;
  batch: number;
  loss: string;
  seed: number;
  shuffle: boolean;
  augment: boolean;
  /** Augmentation ranges (recorded where augment is on). */
  augmentation?: object;
  weightDecay: number;
  trainIds: string[];
  /** The refinement stage's crop sampling (absent for a first stage). */
  refine?: object;
}

export interface TrainState {
  settings: RunSettings;
  /** Epochs completed. */
  epoch: number;
  /** Batches of epoch `epoch + 1` already trained on (0 at an epoch boundary): where the data order resumes. */
  batchInEpoch: number;
  /** Sum of the training losses of those batches (the epoch's mean loss continues exactly). */
  epochLossSum: number;
  /** Optimizer updates done (Adam's t). */
  step: number;
  plateau: PlateauState;
  earlyStopping: EarlyStoppingState;
  /** Whether the run has finished (epochs or steps done, stopped early, or out of time). */
  finished: boolean;
  /** Seconds of training so far, across sessions (absent in checkpoints of older versions: 0). */
  elapsedSeconds?: number;
  /** The optimizer file beside the checkpoint (set when saving). */
  optimizerFile?: string;
}

export interface Checkpoint {
  weights: StateDict;
  optimizer: OptimizerState;
  state: TrainState;
}

/** Writes a checkpoint to `path` and its optimizer file beside it (see above). */
export async function saveCheckpoint(path: string, c: Checkpoint): Promise<void> {
  const dir = dirname(path);
  const optimizerFile = `optimizer-${c.optimizer.step}.safetensors`;
  const moments: TensorDict = new Map();
  for (const [name, t] of c.optimizer.m) moments.set(M_PREFIX + name, t);
  for (const [name, t] of c.optimizer.v) moments.set(V_PREFIX + name, t);
  await writeFileAtomic(join(dir, optimizerFile), serializeSafetensors(moments, { 'lmk.optimizer': 'adam', 'lmk.step': String(c.optimizer.step) }));

  const state: TrainState = { ...c.state, optimizerFile };
  const s = state.settings;
  const metadata = {
    ...specMetadata(s.spec),
    'lmk.grid_height': String(s.grid.height),
    'lmk.grid_width': String(s.grid.width),
    'lmk.sigma': String(s.sigma),
    [STATE_KEY]: JSON.stringify(state),
  };
  await writeFileAtomic(path, serializeSafetensors(c.weights, metadata));
  for (const name of await fsp.readdir(dir)) {
    if (OPTIMIZER_FILE.test(name) && name !== optimizerFile) await fsp.unlink(join(dir, name)).catch(() => undefined);
  }
}

/** Reads a checkpoint written by `saveCheckpoint`; errors name the file. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const contents = await readSafetensors(path);
  const raw = contents.metadata[STATE_KEY];
  if (raw === undefined) throw new Error(`${path}: not an lmk training checkpoint (no ${STATE_KEY} in its metadata)`);
  let state: TrainState;
  try {
    state = JSON.parse(raw) as TrainState;
  } catch (err) {
    throw new Error(`${path}: ${STATE_KEY} is not valid JSON (${(err as Error).message})`);
  }
  if (!state || typeof state !== 'object' || !Number.isInteger(state.step) || !Number.isInteger(state.epoch) || !state.settings
    || typeof state.optimizerFile !== 'string' || !OPTIMIZER_FILE.test(state.optimizerFile)) {
    throw new Error(`${path}: ${STATE_KEY} lacks its epoch, step, settings or optimizer file`);
  }
  const optimizerPath = join(dirname(path), state.optimizerFile);
  const moments = await readSafetensors(optimizerPath);
  if (moments.metadata['lmk.step'] !== String(state.step)) {
    throw new Error(`${optimizerPath}: holds the optimizer of step ${moments.metadata['lmk.step']}, the checkpoint is at step ${state.step}`);
  }
  const m: TensorDict = new Map();
  const v: TensorDict = new Map();
  for (const [name, t] of moments.tensors) {
    if (name.startsWith(M_PREFIX)) m.set(name.slice(M_PREFIX.length), t);
    else if (name.startsWith(V_PREFIX)) v.set(name.slice(V_PREFIX.length), t);
    else throw new Error(`${optimizerPath}: unexpected tensor '${name}'`);
  }
  return { weights: contents.tensors, optimizer: { step: state.step, m, v }, state };
}
