import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import sharp from 'sharp';
import { detectFormat, inspectImage, readImage, readImageInfo, toDisplayUnit } from '../../src/io';
import { describeWithSharedData, SHARED_DATA } from '../util/shared-data';
import { Element, greyImageElements, str, tiffPreamble, us, writeDicom } from './dicom-writer';

const FIXTURES = join(__dirname, '..', 'fixtures', 'io');
const EXPLICIT = '1.2.840.10008.1.2.1';

/** Values dcmtk decoded from a fixture (see test/fixtures/io/make-dicom-fixtures.sh), masked to BitsStored. */
function dcmtkValues(name: string, bitsStored: number, count: number): number[] {
  const raw = readFileSync(join(FIXTURES, `${name}.dcmtk.raw`));
  const bytes = raw.length / count;
  return Array.from({ length: count }, (_, i) => (bytes === 1 ? raw[i] : raw.readUInt16LE(2 * i) & (2 ** bitsStored - 1)));
}

describe('DICOM transfer syntaxes decode to the stored values dcmtk decodes', () => {
  const cases: [string, string][] = [
    ['base', '1.2.840.10008.1.2.1'],
    ['implicit-no-preamble', '1.2.840.10008.1.2'],
    ['deflated', '1.2.840.10008.1.2.1.99'],
    ['big-endian', '1.2.840.10008.1.2.2'],
    ['rle', '1.2.840.10008.1.2.5'],
    ['jpeg-baseline-8bit', '1.2.840.10008.1.2.4.50'],
    ['jpeg-extended-12bit', '1.2.840.10008.1.2.4.51'],
    ['jpeg-lossless-p14', '1.2.840.10008.1.2.4.57'],
    ['jpeg-lossless-sv1', '1.2.840.10008.1.2.4.70'],
    ['jpegls', '1.2.840.10008.1.2.4.80'],
    ['jpegls-near', '1.2.840.10008.1.2.4.81'],
    ['jpeg2000', '1.2.840.10008.1.2.4.90'],
  ];
  it.each(cases)('%s (%s)', async (name, syntax) => {
    const path = join(FIXTURES, `${name}.dcm`);
    const inspection = await inspectImage(path);
    const image = await readImage(path);
    expect(image).toMatchObject({ format: 'dicom', transferSyntax: syntax, width: 64, height: 48 });
    const expected = dcmtkValues(name, image.bitsStored, 64 * 48);
    // Stored values (what inspect summarises) are dcmtk's; MONOCHROME1 is inverted by the display, after the window.
    expect(Array.from(image.data)).toEqual(expected);
    expect(image.display?.invert).toBe(image.photometric === 'MONOCHROME1');
    expect(inspection.stats.min).toBe(Math.min(...expected));
    expect(inspection.stats.max).toBe(Math.max(...expected));
    expect(inspection.stats.mean).toBeCloseTo(expected.reduce((a, b) => a + b, 0) / expected.length, 6);
    expect(inspection.transferSyntax).toBe(syntax);
  });

  it('names the file when compressed data is corrupt', async () => {
    const bytes = readFileSync(join(FIXTURES, 'jpegls.dcm'));
    bytes.fill(0x55, bytes.length - 1500, bytes.length - 500);
    await expect(readImage(bytes)).rejects.toThrow('<buffer>: corrupt JPEG-LS pixel data');
  });
});

function grey16(width: number, height: number, values: number[], o: { photometric?: string; bitsStored?: number; signed?: boolean; extra?: Element[]; syntax?: string; part10?: boolean } = {}): Buffer {
  const pixels = Buffer.alloc(2 * values.length);
  values.forEach((v, i) => pixels.writeUInt16LE(v & 0xffff, 2 * i));
  return writeDicom({
    transferSyntax: o.syntax ?? EXPLICIT,
    part10: o.part10,
    elements: greyImageElements({ width, height, bitsAllocated: 16, bitsStored: o.bitsStored ?? 12, photometric: o.photometric, signed: o.signed, extra: o.extra }),
    pixels,
  });
}

describe('DICOM pixel semantics', () => {
  it('applies rescale slope and intercept, and reads PixelSpacing as [row, col] mm', async () => {
    const image = await readImage(grey16(2, 2, [0, 1, 100, 4095], {
      extra: [str(0x00280030, 'DS', '0.15\\0.2'), str(0x00281052, 'DS', '-100'), str(0x00281053, 'DS', '2')],
    }));
    expect(Array.from(image.data)).toEqual([-100, -98, 100, 8090]);
    expect(image.valueRange).toEqual([-100, 8090]);
    expect(image.pixelSpacingMm).toEqual([0.15, 0.2]);
  });

  it('falls back to ImagerPixelSpacing', async () => {
    const info = await readImage(grey16(1, 1, [5], { extra: [str(0x00181164, 'DS', '0.1\\0.1')] }));
    expect(info.pixelSpacingMm).toEqual([0.1, 0.1]);
  });

  it('applies the Modality LUT Sequence (clamping outside its input range)', async () => {
    const descriptor = us(0x00283002, 4, 10, 16);
    const lutData = Buffer.alloc(8);
    [100, 200, 300, 400].forEach((v, i) => lutData.writeUInt16LE(v, 2 * i));
    const sequence: Element = { tag: 0x00283000, vr: 'SQ', value: { items: [[descriptor, { tag: 0x00283006, vr: 'OW', value: lutData }]] } };
    const image = await readImage(grey16(3, 2, [0, 10, 11, 12, 13, 500], { extra: [sequence] }));
    expect(Array.from(image.data)).toEqual([100, 100, 200, 300, 400, 400]);
    // The output range is the entries', not the 16 bits': a 16-bit LUT may fill a small part of 0-65535.
    expect(image.valueRange).toEqual([100, 400]);
  });

  it('inverts MONOCHROME1 for the model and keeps stored values for inspect', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmk-dcm-'));
    const path = join(dir, 'm1.dcm');
    writeFileSync(path, grey16(2, 1, [0, 1000], { photometric: 'MONOCHROME1', bitsStored: 10 }));
    const image = await readImage(path);
    expect(Array.from(image.data)).toEqual([0, 1000]);
    // No window in the file: min-max, then inverted (the high value shows dark).
    expect(Array.from(toDisplayUnit(image.data, image.valueRange, image.display))).toEqual([1, 0]);
    expect((await inspectImage(path)).stats).toEqual({ min: 0, max: 1000, mean: 500 });
    expect((await inspectImage(path)).window).toBe('min-max window of the values: center 500.5, width 1001, LINEAR, inverted (MONOCHROME1)');
  });

  it('sign-extends signed pixels from BitsStored', async () => {
    const image = await readImage(grey16(3, 1, [-5, 7, -2048], { signed: true, bitsStored: 12 }));
    expect(Array.from(image.data)).toEqual([-5, 7, -2048]);
    expect(image.valueRange).toEqual([-2048, 2047]);
  });

  it.each([
    ['implicit VR', '1.2.840.10008.1.2'],
    ['explicit VR', EXPLICIT],
  ])('reads a data set without the Part-10 preamble (%s), detected by content', async (_, syntax) => {
    const bytes = grey16(2, 1, [3, 4], { syntax, part10: false });
    expect(detectFormat(bytes)).toBe('dicom');
    const dir = mkdtempSync(join(tmpdir(), 'lmk-dcm-'));
    const path = join(dir, 'looks-like.png');
    writeFileSync(path, bytes);
    expect(Array.from((await readImage(path)).data)).toEqual([3, 4]);
    expect(await readImageInfo(path)).toMatchObject({ format: 'dicom', width: 2, height: 1, bitsStored: 12, modality: 'CR' });
  });

  it('reads a deflated data set', async () => {
    expect(Array.from((await readImage(grey16(2, 2, [1, 2, 3, 4], { syntax: '1.2.840.10008.1.2.1.99' }))).data)).toEqual([1, 2, 3, 4]);
  });
});

describe('DICOM bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmk-dcm-bad-'));
  const file = (name: string, bytes: Buffer): string => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };

  it('refuses unsupported transfer syntaxes by name', async () => {
    const mpeg = writeDicom({ transferSyntax: '1.2.840.10008.1.2.4.100', elements: greyImageElements({ width: 2, height: 2, bitsAllocated: 8, bitsStored: 8 }), pixels: { fragments: [Buffer.alloc(10)] } });
    const path = file('mpeg.dcm', mpeg);
    await expect(readImage(path)).rejects.toThrow(`${path}: unsupported DICOM transfer syntax 1.2.840.10008.1.2.4.100`);
  });

  it('refuses truncated pixel data and truncated files', async () => {
    const short = file('short.dcm', grey16(4, 4, new Array(10).fill(9)));
    await expect(readImage(short)).rejects.toThrow(`${short}: truncated DICOM pixel data: 32 bytes needed, 20 present`);
    const whole = grey16(4, 4, new Array(16).fill(9));
    const cut = file('cut.dcm', whole.subarray(0, whole.length - 6));
    await expect(readImage(cut)).rejects.toThrow(`${cut}: corrupt or truncated DICOM (buffer overrun)`);
    const header = file('header.dcm', whole.subarray(0, 200));
    await expect(readImage(header)).rejects.toThrow(`${header}: `);
  });

  it('refuses zero-byte files', async () => {
    const empty = file('empty.dcm', Buffer.alloc(0));
    await expect(readImage(empty)).rejects.toThrow(`${empty}: empty file (0 bytes)`);
  });

  it('refuses a huge declared size before decoding', async () => {
    const huge = writeDicom({ transferSyntax: EXPLICIT, elements: greyImageElements({ width: 65535, height: 65535, bitsAllocated: 16, bitsStored: 12 }), pixels: Buffer.alloc(16) });
    await expect(readImage(huge)).rejects.toThrow('image of 65535x65535 pixels exceeds the limit of 268402689 pixels');
  });

  it('refuses a compressed stream that declares another size than the header, before decoding it', async () => {
    const siz = Buffer.alloc(40);
    siz.writeUInt16BE(0xff4f, 0);
    siz.writeUInt16BE(0xff51, 2);
    siz.writeUInt32BE(100000, 8);
    siz.writeUInt32BE(100000, 12);
    const j2k = writeDicom({ transferSyntax: '1.2.840.10008.1.2.4.90', elements: greyImageElements({ width: 2, height: 2, bitsAllocated: 16, bitsStored: 12 }), pixels: { fragments: [siz] } });
    await expect(readImage(j2k)).rejects.toThrow('<buffer>: compressed stream is 100000x100000, the DICOM header says 2x2');
  });

  it('refuses photometric interpretations it cannot show as grey, and multi-frame images (colour: test/io/colour-dicom.test.ts)', async () => {
    const colour = writeDicom({ transferSyntax: EXPLICIT, elements: greyImageElements({ width: 1, height: 1, bitsAllocated: 8, bitsStored: 8, photometric: 'RGB' }), pixels: Buffer.alloc(4) });
    await expect(readImage(colour)).rejects.toThrow('<buffer>: unsupported DICOM photometric interpretation RGB with 1 samples per pixel');
    const palette = writeDicom({ transferSyntax: EXPLICIT, elements: greyImageElements({ width: 1, height: 1, bitsAllocated: 8, bitsStored: 8, photometric: 'PALETTE COLOR' }), pixels: Buffer.alloc(4) });
    await expect(readImage(palette)).rejects.toThrow(/unsupported DICOM photometric interpretation PALETTE COLOR .*lmk reads MONOCHROME1\/2, and RGB, YBR_FULL, YBR_FULL_422, YBR_ICT, YBR_RCT as grey/);
    const frames = writeDicom({ transferSyntax: EXPLICIT, elements: greyImageElements({ width: 1, height: 1, bitsAllocated: 8, bitsStored: 8, extra: [str(0x00280008, 'IS', '3')] }), pixels: Buffer.alloc(4) });
    await expect(readImage(frames)).rejects.toThrow('multi-frame DICOM (3 frames) is not supported');
  });
});

describe('DICOM files whose preamble is a TIFF header (PS3.10 dual-format)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmk-dcm-dual-'));
  const stored = [0, 1, 100, 4095];
  const pixels = Buffer.alloc(2 * stored.length);
  stored.forEach((v, i) => pixels.writeUInt16LE(v, 2 * i));
  // The rescale makes the DICOM's values differ from the stored ones a TIFF reader sees.
  const elements = greyImageElements({ width: 2, height: 2, bitsAllocated: 16, bitsStored: 12, extra: [str(0x00281052, 'DS', '-100'), str(0x00281053, 'DS', '2')] });
  /** The DICOM with a TIFF header in its preamble whose strip is the DICOM's pixel data (the file's last bytes). */
  const dual = (spec: { pixels: Buffer | null }): Buffer => {
    const plain = writeDicom({ transferSyntax: EXPLICIT, elements, ...spec });
    const stripOffset = plain.length - pixels.length;
    return writeDicom({ transferSyntax: EXPLICIT, elements, ...spec, preamble: tiffPreamble({ width: 2, height: 2, bitsPerSample: 16, stripOffset, stripBytes: pixels.length }) });
  };

  it('decodes as the DICOM, though a TIFF reader reads it too', async () => {
    const bytes = dual({ pixels });
    expect(await sharp(bytes).metadata()).toMatchObject({ format: 'tiff', width: 2, height: 2, channels: 1, depth: 'ushort' });
    const tiff = await sharp(bytes).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
    expect(tiff.info).toMatchObject({ width: 2, height: 2, channels: 1 });
    expect(Array.from(new Uint16Array(tiff.data.buffer, tiff.data.byteOffset, stored.length))).toEqual(stored);

    expect(detectFormat(bytes)).toBe('dicom');
    const path = join(dir, 'dual.tif');
    writeFileSync(path, bytes);
    expect(await readImageInfo(path)).toMatchObject({ format: 'dicom', width: 2, height: 2, bitsStored: 12, modality: 'CR' });
    expect(Array.from((await readImage(path)).data)).toEqual([-100, -98, 100, 8090]);
  });

  it('keeps one-line errors for a non-image object and a truncated file', async () => {
    const report = join(dir, 'report.dcm');
    writeFileSync(report, dual({ pixels: null }));
    await expect(readImage(report)).rejects.toThrow(new Error(`${report}: DICOM file has no pixel data`));
    const cut = join(dir, 'cut.dcm');
    const whole = dual({ pixels });
    writeFileSync(cut, whole.subarray(0, whole.length - 6));
    await expect(readImage(cut)).rejects.toThrow(new Error(`${cut}: corrupt or truncated DICOM (buffer overrun)`));
  });
});

describeWithSharedData('the shared CR chest radiograph', () => {
  it('reads implicit VR without preamble, MONOCHROME1, 10 bits', async () => {
    const path = join(SHARED_DATA!, 'dicom', 'CR-MONO1-10-chest.dcm');
    const image = await readImage(path);
    expect(image).toMatchObject({ format: 'dicom', width: 440, height: 440, bitsStored: 10, photometric: 'MONOCHROME1', modality: 'CR', transferSyntax: '1.2.840.10008.1.2' });
    // dcmdump shows PixelData starting 0000\00d1\030e\03b2\03ba.
    expect(Array.from(image.data.subarray(0, 5))).toEqual([0, 0xd1, 0x30e, 0x3b2, 0x3ba]);
    expect(image.display?.invert).toBe(true);
    const inspection = await inspectImage(path);
    expect(inspection).toMatchObject({ width: 440, height: 440, bitsStored: 10, photometric: 'MONOCHROME1', modality: 'CR', transferSyntax: '1.2.840.10008.1.2', pixelSpacingMm: null });
    expect(inspection.stats.min).toBe(0);
  });

  it('detects DICOM by content under any name', async () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'lmk-dcm-')), 'chest.jpg');
    copyFileSync(join(SHARED_DATA!, 'dicom', 'CR-MONO1-10-chest.dcm'), copy);
    expect((await readImageInfo(copy)).format).toBe('dicom');
  });
});
