import { availableParallelism } from 'os';
import { defaultSessionThreads, Predictor } from '../../src/infer';
import { exportModel, initStateDict, ModelSpec } from '../../src/models';
import { serializeModel } from '../../src/onnx';

describe('session threads by default', () => {
  const head = { 'lmk.arch': 'unet', 'lmk.encoder': 'vgg19', 'lmk.classes': '19', 'lmk.in_channels': '3', 'lmk.width_multiplier': '0.25' };
  const grid = { height: 256, width: 224 };
  it('a light model (the CPU recipe head, 1.7 GMAC) leaves the workers their cores', () => {
    expect(defaultSessionThreads(head, grid, 1, 2)).toBe(1);
    expect(defaultSessionThreads(head, grid, 2, 16)).toBe(14);
    expect(defaultSessionThreads(head, grid, 4, 2)).toBe(1);
  });
  it("the paper's network (U-Net++/VGG19, 512x416) and models without workers or metadata keep ONNX Runtime's default", () => {
    expect(defaultSessionThreads({ ...head, 'lmk.arch': 'unetplusplus', 'lmk.width_multiplier': '1' }, { height: 512, width: 416 }, 1, 2)).toBeUndefined();
    expect(defaultSessionThreads(head, grid, 0, 2)).toBeUndefined();
    expect(defaultSessionThreads({ 'lmk.classes': '2' }, { height: 64, width: 48 }, 1, 2)).toBeUndefined();
    expect(defaultSessionThreads({ ...head, 'lmk.encoder': 'no-such-encoder' }, grid, 1, 2)).toBeUndefined();
  });
  it("a refined model counts its crops: the recipe's (19 crops of 64x64 at width 1/4) stays light, full-width 256x256 crops do not", () => {
    const refine = (r: object) => ({ ...head, 'lmk.refine': JSON.stringify({ crop: 64, factor: 2, sigma: 2, minScore: 0.7, output: 'spatial-softmax', arch: 'unet', encoder: 'vgg19', widthMultiplier: 0.25, ...r }) });
    expect(defaultSessionThreads(refine({}), grid, 1, 2)).toBe(1);
    expect(defaultSessionThreads(refine({ crop: 256, widthMultiplier: 1 }), grid, 1, 2)).toBeUndefined();
  });
  it('the Predictor applies it where threads are not given and preparation workers are', async () => {
    const spec: ModelSpec = { arch: 'unet', encoder: 'vgg19', classes: 2, inChannels: 3, widthMultiplier: 0.125 };
    const model = serializeModel(exportModel(spec, initStateDict(spec, 1), { metadata: { 'lmk.grid_height': '64', 'lmk.grid_width': '64' } }));
    const cases: [object, number | undefined][] = [
      [{ preparationWorkers: 1 }, Math.max(1, availableParallelism() - 1)],
      [{}, undefined],
      [{ preparationWorkers: 1, threads: 2 }, 2],
    ];
    for (const [options, threads] of cases) {
      const p = await Predictor.create({ model, ...options });
      try {
        expect(p.threads).toBe(threads);
      } finally {
        await p.release();
      }
    }
  });
});
