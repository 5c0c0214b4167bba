import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadDataset, LandmarkItem } from '../../src/data';
import { loadWeights } from '../../src/models';
import { loadCheckpoint } from '../../src/train/checkpoint';
import { train, TrainOptions } from '../../src/train/loop';
import { TrainStep } from '../../src/train/step';
import { EarlyStopping, ReduceLROnPlateau, DEFAULT_PLATEAU } from '../../src/train/schedule';
import { writeMarkerSet } from './loop-data';

/** A few seconds of CPU each; the ceiling leaves room for a machine shared with other jobs. */
const SLOW_TEST_MS = 300_000;

let dir: string;
let items: LandmarkItem[];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmk-ckpt-'));
  await writeMarkerSet(join(dir, 'data'), 10, 32, 3);
  items = (await loadDataset({ format: 'csv', root: join(dir, 'data') })).items;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = { arch: 'unet' as const, encoder: 'vgg19' as const, classes: 2, inChannels: 3 as const, widthMultiplier: 1 / 16 };

function options(name: string, workers: number): TrainOptions {
  return {
    spec, train: items.slice(0, 8), validation: items.slice(8), grid: { height: 32, width: 32 }, sigma: 2, lr: 1e-3, epochs: 2,
    outDir: join(dir, name), logFile: join(dir, `${name}.jsonl`), threads: 1, workers, plateau: { patience: 0 },
  };
}

const logLines = (name: string): object[] => readFileSync(join(dir, `${name}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('checkpoints and --resume', () => {
  test('a run interrupted mid-epoch and resumed gives the same losses, schedule and weights as an uninterrupted one', async () => {
    const whole = await train(options('whole', 1));
    expect(whole.status).toBe('finished');
    expect(whole.steps).toBe(8);

    // Interrupted after step 6 (the middle of epoch 2), one step per run, then resumed with batches made on
    // the main thread and blocks of 3 steps (the whole run: blocks of up to 8, one per epoch here).
    const controller = new AbortController();
    const first = await train({ ...options('split', 1), stepsPerRun: 1 }, { signal: controller.signal, onStep: (s) => { if (s.step === 6) controller.abort(); } });
    expect(first.status).toBe('interrupted');
    expect(first.steps).toBe(6);
    const saved = await loadCheckpoint(join(dir, 'split', 'checkpoint.safetensors'));
    expect(saved.state).toMatchObject({ step: 6, epoch: 1, batchInEpoch: 2, finished: false });
    const resumed = await train({ ...options('split', 0), stepsPerRun: 3, resume: true });
    expect(resumed.status).toBe('finished');

    expect(logLines('split')).toEqual(logLines('whole'));
    const a = await loadCheckpoint(join(dir, 'whole', 'checkpoint.safetensors'));
    const b = await loadCheckpoint(join(dir, 'split', 'checkpoint.safetensors'));
    expect(b.state.plateau).toEqual(a.state.plateau);
    for (const [name, t] of a.weights) expect(b.weights.get(name)!.data).toEqual(t.data);
    for (const [name, t] of a.optimizer.v) expect(b.optimizer.v.get(name)!.data).toEqual(t.data);
    // patience 0: the rate drops whenever the validation loss fails to improve; it is part of what must continue exactly.
    expect(a.state.plateau.lr).toBeLessThanOrEqual(1e-3);

    // The checkpoint is a plain smp weights file; one optimizer file sits beside it.
    const weights = await loadWeights(join(dir, 'whole', 'checkpoint.safetensors'), spec);
    expect(weights.get('segmentation_head.0.weight')!.data).toEqual(a.weights.get('segmentation_head.0.weight')!.data);
    expect(readdirSync(join(dir, 'whole')).filter((f) => f.startsWith('optimizer-'))).toEqual(['optimizer-8.safetensors']);

    // Resuming a finished run trains no more and hands back its model.
    expect(await train({ ...options('whole', 0), resume: true })).toMatchObject({ status: 'finished', steps: 8, epochs: 2 });
    // A larger --epochs extends it.
    expect(await train({ ...options('whole', 0), epochs: 3, resume: true })).toMatchObject({ status: 'finished', steps: 12, epochs: 3 });
    expect(logLines('whole')).toHaveLength(12 + 3);
    await expect(train({ ...options('split', 0), resume: true, sigma: 3 })).rejects.toThrow(/cannot resume with different settings: sigma was 2, now 3/);
    await expect(train(options('whole', 0))).rejects.toThrow(/a run already lives here; pass --resume/);
  }, SLOW_TEST_MS);

  test('blocks of steps per run end at checkpoints and epochs, give the losses of single steps, and an abort lands at the end of the block', async () => {
    const blocks = jest.spyOn(TrainStep.prototype, 'runBlock');
    try {
      const single = await train({ ...options('single', 0), stepsPerRun: 1, checkpointEvery: 3 });
      expect(blocks.mock.calls.map((c) => c[0].length)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
      blocks.mockClear();
      const blocked = await train({ ...options('blocked', 0), stepsPerRun: 8, checkpointEvery: 3 });
      // Epochs of 4 steps, checkpoints at 3 and 6.
      expect(blocks.mock.calls.map((c) => c[0].length)).toEqual([3, 1, 2, 2]);
      expect(logLines('blocked')).toEqual(logLines('single'));
      for (const [name, t] of single.weights!) expect(blocked.weights!.get(name)!.data).toEqual(t.data);

      blocks.mockClear();
      const controller = new AbortController();
      const stopped = await train({ ...options('aborted', 0), stepsPerRun: 8 }, { signal: controller.signal, onStep: (s) => { if (s.step === 2) controller.abort(); } });
      expect(stopped).toMatchObject({ status: 'interrupted', steps: 4 });
      expect((await loadCheckpoint(join(dir, 'aborted', 'checkpoint.safetensors'))).state).toMatchObject({ step: 4, epoch: 0, batchInEpoch: 4 });
    } finally {
      blocks.mockRestore();
    }
  }, SLOW_TEST_MS);

  test('in a block, a non-finite loss stops the run at its step, the steps before it logged', async () => {
    const run = train({ ...options('diverged', 0), stepsPerRun: 4, lr: 1e30 });
    await expect(run).rejects.toThrow(/^training diverged: the loss of step \d+ is (NaN|-?Infinity); stopped, no checkpoint was written yet/);
    const bad = Number(/step (\d+)/.exec(((await run.catch((e: Error) => e)) as Error).message)![1]);
    expect(bad).toBeGreaterThan(1);
    expect(logLines('diverged')).toEqual(Array.from({ length: bad - 1 }, (_, i) => ({ step: i + 1, loss: expect.any(Number) })));
  }, SLOW_TEST_MS);

  test('--init-weights takes an earlier run and starts a new head when the landmark count differs', async () => {
    const source = join(dir, 'whole', 'model.safetensors');
    const oneLandmark = items.map((i) => ({ ...i, landmarks: i.landmarks.slice(0, 1) }));
    const result = await train({
      ...options('finetune', 0), spec: { ...spec, classes: 1 }, train: oneLandmark.slice(0, 8), validation: [], epochs: undefined, steps: 1, initWeights: source,
    });
    const before = await loadWeights(source, spec);
    const after = await loadCheckpoint(result.checkpoint);
    expect(after.weights.get('segmentation_head.0.weight')!.dims).toEqual([1, before.get('segmentation_head.0.weight')!.dims[1], 3, 3]);
    // One Adam step moves every weight by about lr; the encoder came from the earlier run.
    const w0 = before.get('encoder.features.0.weight')!.data;
    const w1 = after.weights.get('encoder.features.0.weight')!.data;
    expect(Math.max(...w0.map((v, i) => Math.abs(v - w1[i])))).toBeLessThan(2e-3);
  }, SLOW_TEST_MS);
});

describe('schedules', () => {
  test('ReduceLROnPlateau follows PyTorch (mode min, relative threshold, patience, cooldown, min_lr)', () => {
    const s = new ReduceLROnPlateau({ ...DEFAULT_PLATEAU, patience: 2, factor: 0.5, cooldown: 1, minLr: 0.2 }, 1);
    // torch: 1.0 best; 0.99995 is not better than 1 * (1 - 1e-4); two more bad epochs exceed patience 2.
    const lrs = [1, 0.99995, 1, 1, 1, 1, 1, 1, 1, 1].map((loss) => { s.step(loss); return s.lr; });
    expect(lrs).toEqual([1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]);
    s.step(1); s.step(1); s.step(1); s.step(1);
    expect(s.lr).toBe(0.2);
    const restored = new ReduceLROnPlateau(s.options, 123, s.state());
    expect(restored.lr).toBe(0.2);
    expect(restored.state()).toEqual(s.state());
  });

  test('early stopping counts epochs without improvement', () => {
    const e = new EarlyStopping(2);
    expect([3, 2, 2.5, 1, 1, 1].map((loss, i) => e.record(i + 1, loss))).toEqual([true, true, false, true, false, false]);
    expect(e.bestEpoch).toBe(4);
    expect(e.shouldStop).toBe(true);
  });
});
