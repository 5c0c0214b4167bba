import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { deflateSync } from 'zlib';
import { readImage, readImageInfo } from '../../src/io';
import { describeWithSharedData, SHARED_DATA } from '../util/shared-data';

function mha(fields: Record<string, string>, data: Buffer): Buffer {
  const header = Object.entries({ ObjectType: 'Image', NDims: '2', ...fields, ElementDataFile: 'LOCAL' }).map(([k, v]) => `${k} = ${v}\n`).join('');
  return Buffer.concat([Buffer.from(header, 'latin1'), data]);
}

const W = 6;
const H = 4;
const values16 = Array.from({ length: W * H }, (_, i) => i * 2500 + 3);

function ushortData(msb = false): Buffer {
  const b = Buffer.alloc(2 * W * H);
  values16.forEach((v, i) => (msb ? b.writeUInt16BE(v, 2 * i) : b.writeUInt16LE(v, 2 * i)));
  return b;
}

describe('MetaImage decoding', () => {
  it('reads raw 8-bit data and ElementSpacing as [row, col] mm', async () => {
    const data = Buffer.from(Array.from({ length: W * H }, (_, i) => i * 10));
    const image = await readImage(mha({ DimSize: `${W} ${H}`, ElementType: 'MET_UCHAR', ElementSpacing: '0.2 0.3' }, data));
    expect(image).toMatchObject({ format: 'mha', width: W, height: H, bitsStored: 8, pixelSpacingMm: [0.3, 0.2], valueRange: [0, 255] });
    expect(Array.from(image.data)).toEqual(Array.from(data));
  });

  it('reads 16-bit data in either byte order', async () => {
    const le = await readImage(mha({ DimSize: `${W} ${H}`, ElementType: 'MET_USHORT' }, ushortData()));
    const be = await readImage(mha({ DimSize: `${W} ${H}`, ElementType: 'MET_USHORT', BinaryDataByteOrderMSB: 'True' }, ushortData(true)));
    expect(Array.from(le.data)).toEqual(values16);
    expect(Array.from(be.data)).toEqual(values16);
    expect(le).toMatchObject({ bitsStored: 16, valueRange: [0, 65535] });
  });

  it('inflates zlib-compressed data (CompressedData = True)', async () => {
    const packed = deflateSync(ushortData());
    const image = await readImage(mha({ DimSize: `${W} ${H}`, ElementType: 'MET_USHORT', CompressedData: 'True', CompressedDataSize: String(packed.length) }, packed));
    expect(Array.from(image.data)).toEqual(values16);
    const packed8 = deflateSync(Buffer.from([1, 2, 3, 4, 5, 6]));
    expect(Array.from((await readImage(mha({ DimSize: '3 2 1', ElementType: 'MET_UCHAR', CompressedData: 'True' }, packed8))).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reads an .mhd header with a separate raw file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmk-mha-'));
    writeFileSync(join(dir, 'x.raw'), ushortData());
    writeFileSync(join(dir, 'x.mhd'), `ObjectType = Image\nNDims = 2\nDimSize = ${W} ${H}\nElementType = MET_USHORT\nElementDataFile = x.raw\n`);
    expect(Array.from((await readImage(join(dir, 'x.mhd'))).data)).toEqual(values16);
  });

  it('names the file and the problem for bad input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmk-mha-'));
    const cut = join(dir, 'cut.mha');
    writeFileSync(cut, mha({ DimSize: `${W} ${H}`, ElementType: 'MET_USHORT' }, ushortData().subarray(0, 10)));
    await expect(readImage(cut)).rejects.toThrow(`${cut}: truncated MetaImage: pixel data needs 48 bytes, has 10`);
    const corrupt = join(dir, 'corrupt.mha');
    writeFileSync(corrupt, mha({ DimSize: `${W} ${H}`, ElementType: 'MET_USHORT', CompressedData: 'True' }, Buffer.from('not zlib at all')));
    await expect(readImage(corrupt)).rejects.toThrow(`${corrupt}: corrupt zlib data in MetaImage`);
    await expect(readImage(mha({ DimSize: '4 4 3', ElementType: 'MET_UCHAR' }, Buffer.alloc(48)))).rejects.toThrow('is not a 2-D image');
    await expect(readImage(mha({ DimSize: '4 4', ElementType: 'MET_LONG_LONG' }, Buffer.alloc(16)))).rejects.toThrow("unsupported MetaImage ElementType 'MET_LONG_LONG'");
  });

  it('refuses a huge declared size before inflating or allocating', async () => {
    const bomb = mha({ DimSize: '100000 100000', ElementType: 'MET_UCHAR', CompressedData: 'True' }, deflateSync(Buffer.alloc(1000)));
    await expect(readImage(bomb)).rejects.toThrow('image of 100000x100000 pixels exceeds the limit');
  });
});

describeWithSharedData('MetaImage on the shared hand radiographs', () => {
  it('reads 3167.mha with the same size from header and pixels', async () => {
    const path = join(SHARED_DATA!, 'hand-dha', 'images', '3167.mha');
    const info = await readImageInfo(path);
    const image = await readImage(path);
    expect(info).toMatchObject({ format: 'mha', width: image.width, height: image.height, bitsStored: 8 });
    expect(image.data.length).toBe(image.width * image.height);
    expect(Math.max(...image.data.subarray(0, 100000))).toBeLessThanOrEqual(255);
  });
});
