import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { Predictor } from '../../src/infer';
import { mergeShards, predictArchive, PredictionLine, shardDir } from '../../src/predict';
import { brightestSpotModel, dotImage } from './helpers';
import { SLURM_MISSING, SlurmCluster } from './slurm';

/**
 * lmk predict as the shards of a Slurm array on a real (private, single-node) cluster: merged, the shards
 * equal a one-process run line for line; a task cancelled mid-run and submitted again loses and
 * duplicates nothing.
 */

const LMK = resolve(__dirname, '..', '..', 'dist', 'cli', 'lmk.js');
const IMAGES = 240;
const lines = <T>(path: string): T[] => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const missing = SLURM_MISSING ?? (existsSync(LMK) ? undefined : `${LMK} is not built (npm run build)`);

(missing ? describe.skip : describe)(`lmk predict on a Slurm array${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir: string;
  let cluster: SlurmCluster | undefined;
  let model: string;
  let input: string;
  let single: PredictionLine[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lmk-slurm-'));
    cluster = await SlurmCluster.start(join(dir, 'cluster'));
    input = join(dir, 'archive');
    mkdirSync(input);
    // Images large enough that a task takes a few seconds, so that one can be cancelled mid-run.
    for (let i = 0; i < IMAGES; i++) writeFileSync(join(input, `${String(i).padStart(3, '0')}.png`), await dotImage(900, 700, 50 + (i * 7) % 800, 40 + (i * 13) % 600));
    model = join(dir, 'spot.onnx');
    writeFileSync(model, brightestSpotModel(2));
    const predictor = await Predictor.create({ model, threads: 1 });
    try {
      await predictArchive({ predictor, inputs: [input], outDir: join(dir, 'single'), workers: 0 });
    } finally {
      await predictor.release();
    }
    single = lines<PredictionLine>(join(dir, 'single', 'predictions.jsonl')).sort((a, b) => a.path.localeCompare(b.path));
  }, 120_000);

  afterAll(() => {
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The array job script: the task reads its index from SLURM_ARRAY_TASK_ID (and COUNT, or --shards). */
  function jobScript(out: string, extra = ''): string {
    const script = join(dir, `job-${out.split('/').pop()}${extra ? '-again' : ''}.sh`);
    writeFileSync(script, `#!/bin/sh\nexec "${process.execPath}" "${LMK}" predict --model "${model}" --input "${input}" --out "${out}" --workers 0 --threads 1 --quiet ${extra}\n`, { mode: 0o755 });
    return script;
  }

  it('sbatch --array=0-3 --wait, then lmk merge: the one-process run line for line, each input once', async () => {
    const out = join(dir, 'array');
    const r = cluster!.run('sbatch', ['--array=0-3', '--wait', '-o', join(dir, 'array-%a.log'), jobScript(out)]);
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, 'array-2.log'), 'utf8')).toMatch(/lmk predict: shard 2 of 4 \(from SLURM_ARRAY_TASK_ID=2 \(min 0, step 1\) of 4\)/);
    const merged = await mergeShards(out);
    expect(merged).toMatchObject({ shards: 4, predicted: IMAGES, failed: 0 });
    const got = lines<PredictionLine>(join(out, 'predictions.jsonl'));
    expect(got.map((l) => [l.path, l.landmarks])).toEqual(single.map((l) => [l.path, l.landmarks]));
  }, 180_000);

  it('a task cancelled mid-run (scancel) and submitted again: nothing lost, nothing twice', async () => {
    const out = join(dir, 'restart');
    const submitted = cluster!.run('sbatch', ['--array=0-3', '-o', join(dir, 'restart-%a.log'), jobScript(out)]);
    expect(submitted.status).toBe(0);
    const job = /Submitted batch job (\d+)/.exec(submitted.stdout)![1];
    const journal = join(shardDir(out, { index: 1, count: 4 }), 'predictions.jsonl');
    // Cancel task 1 once it has written some lines and before its done record.
    for (let i = 0; i < 600 && !(existsSync(journal) && lines(journal).length >= 3); i++) await sleep(50);
    expect(cluster!.run('scancel', [`${job}_1`]).status).toBe(0);
    await cluster!.waitIdle();
    const done = join(shardDir(out, { index: 1, count: 4 }), 'done.json');
    expect(existsSync(done)).toBe(false);
    const partial = lines(journal).length;
    expect(partial).toBeGreaterThan(0);
    await expect(mergeShards(out)).rejects.toThrow(/not run to their end: 1/);
    // Submitted again alone, the task says how many shards there are (its id is then its shard).
    const again = cluster!.run('sbatch', ['--array=1', '--wait', '-o', join(dir, 'restart-again.log'), jobScript(out, '--shards 4')]);
    expect(again.status).toBe(0);
    expect(existsSync(done)).toBe(true);
    const merged = await mergeShards(out);
    expect(merged).toMatchObject({ predicted: IMAGES, failed: 0 });
    const got = lines<PredictionLine>(join(out, 'predictions.jsonl'));
    expect(got.map((l) => [l.path, l.landmarks])).toEqual(single.map((l) => [l.path, l.landmarks]));
    // The resumed task kept its earlier lines and added only the rest.
    const shard1 = lines<PredictionLine>(journal).map((l) => l.path);
    expect(new Set(shard1).size).toBe(shard1.length);
  }, 240_000);
});
