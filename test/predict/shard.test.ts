import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Predictor } from '../../src/infer';
import {
  inputKey, mergeShards, parseShard, predictArchive, PredictionLine, shardDir, shardFromEnvironment, shardOfKey,
} from '../../src/predict';
import { brightestSpotModel, dotImage, makeArchive } from './helpers';

const lines = <T>(path: string): T[] => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T) : []);

describe('shards: which task does what', () => {
  it('parses I/N and refuses what is not one', () => {
    expect(parseShard('2/8')).toEqual({ index: 2, count: 8 });
    expect(() => parseShard('8/8')).toThrow('--shard 8/8: shard index 8 is not in 0..7');
    expect(() => parseShard('1-4')).toThrow(/expected I\/N/);
    expect(() => parseShard('0/0')).toThrow(/whole number >= 1/);
  });

  it('reads the array index of Slurm, Kubernetes and LSF, and names what is missing or inconsistent', () => {
    expect(shardFromEnvironment({})).toBeUndefined();
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0' })?.shard).toEqual({ index: 3, count: 4 });
    // --array=10-40:10 gives ids 10, 20, 30, 40: four tasks.
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '30', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_STEP: '10' })?.shard).toEqual({ index: 2, count: 4 });
    expect(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '3' })).toThrow('SLURM_ARRAY_TASK_ID=3 without SLURM_ARRAY_TASK_COUNT: give the number of shards with --shards N');
    // One task of 0..3 submitted again alone (--array=1): with --shards its id is the shard.
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '1', SLURM_ARRAY_TASK_MIN: '1' }, 4)?.shard).toEqual({ index: 1, count: 4 });
    expect(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '4' }, 4)).toThrow('SLURM_ARRAY_TASK_ID=4: shard index 4 is not in 0..3');
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '5' }, 6)?.shard).toEqual({ index: 5, count: 6 });
    expect(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '5' })).toThrow(/JOB_COMPLETION_INDEX=5: give the number of shards/);
    expect(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '6' }, 6)).toThrow('JOB_COMPLETION_INDEX=6: shard index 6 is not in 0..5');
    expect(shardFromEnvironment({ LSB_JOBINDEX: '1', LSB_JOBINDEX_END: '3' })?.shard).toEqual({ index: 0, count: 3 });
    expect(shardFromEnvironment({ LSB_JOBINDEX: '3' }, 3)?.source).toBe('LSB_JOBINDEX=3 (1-based) of --shards 3');
    expect(shardFromEnvironment({ LSB_JOBINDEX: '0' })).toBeUndefined();
  });

  it('keys are paths below the input root, whatever the mount point; the partition is stable and even', () => {
    expect(inputKey('/mnt/a/archive', '/mnt/a/archive/2024/x.dcm')).toBe('archive/2024/x.dcm');
    expect(inputKey('/data/archive', '/data/archive/2024/x.dcm')).toBe('archive/2024/x.dcm');
    expect(inputKey('/data/one.png', '/data/one.png')).toBe('one.png');
    // Fixed by SHA-256: the same on every machine and version.
    expect(shardOfKey('archive/2024/x.dcm', 1000)).toBe(shardOfKey('archive/2024/x.dcm', 1000));
    expect(shardOfKey('archive/2024/x.dcm', 7)).toBe(parseInt(require('crypto').createHash('sha256').update('archive/2024/x.dcm').digest('hex').slice(0, 12), 16) % 7);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardOfKey(`archive/${i}.dcm`, 4)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(100);
  });
});

describe('lmk predict in shards, then lmk merge', () => {
  const root = mkdtempSync(join(tmpdir(), 'lmk-shards-'));
  let predictor: Predictor;
  let archive: Awaited<ReturnType<typeof makeArchive>>;
  beforeAll(async () => {
    predictor = await Predictor.create({ model: brightestSpotModel(2), threads: 1 });
    archive = await makeArchive(join(root, 'archive'));
    for (let i = 0; i < 12; i++) writeFileSync(join(archive.dir, `extra${i}.png`), await dotImage(60, 40, 5 + i * 4, 20));
  });
  afterAll(async () => {
    await predictor.release();
    rmSync(root, { recursive: true, force: true });
  });

  it('three shards merged equal one process line for line, each input once; an unfinished shard is named', async () => {
    const single = join(root, 'single');
    await predictArchive({ predictor, inputs: [archive.dir], outDir: single, workers: 0 });
    const sharded = join(root, 'sharded');
    await predictArchive({ predictor, inputs: [archive.dir], outDir: sharded, workers: 0, shard: { index: 0, count: 3 } });
    await expect(mergeShards(sharded)).rejects.toThrow(`${join(sharded, 'shards')}: 3 shards, missing: 1, 2 (rerun those indices, then merge again)`);
    for (const index of [1, 2]) await predictArchive({ predictor, inputs: [archive.dir], outDir: sharded, workers: 0, shard: { index, count: 3 } });
    const counts = [0, 1, 2].map((i) => lines(join(shardDir(sharded, { index: i, count: 3 }), 'predictions.jsonl')).length);
    expect(counts.every((c) => c > 0)).toBe(true);
    const r = await mergeShards(sharded, { csv: true });
    expect(r).toMatchObject({ shards: 3, predicted: 15, failed: archive.bad.length });
    const sortByPath = (l: PredictionLine[]) => [...l].sort((a, b) => a.path.localeCompare(b.path));
    const one = sortByPath(lines<PredictionLine>(join(single, 'predictions.jsonl')));
    const merged = lines<PredictionLine>(join(sharded, 'predictions.jsonl'));
    expect(merged).toEqual(one);
    expect(new Set(merged.map((l) => l.path)).size).toBe(merged.length);
    expect(lines<{ path: string }>(join(sharded, 'errors.jsonl')).map((l) => l.path).sort()).toEqual(archive.bad.map((b) => `archive/${b}`).sort());
    expect(readFileSync(join(sharded, 'predictions.csv'), 'utf8').split('\n')[0]).toMatch(/^file,id,width,height,mean_score,mirrored,L1_x,/);
    // Merging again is harmless.
    await mergeShards(sharded);
    expect(lines<PredictionLine>(join(sharded, 'predictions.jsonl'))).toEqual(merged);
    // A shard that did not run to its end (no done record) is named.
    rmSync(join(shardDir(sharded, { index: 1, count: 3 }), 'done.json'));
    await expect(mergeShards(sharded)).rejects.toThrow(/not run to their end: 1/);
  });

  it('a rerun from another mount point skips what is done (relative keys); journals of 0.1.0 still resume', async () => {
    const out = join(root, 'moved-out');
    await predictArchive({ predictor, inputs: [archive.dir], outDir: out, workers: 0 });
    const elsewhere = join(root, 'mnt', 'archive');
    mkdirSync(join(root, 'mnt'));
    cpSync(archive.dir, elsewhere, { recursive: true, verbatimSymlinks: true });
    const again = await predictArchive({ predictor, inputs: [elsewhere], outDir: out, workers: 0 });
    expect(again).toMatchObject({ predicted: 0, failed: 0, skippedPredicted: 15 });
    // Lines without `path` (written before keys) resume by their absolute file.
    const old = join(root, 'old-out');
    mkdirSync(old);
    const first = lines<PredictionLine>(join(out, 'predictions.jsonl'))[0];
    const { path: _path, ...withoutKey } = first;
    writeFileSync(join(old, 'predictions.jsonl'), `${JSON.stringify(withoutKey)}\n`);
    const resumed = await predictArchive({ predictor, inputs: [archive.dir], outDir: old, workers: 0 });
    expect(resumed).toMatchObject({ skippedPredicted: 1, predicted: 14 });
  });
});
