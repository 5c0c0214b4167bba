/**
 * Learning-rate schedule and early stopping, driven once per epoch by the monitored loss.
 * Both keep their whole state in plain JSON objects so that checkpoints restore them exactly.
 */

export interface PlateauOptions {
  /** Multiplies the learning rate on a plateau. PyTorch's default 0.1. */
  factor: number;
  /** Epochs without improvement tolerated before the rate drops. PyTorch's default 10. */
  patience: number;
  /** Relative improvement that counts ('rel' mode). PyTorch's default 1e-4. */
  threshold: number;
  /** Epochs to wait after a drop before counting again. PyTorch's default 0. */
  cooldown: number;
  /** Lower bound of the rate. PyTorch's default 0. */
  minLr: number;
}

export type LrSchedule = 'plateau' | 'cosine';
export const LR_SCHEDULES: readonly LrSchedule[] = ['plateau', 'cosine'];

/**
 * The cosine schedule's rate at `step` (steps done) and `progress` (fraction of the run done, 0 to 1):
 * a linear warm-up from base / 100 over `warmupSteps`, then base down to `min` along a half cosine.
 */
export function cosineLr(base: number, min: number, warmupSteps: number, step: number, progress: number): number {
  if (step < warmupSteps) return base * (0.01 + 0.99 * step / warmupSteps);
  const p = Math.min(1, Math.max(0, progress));
  return min + (base - min) * 0.5 * (1 + Math.cos(Math.PI * p));
}

export const DEFAULT_PLATEAU: PlateauOptions = { factor: 0.1, patience: 10, threshold: 1e-4, cooldown: 0, minLr: 0 };

export interface PlateauState {
  lr: number;
  best: number | null;
  badEpochs: number;
  cooldownLeft: number;
}

/** torch.optim.lr_scheduler.ReduceLROnPlateau(mode='min', threshold_mode='rel'), step by step. */
export class ReduceLROnPlateau {
  private s: PlateauState;

  constructor(readonly options: PlateauOptions, lr: number, state?: PlateauState) {
    this.s = state ? { ...state } : { lr, best: null, badEpochs: 0, cooldownLeft: 0 };
  }

  get lr(): number {
    return this.s.lr;
  }

  state(): PlateauState {
    return { ...this.s };
  }

  /** Records an epoch's monitored loss; returns true when the rate dropped. */
  step(loss: number): boolean {
    const o = this.options;
    const s = this.s;
    if (s.best === null || loss < s.best * (1 - o.threshold)) {
      s.best = loss;
      s.badEpochs = 0;
    } else {
      s.badEpochs++;
    }
    if (s.cooldownLeft > 0) {
      s.cooldownLeft--;
      s.badEpochs = 0;
    }
    if (s.badEpochs > o.patience) {
      const next = Math.max(s.lr * o.factor, o.minLr);
      s.cooldownLeft = o.cooldown;
      s.badEpochs = 0;
      // PyTorch ignores changes smaller than its eps (1e-8).
      if (s.lr - next > 1e-8) {
        s.lr = next;
        return true;
      }
    }
    return false;
  }
}

export interface EarlyStoppingState {
  best: number | null;
  bestEpoch: number;
  badEpochs: number;
}

/** Stops when the monitored loss has not improved for `patience` epochs in a row. */
export class EarlyStopping {
  private s: EarlyStoppingState;

  constructor(readonly patience: number, state?: EarlyStoppingState) {
    this.s = state ? { ...state } : { best: null, bestEpoch: 0, badEpochs: 0 };
  }

  state(): EarlyStoppingState {
    return { ...this.s };
  }

  get bestEpoch(): number {
    return this.s.bestEpoch;
  }

  /** Records epoch `epoch`'s loss; returns whether it is the best so far. */
  record(epoch: number, loss: number): boolean {
    if (this.s.best === null || loss < this.s.best) {
      this.s = { best: loss, bestEpoch: epoch, badEpochs: 0 };
      return true;
    }
    this.s.badEpochs++;
    return false;
  }

  get shouldStop(): boolean {
    return this.s.badEpochs >= this.patience;
  }
}
