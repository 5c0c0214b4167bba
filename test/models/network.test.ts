import { countParameters, listTensors, resolveSpec, initStateDict, ModelSpec } from '../../src/models';

const full = (arch: 'unetplusplus' | 'unet', classes = 1): ModelSpec => ({ arch, encoder: 'vgg19', classes, inChannels: 3 });

describe('networks (smp layout)', () => {
  test('parameter counts match smp at C=1 (U-Net++ without the unused center block)', () => {
    expect(countParameters(full('unetplusplus'))).toBe(39_936_401);
    expect(countParameters(full('unet'))).toBe(29_057_937);
  });

  test('U-Net++/VGG19 names follow smp: encoder.features.N, decoder.blocks.x_d_l, segmentation_head.0; no center', () => {
    const { parameters, buffers } = listTensors(full('unetplusplus', 19));
    const names = parameters.map((p) => p.name);
    const convIndexes = names.filter((n) => /^encoder\.features\.\d+\.weight$/.test(n)).map((n) => Number(n.split('.')[2]));
    expect(convIndexes).toEqual([0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]);
    expect(names.some((n) => n.startsWith('decoder.center'))).toBe(false);
    const blocks = new Set(names.filter((n) => n.startsWith('decoder.blocks.')).map((n) => n.split('.')[2]));
    expect([...blocks].sort()).toEqual(['x_0_0', 'x_0_1', 'x_0_2', 'x_0_3', 'x_0_4', 'x_1_1', 'x_1_2', 'x_1_3', 'x_2_2', 'x_2_3', 'x_3_3']);
    const shape = (n: string) => parameters.find((p) => p.name === n)?.shape;
    // x_1_3: upsampled x_1_2 (256 channels), then x_2_3, x_3_3 and the stride-2 feature (128 each).
    expect(shape('decoder.blocks.x_1_3.conv1.0.weight')).toEqual([128, 256 + 3 * 128, 3, 3]);
    expect(shape('decoder.blocks.x_0_0.conv1.0.weight')).toEqual([256, 512 + 512, 3, 3]);
    expect(shape('decoder.blocks.x_0_4.conv1.0.weight')).toEqual([16, 32, 3, 3]);
    expect(shape('segmentation_head.0.weight')).toEqual([19, 16, 3, 3]);
    expect(buffers.map((b) => b.name)).toContain('decoder.blocks.x_0_0.conv1.1.running_var');
    expect(buffers.length).toBe(2 * parameters.filter((p) => /\.\d\.weight$/.test(p.name) && p.shape.length === 1).length);
  });

  test('U-Net/VGG19 uses the center block and numbered blocks', () => {
    const names = listTensors(full('unet')).parameters.map((p) => p.name);
    expect(names).toContain('decoder.center.0.0.weight');
    expect(names).toContain('decoder.center.1.1.bias');
    expect(names).toContain('decoder.blocks.4.conv2.0.weight');
    expect(names.some((n) => n.startsWith('decoder.blocks.5'))).toBe(false);
  });

  test('width multiplier and one input channel', () => {
    const spec: ModelSpec = { arch: 'unetplusplus', encoder: 'vgg19', classes: 2, inChannels: 1, widthMultiplier: 0.125 };
    const { parameters } = listTensors(spec);
    const shape = (n: string) => parameters.find((p) => p.name === n)?.shape;
    expect(shape('encoder.features.0.weight')).toEqual([8, 1, 3, 3]);
    expect(shape('encoder.features.34.weight')).toEqual([64, 64, 3, 3]);
    expect(shape('decoder.blocks.x_0_4.conv2.0.weight')).toEqual([2, 2, 3, 3]);
    expect(countParameters(spec)).toBeLessThan(countParameters({ ...spec, widthMultiplier: 1 }) / 50);
  });

  test('specs are validated up front with clear errors', () => {
    const bad = (s: Partial<ModelSpec>) => () => resolveSpec({ ...full('unet'), ...s } as ModelSpec);
    expect(bad({ arch: 'deeplab' as never })).toThrow(/arch must be one of unetplusplus, unet.*, got 'deeplab'/);
    expect(bad({ encoder: 'resnet34' as never })).toThrow(/encoder must be one of vgg19.*, got 'resnet34'/);
    expect(bad({ classes: 0 })).toThrow(/classes must be a positive integer, got 0/);
    expect(bad({ classes: 1.5 })).toThrow(/classes/);
    expect(bad({ inChannels: 2 as never })).toThrow(/inChannels must be 1 or 3, got 2/);
    expect(bad({ widthMultiplier: 0 })).toThrow(/widthMultiplier must be a number in \(0, 1\], got 0/);
    expect(bad({ widthMultiplier: 2 })).toThrow(/widthMultiplier/);
    expect(resolveSpec(full('unet')).widthMultiplier).toBe(1);
  });

  test('seeded init is deterministic, per tensor, and follows the smp/torchvision distributions', () => {
    const spec: ModelSpec = { arch: 'unet', encoder: 'vgg19', classes: 3, inChannels: 3, widthMultiplier: 0.125 };
    const a = initStateDict(spec, 7);
    const b = initStateDict(spec, 7);
    const c = initStateDict(spec, 8);
    const w = (sd: typeof a, n: string) => sd.get(n)!.data;
    expect(Array.from(w(a, 'encoder.features.0.weight'))).toEqual(Array.from(w(b, 'encoder.features.0.weight')));
    expect(Array.from(w(a, 'encoder.features.0.weight'))).not.toEqual(Array.from(w(c, 'encoder.features.0.weight')));
    const stats = (d: Float32Array) => {
      let s = 0; let s2 = 0; let max = 0;
      for (const v of d) { s += v; s2 += v * v; max = Math.max(max, Math.abs(v)); }
      return { mean: s / d.length, std: Math.sqrt(s2 / d.length - (s / d.length) ** 2), max };
    };
    // torchvision VGG conv: N(0, 2 / fan_out), fan_out = 64 * 9 at width 1/8 for features.34.
    const enc = stats(w(a, 'encoder.features.34.weight'));
    expect(enc.std).toBeCloseTo(Math.sqrt(2 / (64 * 9)), 3);
    expect(Math.abs(enc.mean)).toBeLessThan(0.002);
    expect(stats(w(a, 'encoder.features.34.bias')).max).toBe(0);
    // smp decoder conv: U(-b, b), b = sqrt(6 / fan_in); std = b / sqrt(3).
    const dec = w(a, 'decoder.blocks.0.conv1.0.weight');
    const bound = Math.sqrt(6 / ((64 + 64) * 9));
    expect(stats(dec).max).toBeLessThanOrEqual(bound);
    expect(stats(dec).std).toBeCloseTo(bound / Math.sqrt(3), 3);
    expect(Array.from(w(a, 'decoder.blocks.0.conv1.1.weight')).every((v) => v === 1)).toBe(true);
    expect(Array.from(w(a, 'decoder.blocks.0.conv1.1.running_mean')).every((v) => v === 0)).toBe(true);
    expect(Array.from(w(a, 'decoder.blocks.0.conv1.1.running_var')).every((v) => v === 1)).toBe(true);
    const head = stats(w(a, 'segmentation_head.0.weight'));
    expect(head.max).toBeLessThanOrEqual(Math.sqrt(6 / (2 * 9 + 3 * 9)));
    expect(head.max).toBeGreaterThan(0.5 * Math.sqrt(6 / (2 * 9 + 3 * 9)));
  });
});
