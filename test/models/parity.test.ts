import { readFileSync } from 'fs';
import { join } from 'path';
import * as ort from 'onnxruntime-node';
import { exportModel, ModelSpec, parseSafetensors } from '../../src/models';
import { serializeModel } from '../../src/onnx';
import { parityCase } from './parity-case';

/**
 * Outputs of smp's own UnetPlusPlus/Unet (width multiplier 1/8, random BatchNorm statistics) written by
 * scripts/parity/smp_parity.py; the weights and input are regenerated here from the stored seed.
 */
describe.each(['unetplusplus', 'unet'])('%s export equals smp', (arch) => {
  test('max |lmk - smp| < 1e-4 on a 2-image batch', async () => {
    const path = join(__dirname, '..', 'fixtures', 'models', `parity-${arch}.safetensors`);
    const fixture = parseSafetensors(readFileSync(path), path);
    const spec = JSON.parse(fixture.metadata.spec) as ModelSpec;
    expect(spec.arch).toBe(arch);
    const { weights, image } = parityCase(spec, Number(fixture.metadata.seed), JSON.parse(fixture.metadata.input_shape));
    const session = await ort.InferenceSession.create(serializeModel(exportModel(spec, weights)));
    try {
      const out = await session.run({ image: new ort.Tensor('float32', image.data, image.dims) });
      const expected = fixture.tensors.get('heatmaps')!;
      expect(out.heatmaps.dims).toEqual(expected.dims);
      const got = out.heatmaps.data as Float32Array;
      let maxDiff = 0;
      let maxAbs = 0;
      for (let i = 0; i < got.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(got[i] - expected.data[i]));
        maxAbs = Math.max(maxAbs, Math.abs(expected.data[i]));
      }
      expect(maxAbs).toBeGreaterThan(0.5);
      expect(maxDiff).toBeLessThan(1e-4);
    } finally {
      await session.release();
    }
  });
});
