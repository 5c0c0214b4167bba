import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { benchInference, formatInferenceBench, percentile } from '../../src/bench';
import { benchCommand, BENCH_USAGE } from '../../src/cli/lmk-bench';
import { runCli } from '../../src/cli/run';
import { cudaProviderProblem } from '../../src/infer/providers';
import { countMacs } from '../../src/models';
import { brightestSpotModel, dotImage } from '../predict/helpers';

async function lmkBench(argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const out = process.stdout.write;
  const err = process.stderr.write;
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write;
  process.exitCode = undefined;
  try {
    await runCli('lmk-bench', argv, [benchCommand], BENCH_USAGE);
    return { status: Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = undefined;
  }
}

describe('lmk-bench', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmk-bench-'));
  const model = join(dir, 'spot.onnx');
  writeFileSync(model, brightestSpotModel(2, { height: 64, width: 48 }));

  test('percentile (nearest rank)', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(v, 50), percentile(v, 95), percentile(v, 99), percentile(v, 100)]).toEqual([50, 95, 99, 100]);
    expect(percentile([7], 99)).toBe(7);
  });

  test('end to end and session only on a synthetic image: every figure present and consistent', async () => {
    const r = await benchInference({ model, syntheticSize: { width: 240, height: 300 }, runs: 4, warmup: 1, batch: 2, workers: 0, threads: 1 });
    expect(r).toMatchObject({ images: 8, batch: 2, height: 64, width: 48, execution_provider: 'cpu', threads: 1, workers: 0 });
    expect(r.input).toBe('synthetic 240x300 JPEG');
    for (const v of [r.throughput_img_s, r.session_only_img_s, r.stages_ms.decode, r.stages_ms.preprocess, r.stages_ms.infer, r.stages_ms.postprocess]) expect(v).toBeGreaterThan(0);
    expect(r.latency_ms.p50).toBeLessThanOrEqual(r.latency_ms.p95);
    expect(r.latency_ms.p95).toBeLessThanOrEqual(r.latency_ms.p99);
    // A latency is at least its own stages' work.
    expect(r.latency_ms.p99).toBeGreaterThanOrEqual(r.stages_ms.decode + r.stages_ms.preprocess);
    expect(r.end_to_end_ratio).toBeCloseTo(r.throughput_img_s / r.session_only_img_s, 10);
    const table = formatInferenceBench(r);
    for (const label of ['end to end', 'session only', 'latency p50/p95/p99', 'stages (mean per image)']) expect(table).toContain(label);
  });

  test('--input cycles a folder of real files; --json prints one object', async () => {
    const images = join(dir, 'images');
    require('fs').mkdirSync(images);
    writeFileSync(join(images, 'one.png'), await dotImage(120, 100, 30, 40));
    const r = await lmkBench(['--model', model, '--input', images, '--runs', '3', '--warmup', '0', '--workers', '0', '--json']);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.images).toBe(3);
    expect(json.input).toBe(`${images} (1 file)`);
    expect(Object.keys(json.latency_ms)).toEqual(['p50', 'p95', 'p99']);
    expect(Object.keys(json.stages_ms)).toEqual(['decode', 'preprocess', 'infer', 'postprocess']);
  });

  test('usage errors exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [[], /give --model/],
      [['--model', join(dir, 'absent.onnx')], /--model .*absent\.onnx: no such file/],
      [['--model', model, '--input', dir, '--synthetic'], /--input or --synthetic, not both/],
      [['--model', model, '--runs', '0'], /--runs must be a whole number >= 1/],
      [['--train', '--classes', '3'], /--train needs --classes, --height and --width/],
      [['--train', '--model', model, '--classes', '3', '--height', '64', '--width', '64'], /leave out --model/],
    ];
    for (const [args, message] of cases) {
      const r = await lmkBench(args);
      expect(r.status).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(message);
    }
  });

  test('--train times the training step of a small network, several steps per run', async () => {
    const r = await lmkBench(['--train', '--arch', 'unet', '--encoder', 'vgg19', '--classes', '2', '--width-multiplier', '0.0625',
      '--height', '32', '--width', '32', '--batch', '1', '--steps', '3', '--warmup', '1', '--threads', '1', '--steps-per-run', '2', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(Object.keys(json.step_s)).toEqual(['min', 'median', 'max']);
    expect(json.step_s.min).toBeLessThanOrEqual(json.step_s.max);
    expect(json.steps_per_run).toBe(2);
    // One warm-up run and 3 steps rounded up to 2 runs, of 2 steps each.
    expect(json.losses).toHaveLength(6);
    expect(json.warmup_s).toHaveLength(1);
    expect(json.execution_provider).toBe('cpu');
    // Convolution work of one step: 3 x the forward convolutions of one 32x32 image (countMacs), batch 1.
    const forward = countMacs({ arch: 'unet', encoder: 'vgg19', classes: 2, inChannels: 3, widthMultiplier: 0.0625 }, 32, 32);
    expect(json.conv_gflop).toBeCloseTo((6 * forward) / 1e9, 12);
    expect(json.conv_gflop_s).toBeCloseTo(json.conv_gflop / json.step_s.median, 9);
    expect(json.matmul_gflop_s).toBeGreaterThan(0);
  });

  test('--train --ep cuda without a usable CUDA provider fails in one line naming the problem', async () => {
    const problem = cudaProviderProblem();
    if (!problem) return; // a GPU machine with the provider: the CUDA path is timed there by hand (README)
    const r = await lmkBench(['--train', '--ep', 'cuda', '--arch', 'unet', '--encoder', 'vgg19', '--classes', '2',
      '--width-multiplier', '0.0625', '--height', '32', '--width', '32', '--batch', '1', '--steps', '1']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`lmk-bench: train step: ${problem}`]);
  });
});
