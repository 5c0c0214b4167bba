import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import sharp from 'sharp';
import { crc32, deflateSync } from 'zlib';
import { detectFormat, inspectImage, readImage, readImageInfo } from '../../src/io';
import { describeWithSharedData, SHARED_DATA } from '../util/shared-data';

const W = 7;
const H = 5;
const grey8 = Buffer.from(Array.from({ length: W * H }, (_, i) => (i * 7) % 256));

describe('images through sharp', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmk-read-'));

  it('reads 8-bit grey PNG exactly', async () => {
    const png = await sharp(grey8, { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    const image = await readImage(png);
    expect(image).toMatchObject({ format: 'png', width: W, height: H, bitsStored: 8, photometric: 'MONOCHROME2', valueRange: [0, 255] });
    expect(Array.from(image.data)).toEqual(Array.from(grey8));
  });

  it('reads 16-bit grey PNG without reducing it to 8 bits', async () => {
    const values = new Uint16Array(Array.from({ length: W * H }, (_, i) => i * 1800 + 5));
    const png = await sharp(values, { raw: { width: W, height: H, channels: 1 } }).toColourspace('grey16').png().toBuffer();
    const image = await readImage(png);
    expect(image).toMatchObject({ bitsStored: 16, valueRange: [0, 65535] });
    expect(Array.from(image.data)).toEqual(Array.from(values));
  });

  it('reads colour as luma, identical channels exactly', async () => {
    const rgb = Buffer.alloc(3 * W * H);
    grey8.forEach((v, i) => rgb.fill(v, 3 * i, 3 * i + 3));
    rgb[0] = 200; rgb[1] = 0; rgb[2] = 0;
    const image = await readImage(await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer());
    expect(image.photometric).toBe('RGB');
    expect(image.data[0]).toBeCloseTo(0.299 * 200, 4);
    expect(Array.from(image.data.subarray(1))).toEqual(Array.from(grey8.subarray(1)));
  });

  it.each([
    ['jpeg', (s: sharp.Sharp) => s.jpeg({ quality: 100 })],
    ['tiff', (s: sharp.Sharp) => s.tiff({ compression: 'lzw' })],
    ['webp', (s: sharp.Sharp) => s.webp({ lossless: true })],
  ] as const)('reads %s, detected by content', async (format, encode) => {
    const bytes = await encode(sharp(grey8, { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w')).toBuffer();
    expect(detectFormat(bytes)).toBe(format);
    const path = join(dir, `${format}.bin`);
    writeFileSync(path, bytes);
    const image = await readImage(path);
    expect(image).toMatchObject({ format, width: W, height: H });
    const maxError = Math.max(...Array.from(image.data, (v, i) => Math.abs(v - grey8[i])));
    expect(maxError).toBeLessThanOrEqual(format === 'jpeg' ? 4 : 0);
    expect(await readImageInfo(path)).toMatchObject({ format, width: W, height: H });
  });

  it('names the file for missing, empty, unknown and truncated input', async () => {
    const missing = join(dir, 'nope.png');
    await expect(readImage(missing)).rejects.toThrow(`${missing}: file not found`);
    await expect(readImageInfo(missing)).rejects.toThrow(`${missing}: file not found`);
    const empty = join(dir, 'empty.png');
    writeFileSync(empty, Buffer.alloc(0));
    await expect(readImage(empty)).rejects.toThrow(`${empty}: empty file (0 bytes)`);
    await expect(readImageInfo(empty)).rejects.toThrow(`${empty}: empty file (0 bytes)`);
    const text = join(dir, 'notes.jpg');
    writeFileSync(text, 'hello, not an image');
    await expect(readImage(text)).rejects.toThrow(`${text}: unrecognised image format`);
    const big = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer();
    const cut = join(dir, 'cut.jpg');
    writeFileSync(cut, big.subarray(0, big.length / 2));
    await expect(readImage(cut)).rejects.toThrow(`${cut}: corrupt or truncated image`);
    await expect(readImage(dir)).rejects.toThrow(`${dir}: is a directory`);
  });

  it('refuses a declared 100000x100000 PNG before decoding it', async () => {
    const chunk = (type: string, body: Buffer): Buffer => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(body.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type), body])) >>> 0);
      return Buffer.concat([length, Buffer.from(type), body, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(100000, 0);
    ihdr.writeUInt32BE(100000, 4);
    ihdr[8] = 8;
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(100))), chunk('IEND', Buffer.alloc(0))]);
    const path = join(dir, 'huge.png');
    writeFileSync(path, png);
    expect(await readImageInfo(path)).toMatchObject({ width: 100000, height: 100000 });
    await expect(readImage(path)).rejects.toThrow(`${path}: image of 100000x100000 pixels exceeds the limit of 268402689 pixels`);
  });

  it('refuses images over maxPixels, and bad maxPixels', async () => {
    const png = await sharp(grey8, { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    await expect(readImage(png, { maxPixels: W * H - 1 })).rejects.toThrow(`image of ${W}x${H} pixels exceeds the limit of ${W * H - 1} pixels`);
    await expect(readImage(png, { maxPixels: 0 })).rejects.toThrow('maxPixels must be a positive integer');
  });
});

describeWithSharedData('shared data images', () => {
  it('reads an ISBI JPEG (3 identical channels) and the hand JPEG', async () => {
    const isbi = await readImage(join(SHARED_DATA!, 'isbi2015', 'RawImage', 'TrainingData', '001.jpg'));
    expect(isbi).toMatchObject({ width: 1935, height: 2400, format: 'jpeg' });
    const hand = await inspectImage(join(SHARED_DATA!, 'hand-dha', 'jpg', '3147.jpg'));
    expect(hand).toMatchObject({ width: 1400, height: 1850, bitsStored: 8, photometric: 'MONOCHROME2', modality: null, transferSyntax: null });
  });
});
