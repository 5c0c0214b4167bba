import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadDataset } from '../../src/data';
import { parseModel } from '../../src/onnx';
import { EpochInfo, train } from '../../src/train/loop';
import { writeMarkerSet } from './loop-data';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'lmk-loop-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('train', () => {
  test('drives the landmark error down on a small synthetic set (data, targets, workers, decoding)', async () => {
    const root = join(dir, 'markers');
    await writeMarkerSet(root, 24, 32, 11);
    const { items } = await loadDataset({ format: 'csv', root });
    const epochs: EpochInfo[] = [];
    const log = join(dir, 'log.jsonl');
    const result = await train({
      spec: { arch: 'unet', encoder: 'vgg19', classes: 2, inChannels: 3, widthMultiplier: 1 / 8 },
      train: items.slice(0, 16), validation: items.slice(16), grid: { height: 32, width: 32 }, sigma: 2,
      loss: 'bce', lr: 3e-3, epochs: 12, augment: false, outDir: join(dir, 'run'), logFile: log, threads: 1, workers: 1,
    }, { onEpoch: (e) => epochs.push(e) });

    expect(result.status).toBe('finished');
    expect(result.steps).toBe(12 * 8);
    const first = epochs[0].validationMre!;
    const last = epochs[epochs.length - 1].validationMre!;
    // After the first epoch the error is a guess's (12-15 px on a 32 px grid); training brings it to a few pixels (4.2 here).
    expect(first).toBeGreaterThan(10);
    expect(last).toBeLessThan(first / 2.5);
    expect(last).toBeLessThan(6);

    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const stepLines = lines.filter((l) => l.epoch === undefined);
    expect(stepLines.map((l) => l.step)).toEqual(Array.from({ length: 96 }, (_, i) => i + 1));
    expect(stepLines.every((l) => Object.keys(l).join() === 'step,loss' && Number.isFinite(l.loss))).toBe(true);
    const epochLines = lines.filter((l) => l.epoch !== undefined);
    expect(epochLines).toHaveLength(12);
    expect(Object.keys(epochLines[0]).sort()).toEqual(['epoch', 'lr', 'mre_unit', 'step', 'train_loss', 'val_loss', 'val_mre'].sort());

    const model = parseModel(readFileSync(result.onnxFile!));
    expect(model.metadata).toMatchObject({ 'lmk.arch': 'unet', 'lmk.classes': '2', 'lmk.grid_height': '32', 'lmk.grid_width': '32', 'lmk.sigma': '2' });
  });

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
