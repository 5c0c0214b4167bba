import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { runDemo } from '../../src/demo/run';
import { parseModel } from '../../src/onnx';
import { parseShapeModel, SHAPE_MODEL_KEY } from '../../src/shape';

// The full demo (600 steps) is a command, not a test; this checks that every stage runs and writes
// its files, with a couple of training steps.
describe('lmk demo pipeline', () => {
  test('generates data, trains, predicts, evaluates against the mean shape and writes the report', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lmk-demo-'));
    const phases: string[] = [];
    const report = await runDemo({ out, steps: 2, threads: 1 }, { onPhase: (p) => phases.push(p) });
    expect(phases).toEqual(['generating the synthetic data set', 'training', 'predicting the held-out cases', 'evaluating and writing the report']);
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(json.metrics.mre_unit).toBe('px');
    expect(json.metrics.mre).toBeGreaterThan(0);
    expect(Object.keys(json.metrics.sdr)).toEqual(['3', '6', '9']);
    expect(json.baseline.mre).toBeGreaterThan(5);
    expect(json.improvement).toBeCloseTo(json.baseline.mre / json.metrics.mre, 10);
    expect(json.training.steps).toBe(2);
    expect(report.data).toMatchObject({ train: 400, test: 40, landmarks: 7 });
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/\| mean shape \| \d+\.\d\d \|/);
    expect(readFileSync(join(out, 'predictions.jsonl'), 'utf8').trim().split('\n')).toHaveLength(40);
    for (const f of ['model.onnx', 'sdr.png', 'per-landmark.png']) expect(existsSync(join(out, f))).toBe(true);
    // The demo's model reads as a spatial distribution and carries its training shape for the shape check.
    const metadata = parseModel(readFileSync(join(out, 'model.onnx'))).metadata ?? {};
    expect(metadata['lmk.output']).toBe('spatial-softmax');
    expect(parseShapeModel(metadata[SHAPE_MODEL_KEY]).mean).toHaveLength(7);
    expect(readdirSync(join(out, 'overlays')).filter((f) => f.endsWith('.png'))).toHaveLength(6);
  }, 300_000);
});
