import { mkdtempSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as ort from 'onnxruntime-node';
import { exportCommand } from '../../src/cli/commands/export';
import { runCli } from '../../src/cli/run';
import { initStateDict, writeSafetensors } from '../../src/models';

/** Runs `lmk export ...` in-process; returns exit code and what went to stdout and stderr. */
async function lmkExport(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const spyOut = jest.spyOn(process.stdout, 'write').mockImplementation((s) => { out.push(String(s)); return true; });
  const spyErr = jest.spyOn(process.stderr, 'write').mockImplementation((s) => { err.push(String(s)); return true; });
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    await runCli('lmk', ['export', ...args], [exportCommand]);
    return { code: Number(process.exitCode ?? 0), stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.exitCode = before;
    spyOut.mockRestore();
    spyErr.mockRestore();
  }
}

describe('lmk export', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'lmk-export-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const small = ['--width-multiplier', '0.125'];

  test('writes a model that onnxruntime runs, with lmk metadata and the grid', async () => {
    const out = join(dir, 'random.onnx');
    const r = await lmkExport(['--arch', 'unet', '--classes', '3', '--seed', '4', '--height', '64', '--width', '32', '--out', out, ...small]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*random.onnx: unet\/vgg19, 3 heatmaps, 3 input channel\(s\), [\d,]+ parameters; random initialisation, seed 4\n$/);
    expect(readdirSync(dir)).toEqual(['random.onnx']);
    const session = await ort.InferenceSession.create(out);
    try {
      const y = await session.run({ image: new ort.Tensor('float32', new Float32Array(2 * 3 * 64 * 32).fill(0.5), [2, 3, 64, 32]) });
      expect(y.heatmaps.dims).toEqual([2, 3, 64, 32]);
    } finally {
      await session.release();
    }
  });

  test('with --weights the file\'s weights are used; the same seed gives the same model', async () => {
    const spec = { arch: 'unetplusplus' as const, encoder: 'vgg19' as const, classes: 2, inChannels: 1 as const, widthMultiplier: 0.125 };
    const weights = join(dir, 'w.safetensors');
    await writeSafetensors(weights, initStateDict(spec, 77));
    const run = async (args: string[], name: string) => {
      const out = join(dir, name);
      const r = await lmkExport(['--arch', 'unetplusplus', '--classes', '2', '--in-channels', '1', '--out', out, ...small, ...args]);
      expect(r.code).toBe(0);
      const session = await ort.InferenceSession.create(out);
      try {
        const image = new ort.Tensor('float32', Float32Array.from({ length: 32 * 32 }, (_, i) => Math.cos(i)), [1, 1, 32, 32]);
        return Array.from((await session.run({ image })).heatmaps.data as Float32Array);
      } finally {
        await session.release();
      }
    };
    const fromFile = await run(['--weights', weights], 'a.onnx');
    expect(await run(['--seed', '77'], 'b.onnx')).toEqual(fromFile);
    expect(await run(['--seed', '78'], 'c.onnx')).not.toEqual(fromFile);
  });

  test.each<[string, string[], RegExp]>([
    ['bad class count', ['--arch', 'unet', '--classes', '0'], /^lmk: lmk export: classes must be a positive integer, got 0\n/],
    ['bad width', ['--arch', 'unet', '--classes', '2', '--width-multiplier', '3'], /widthMultiplier must be a number in \(0, 1\], got 3/],
    ['bad seed', ['--arch', 'unet', '--classes', '2', '--seed', '1.5'], /--seed: must be an integer/],
    ['height without width', ['--arch', 'unet', '--classes', '2', '--height', '64'], /--height and --width go together/],
    ['unknown arch', ['--arch', 'segformer', '--classes', '2'], /Invalid values:/],
  ])('usage problems exit 2 with one line: %s', async (_what, args, message) => {
    const r = await lmkExport([...args, '--out', join(dir, 'x.onnx')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  test('a missing output folder or a weights file that does not fit is one line naming the file', async () => {
    const noFolder = await lmkExport(['--arch', 'unet', '--classes', '2', '--out', join(dir, 'nope', 'x.onnx')]);
    expect(noFolder.code).toBe(2);
    expect(noFolder.stderr).toMatch(/--out .*nope\/x.onnx: folder .*nope does not exist/);
    const weights = join(dir, 'other.safetensors');
    await writeSafetensors(weights, initStateDict({ arch: 'unet', encoder: 'vgg19', classes: 5, inChannels: 3, widthMultiplier: 0.125 }, 1));
    const r = await lmkExport(['--arch', 'unet', '--classes', '2', '--weights', weights, '--out', join(dir, 'y.onnx'), ...small]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/other.safetensors: weights do not fit unet\/vgg19 .*2 mis-shaped \(segmentation_head.0.weight \[5, 2, 3, 3\], expected \[2, 2, 3, 3\], segmentation_head.0.bias \[5\], expected \[2\]\)/);
  });
});
