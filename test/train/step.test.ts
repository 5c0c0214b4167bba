import { readFileSync } from 'fs';
import { join } from 'path';
import { LossName } from '../../src/train/step-graph';
import { TrainStep } from '../../src/train/step';
import { compileTrainStep } from '../../src/train/step-graph';
import { formulaBatch, formulaWeights, tinyNet } from './tiny-net';
import { cudaProviderProblem, cudaProviderStatus } from '../../src/infer';

interface TorchRun { loss: LossName; lr: number; weightDecay: number; losses: number[]; 'bn3.running_var': number[]; 'head.bias': number[] }
const TORCH: { runs: TorchRun[] } = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'tiny-torch-losses.json'), 'utf8'));

const B = 2, K = 2, H = 16, W = 16;
const options = (loss: LossName = 'mse', weightDecay = 0) => ({ batch: B, inChannels: 3, height: H, width: W, classes: K, loss, weightDecay, network: tinyNet(K) });

async function tinyStep(loss: LossName = 'mse', weightDecay = 0): Promise<TrainStep> {
  const params = compileTrainStep(options(loss, weightDecay)).params;
  return TrainStep.create(options(loss, weightDecay), formulaWeights(params), { threads: 1 });
}

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe('TrainStep agrees with PyTorch on a tiny net (losses recorded by scripts/parity/tiny_step.py)', () => {
  for (const run of TORCH.runs) {
    test(`${run.loss}, weight decay ${run.weightDecay}: 10 Adam steps`, async () => {
      const step = await tinyStep(run.loss, run.weightDecay);
      try {
        const losses: number[] = [];
        for (let s = 0; s < run.losses.length; s++) {
          const { images, targets } = formulaBatch(s, B, K, H, W);
          losses.push(await step.run(images, targets, run.lr));
        }
        // Measured: at most 3e-7 relative on every step (float32 rounding; ORT and PyTorch sum in different orders).
        expect(relErr(losses[0], run.losses[0])).toBeLessThan(1e-6);
        for (let s = 1; s < losses.length; s++) expect(relErr(losses[s], run.losses[s])).toBeLessThan(1e-5);
        const state = step.stateDict();
        Array.from(state.get('bn3.running_var')!.data).forEach((v, i) => expect(relErr(v, run['bn3.running_var'][i])).toBeLessThan(1e-5));
        // A spatial softmax ignores a constant added to a whole channel: the head bias's gradient is 0 up to
        // rounding, which Adam scales to lr-sized steps of either sign, so it is compared where it is determined.
        if (run.loss !== 'softmax_ce') Array.from(state.get('head.bias')!.data).forEach((v, i) => expect(Math.abs(v - run['head.bias'][i])).toBeLessThan(1e-6));
        if (process.env.LMK_PRINT_PARITY) console.log(run.loss, losses.map((l, s) => relErr(l, run.losses[s]).toExponential(1)).join(' '));
        expect(step.step).toBe(run.losses.length);
      } finally {
        await step.release();
      }
    });
  }
});

/** Runs only where the CUDA provider loads (a GPU machine after `lmk setup cuda`); skipped elsewhere. */
(cudaProviderProblem() === undefined ? describe : describe.skip)('TrainStep on CUDA', () => {
  test('the tiny net\'s 10 Adam steps agree with PyTorch as on the CPU', async () => {
    const run = TORCH.runs[0];
    const params = compileTrainStep(options(run.loss, run.weightDecay)).params;
    const step = await TrainStep.create(options(run.loss, run.weightDecay), formulaWeights(params), { executionProvider: 'cuda' });
    try {
      const losses: number[] = [];
      for (let s = 0; s < run.losses.length; s++) {
        const { images, targets } = formulaBatch(s, B, K, H, W);
        losses.push(await step.run(images, targets, run.lr));
      }
      if (process.env.LMK_PRINT_PARITY) console.log('cuda', losses.map((l, s) => relErr(l, run.losses[s]).toExponential(1)).join(' '));
      // cuDNN may pick other algorithms (TF32 convolutions included) than the CPU: a looser bound than the CPU's 1e-5.
      for (let s = 0; s < losses.length; s++) expect(relErr(losses[s], run.losses[s])).toBeLessThan(1e-3);
    } finally {
      await step.release();
    }
  });
});

describe('TrainStep state', () => {
  test('weights and optimizer state exported mid-run continue exactly in a new session', async () => {
    const straight = await tinyStep();
    const first = await tinyStep();
    const batches = Array.from({ length: 6 }, (_, s) => formulaBatch(s, B, K, H, W));
    try {
      const expected: number[] = [];
      for (const b of batches) expected.push(await straight.run(b.images, b.targets, 1e-2));
      for (const b of batches.slice(0, 3)) await first.run(b.images, b.targets, 1e-2);
      const resumed = await TrainStep.create(options(), first.stateDict(), { threads: 1 });
      try {
        resumed.loadOptimizerState(first.optimizerState());
        expect(resumed.step).toBe(3);
        const rest: number[] = [];
        for (const b of batches.slice(3)) rest.push(await resumed.run(b.images, b.targets, 1e-2));
        expect(rest).toEqual(expected.slice(3));
      } finally {
        await resumed.release();
      }
    } finally {
      await straight.release();
      await first.release();
    }
  });

  test('a non-finite loss is returned and leaves the state untouched', async () => {
    const step = await tinyStep();
    try {
      const { images, targets } = formulaBatch(0, B, K, H, W);
      const before = step.stateDict();
      const bad = targets.slice();
      bad[5] = Number.NaN;
      expect(Number.isNaN(await step.run(images, bad, 1e-2))).toBe(true);
      expect(step.step).toBe(0);
      expect(step.stateDict()).toEqual(before);
    } finally {
      await step.release();
    }
  });

  test('bad inputs fail with clear messages', async () => {
    expect(() => compileTrainStep({ ...options(), loss: 'l1' as LossName })).toThrow(/loss must be one of mse, bce, adaptive_wing/);
    expect(() => compileTrainStep({ ...options(), batch: 0 })).toThrow(/batch must be a positive integer/);
    expect(() => compileTrainStep({ ...options(), classes: 3 })).toThrow(/outputs \[2,2,16,16\], targets are \[2,3,16,16\]/);
    await expect(TrainStep.create(options(), new Map())).rejects.toThrow(/weights: missing tensor 'c1.weight'/);
    const step = await tinyStep();
    try {
      await expect(step.run(new Float32Array(3), new Float32Array(B * K * H * W), 1e-3)).rejects.toThrow(/images have 3 values, expected \[2,3,16,16\]/);
    } finally {
      await step.release();
    }
  });

  test('the CUDA provider is refused in one line where it is not installed', async () => {
    if (cudaProviderStatus().installed) return; // a CUDA machine runs the step there instead
    await expect(TrainStep.create(options(), new Map(), { executionProvider: 'cuda' }))
      .rejects.toThrow(/^train step: the CUDA execution provider is not installed .*lmk setup cuda/);
  });
});
