import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadDataset } from '../../src/data';
import { generateSyntheticSet, writeSyntheticCsvDataset } from '../../src/demo/synthetic';
import { evaluateMeanShape } from '../../src/eval';
import { Evaluate, predictorEvaluate } from '../../src/study';
import { brightestSpotModel } from '../predict/helpers';

describe('predictorEvaluate (the scorer behind lmk cv and lmk study)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lmk-backends-'));
    const cases = { train: generateSyntheticSet({ count: 4, seed: 2 }), testCases: generateSyntheticSet({ count: 3, seed: 2, firstIndex: 10 }) };
    for (const name of ['set', 'test-only']) await writeSyntheticCsvDataset(join(dir, name), cases.train, { spacingMm: 0.5, testCases: cases.testCases });
    // Every row of the second set in the test split: a data set without training items.
    const csv = join(dir, 'test-only', 'landmarks.csv');
    writeFileSync(csv, readFileSync(csv, 'utf8').replace(/,train$/gm, ',test'));
    writeFileSync(join(dir, 'spot.onnx'), brightestSpotModel(7));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Scores the test split of the csv set `name`, the baseline taken over its training split. */
  const evaluateSet = (name: string): ReturnType<Evaluate> => predictorEvaluate('physical', 1)({
    runId: 'r', model: join(dir, 'spot.onnx'), outDir: dir,
    data: { format: 'csv', root: join(dir, name), split: 'test' }, trainData: { format: 'csv', root: join(dir, name), split: 'train' },
  });

  test('scores the model and the mean shape of the training selection on the same images', async () => {
    const root = join(dir, 'set');
    const outcome = await evaluateSet('set');
    expect(outcome.summary.n_images).toBe(3);
    const train = await loadDataset({ format: 'csv', root, split: 'train' });
    const test = await loadDataset({ format: 'csv', root, split: 'test' });
    expect(outcome.baseline).toEqual(evaluateMeanShape(train.items, test));
    expect(outcome.baseline?.n_train).toBe(4);
  });

  test('no baseline when the training selection is empty', async () => {
    const outcome = await evaluateSet('test-only');
    expect(outcome.summary.n_images).toBe(7);
    expect(outcome.baseline).toBeUndefined();
  });
});
