import {
  importSafetensors, importWeights, initStateDict, listTensors, ModelSpec, parseSafetensors, serializeSafetensors,
  StateDict, WeightsMismatchError,
} from '../../src/models';

const small = (arch: 'unetplusplus' | 'unet', over: Partial<ModelSpec> = {}): ModelSpec =>
  ({ arch, encoder: 'vgg19', classes: 3, inChannels: 3, widthMultiplier: 0.125, ...over });

const t = (dims: number[], fill = 0) => ({ dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill) });

/** An ImageNet VGG19 classifier's state dict (torchvision or timm names) with the encoder of `from`. */
function imagenetFile(from: StateDict, flavour: 'torchvision' | 'timm'): StateDict {
  const file: StateDict = new Map();
  for (const [name, tensor] of from) if (name.startsWith('encoder.')) file.set(name.slice('encoder.'.length), tensor);
  const heads = flavour === 'torchvision'
    ? ['classifier.0.weight', 'classifier.0.bias', 'classifier.6.weight', 'classifier.6.bias']
    : ['pre_logits.fc1.weight', 'pre_logits.fc2.bias', 'head.fc.weight', 'head.fc.bias'];
  for (const h of heads) file.set(h, t([7, 2], 1));
  return file;
}

/** Bitwise equality of float data (jest's deep equality is slow on large typed arrays). */
function same(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function expectError(run: () => unknown): WeightsMismatchError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(WeightsMismatchError);
    return err as WeightsMismatchError;
  }
  throw new Error('expected a WeightsMismatchError');
}

describe('importWeights', () => {
  test('an smp state dict imports as is; num_batches_tracked and U-Net++\'s unused center are ignored', () => {
    const spec = small('unetplusplus');
    const sd = initStateDict(spec, 3);
    const file: StateDict = new Map(sd);
    file.set('decoder.blocks.x_0_0.conv1.1.num_batches_tracked', t([]));
    file.set('decoder.center.0.0.weight', t([64, 64, 3, 3]));
    file.set('decoder.center.1.1.running_var', t([64]));
    const imported = importWeights(spec, file);
    expect([...imported.keys()].sort()).toEqual([...sd.keys()].sort());
    for (const [name, tensor] of sd) expect(imported.get(name)!.data).toBe(tensor.data);
  });

  test('an lmk checkpoint round-trips through safetensors', () => {
    const spec = small('unet', { inChannels: 1, classes: 2 });
    const sd = initStateDict(spec, 9);
    const back = importSafetensors(spec, parseSafetensors(serializeSafetensors(sd, { epoch: '1' })));
    for (const [name, tensor] of sd) expect(same(back.get(name)!.data, tensor.data)).toBe(true);
  });

  test('missing, unexpected and mis-shaped tensors come in one error, by name and shape', () => {
    const spec = small('unet');
    const file = initStateDict(spec, 1);
    file.delete('decoder.blocks.2.conv1.0.weight');
    file.delete('encoder.features.0.bias');
    file.set('decoder.extra.weight', t([5, 5]));
    file.set('segmentation_head.0.weight', t([4, 2, 3, 3]));
    const err = expectError(() => importWeights(spec, file, { source: 'ckpt.safetensors' }));
    expect(err.missing).toEqual(['encoder.features.0.bias [8]', 'decoder.blocks.2.conv1.0.weight [8, 48, 3, 3]']);
    expect(err.unexpected).toEqual(['decoder.extra.weight [5, 5]']);
    expect(err.misshaped).toEqual(['segmentation_head.0.weight [4, 2, 3, 3], expected [3, 2, 3, 3]']);
    expect(err.message).toMatch(/^ckpt.safetensors: weights do not fit unet\/vgg19 \(classes 3, in-channels 3, width multiplier 0.125\): 2 missing \(encoder.features.0.bias \[8\], /);
    expect(err.message).not.toMatch(/\n/);
  });

  test('long lists are cut in the message but kept whole on the error', () => {
    const spec = small('unetplusplus');
    const err = expectError(() => importWeights(spec, new Map([['decoder.blocks.x_0_0.conv1.0.weight', t([1])]])));
    expect(err.missing.length).toBe(listTensors(spec).parameters.length + listTensors(spec).buffers.length - 1);
    expect(err.message).toMatch(new RegExp(`and ${err.missing.length - 12} more`));
  });

  test.each(['torchvision', 'timm'] as const)('a %s ImageNet VGG19 file fills the encoder; decoder and head get smp init from the seed', (flavour) => {
    const spec = small('unetplusplus');
    const source = initStateDict(spec, 100);
    const imported = importWeights(spec, imagenetFile(source, flavour), { seed: 5 });
    const seeded = initStateDict(spec, 5);
    for (const [name, tensor] of imported) {
      const want = name.startsWith('encoder.') ? source.get(name)! : seeded.get(name)!;
      expect(same(tensor.data, want.data)).toBe(true);
    }
    expect(imported.size).toBe(seeded.size);
  });

  test('for one input channel the ImageNet RGB filters of the first conv are summed (as smp does)', () => {
    const spec = small('unet', { inChannels: 1 });
    const rgb = initStateDict({ ...spec, inChannels: 3 }, 2);
    const imported = importWeights(spec, imagenetFile(rgb, 'torchvision'));
    const w3 = rgb.get('encoder.features.0.weight')!;
    const w1 = imported.get('encoder.features.0.weight')!;
    expect(w1.dims).toEqual([8, 1, 3, 3]);
    for (const [o, q] of [[0, 0], [3, 4], [7, 8]]) {
      const sum = w3.data[(o * 3 + 0) * 9 + q] + w3.data[(o * 3 + 1) * 9 + q] + w3.data[(o * 3 + 2) * 9 + q];
      expect(w1.data[o * 9 + q]).toBeCloseTo(sum, 6);
    }
    expect(imported.get('encoder.features.2.weight')!.data).toBe(rgb.get('encoder.features.2.weight')!.data);
  });

  test('an ImageNet file of another width or with foreign keys is refused with names', () => {
    const spec = small('unet');
    const file = imagenetFile(initStateDict({ ...spec, widthMultiplier: 0.25 }, 1), 'torchvision');
    file.set('features.99.weight', t([1]));
    file.set('fc.weight', t([2]));
    file.delete('features.34.bias');
    const err = expectError(() => importWeights(spec, file, { source: 'vgg19.safetensors' }));
    expect(err.misshaped).toContain('features.0.weight [16, 3, 3, 3], expected [8, 3, 3, 3]');
    expect(err.unexpected).toEqual(['features.99.weight [1]', 'fc.weight [2]']);
    expect(err.missing).toEqual(['encoder.features.34.bias [64]']);
  });

  test('freshHead keeps everything but the head and initialises a head for the new class count', () => {
    const trained = initStateDict(small('unet', { classes: 19 }), 4);
    const spec = small('unet', { classes: 37 });
    expectError(() => importWeights(spec, trained));
    const imported = importWeights(spec, trained, { freshHead: true, seed: 8 });
    expect(imported.get('segmentation_head.0.weight')!.dims).toEqual([37, 2, 3, 3]);
    expect(same(imported.get('segmentation_head.0.weight')!.data, initStateDict(spec, 8).get('segmentation_head.0.weight')!.data)).toBe(true);
    expect(imported.get('decoder.blocks.0.conv1.0.weight')!.data).toBe(trained.get('decoder.blocks.0.conv1.0.weight')!.data);
  });

  test('a needed tensor stored as F64/I64 is named rather than reported missing', () => {
    const spec = small('unet');
    const sd = initStateDict(spec, 1);
    const contents = parseSafetensors(serializeSafetensors(sd));
    contents.tensors.delete('decoder.center.0.1.running_var');
    contents.skipped.push({ name: 'decoder.center.0.1.running_var', dtype: 'F64', shape: [64] });
    expect(() => importSafetensors(spec, contents, { source: 'w.safetensors' }))
      .toThrow("w.safetensors: decoder.center.0.1.running_var is F64; lmk reads weights stored as F32, F16 or BF16");
  });

  test('a bad seed is refused', () => {
    expect(() => importWeights(small('unet'), new Map(), { seed: -1 })).toThrow(/seed: must be an integer/);
  });
});
