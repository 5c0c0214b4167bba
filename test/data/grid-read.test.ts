import { promises as fsp } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import sharp from 'sharp';
import { readForGrid, reducedToUnitGrid, toGridPoint, toUnitGrid, Grid } from '../../src/data';
import { readImage, shrinkFactor } from '../../src/io';
import { greyImageElements, writeDicom } from '../io/dicom-writer';
import { centroidNear } from './centroid';

/**
 * The one input path (a reduced decode, then the grid) keeps the image <-> grid mapping exact on every
 * path: JPEG files scaled by libjpeg while decoding, JPEG bytes and other formats box-reduced, and no
 * reduction where the grid is close to the image. Dots are Gaussians at sub-pixel positions.
 */

const W = 1935;
const H = 2400;
const SIGMA = 12;
const DOTS: [number, number][] = [[60.3, 80.7], [967.25, 1200.6], [1860.4, 2310.1], [1500.8, 300.2]];

function dotImage(): Uint8Array {
  const out = new Uint8Array(W * H);
  for (const [px, py] of DOTS) {
    for (let y = Math.floor(py - 5 * SIGMA); y <= py + 5 * SIGMA; y++) {
      for (let x = Math.floor(px - 5 * SIGMA); x <= px + 5 * SIGMA; x++) {
        out[y * W + x] = Math.round(250 * Math.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * SIGMA * SIGMA)));
      }
    }
  }
  return out;
}

let dir: string;
const files: Record<string, string> = {};
let jpegBytes: Buffer;

beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'lmk-grid-read-'));
  const raw = { raw: { width: W, height: H, channels: 1 as const } };
  const pixels = dotImage();
  jpegBytes = await sharp(pixels, raw).jpeg({ quality: 100 }).toBuffer();
  files.jpeg = join(dir, 'dots [1].jpg');
  await fsp.writeFile(files.jpeg, jpegBytes);
  files.png = join(dir, 'dots.png');
  await sharp(pixels, raw).png().toFile(files.png);
  const sixteen = Buffer.alloc(2 * W * H);
  for (let i = 0; i < pixels.length; i++) sixteen.writeUInt16LE(pixels[i] * 16, 2 * i);
  files.dicom = join(dir, 'dots.dcm');
  await fsp.writeFile(files.dicom, writeDicom({
    transferSyntax: '1.2.840.10008.1.2.1',
    elements: greyImageElements({ width: W, height: H, bitsAllocated: 16, bitsStored: 12 }),
    pixels: sixteen,
  }));
});

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('file -> grid: the mapping is exact on every path', () => {
  const grids: [string, Grid, number][] = [
    ['the CPU recipe grid 256x224 (shrink 4)', { height: 256, width: 224 }, 4],
    ['the paper grid 512x416 (shrink 2)', { height: 512, width: 416 }, 2],
    ['a small grid 128x112 (shrink 8)', { height: 128, width: 112 }, 8],
    ['a grid near the image size (no shrink)', { height: 1300, width: 1000 }, 1],
  ];
  const sources: [string, () => string | Uint8Array][] = [
    ['JPEG file (libjpeg scaling)', () => files.jpeg],
    ['JPEG bytes (box reduction)', () => jpegBytes],
    ['PNG file', () => files.png],
    ['12-bit DICOM file', () => files.dicom],
  ];
  it.each(grids)('picks the shrink for %s', (_, grid, shrink) => {
    expect(shrinkFactor(W, H, 2 * grid.width, 2 * grid.height)).toBe(shrink);
  });
  for (const [gridName, grid, shrink] of grids) {
    it.each(sources)(`%s, ${gridName}: each dot lands where its point maps, within 0.03 grid px`, async (_, source) => {
      const reduced = await readForGrid(source(), grid);
      expect(reduced.shrink).toBe(shrink);
      expect([reduced.info.width, reduced.info.height]).toEqual([W, H]);
      expect([reduced.width, reduced.height]).toEqual([Math.floor(W / shrink), Math.floor(H / shrink)]);
      const unit = reducedToUnitGrid(reduced, grid);
      const radius = Math.ceil((4 * SIGMA * grid.width) / W) + 1;
      for (const dot of DOTS) {
        const expected = toGridPoint(dot, { width: W, height: H }, grid);
        const found = centroidNear(unit, grid, expected, radius);
        expect(Math.abs(found[0] - expected[0])).toBeLessThan(0.03);
        expect(Math.abs(found[1] - expected[1])).toBeLessThan(0.03);
      }
    });
  }

  it('a decoded image reaches the grid as its file does (within JPEG scaling rounding)', async () => {
    const grid = { height: 256, width: 224 };
    const fromFile = reducedToUnitGrid(await readForGrid(files.png, grid), grid);
    const fromDecoded = toUnitGrid(await readImage(files.png), grid);
    expect(fromDecoded).toEqual(fromFile);
    const fromJpegFile = reducedToUnitGrid(await readForGrid(files.jpeg, grid), grid);
    let worst = 0;
    for (let i = 0; i < fromFile.length; i++) worst = Math.max(worst, Math.abs(fromJpegFile[i] - fromFile[i]));
    expect(worst * 255).toBeLessThan(2);
  });

  it('names the file and the problem when it cannot be read', async () => {
    await expect(readForGrid(join(dir, 'missing.jpg'), { height: 256, width: 224 })).rejects.toThrow(/missing\.jpg: file not found/);
    const truncated = join(dir, 'truncated.jpg');
    await fsp.writeFile(truncated, jpegBytes.subarray(0, jpegBytes.length / 3));
    await expect(readForGrid(truncated, { height: 256, width: 224 })).rejects.toThrow(/truncated\.jpg: corrupt or truncated image/);
    await expect(readForGrid(files.jpeg, { height: 256, width: 224 }, { maxPixels: 1000 })).rejects.toThrow(/exceeds the limit of 1000 pixels/);
  });
});
