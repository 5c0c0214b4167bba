import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadDataset } from '../../src/data';
import { DEFAULT_AUGMENT } from '../../src/data/augment';
import { Predictor } from '../../src/infer';
import { parseModel } from '../../src/onnx';
import { BatchMaker } from '../../src/train/batches';
import { EpochInfo, train } from '../../src/train/loop';
import { writeMarkerSet } from './loop-data';

/** A few seconds of CPU each; the ceiling leaves room for a machine shared with other jobs. */
const SLOW_TEST_MS = 300_000;

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'lmk-loop-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('batches', () => {
  test('samples are padded to multiples of 32 like the Predictor, and workers make the same batches as the main thread', async () => {
    const root = join(dir, 'padding');
    await writeMarkerSet(root, 4, 40, 2);
    const { items } = await loadDataset({ format: 'csv', root });
    const config = { grid: { height: 36, width: 40 }, padded: { height: 64, width: 64 }, sigma: 2, classes: 2, inChannels: 3, augmentation: DEFAULT_AUGMENT };
    const requests = [{ item: 2, augmentSeed: 77 }, { item: 0, augmentSeed: null }];
    const onWorker = new BatchMaker(items, config, 1);
    const onMain = new BatchMaker(items, config, 0);
    const [a, b] = await Promise.all([onWorker.make(requests), onMain.make(requests)]).finally(() => Promise.all([onWorker.close(), onMain.close()]));
    expect(a).toEqual(b);

    const plane = 64 * 64;
    expect(a.images).toHaveLength(2 * 3 * plane);
    expect(a.targets).toHaveLength(2 * 2 * plane);
    // Sample 1 (item 0, not augmented): zeros right of column 40 and below row 36; the peak of each target
    // at its landmark on the 36 x 40 grid (rows scaled by 36/40).
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
        if (x >= 40 || y >= 36) expect(a.images[(3 + c) * plane + y * 64 + x]).toBe(0);
      }
    }
    for (let k = 0; k < 2; k++) {
      const t = a.targets.subarray((2 + k) * plane, (3 + k) * plane);
      const peak = t.indexOf(Math.max(...t));
      const [lx, ly] = items[0].landmarks[k];
      expect(peak % 64).toBe(Math.round(lx));
      expect(Math.floor(peak / 64)).toBe(Math.round((ly + 0.5) * 36 / 40 - 0.5));
      expect([a.gridLandmarks[1][2 * k], a.gridLandmarks[1][2 * k + 1]]).toEqual([expect.closeTo(lx, 4), expect.closeTo((ly + 0.5) * 36 / 40 - 0.5, 4)]);
    }
  }, SLOW_TEST_MS);

  test('batches still in flight when the maker closes are rejected as closed, not as a failed worker, and none goes unhandled', async () => {
    const root = join(dir, 'closing');
    await writeMarkerSet(root, 2, 40, 2);
    const { items } = await loadDataset({ format: 'csv', root });
    const config = { grid: { height: 36, width: 40 }, padded: { height: 64, width: 64 }, sigma: 2, classes: 2, inChannels: 3, augmentation: DEFAULT_AUGMENT };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => { unhandled.push(reason); };
    process.on('unhandledRejection', onUnhandled);
    try {
      const maker = new BatchMaker(items, config, 1);
      const awaited = maker.make([{ item: 0, augmentSeed: 1 }]);
      // Asked for ahead and never awaited, as the training loop's prefetched batches are when a run stops.
      maker.make([{ item: 1, augmentSeed: 2 }]);
      await maker.close();
      await expect(awaited).rejects.toThrow('batch maker closed');
      await new Promise((done) => setTimeout(done, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  }, SLOW_TEST_MS);
});

describe('train', () => {
  test('drives the landmark error down on a small synthetic set (data, targets, workers, decoding)', async () => {
    const root = join(dir, 'markers');
    await writeMarkerSet(root, 40, 32, 11);
    const { items } = await loadDataset({ format: 'csv', root });
    const [training, validation] = [items.slice(0, 32), items.slice(32)];
    const epochs: EpochInfo[] = [];
    const log = join(dir, 'log.jsonl');
    const result = await train({
      spec: { arch: 'unet', encoder: 'vgg19', classes: 2, inChannels: 3, widthMultiplier: 1 / 8 },
      train: training, validation, grid: { height: 32, width: 32 }, sigma: 2,
      loss: 'bce', lr: 3e-3, epochs: 10, augment: false, outDir: join(dir, 'run'), logFile: log, threads: 1, workers: 1,
    }, { onEpoch: (e) => epochs.push(e) });

    expect(result.status).toBe('finished');
    expect(result.steps).toBe(10 * 16);
    // The baseline: every landmark at its mean training position (about 9 px on this 32 px grid).
    const meanShape = [0, 1].map((k) => [0, 1].map((c) => training.reduce((sum, i) => sum + i.landmarks[k][c], 0) / training.length));
    const baseline = validation.reduce((sum, i) => sum + i.landmarks.reduce((t, [x, y], k) => t + Math.hypot(x - meanShape[k][0], y - meanShape[k][1]), 0), 0) / (2 * validation.length);
    // Eight validation images make the per-epoch error noisy: compare the first two epochs with the last three.
    const mean = (e: EpochInfo[]): number => e.reduce((sum, x) => sum + x.validationMre!, 0) / e.length;
    const early = mean(epochs.slice(0, 2));
    const late = mean(epochs.slice(-3));
    expect(early).toBeGreaterThan(baseline);
    expect(late).toBeLessThan(0.6 * early);
    expect(late).toBeLessThan(baseline);

    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const stepLines = lines.filter((l) => l.epoch === undefined);
    expect(stepLines.map((l) => l.step)).toEqual(Array.from({ length: 160 }, (_, i) => i + 1));
    expect(stepLines.every((l) => Object.keys(l).join() === 'step,loss' && Number.isFinite(l.loss))).toBe(true);
    const epochLines = lines.filter((l) => l.epoch !== undefined);
    expect(epochLines).toHaveLength(10);
    expect(Object.keys(epochLines[0]).sort()).toEqual(['epoch', 'lr', 'mre_unit', 'step', 'train_loss', 'val_loss', 'val_mre'].sort());

    const model = parseModel(readFileSync(result.onnxFile!));
    expect(model.metadata).toMatchObject({ 'lmk.arch': 'unet', 'lmk.classes': '2', 'lmk.grid_height': '32', 'lmk.grid_width': '32', 'lmk.sigma': '2', 'lmk.loss': 'bce' });
    // Trained with BCE: the model outputs probabilities, what the decoders expect.
    expect(model.graph.nodes[model.graph.nodes.length - 1]).toMatchObject({ opType: 'Sigmoid', outputs: ['heatmaps'] });
  }, SLOW_TEST_MS);

  test('softmax_ce trains past the mean shape with a cosine schedule; the exported model ends with the spatial softmax and the Predictor reads it', async () => {
    const root = join(dir, 'markers-softmax');
    await writeMarkerSet(root, 40, 32, 11);
    const { items } = await loadDataset({ format: 'csv', root });
    const [training, validation] = [items.slice(0, 32), items.slice(32)];
    const epochs: EpochInfo[] = [];
    const result = await train({
      spec: { arch: 'unet', encoder: 'vgg19', classes: 2, inChannels: 3, widthMultiplier: 1 / 8 },
      train: training, validation, grid: { height: 32, width: 32 }, sigma: 2, loss: 'softmax_ce', lr: 1e-2,
      lrSchedule: 'cosine', epochs: 10, augment: false, outDir: join(dir, 'run-softmax'), threads: 1, workers: 1,
    }, { onEpoch: (e) => epochs.push(e) });
    expect(result.status).toBe('finished');
    // The rate falls along the cosine from 1e-2 to 1e-4.
    expect(epochs[0].lr).toBeLessThan(1e-2);
    expect(epochs[9].lr).toBeLessThan(1.1e-4);
    expect(epochs.map((e) => e.lr)).toEqual([...epochs.map((e) => e.lr)].sort((a, b) => b - a));

    const model = parseModel(readFileSync(result.onnxFile!));
    expect(model.metadata).toMatchObject({ 'lmk.loss': 'softmax_ce', 'lmk.output': 'spatial-softmax' });
    expect(model.graph.nodes.map((n) => n.opType).slice(-4)).toEqual(['Reshape', 'Softmax', 'Shape', 'Reshape']);

    const meanShape = [0, 1].map((k) => [0, 1].map((c) => training.reduce((sum, i) => sum + i.landmarks[k][c], 0) / training.length));
    const predictor = await Predictor.create({ model: result.onnxFile!, threads: 1 });
    let error = 0;
    let baseline = 0;
    try {
      expect(predictor.outputKind).toBe('spatial-softmax');
      for (const item of validation) {
        const p = await predictor.predict(item.imagePath);
        p.landmarks.forEach(([x, y], k) => {
          error += Math.hypot(x - item.landmarks[k][0], y - item.landmarks[k][1]);
          baseline += Math.hypot(meanShape[k][0] - item.landmarks[k][0], meanShape[k][1] - item.landmarks[k][1]);
        });
        // Confidence is a probability mass.
        for (const s of p.scores) expect(s > 0 && s <= 1).toBe(true);
      }
    } finally {
      await predictor.release();
    }
    // The Predictor decodes the exported model as validation decoded the best epoch's weights.
    expect(error / (2 * validation.length)).toBeCloseTo(result.bestValidationMre!, 3);
    // Measured: 5.4 px against the mean shape's 9.7 px (bce on the same set: 3.9 to 8.9 px from epoch to epoch).
    expect(error).toBeLessThan(0.7 * baseline);
  }, SLOW_TEST_MS);

  test('a time limit ends the run after the step in progress with a validated model; --resume with a longer limit continues', async () => {
    const root = join(dir, 'markers-time');
    await writeMarkerSet(root, 10, 32, 4);
    const { items } = await loadDataset({ format: 'csv', root });
    const options = {
      spec: { arch: 'unet' as const, encoder: 'vgg19' as const, classes: 2, inChannels: 3 as const, widthMultiplier: 1 / 16 },
      train: items.slice(0, 8), validation: items.slice(8), grid: { height: 32, width: 32 }, sigma: 2, loss: 'softmax_ce' as const,
      lr: 1e-3, lrSchedule: 'cosine' as const, epochs: 1000, earlyStoppingPatience: 100_000, outDir: join(dir, 'run-time'), logFile: join(dir, 'time.jsonl'), threads: 1, workers: 0,
    };
    const started = performance.now();
    const first = await train({ ...options, timeLimitMinutes: 0.05 });
    expect(first.status).toBe('time-limit');
    expect(first.steps).toBeGreaterThan(0);
    expect(first.steps).toBeLessThan(4000);
    expect(performance.now() - started).toBeGreaterThan(3000);
    expect(first.bestValidationMre).toBeGreaterThan(0);
    const lines = readFileSync(options.logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[lines.length - 1]).toMatchObject({ step: first.steps, partial: true });
    expect(parseModel(readFileSync(first.onnxFile!)).metadata?.['lmk.output']).toBe('spatial-softmax');

    // The same limit again: nothing left to do; a longer one trains on.
    expect((await train({ ...options, timeLimitMinutes: 0.05, resume: true })).steps).toBe(first.steps);
    const second = await train({ ...options, timeLimitMinutes: 0.1, resume: true });
    expect(second.status).toBe('time-limit');
    expect(second.steps).toBeGreaterThan(first.steps);
  }, SLOW_TEST_MS);

  test('validates its options up front', async () => {
    const root = join(dir, 'small');
    await writeMarkerSet(root, 3, 32, 5);
    const { items } = await loadDataset({ format: 'csv', root });
    const base = { spec: { arch: 'unet' as const, encoder: 'vgg19' as const, classes: 2, inChannels: 3 as const, widthMultiplier: 1 / 16 }, train: items, grid: { height: 32, width: 32 }, sigma: 2, outDir: join(dir, 'bad') };
    await expect(train({ ...base, batch: 4 })).rejects.toThrow('3 training item(s) cannot fill a batch of 4');
    await expect(train({ ...base, epochs: 2, steps: 3 })).rejects.toThrow('give epochs or steps, not both');
    await expect(train({ ...base, lr: -1 })).rejects.toThrow('learning rate must be a positive number');
    await expect(train({ ...base, spec: { ...base.spec, classes: 3 } })).rejects.toThrow(/2 landmarks, the model has 3 classes/);
    await expect(train({ ...base, validation: [items[0]] })).rejects.toThrow(/in both the training and the validation items/);
    await expect(train({ ...base, resume: true })).rejects.toThrow(/no checkpoint to resume from/);
  });
});
