import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { runCli } from '../../src/cli/run';
import { evalCommand } from '../../src/cli/commands/eval';
import { studyCommand } from '../../src/cli/commands/study';
import { generateSyntheticSet, writeSyntheticCsvDataset } from '../../src/demo/synthetic';
import { loadDataset } from '../../src/data';
import { constantPredictions, formatPredictions, meanShape } from '../../src/eval';
import { describeWithSharedData, SHARED_DATA } from '../util/shared-data';

/** Runs `lmk ...` in-process; returns stdout, stderr and the exit code. */
async function lmk(...argv: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { out += String(c); return true; });
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { err += String(c); return true; });
  process.exitCode = 0;
  try {
    await runCli('lmk', argv, [evalCommand, studyCommand]);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

describe('lmk eval and lmk study --plan', () => {
  let dir: string;
  const trainCases = generateSyntheticSet({ count: 2, seed: 4 });
  const testCases = generateSyntheticSet({ count: 3, seed: 4, firstIndex: 50 });
  const writeShifted = (name: string, dx: number): void =>
    writeFileSync(join(dir, name), testCases.map((c) => JSON.stringify({ id: `images/${c.id}.png`, landmarks: c.landmarks.map(([x, y]) => [x + dx, y]) })).join('\n'));
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lmk-eval-cli-'));
    await writeSyntheticCsvDataset(join(dir, 'set'), trainCases, { spacingMm: 0.25, testCases });
    writeShifted('p.jsonl', 8);
    writeShifted('far.jsonl', 200);
    // The test cases alone, every row in the test split: no training items.
    await writeSyntheticCsvDataset(join(dir, 'test-only'), testCases.slice(0, 1), { spacingMm: 0.25, testCases: testCases.slice(1) });
    const csv = join(dir, 'test-only', 'landmarks.csv');
    writeFileSync(csv, readFileSync(csv, 'utf8').replace(/,train$/gm, ',test'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('--json on the test split: 8 px at 0.25 mm/px is 2 mm', async () => {
    const r = await lmk('eval', '--format', 'csv', '--root', join(dir, 'set'), '--predictions', join(dir, 'p.jsonl'), '--json', '--thresholds', '1.5,2,2.5');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.n_images).toBe(3);
    expect(j.mre.unit).toBe('mm');
    expect(j.mre.value).toBeCloseTo(2, 3);
    expect(Object.keys(j.sdr)).toEqual(['2', '1.5', '2.5']); // integer-like keys first once parsed; the text keeps them ascending
    expect(r.out.indexOf('"1.5"')).toBeLessThan(r.out.indexOf('"2"'));
    expect(j.per_landmark).toHaveLength(7);
  });

  test('a readable table without --json; one-line errors with the file named', async () => {
    const r = await lmk('eval', '--format', 'csv', '--root', join(dir, 'set'), '--predictions', join(dir, 'p.jsonl'));
    expect(r.out).toMatch(/MRE \(mm\)/);
    const missing = await lmk('eval', '--format', 'csv', '--root', join(dir, 'set'), '--predictions', join(dir, 'nope.jsonl'));
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--predictions');
    const both = await lmk('eval', '--format', 'csv', '--root', join(dir, 'set'));
    expect(both.err).toContain('give exactly one of --predictions and --model');
    const train = await lmk('eval', '--format', 'csv', '--root', join(dir, 'set'), '--predictions', join(dir, 'p.jsonl'), '--split', 'train');
    expect(train.code).toBe(1);
    expect(train.err).toMatch(/p\.jsonl: no prediction for 2 of 2 images/);
  });

  test('the mean shape of the training rows is scored beside the model on the same images', async () => {
    // Expected by hand: every landmark at the mean of the two training cases, distances x 0.25 mm.
    const mean = trainCases[0].landmarks.map((_, j) => [0, 1].map((k) => (trainCases[0].landmarks[j][k] + trainCases[1].landmarks[j][k]) / 2));
    const errors = testCases.flatMap((c) => c.landmarks.map(([x, y], j) => 0.25 * Math.hypot(x - mean[j][0], y - mean[j][1])));
    const expected = errors.reduce((a, b) => a + b, 0) / errors.length;
    const r = await lmk('eval', '--format', 'csv', '--root', join(dir, 'set'), '--predictions', join(dir, 'p.jsonl'), '--json');
    const j = JSON.parse(r.out);
    expect(j.baseline.n_train).toBe(2);
    expect(j.baseline.mre.unit).toBe('mm');
    expect(j.baseline.mre.value).toBeCloseTo(expected, 3);
    expect(Object.keys(j.baseline.sdr).sort()).toEqual(['2', '2.5', '3', '4']);
    expect(expected).toBeGreaterThan(2); // so the 2 mm model is better and no warning is due
    expect(r.err).toBe('');
    const text = await lmk('eval', '--format', 'csv', '--root', join(dir, 'set'), '--predictions', join(dir, 'p.jsonl'));
    expect(text.out).toMatch(new RegExp(`^mean shape +3 +7 +${expected.toFixed(2)} `, 'm'));
    expect(text.out).toMatch(/^model +3 +7 +2\.00 /m);
    expect(text.out).toContain('over the 2 training items');
  });

  test('a model worse than the mean shape is told so in one line', async () => {
    const r = await lmk('eval', '--format', 'csv', '--root', join(dir, 'set'), '--predictions', join(dir, 'far.jsonl'));
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^lmk eval: the model is worse than the mean shape: MRE 50\.00 mm against \d+\.\d\d mm with every landmark at its training mean\n$/);
    const json = await lmk('eval', '--format', 'csv', '--root', join(dir, 'set'), '--predictions', join(dir, 'far.jsonl'), '--json');
    expect(JSON.parse(json.out).mre.value).toBeCloseTo(50, 3);
    expect(json.err).toContain('the model is worse than the mean shape');
  });

  test('no training split: no baseline, said in text, key absent in --json', async () => {
    const text = await lmk('eval', '--format', 'csv', '--root', join(dir, 'test-only'), '--predictions', join(dir, 'p.jsonl'));
    expect(text.code).toBe(0);
    expect(text.out).not.toContain('mean shape');
    expect(text.err).toBe(`lmk eval: no baseline: ${join(dir, 'test-only')} has no training split\n`);
    const json = await lmk('eval', '--format', 'csv', '--root', join(dir, 'test-only'), '--predictions', join(dir, 'far.jsonl'), '--json');
    expect(JSON.parse(json.out).baseline).toBeUndefined();
    expect(json.err).toBe('');
  });

  test('lmk study --plan lists the 15 chains', async () => {
    const r = await lmk('study', '--plan');
    expect(r.code).toBe(0);
    expect(r.out.split('\n').filter((l) => /-> fine-tune on/.test(l))).toHaveLength(15);
  });
});

describeWithSharedData('lmk eval on ISBI 2015 with the mean shape as the baseline', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'lmk-eval-isbi-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('Test1 (151-300) against the mean of 001-150: MRE 9.63 mm, SDR 4.0 / 6.5 / 9.1 / 15.6 %; a model 5 mm off it is worse', async () => {
    const root = join(SHARED_DATA as string, 'isbi2015');
    const train = await loadDataset({ format: 'isbi2015', root, split: 'train' });
    const test = await loadDataset({ format: 'isbi2015', root, split: 'test' });
    expect(test.items.map((i) => i.id)).toEqual(Array.from({ length: 150 }, (_, k) => String(151 + k)));
    // Predictions 30 px right and 40 px down of the mean shape: 5 mm from it everywhere.
    const shape = meanShape(train.items).map(([x, y]): [number, number] => [x + 30, y + 40]);
    const predictions = [...constantPredictions(test.items, shape)].map(([id, landmarks]) => ({ id, landmarks }));
    writeFileSync(join(dir, 'offset.jsonl'), formatPredictions(predictions));
    const r = await lmk('eval', '--format', 'isbi2015', '--root', root, '--predictions', join(dir, 'offset.jsonl'), '--json');
    expect(r.code).toBe(0);
    const { baseline, mre } = JSON.parse(r.out);
    expect(baseline.n_train).toBe(150);
    expect(baseline.mre.unit).toBe('mm');
    expect(baseline.mre.value).toBeCloseTo(9.63, 2);
    const sdr = [baseline.sdr['2'], baseline.sdr['2.5'], baseline.sdr['3'], baseline.sdr['4']];
    [4.0, 6.5, 9.1, 15.6].forEach((v, k) => expect(sdr[k]).toBeCloseTo(v, 1));
    expect(mre.value).toBeGreaterThan(baseline.mre.value);
    expect(r.err).toMatch(/^lmk eval: the model is worse than the mean shape: MRE \d+\.\d\d mm against 9\.63 mm/);
  });
});
