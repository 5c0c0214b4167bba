import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseSafetensors, readSafetensors, serializeSafetensors, StateDict, writeSafetensors } from '../../src/models';

/** A safetensors file from a raw header object and data bytes, as another writer might produce it. */
function rawFile(header: object, data: Uint8Array, headerLength?: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

describe('safetensors', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'lmk-st-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('write then read round-trips tensors, order and __metadata__; written atomically', async () => {
    const tensors: StateDict = new Map([
      ['encoder.features.0.weight', { dims: [2, 1, 3, 3], data: Float32Array.from({ length: 18 }, (_, i) => i / 7 - 1) }],
      ['segmentation_head.0.bias', { dims: [3], data: Float32Array.from([0.5, -1e-20, 3e38]) }],
      ['scalar', { dims: [], data: Float32Array.from([42]) }],
      ['empty', { dims: [0, 4], data: new Float32Array(0) }],
    ]);
    const path = join(dir, 'w.safetensors');
    await writeSafetensors(path, tensors, { epoch: '12', optimizer: 'adam' });
    expect(readdirSync(dir)).toEqual(['w.safetensors']);
    const bytes = readFileSync(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    const back = await readSafetensors(path);
    expect([...back.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      expect(back.tensors.get(name)!.dims).toEqual(t.dims);
      expect(Array.from(back.tensors.get(name)!.data)).toEqual(Array.from(t.data));
    }
    expect(back.metadata).toEqual({ epoch: '12', optimizer: 'adam' });
    expect(back.skipped).toEqual([]);
  });

  test('F16 and BF16 become float32; F64 and I64 are skipped and listed', () => {
    // F16: 1, -2, 0.5, 65504, smallest subnormal 2^-24, -inf. BF16: 1, -3.5 (upper halves of float32).
    const f16 = new Uint8Array(Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0xfc00]).buffer);
    const bf16 = new Uint8Array(Uint16Array.from([0x3f80, 0xc060]).buffer);
    const i64 = new Uint8Array(BigInt64Array.from([7n]).buffer);
    const f64 = new Uint8Array(Float64Array.from([1.5]).buffer);
    const data = new Uint8Array([...f16, ...bf16, ...i64, ...f64]);
    const file = rawFile({
      __metadata__: { format: 'pt' },
      half: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 12] },
      brain: { dtype: 'BF16', shape: [2], data_offsets: [12, 16] },
      'bn.num_batches_tracked': { dtype: 'I64', shape: [], data_offsets: [16, 24] },
      double: { dtype: 'F64', shape: [1], data_offsets: [24, 32] },
    }, data);
    const c = parseSafetensors(file, 'x.safetensors');
    expect(Array.from(c.tensors.get('half')!.data)).toEqual([1, -2, 0.5, 65504, 2 ** -24, -Infinity]);
    expect(c.tensors.get('half')!.dims).toEqual([2, 3]);
    expect(Array.from(c.tensors.get('brain')!.data)).toEqual([1, -3.5]);
    expect(c.skipped).toEqual([
      { name: 'bn.num_batches_tracked', dtype: 'I64', shape: [] },
      { name: 'double', dtype: 'F64', shape: [1] },
    ]);
    expect(c.metadata).toEqual({ format: 'pt' });
  });

  test('tensors stored out of order in the data section are read by their offsets', () => {
    const file = rawFile({
      b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    }, f32([1, 2]));
    const c = parseSafetensors(file);
    expect(c.tensors.get('a')!.data[0]).toBe(1);
    expect(c.tensors.get('b')!.data[0]).toBe(2);
  });

  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  test.each<[string, Uint8Array, RegExp]>([
    ['too short', new Uint8Array(5), /5 bytes, too short/],
    ['header longer than the file', rawFile({ t: ok }, f32([1, 2]), 1000), /header length 1000 does not fit/],
    ['header not JSON', (() => { const f = rawFile({ t: ok }, f32([1, 2])); f[8] = 0x7a; return f; })(), /header is not UTF-8 JSON/],
    ['header not an object', rawFile([1, 2] as unknown as object, new Uint8Array(0)), /header is not a JSON object/],
    ['unknown dtype', rawFile({ t: { ...ok, dtype: 'U8' } }, f32([1, 2])), /tensor 't' has dtype U8/],
    ['bad shape', rawFile({ t: { ...ok, shape: [-2] } }, f32([1, 2])), /tensor 't' has a bad shape/],
    ['bad offsets', rawFile({ t: { ...ok, data_offsets: [0] } }, f32([1, 2])), /bad data_offsets/],
    ['offsets past the end', rawFile({ t: { ...ok, shape: [3], data_offsets: [0, 12] } }, f32([1, 2])), /\[0, 12\] lie outside the 8 data bytes/],
    ['size does not match shape', rawFile({ t: { ...ok, shape: [3] } }, f32([1, 2])), /needs 12 bytes, data_offsets give 8/],
    ['gap', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32([1, 2])), /starts at byte 4, expected 0/],
    ['overlap', rawFile({ a: ok, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32([1, 2])), /starts at byte 4, expected 8/],
    ['trailing bytes', rawFile({ t: { ...ok, shape: [1], data_offsets: [0, 4] } }, f32([1, 2])), /tensors cover 4 of 8 data bytes/],
    ['metadata not strings', rawFile({ __metadata__: { epoch: 3 }, t: ok }, f32([1, 2])), /__metadata__.epoch is not a string/],
  ])('rejects a bad file: %s', (_what, bytes, message) => {
    expect(() => parseSafetensors(bytes, 'bad.safetensors')).toThrow(message);
    expect(() => parseSafetensors(bytes, 'bad.safetensors')).toThrow(/^bad.safetensors: not a valid safetensors file: /);
  });

  test('a missing file is one clear error naming it', async () => {
    await expect(readSafetensors(join(dir, 'nope.safetensors'))).rejects.toThrow(/nope.safetensors: cannot read \(ENOENT\)/);
  });

  test('the writer refuses tensors whose data does not match their shape', () => {
    expect(() => serializeSafetensors(new Map([['t', { dims: [3], data: new Float32Array(2) }]]))).toThrow(/'t' has 2 values for shape \[3\]/);
  });

  test('reads headers with trailing spaces and data at an unaligned offset', () => {
    // Trailing spaces in the header, and a header length that leaves the data at an odd offset.
    let text = JSON.stringify({ t: ok }) + '  ';
    while ((8 + text.length) % 4 !== 1) text += ' ';
    const json = Buffer.from(text, 'utf8');
    const file = new Uint8Array(8 + json.length + 8);
    new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
    file.set(json, 8);
    file.set(f32([3, 4]), 8 + json.length);
    const path = join(dir, 'odd.safetensors');
    writeFileSync(path, file);
    expect(Array.from(parseSafetensors(readFileSync(path)).tensors.get('t')!.data)).toEqual([3, 4]);
  });
});
