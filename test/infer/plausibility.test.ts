import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { mirrorInput, Predictor, PLAUSIBILITY_KEY } from '../../src/infer';
import { GraphBuilder, serializeModel } from '../../src/onnx';
import { predictArchive } from '../../src/predict';
import { dotImage } from '../predict/helpers';

/**
 * A model that sees only the left half of its grid (its maps are zero on the right): a dot on the right is
 * found only mirrored, and an image with no dot is not its anatomy, mirrored or not.
 */
function leftHalfModel(minMeanScore: number, mirrorBelow?: number): Uint8Array {
  const [h, w, padded] = [64, 48, 64];
  const g = new GraphBuilder('left-half');
  const x = g.input('image', 'float32', ['N', 3, padded, padded]);
  const weights = g.initializer('w', { dataType: 'float32', dims: [1, 3, 1, 1], data: Float32Array.from([1, 0, 0]) });
  const mask = new Float32Array(padded * padded);
  for (let y = 0; y < padded; y++) for (let c = 0; c < w / 2; c++) mask[y * padded + c] = 1;
  const m = g.initializer('mask', { dataType: 'float32', dims: [1, 1, padded, padded], data: mask });
  g.output(g.mul(g.conv(x, weights, undefined), m), 'heatmaps', 'float32', ['N', 1, padded, padded]);
  return serializeModel(g.build({
    'lmk.classes': '1', 'lmk.in_channels': '3', 'lmk.grid_height': String(h), 'lmk.grid_width': String(w), 'lmk.sigma': '2',
    [PLAUSIBILITY_KEY]: JSON.stringify({ anatomy: 'left-facing dot', minMeanScore, ...(mirrorBelow !== undefined ? { mirrorBelow } : {}) }),
  }));
}

describe('the plausibility check: mirrored images and images that are not the model\'s anatomy', () => {
  it('tries mirrored below mirrorBelow, refuses below minMeanScore', async () => {
    // mirrorBelow 3: even the left dot (score about 2.25) is tried mirrored, and keeps its first pass, the better.
    const predictor = await Predictor.create({ model: leftHalfModel(1, 3), threads: 1 });
    try {
      const left = await predictor.predict(await dotImage(180, 120, 40, 50));
      expect(left.mirrored).toBeUndefined();
      expect(left.implausible).toBeUndefined();
    } finally {
      await predictor.release();
    }
    await expect(Predictor.create({ model: leftHalfModel(0.8, 0.5) })).rejects.toThrow(/lmk\.plausibility must be \{"anatomy": name, "minMeanScore": a score >= 0, "mirrorBelow": a score >= minMeanScore, "minWindowScore"\?: a score >= minMeanScore\}/);
  });

  it('mirrors the network input row by row', () => {
    expect(Array.from(mirrorInput(Float32Array.from([1, 2, 3, 4, 5, 6]), 1, { height: 2, width: 3 }))).toEqual([3, 2, 1, 6, 5, 4]);
  });

  it('finds a landmark on the mirrored image, maps it back, and marks it; refuses an image it cannot read either way', async () => {
    const predictor = await Predictor.create({ model: leftHalfModel(1), threads: 1 });
    try {
      const left = await predictor.predict(await dotImage(180, 120, 40, 50));
      expect(left.mirrored).toBeUndefined();
      expect(left.implausible).toBeUndefined();
      const right = await predictor.predict(await dotImage(180, 120, 140, 50));
      expect(right.mirrored).toBe(true);
      expect(right.implausible).toBeUndefined();
      expect(right.meanScore).toBeGreaterThan(1);
      expect(Math.abs(right.landmarks[0][0] - 140)).toBeLessThan(1);
      expect(Math.abs(right.landmarks[0][1] - 50)).toBeLessThan(1);
      const blank = await predictor.predict(await dotImage(180, 120, -500, -500));
      expect(blank.implausible).toBe(true);
      expect(predictor.refusal(blank)).toMatch(/^not a left-facing dot \(mean landmark score -?\d\.\d\d, mirrored too; the model's images score at least 1\)$/);
      expect(predictor.refusal(left)).toBeUndefined();
    } finally {
      await predictor.release();
    }
    const off = await Predictor.create({ model: leftHalfModel(1), threads: 1, plausibilityCheck: false });
    try {
      expect((await off.predict(await dotImage(180, 120, 140, 50))).mirrored).toBeUndefined();
    } finally {
      await off.release();
    }
  });

  it('lmk predict: an error line for the refused image, the mirrored one in the journal; --keep-implausible writes both', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lmk-plausible-'));
    mkdirSync(join(root, 'in'));
    writeFileSync(join(root, 'in', 'right.png'), await dotImage(180, 120, 140, 50));
    writeFileSync(join(root, 'in', 'blank.png'), await dotImage(180, 120, -500, -500));
    const predictor = await Predictor.create({ model: leftHalfModel(1), threads: 1 });
    try {
      const out = join(root, 'out');
      const r = await predictArchive({ predictor, inputs: [join(root, 'in')], outDir: out, workers: 0, csv: true });
      expect(r).toMatchObject({ predicted: 1, failed: 1 });
      const [line] = readFileSync(join(out, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(line).toMatchObject({ id: 'right', mirrored: true });
      const [error] = readFileSync(join(out, 'errors.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(error.file).toBe(join(root, 'in', 'blank.png'));
      expect(error.error).toMatch(/^not a left-facing dot/);
      expect(readFileSync(join(out, 'predictions.csv'), 'utf8').split('\n')[1].split(',')[5]).toBe('1');
      const kept = join(root, 'kept');
      await predictArchive({ predictor, inputs: [join(root, 'in')], outDir: kept, workers: 0, keepImplausible: true });
      const lines = readFileSync(join(kept, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.id, l.implausible ?? false])).toEqual([['blank', true], ['right', false]]);
    } finally {
      await predictor.release();
    }
  });
});
