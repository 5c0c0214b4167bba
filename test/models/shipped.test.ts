import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as ort from 'onnxruntime-node';
import { exportModel, initStateDict, ModelSpec } from '../../src/models';
import { float32ToHalves, halvesToFloat32, stateDictOfModel, storeWeightsAsHalf } from '../../src/models/half';
import { listShippedModels, MODEL_ACCURACY_KEY, MODEL_NAME_KEY, resolveModelFile, shippedModelNames } from '../../src/models/shipped';
import { readWeightsFile } from '../../src/models/weights';
import { parseModel, serializeModel } from '../../src/onnx';

const spec: ModelSpec = { arch: 'unet', encoder: 'vgg19', classes: 3, inChannels: 3, widthMultiplier: 0.125 };

describe('float16 weights', () => {
  it('rounds float32 to the nearest float16, ties to even, and reads it back', () => {
    const values = Float32Array.from([0, -0, 1, -2.5, 65504, 65520, 1e-8, 6.103515625e-5, 5.960464477539063e-8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0.1, Infinity, NaN]);
    const halves = float32ToHalves(values);
    // 65520 rounds up to infinity; 1 + 2^-11 is a tie that goes to even (1); 1 + 3 * 2^-11 to 1 + 2^-9.
    expect(Array.from(halves.slice(0, 12))).toEqual([0x0000, 0x8000, 0x3c00, 0xc100, 0x7bff, 0x7c00, 0x0000, 0x0400, 0x0001, 0x3c00, 0x3c02, 0x2e66]);
    const back = halvesToFloat32(halves);
    expect(back[11]).toBeCloseTo(0.1, 4);
    expect(back[12]).toBe(Infinity);
    expect(Number.isNaN(back[13])).toBe(true);
    // Every float16 value survives a round trip exactly.
    const all = new Uint16Array(65536).map((_, i) => i);
    const widened = halvesToFloat32(all);
    const again = float32ToHalves(widened);
    const changed = Array.from(all).filter((h) => !Number.isNaN(widened[h]) && again[h] !== h);
    expect(changed).toEqual([]);
  });

  it('a half-precision model runs as the float32 one does, within float16 rounding, and keeps smp names', async () => {
    const model = exportModel(spec, initStateDict(spec, 3));
    const half = storeWeightsAsHalf(model);
    const full = serializeModel(model);
    const small = serializeModel(half);
    expect(small.length).toBeLessThan(0.55 * full.length);
    const input = new ort.Tensor('float32', new Float32Array(3 * 64 * 64).map((_, i) => Math.sin(i / 7)), [1, 3, 64, 64]);
    const run = async (bytes: Uint8Array) => {
      const s = await ort.InferenceSession.create(bytes);
      try {
        return (await s.run({ image: input })).heatmaps.data as Float32Array;
      } finally {
        await s.release();
      }
    };
    const [a, b] = [await run(full), await run(small)];
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(a[i]));
    }
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThan(5e-3 * scale);
    // Read back as weights: the same names, the half-precision ones within float16 rounding.
    const dict = stateDictOfModel(parseModel(small));
    const original = initStateDict(spec, 3);
    // Every weight is there by its smp name (beside the graph's own constants, which import ignores).
    expect([...original.keys()].filter((k) => !dict.has(k))).toEqual([]);
    const w = 'encoder.features.0.weight';
    dict.get(w)!.data.forEach((v, i) => expect(Math.abs(v - original.get(w)!.data[i])).toBeLessThanOrEqual(Math.abs(original.get(w)!.data[i]) * 2 ** -10));
  });
});

describe('shipped models', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lmk-shipped-'));
    const model = storeWeightsAsHalf(exportModel(spec, initStateDict(spec, 1), {
      metadata: { 'lmk.grid_height': '64', 'lmk.grid_width': '48', [MODEL_NAME_KEY]: 'tiny-head', [MODEL_ACCURACY_KEY]: 'random weights: no accuracy' },
    }));
    mkdirSync(join(dir, 'tiny-head'));
    writeFileSync(join(dir, 'tiny-head', 'model.onnx'), serializeModel(model));
    mkdirSync(join(dir, 'no-model'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a path wins over a name; a name finds models/NAME/model.onnx; anything else lists the names', () => {
    expect(shippedModelNames(dir)).toEqual(['tiny-head']);
    expect(resolveModelFile('tiny-head', '', dir)).toBe(join(dir, 'tiny-head', 'model.onnx'));
    const file = join(dir, 'tiny-head', 'model.onnx');
    expect(resolveModelFile(file, '', dir)).toBe(file);
    expect(() => resolveModelFile('tiny', '--model ', dir)).toThrow('--model tiny: no such file, nor a shipped model (shipped: tiny-head)');
    expect(() => resolveModelFile('../tiny-head', '', dir)).toThrow(/no such file/);
    expect(() => resolveModelFile('no-model', '', dir)).toThrow(/no such file/);
  });

  it('lists name, landmarks, grid, size and the accuracy line', async () => {
    const [m] = await listShippedModels(dir);
    expect(m).toMatchObject({ name: 'tiny-head', classes: 3, grid: { height: 64, width: 48 }, accuracy: 'random weights: no accuracy', stages: 1, files: [join(dir, 'tiny-head', 'model.onnx')] });
    expect(m.bytes).toBeGreaterThan(0);
  });

  it('a shipped (half-precision) model reads as initial weights for fine-tuning', async () => {
    const contents = await readWeightsFile(join(dir, 'tiny-head', 'model.onnx'));
    expect(contents.tensors.get('segmentation_head.0.weight')!.dims[0]).toBe(3);
    expect(contents.metadata[MODEL_NAME_KEY]).toBe('tiny-head');
    const bad = join(dir, 'bad.bin');
    writeFileSync(bad, Buffer.from('not weights at all'));
    await expect(readWeightsFile(bad)).rejects.toThrow(/bad\.bin: neither a safetensors file nor an ONNX model/);
  });
});

describe('the models/ folder of this checkout', () => {
  it('every shipped model has a card, and each of its files fits in 4 MiB', async () => {
    for (const m of await listShippedModels()) {
      for (const file of m.files) expect(require('fs').statSync(file).size).toBeLessThanOrEqual(4 * 2 ** 20);
      expect(require('fs').existsSync(m.card)).toBe(true);
      expect(m.accuracy).not.toMatch(/no accuracy stated/);
    }
  });
});
