import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { readImage, readImageInfo } from '../../src/io';
import { BmpOptions, grey, makeBmp } from './bmp-writer';

function expectPattern(data: Float32Array, width: number, height: number): void {
  const expected = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) expected[y * width + x] = grey(x, y);
  expect(Array.from(data)).toEqual(Array.from(expected));
}

describe('BMP decoding', () => {
  const cases: [string, BmpOptions][] = [
    ['8-bit palette, bottom-up', { width: 13, height: 7, bits: 8 }],
    ['8-bit palette, top-down', { width: 13, height: 7, bits: 8, topDown: true }],
    ['8-bit palette, OS/2 core header', { width: 9, height: 5, bits: 8, coreHeader: true }],
    ['24-bit, bottom-up, padded rows', { width: 13, height: 7, bits: 24 }],
    ['24-bit, top-down', { width: 5, height: 6, bits: 24, topDown: true }],
    ['32-bit BGRX', { width: 7, height: 4, bits: 32 }],
    ['32-bit bitfields', { width: 7, height: 4, bits: 32, bitfields: true }],
  ];
  it.each(cases)('%s', async (_, o) => {
    const image = await readImage(makeBmp(o));
    expect(image).toMatchObject({ format: 'bmp', width: o.width, height: o.height, bitsStored: 8, valueRange: [0, 255] });
    expectPattern(image.data, o.width, o.height);
  });

  it('reads colour as luma', async () => {
    const bmp = makeBmp({ width: 1, height: 1, bits: 24 });
    const at = bmp.readUInt32LE(10);
    bmp[at] = 0; // blue
    bmp[at + 1] = 0; // green
    bmp[at + 2] = 200; // red
    expect((await readImage(bmp)).data[0]).toBeCloseTo(0.299 * 200, 4);
  });

  it('reads the size from the header only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmk-bmp-'));
    const path = join(dir, 'x.bmp');
    writeFileSync(path, makeBmp({ width: 13, height: 7, bits: 24 }));
    expect(await readImageInfo(path)).toMatchObject({ format: 'bmp', width: 13, height: 7 });
  });

  it('refuses truncated pixel data, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmk-bmp-'));
    const path = join(dir, 'cut.bmp');
    const bmp = makeBmp({ width: 13, height: 7, bits: 24 });
    writeFileSync(path, bmp.subarray(0, bmp.length - 10));
    await expect(readImage(path)).rejects.toThrow(`${path}: truncated BMP`);
  });

  it('refuses unsupported depths and compressions', async () => {
    const four = makeBmp({ width: 4, height: 4, bits: 24 });
    four.writeUInt16LE(4, 28);
    await expect(readImage(four)).rejects.toThrow('unsupported BMP depth of 4 bits');
    const rle = makeBmp({ width: 4, height: 4, bits: 8 });
    rle.writeUInt32LE(1, 30);
    await expect(readImage(rle)).rejects.toThrow('unsupported BMP compression 1');
  });

  it('refuses a huge declared size before taking memory', async () => {
    const bmp = makeBmp({ width: 4, height: 4, bits: 24 });
    bmp.writeInt32LE(100000, 18);
    bmp.writeInt32LE(100000, 22);
    await expect(readImage(bmp)).rejects.toThrow('image of 100000x100000 pixels exceeds the limit of 268402689 pixels');
    await expect(readImage(makeBmp({ width: 20, height: 20, bits: 24 }), { maxPixels: 399 })).rejects.toThrow('exceeds the limit of 399 pixels');
  });
});
