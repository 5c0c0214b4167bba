import { spawn, spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { describeWithSharedData, SHARED_DATA } from '../util/shared-data';
import { buildCli } from '../train/built-cli';
import { parseModel, readModelMetadata } from '../../src/onnx';
import { firstStageOf } from '../../src/refine/stages';
import { REFINE_MIN_SCORE } from '../../src/refine/crops';

const RECIPES = resolve(__dirname, '..', '..', 'scripts', 'recipes');
/** Trains a few seconds and scores twice; the ceiling leaves room for a busy machine. */
const SLOW_TEST_MS = 300_000;

let dir: string;
let cli: { script: string; env: NodeJS.ProcessEnv };
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lmk-recipes-'));
  cli = buildCli(join(dir, 'cli'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const recipe = (script: string, args: string[]) =>
  spawnSync('bash', [join(RECIPES, script), ...args], { env: { ...cli.env, LMK_CLI: cli.script }, encoding: 'utf8' });

describe('recipe scripts: arguments', () => {
  test('without --root and --out: the usage line, exit 2', () => {
    const r = recipe('isbi2015-cpu.sh', []);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^usage: .*isbi2015-cpu\.sh --root ISBI2015_DIR --out DIR/);
  });

  test('a root that is not an ISBI 2015 folder: one line naming it, exit 2, nothing written', () => {
    const out = join(dir, 'not-isbi-out');
    const r = recipe('isbi2015-gpu.sh', ['--root', dir, '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`${join(RECIPES, 'isbi2015-gpu.sh')}: ${dir}: not an ISBI 2015 folder (no RawImage/)`);
    expect(existsSync(out)).toBe(false);
  });
});

/** An ISBI 2015 folder with the first `train` training and `test` Test1 images of the real one (links): the whole script in a fraction of the time. */
function isbiSubset(root: string, train: number, test: number): string {
  const real = join(SHARED_DATA as string, 'isbi2015');
  const ids = [...Array.from({ length: train }, (_, i) => i + 1), ...Array.from({ length: test }, (_, i) => i + 151)].map((n) => String(n).padStart(3, '0'));
  for (const sub of ['RawImage/TrainingData', 'RawImage/Test1Data', 'AnnotationsByMD/400_senior', 'AnnotationsByMD/400_junior']) mkdirSync(join(root, sub), { recursive: true });
  for (const id of ids) {
    const folder = Number(id) <= 150 ? 'TrainingData' : 'Test1Data';
    symlinkSync(join(real, 'RawImage', folder, `${id}.jpg`), join(root, 'RawImage', folder, `${id}.jpg`));
    for (const doctor of ['400_senior', '400_junior']) symlinkSync(join(real, 'AnnotationsByMD', doctor, `${id}.txt`), join(root, 'AnnotationsByMD', doctor, `${id}.txt`));
  }
  return root;
}

describeWithSharedData('the CPU recipe end to end, a few seconds of training (ISBI 2015 images)', () => {
  test('leaves model.onnx, train.jsonl, load.txt and test1.json with the mean-shape baseline beside the model', () => {
    const out = join(dir, 'cpu');
    const root = isbiSubset(join(dir, 'isbi-subset'), 8, 4);
    const r = recipe('isbi2015-cpu.sh', ['--root', root, '--out', out, '--minutes', '0.1', '--', '--quiet']);
    expect(r.status).toBe(0);
    // Seconds of training leave a model worse than the trivial answer, and both evaluations say so; nothing else.
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^lmk eval: the model is worse than the mean shape: MRE \d+\.\d\d mm against \d+\.\d\d mm/);
    for (const f of ['model.onnx', 'model.safetensors', 'checkpoint.safetensors', 'train.jsonl', 'load.txt', 'test1.json']) expect(existsSync(join(out, f))).toBe(true);
    const steps = readFileSync(join(out, 'train.jsonl'), 'utf8').split('\n').filter((l) => l.startsWith('{"step"'));
    expect(steps.length).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'load.txt'), 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \d+\.\d\d \d+\.\d\d \d+\.\d\d$/m);
    const scored = JSON.parse(readFileSync(join(out, 'test1.json'), 'utf8'));
    expect(scored.n_images).toBe(4);
    expect(scored.mre.unit).toBe('mm');
    expect(Number.isFinite(scored.mre.value)).toBe(true);
    // The trivial answer (issue #12): every landmark at its mean position over the training images.
    expect(scored.baseline.n_train).toBe(8);
    expect(scored.baseline.mre.value).toBeGreaterThan(1);
    expect(scored.baseline.mre.value).toBeLessThan(scored.mre.value);
    expect(r.stdout).toMatch(/MRE/);
  }, SLOW_TEST_MS);
});

describeWithSharedData('the refined CPU recipe end to end, seconds of each stage (ISBI 2015 images)', () => {
  test('trains the first stage into OUT/first beside the wide and fine refinements in turn, joins the three and scores them', () => {
    const out = join(dir, 'refined');
    const root = isbiSubset(join(dir, 'isbi-subset-refined'), 8, 4);
    const r = recipe('isbi2015-cpu-refined.sh', ['--root', root, '--out', out, '--minutes', '0.2', '--', '--quiet']);
    expect(r.status).toBe(0);
    for (const f of ['grid.onnx', 'first/model.onnx', 'first/test1.json', 'wide/model.onnx', 'fine/model.onnx', 'model.onnx', 'test1.json', 'load.txt']) expect(existsSync(join(out, f))).toBe(true);
    expect(existsSync(join(out, 'first-wide.onnx'))).toBe(false);
    // Each refinement trained on its own for half the minutes, while the first stage trained for all of them.
    const steps = (run: string) => readFileSync(join(out, run, 'train.jsonl'), 'utf8').split('\n').filter((l) => l.startsWith('{"step"')).length;
    for (const run of ['first', 'wide', 'fine']) expect(steps(run)).toBeGreaterThan(0);
    const first = JSON.parse(readFileSync(join(out, 'first', 'test1.json'), 'utf8'));
    const all = JSON.parse(readFileSync(join(out, 'test1.json'), 'utf8'));
    expect(all.n_images).toBe(4);
    expect(all.baseline.mre.value).toBeCloseTo(first.baseline.mre.value, 9);
    expect(Number.isFinite(all.mre.value)).toBe(true);
    // The model file holds the first stage's network and both refinements, wide then fine, with the recipe's settings.
    const model = readFileSync(join(out, 'model.onnx'));
    const metadata = readModelMetadata(model);
    expect(metadata['lmk.grid_height']).toBe('256');
    expect(JSON.parse(metadata['lmk.refine'])).toMatchObject([
      { crop: 64, factor: 2, sigma: 2, minScore: REFINE_MIN_SCORE, refinedWeight: 0.6, output: 'spatial-softmax' },
      { crop: 64, factor: 3, sigma: 2, minScore: REFINE_MIN_SCORE, refinedWeight: 0.5, output: 'spatial-softmax' },
    ]);
    const firstWeights = parseModel(readFileSync(join(out, 'first', 'model.onnx'))).graph.initializers;
    expect(firstStageOf(parseModel(model)).graph.initializers).toEqual(firstWeights);
  }, 2 * SLOW_TEST_MS);
});

describeWithSharedData('the refined CPU recipe stopped by a signal', () => {
  test('stops both stages it trains side by side, each saving its checkpoint', async () => {
    const out = join(dir, 'refined-stopped');
    const root = isbiSubset(join(dir, 'isbi-subset-stopped'), 8, 4);
    const child = spawn('bash', [join(RECIPES, 'isbi2015-cpu-refined.sh'), '--root', root, '--out', out, '--minutes', '5', '--', '--quiet'], { env: { ...cli.env, LMK_CLI: cli.script }, stdio: 'ignore' });
    const ended = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    // Both trainings under way: each has logged a step.
    const logged = (run: string) => existsSync(join(out, run, 'train.jsonl')) && readFileSync(join(out, run, 'train.jsonl'), 'utf8').includes('{"step"');
    const deadline = Date.now() + 120_000;
    while (!(logged('first') && logged('wide')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    expect(logged('first') && logged('wide')).toBe(true);
    child.kill('SIGTERM');
    expect(await ended).toBe(143);
    // No lmk train of this run is left: each stopped after its step in progress and saved a checkpoint.
    const running = () => spawnSync('pgrep', ['-f', '--', `--out ${out}/`], { encoding: 'utf8' }).stdout.trim();
    const stopBy = Date.now() + 60_000;
    while (running() !== '' && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 500));
    expect(running()).toBe('');
    for (const run of ['first', 'wide']) expect(existsSync(join(out, run, 'checkpoint.safetensors'))).toBe(true);
    expect(existsSync(join(out, 'model.onnx'))).toBe(false);
  }, SLOW_TEST_MS);
});
