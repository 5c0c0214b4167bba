import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { readModelMetadata } from '../../src/onnx';
import { buildCli } from './built-cli';
import { writeMarkerSet } from './loop-data';

/** `lmk train --init-weights MODEL` on a small set: the model's settings, the small-set defaults, the time limit. */

const SLOW_TEST_MS = 300_000;

let dir: string;
let cli: { script: string; env: NodeJS.ProcessEnv };
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmk-finetune-'));
  cli = buildCli(join(dir, 'cli'));
  await writeMarkerSet(join(dir, 'data'), 8, 32, 5);
  // The hospital's own few images: other markers, so that statistics built from them would differ.
  await writeMarkerSet(join(dir, 'own'), 6, 32, 11);
}, SLOW_TEST_MS);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lmk = (args: string[]) => spawnSync(process.execPath, ['--no-warnings', cli.script, ...args], { env: cli.env, encoding: 'utf8' });
const metadata = (file: string) => readModelMetadata(readFileSync(file));
const steps = (log: string) => readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('{"step"')).length;

test('fine-tuning takes the base model\'s architecture, grid, targets and shape statistics, with small-set defaults', () => {
  const data = ['--format', 'csv', '--root', join(dir, 'data'), '--threads', '1'];
  const base = join(dir, 'base');
  const made = lmk(['train', ...data, '--arch', 'unet', '--width-multiplier', '0.0625', '--height', '32', '--width', '32',
    '--loss', 'softmax_ce', '--sigma', '1.5', '--val-fraction', '0', '--steps', '2', '--quiet', '--out', base]);
  expect(made.stderr).toBe('');
  expect(made.status).toBe(0);

  // No architecture flags: they come from the model; 800 steps by default, cut by the time limit.
  const tuned = join(dir, 'tuned');
  const own = ['--format', 'csv', '--root', join(dir, 'own'), '--threads', '1'];
  const r = lmk(['train', ...own, '--init-weights', join(base, 'model.onnx'), '--time-limit', '0.05', '--out', tuned, '--log', `${tuned}.jsonl`]);
  expect(r.status).toBe(0);
  expect(r.stderr).toContain(`lmk train: fine-tuning ${join(base, 'model.onnx')} on 6 image(s): 800 steps at 0.0003, cosine schedule`);
  expect(steps(`${tuned}.jsonl`)).toBeGreaterThan(0);
  expect(steps(`${tuned}.jsonl`)).toBeLessThan(400);
  const [before, after] = [metadata(join(base, 'model.onnx')), metadata(join(tuned, 'model.onnx'))];
  for (const key of ['lmk.arch', 'lmk.encoder', 'lmk.width_multiplier', 'lmk.grid_height', 'lmk.grid_width', 'lmk.loss', 'lmk.sigma', 'lmk.shape_model', 'lmk.framing', 'lmk.landmarks']) {
    expect([key, after[key]]).toEqual([key, before[key]]);
  }

  const wrong = lmk(['train', ...own, '--init-weights', join(base, 'model.onnx'), '--arch', 'unetplusplus', '--steps', '1', '--out', join(dir, 'wrong')]);
  expect(wrong.status).toBe(2);
  expect(wrong.stderr).toContain(`--arch unetplusplus: ${join(base, 'model.onnx')} is unet; leave --arch out to fine-tune it`);
}, SLOW_TEST_MS);
