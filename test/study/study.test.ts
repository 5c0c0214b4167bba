import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { generateSyntheticSet, SyntheticCase, writeSyntheticCsvDataset } from '../../src/demo/synthetic';
import type { FormatName, LandmarkItem, Point } from '../../src/data/types';
import { errorTable, evaluateMeanShape, evaluatePredictions, EvaluationDataset, meanShape } from '../../src/eval';
import {
  DataSelection, Evaluate, formatPlan, RunEvent, runCrossValidation, runStudy, studyPlan, TrainRequest, TrainRunner, UnfinishedRunsError,
  writeCrossValidationReport, writeStudyReport,
} from '../../src/study';

describe('the transfer-learning study', () => {
  let dir: string;
  let cases: SyntheticCase[];
  let items: LandmarkItem[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lmk-study-'));
    cases = generateSyntheticSet({ count: 30, seed: 9 });
    await writeSyntheticCsvDataset(join(dir, 'data'), cases.slice(0, 4));
    items = cases.map((c, k) => ({ id: c.id, imagePath: join(dir, 'data', 'images', `${cases[k % 4].id}.png`), landmarks: c.landmarks, width: c.width, height: c.height, mmPerPixel: 0.2 }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Items for a selection: the first 20 cases train, the last 10 test; folds deal the training cases round-robin. */
  const select = (data: DataSelection): LandmarkItem[] => {
    const train = items.slice(0, 20);
    if (data.split === 'test') return items.slice(20);
    if (data.folds === undefined) return train;
    const inFold = (k: number): boolean => k % (data.folds as number) === data.fold;
    return train.filter((_, k) => (data.split === 'val' ? inFold(k) : !inFold(k)));
  };
  const asDataset = (data: DataSelection): EvaluationDataset => ({
    format: data.format as FormatName, grid: { height: 128, width: 128 }, unit: data.format === 'chest-shenzhen' ? 'px' : 'mm', landmarkCount: 7, items: select(data),
  });

  /** A stand-in trainer whose "model" is the mean shape of its training items, so it must score exactly as the baseline. */
  function fakes(failOn?: string, delayMs = 0): { train: TrainRunner; evaluate: Evaluate; calls: TrainRequest[] } {
    const calls: TrainRequest[] = [];
    const train: TrainRunner = async (request) => {
      if (request.runId === failOn) throw new Error('interrupted');
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      calls.push(request);
      const model = join(request.outDir, 'model.json');
      writeFileSync(model, JSON.stringify({ shape: meanShape(select(request.data)), init: request.init }));
      return { model };
    };
    const evaluate: Evaluate = async (request) => {
      const shape = JSON.parse(readFileSync(request.model, 'utf8')).shape as Point[];
      const dataset = asDataset(request.data);
      const predictions = new Map(dataset.items.map((i) => [i.id, shape]));
      return {
        summary: evaluatePredictions(dataset, predictions),
        errors: errorTable(dataset, predictions, 'physical'),
        predictions: dataset.items.map((i) => ({ id: i.id, landmarks: shape })),
        baseline: evaluateMeanShape(select(request.trainData), dataset),
      };
    };
    return { train, evaluate, calls };
  }

  test('the plan has 15 chains over 15 distinct runs, parents first', () => {
    const plan = studyPlan('imagenet');
    expect(plan.chains).toHaveLength(15);
    expect(plan.runs).toHaveLength(15);
    expect(plan.chains.filter((c) => c.target === 'head').map((c) => c.label)).toEqual([
      'ImageNet', 'ImageNet -> hand', 'ImageNet -> chest', 'ImageNet -> hand -> chest', 'ImageNet -> chest -> hand',
    ]);
    expect(plan.chains.find((c) => c.label === 'ImageNet -> chest -> hand' && c.target === 'head')?.runId).toBe('imagenet-chest-hand-head');
    const seen = new Set<string>();
    for (const r of plan.runs) {
      if (r.parent) expect(seen.has(r.parent)).toBe(true);
      seen.add(r.id);
    }
    const text = formatPlan(plan);
    expect(text).toMatch(/^15 chains \(15 distinct training runs/);
    expect(text).toContain('ImageNet -> hand -> chest -> fine-tune on head');
    expect(studyPlan('scratch').chains[0].label).toBe('scratch');
  });

  test('runs every chain, resumes after an interruption without redoing finished runs, and reports', async () => {
    const out = join(dir, 'study');
    const plan = studyPlan('imagenet');
    const roots = { head: '/data/head', hand: '/data/hand', chest: '/data/chest' };
    const first = fakes('imagenet-hand-head');
    await expect(runStudy({ outDir: out, plan, roots, imagenetWeights: '/w/vgg19.safetensors', ...first })).rejects.toThrow('interrupted');
    expect(first.calls.map((c) => c.runId)).toEqual(['imagenet-head', 'imagenet-hand', 'imagenet-chest']);
    expect(first.calls[0].init).toEqual({ kind: 'imagenet', weights: '/w/vgg19.safetensors' });

    const second = fakes();
    const events: string[] = [];
    const records = await runStudy({ outDir: out, plan, roots, imagenetWeights: '/w/vgg19.safetensors', ...second, onEvent: (e) => events.push(`${e.runId}:${e.state}`) });
    expect(second.calls).toHaveLength(12);
    expect(events.filter((e) => e.endsWith(':skipped'))).toEqual(['imagenet-head:skipped', 'imagenet-hand:skipped', 'imagenet-chest:skipped']);
    const child = second.calls.find((c) => c.runId === 'imagenet-hand-chest-head') as TrainRequest;
    expect(child.init).toEqual({ kind: 'model', path: join(out, 'runs', 'imagenet-hand-chest', 'model.json') });
    expect(child.data).toEqual({ format: 'isbi2015', root: '/data/head', split: 'train' });
    expect(records.size).toBe(15);
    for (const r of records.values()) expect(r.baseline?.summary.mre.value).toBe(r.summary.mre.value);
    expect(records.get('imagenet-head')?.baseline?.n_train).toBe(20);
    for (const f of ['run.json', 'model.json', 'metrics.json', 'errors.json', 'predictions.jsonl']) expect(existsSync(join(out, 'runs', 'imagenet-chest-head', f))).toBe(true);

    const third = fakes();
    await runStudy({ outDir: out, plan, roots, imagenetWeights: '/w/vgg19.safetensors', ...third });
    expect(third.calls).toHaveLength(0);

    const report = await writeStudyReport(out, plan, records, { overlays: 2, items: async (data) => select(data) });
    const md = readFileSync(report, 'utf8');
    expect(md).toContain('Table 2 (head, isbi2015)');
    expect(md).toContain('| ImageNet -> hand -> chest |');
    expect(md).toContain('Table 3: test split results');
    expect(md).toMatch(/\| head \(physical\) \| mean shape \(no model\) \| \d+\.\d\d ± /);
    const csv = readFileSync(join(out, 'report', 'table2-chest.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('Pre-training,MRE (px),std,SDR 3 px (%),SDR 6 px (%),SDR 9 px (%)');
    expect(csv).toHaveLength(7);
    const mre = Number(csv[1].split(',')[1]);
    expect(mre).toBeCloseTo(records.get('imagenet-chest')!.summary.mre.value, 2);
    expect(csv[6].split(',')[0]).toBe('mean shape (no model)');
    expect(Number(csv[6].split(',')[1])).toBeCloseTo(records.get('imagenet-chest')!.baseline!.summary.mre.value, 2);
    for (const f of ['sdr-head.png', 'per-landmark-hand.png', 'table3.md', 'table3.csv']) expect(existsSync(join(out, 'report', f))).toBe(true);
    expect(existsSync(join(out, 'report', 'overlays', 'imagenet-head', `${items[20].id}.png`))).toBe(true);
  });

  test('refuses to start without weights or data roots', async () => {
    const f = fakes();
    await expect(runStudy({ outDir: join(dir, 'x'), plan: studyPlan('imagenet'), roots: {}, ...f })).rejects.toThrow('--init imagenet:FILE');
    await expect(runStudy({ outDir: join(dir, 'x'), plan: studyPlan('scratch'), roots: { head: '/h' }, ...f })).rejects.toThrow('give its data set root');
  });

  test('5-fold cross-validation: one run per fold, mean and std over folds, Table 1', async () => {
    const out = join(dir, 'cv');
    const f = fakes();
    const result = await runCrossValidation({ outDir: out, format: 'isbi2015', root: '/data/head', init: 'scratch', ...f });
    expect(f.calls.map((c) => [c.runId, c.data.fold, c.data.split])).toEqual([0, 1, 2, 3, 4].map((k) => [`fold-${k + 1}`, k, 'train']));
    const mres = result.folds.map((r) => r.summary.mre.value);
    const mean = mres.reduce((a, b) => a + b, 0) / 5;
    expect(result.aggregate.mre.mean).toBeCloseTo(mean, 12);
    expect(result.aggregate.mre.std).toBeCloseTo(Math.sqrt(mres.reduce((a, b) => a + (b - mean) ** 2, 0) / 5), 12);
    expect(JSON.parse(readFileSync(join(out, 'cv.json'), 'utf8')).folds).toBe(5);
    // Each fold's baseline is the mean of its own training folds (16 of the 20 training cases).
    for (const r of result.folds) expect(r.baseline).toEqual({ n_train: 16, summary: r.summary });
    expect(result.baseline).toEqual(result.aggregate);
    expect(JSON.parse(readFileSync(join(out, 'cv.json'), 'utf8')).baseline).toEqual(result.aggregate);
    const report = await writeCrossValidationReport(out, 'head', result, { overlays: 1, items: async (data) => select(data), model: 'deeplabv3 / efficientnet-b7, width 1' });
    expect(readFileSync(report, 'utf8')).toContain('Table 1: 5-fold cross-validation on the training split');
    expect(readFileSync(report, 'utf8')).toContain('Cross-validation: head, deeplabv3 / efficientnet-b7, width 1');
    const table1 = readFileSync(join(out, 'report', 'table1.csv'), 'utf8').trim().split('\n');
    expect(table1[0]).toBe('Dataset,MRE,MRE std (over folds),SDR 2 mm (%),SDR 2.5 mm (%),SDR 3 mm (%),SDR 4 mm (%)');
    expect(table1.map((l) => l.split(',')[0])).toEqual(['Dataset', 'head', 'head: mean shape']);
    const again = fakes();
    await runCrossValidation({ outDir: out, format: 'isbi2015', root: '/data/head', init: 'scratch', ...again });
    expect(again.calls).toHaveLength(0);
    await expect(runCrossValidation({ outDir: out, format: 'isbi2015', root: '/data/head', folds: 3, init: 'scratch', ...again })).rejects.toThrow(
      /runs\/fold-1 holds a finished run scored on isbi2015 \/data\/head val \(fold 1 of 5\), not .* \(fold 1 of 3\): choose another output folder/,
    );
  });

  test('cross-validation as array tasks: each shard its folds, the report once all are finished, naming the missing ones', async () => {
    const out = join(dir, 'cv-shards');
    const common = { outDir: out, format: 'isbi2015' as const, root: '/data/head', init: 'scratch' as const, pollMs: 10 };
    const first = fakes();
    const unfinished = await runCrossValidation({ ...common, ...first, shard: { index: 0, count: 2 } }).catch((e: unknown) => e);
    expect(unfinished).toBeInstanceOf(UnfinishedRunsError);
    expect((unfinished as Error).message).toBe('2 of 5 runs not finished: fold-2 (not started), fold-4 (not started)');
    expect(first.calls.map((c) => c.runId)).toEqual(['fold-1', 'fold-3', 'fold-5']);
    // Another task holds fold-2: the report names it; a resubmitted task of shard 1 takes its own claim over.
    mkdirSync(join(out, 'runs', 'fold-2'), { recursive: true });
    writeFileSync(join(out, 'runs', 'fold-2', 'claim.json'), JSON.stringify({ shard: '1-of-2', host: 'node7', pid: 41, claimedAt: '2026-12-02T10:00:00Z' }));
    await expect(runCrossValidation({ ...common, ...fakes(), reportOnly: true })).rejects.toThrow(
      '2 of 5 runs not finished: fold-2 (claimed by shard 1-of-2, node7 pid 41, since 2026-12-02T10:00:00Z), fold-4 (not started)',
    );
    const second = fakes();
    const result = await runCrossValidation({ ...common, ...second, shard: { index: 1, count: 2 } });
    expect(second.calls.map((c) => c.runId)).toEqual(['fold-2', 'fold-4']);
    expect(result.folds.map((r) => r.runId)).toEqual(['fold-1', 'fold-2', 'fold-3', 'fold-4', 'fold-5']);
    const reported = fakes();
    const again = await runCrossValidation({ ...common, ...reported, reportOnly: true });
    expect(reported.calls).toHaveLength(0);
    expect(again.aggregate).toEqual(result.aggregate);
  });

  test('study chains as array tasks: a shared prefix is trained once, the other task waits for it', async () => {
    const out = join(dir, 'study-shards');
    const plan = studyPlan('imagenet');
    const common = { outDir: out, plan, roots: { head: '/data/head', hand: '/data/hand', chest: '/data/chest' }, imagenetWeights: '/w/vgg19.safetensors', pollMs: 10 };
    // Chain 0 is ImageNet -> head, chain 6 ImageNet -> head -> hand: both need imagenet-head.
    const [a, b] = [fakes(undefined, 50), fakes(undefined, 50)];
    const events: RunEvent[] = [];
    const settled = await Promise.allSettled([
      runStudy({ ...common, ...a, shard: { index: 0, count: 15 }, onEvent: (e) => events.push(e) }),
      runStudy({ ...common, ...b, shard: { index: 6, count: 15 }, onEvent: (e) => events.push(e) }),
    ]);
    // Each task ends with its runs done and the others' missing: 13 of 15 for the later one.
    const outcome = settled.map((s) => (s.status === 'rejected' ? String(s.reason) : 'resolved'));
    expect(outcome[0]).toMatch(/^Error: 1[34] of 15 runs not finished/);
    expect(outcome[1]).toMatch(/^Error: 13 of 15 runs not finished/);
    const trained = [...a.calls, ...b.calls].map((c) => c.runId).sort();
    expect(trained).toEqual(['imagenet-head', 'imagenet-head-hand']);
    expect(events.filter((e) => e.state === 'waiting').map((e) => [e.runId, e.claim?.shard])).toEqual([['imagenet-head', a.calls.length === 1 ? '0-of-15' : '6-of-15']]);
    expect(existsSync(join(out, 'runs', 'imagenet-head-hand', 'metrics.json'))).toBe(true);
  });
});
