import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import sharp from 'sharp';
import { loadDataset } from '../../src/data';
import { makeBmp } from '../io/bmp-writer';
import { describeWithSharedData, SHARED_DATA } from '../util/shared-data';

async function png(path: string, width: number, height: number): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp({ create: { width, height, channels: 3, background: { r: 90, g: 90, b: 90 } } }).toColourspace('b-w').png().toFile(path);
}

function write(path: string, text: string | Buffer): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

const reasonOf = (d: { missing: { id: string; reason: string }[] }, id: string): string => d.missing.find((m) => m.id === id)?.reason ?? '(not missing)';

describe('isbi2015 layout', () => {
  const root = mkdtempSync(join(tmpdir(), 'lmk-isbi-'));
  const lines = (offset: number): string => Array.from({ length: 19 }, (_, i) => `${10 + i + offset},${20 + i}`).join('\n') + '\n7,7\n';
  const senior = (id: string): string => join(root, 'AnnotationsByMD', '400_senior', `${id}.txt`);
  const junior = (id: string): string => join(root, 'AnnotationsByMD', '400_junior', `${id}.txt`);

  beforeAll(async () => {
    for (const id of ['001', '002', '003', '004', '005', '006', '007', '008', '009', '151']) {
      write(senior(id), lines(0));
      write(junior(id), lines(2));
    }
    write(junior('002'), lines(2).replace('16,24', '16;24'));
    write(senior('003'), lines(0).replace('15,25', 'NaN,25'));
    write(senior('006'), lines(0).replace('16,26', '5000,26'));
    write(junior('007'), lines(2).split('\n').slice(0, 18).join('\n'));
    const train = join(root, 'RawImage', 'TrainingData');
    for (const id of ['001', '002', '003', '006', '007']) await png(join(train, `${id}.png`), 64, 48);
    write(join(train, '005.bmp'), Buffer.alloc(0));
    // The original distribution's 24-bit BMP, bottom-up.
    write(join(train, '009.bmp'), makeBmp({ width: 70, height: 50, bits: 24 }));
    write(join(train, '008.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(40, 7)]));
    await png(join(root, 'RawImage', 'Test1Data', '151.png'), 64, 48);
    await png(join(root, 'RawImage', 'Test1Data', '152.png'), 64, 48);
  });

  it('loads good items with the doctors\' mean and reports each bad one by file', async () => {
    const d = await loadDataset({ format: 'isbi2015', root });
    expect(d.items.map((i) => i.id)).toEqual(['001', '009', '151']);
    expect(d.items[1]).toMatchObject({ width: 70, height: 50, imagePath: join(root, 'RawImage', 'TrainingData', '009.bmp') });
    expect(d.items[0]).toMatchObject({ width: 64, height: 48, mmPerPixel: 0.1, split: 'train' });
    expect(d.items[0].landmarks[0]).toEqual([11, 20]);
    expect(d.items[0].landmarks).toHaveLength(19);
    expect(d.items[2].split).toBe('test');
    expect(reasonOf(d, '002')).toBe(`${junior('002')}:5: expected 'x,y', got '16;24'`);
    expect(reasonOf(d, '003')).toBe(`${senior('003')}:6: 'NaN' is not a finite number`);
    expect(reasonOf(d, '004')).toMatch(/^no image found \(looked for .*RawImage/);
    expect(reasonOf(d, '005')).toMatch(/005\.bmp: empty file \(0 bytes\)$/);
    expect(reasonOf(d, '006')).toMatch(/006\.png: landmark 7 at \(2509, 26\) is far outside the 64x48 image$/);
    expect(reasonOf(d, '007')).toBe(`${junior('007')}: 18 lines, 19 landmark lines expected`);
    expect(reasonOf(d, '008')).toMatch(/008\.jpg: corrupt or truncated image/);
    expect(reasonOf(d, '152')).toMatch(/152\.png: image has no annotation files$/);
    expect(d).toMatchObject({ landmarkCount: 19, grid: { height: 512, width: 416 }, unit: 'mm' });
  });

  it('selects splits and validates options', async () => {
    expect((await loadDataset({ format: 'isbi2015', root, split: 'test' })).items.map((i) => i.id)).toEqual(['151']);
    await expect(loadDataset({ format: 'isbi2015', root, split: 'val' })).rejects.toThrow("split 'val' is a fold of the training split");
    await expect(loadDataset({ format: 'isbi2015', root, split: 'test', folds: 5, fold: 0 })).rejects.toThrow('folds divide the training split');
    await expect(loadDataset({ format: 'isbi2015', root: join(root, 'nope') })).rejects.toThrow('data set root is not a directory');
    await expect(loadDataset({ format: 'nifti' as never, root })).rejects.toThrow("unknown format 'nifti'");
  });
});

describe('hand-dha layout', () => {
  const root = mkdtempSync(join(tmpdir(), 'lmk-hand-'));
  const row = (id: string, n = 37): string => [id, ...Array.from({ length: n }, (_, i) => `${10 + i},${5 + (i === 4 ? 30 : 0)}`)].join(',');

  beforeAll(async () => {
    write(join(root, 'all.csv'), [row('12'), row('3'), row('40', 36), row('x1'), row('77')].join('\n') + '\n');
    const header = 'ObjectType = Image\nNDims = 2\nDimSize = 80 60\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n';
    write(join(root, 'deep', 'er', '12.mha'), Buffer.concat([Buffer.from(header), Buffer.alloc(80 * 60, 9)]));
    mkdirSync(join(root, 'jpgs'), { recursive: true });
    await sharp({ create: { width: 80, height: 60, channels: 3, background: { r: 50, g: 50, b: 50 } } }).jpeg().toFile(join(root, 'jpgs', '3.jpg'));
  });

  it('finds images anywhere under the root, sorts ids numerically, scales by the wrist width', async () => {
    const d = await loadDataset({ format: 'hand-dha', root });
    expect(d.items.map((i) => i.id)).toEqual(['3', '12']);
    expect(d.items[1]).toMatchObject({ width: 80, height: 60, imagePath: join(root, 'deep', 'er', '12.mha') });
    // Landmarks 1 (10, 5) and 5 (14, 35): 50 mm over |(4, 30)|.
    expect(d.items[0].mmPerPixel).toBeCloseTo(50 / Math.hypot(4, 30), 12);
    expect(reasonOf(d, '40')).toBe(`${join(root, 'all.csv')}:3: 36 landmarks, 37 expected (75 fields)`);
    expect(reasonOf(d, 'x1')).toBe(`${join(root, 'all.csv')}:4: id 'x1' is not a number`);
    expect(reasonOf(d, '77')).toMatch(/^no image found/);
    expect(d).toMatchObject({ landmarkCount: 37, grid: { height: 512, width: 368 } });
  });
});

describe('chest-shenzhen layout', () => {
  const root = mkdtempSync(join(tmpdir(), 'lmk-chest-'));
  beforeAll(async () => {
    const label = (n: number): string => `${n}\n` + Array.from({ length: 6 }, (_, i) => `${((i + 1) / 10).toFixed(1)} 0.5`).join('\n') + '\n';
    write(join(root, 'labels', 'CHNCXR_0001_0.txt'), label(6));
    write(join(root, 'labels', 'CHNCXR_0002_1.txt'), label(5));
    write(join(root, 'labels', 'CHNCXR_0003_0.txt'), label(6).replace('0.3 0.5', '0.3 x'));
    for (const id of ['CHNCXR_0001_0', 'CHNCXR_0002_1', 'CHNCXR_0003_0']) await png(join(root, 'pngs', `${id}.png`), 40, 20);
  });

  it('scales the ratios by the image size', async () => {
    const d = await loadDataset({ format: 'chest-shenzhen', root });
    expect(d.items.map((i) => i.id)).toEqual(['CHNCXR_0001_0']);
    expect(d.items[0].landmarks[1][0]).toBeCloseTo(8, 10);
    expect(d.items[0].landmarks[1][1]).toBeCloseTo(10, 10);
    expect(d.items[0].mmPerPixel).toBeUndefined();
    expect(reasonOf(d, 'CHNCXR_0002_1')).toBe(`${join(root, 'labels', 'CHNCXR_0002_1.txt')}:1: landmark count 5, 6 expected`);
    expect(reasonOf(d, 'CHNCXR_0003_0')).toBe(`${join(root, 'labels', 'CHNCXR_0003_0.txt')}:4: 'x' is not a finite number`);
    expect(d).toMatchObject({ unit: 'px', grid: { height: 512, width: 512 } });
  });
});

describe('generic csv layout', () => {
  it('reads image paths relative to the root, spacing_mm and split', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lmk-csv-'));
    await png(join(root, 'a', 'one.png'), 30, 20);
    await png(join(root, 'two.png'), 30, 20);
    write(join(root, 'landmarks.csv'), 'image,x1,y1,x2,y2,spacing_mm,split\na/one.png,1,2,3,4,0.2,train\ntwo.png,5,6,7,8,,test\nthree.png,1,1,1,1,0.1,train\nbad.png,1,2,3\n');
    const d = await loadDataset({ format: 'csv', root });
    expect(d.items).toEqual([
      { id: 'a/one.png', imagePath: join(root, 'a', 'one.png'), landmarks: [[1, 2], [3, 4]], width: 30, height: 20, mmPerPixel: 0.2, split: 'train' },
      { id: 'two.png', imagePath: join(root, 'two.png'), landmarks: [[5, 6], [7, 8]], width: 30, height: 20, split: 'test' },
    ]);
    expect(reasonOf(d, 'three.png')).toMatch(/^no image found/);
    expect(reasonOf(d, 'bad.png')).toBe(`${join(root, 'landmarks.csv')}:5: 4 fields, the header has 7`);
    expect(d).toMatchObject({ landmarkCount: 2, unit: 'mm' });
  });

  it('an empty split field is the training split; another word is refused', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lmk-csv-'));
    await png(join(root, 'one.png'), 30, 20);
    await png(join(root, 'two.png'), 30, 20);
    write(join(root, 'landmarks.csv'), 'image,x1,y1,split\none.png,1,2,\ntwo.png,5,6,val\n');
    const d = await loadDataset({ format: 'csv', root });
    expect(d.items.map((i) => [i.id, i.split])).toEqual([['one.png', 'train']]);
    expect(reasonOf(d, 'two.png')).toBe(`${join(root, 'landmarks.csv')}:3: split must be 'train' or 'test', got 'val'`);
  });

  it('names a bad header', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lmk-csv-'));
    write(join(root, 'landmarks.csv'), 'image,x1,y2\n');
    await expect(loadDataset({ format: 'csv', root })).rejects.toThrow(`${join(root, 'landmarks.csv')}:1: column 3 is 'y2', 'y1' expected`);
    await expect(loadDataset({ format: 'csv', root: mkdtempSync(join(tmpdir(), 'lmk-csv-')) })).rejects.toThrow('landmarks.csv: landmark table landmarks.csv not found');
  });
});

describeWithSharedData('the real layouts in ../shared/data', () => {
  it('head: 300 items, 19 landmarks, the mean of the two doctors, 150/150 split, folds', async () => {
    const root = join(SHARED_DATA!, 'isbi2015');
    const d = await loadDataset({ format: 'isbi2015', root });
    expect(d.items).toHaveLength(300);
    expect(d.missing).toEqual([]);
    expect(d.landmarkCount).toBe(19);
    const first = (who: string): number[] => readFileSync(join(root, 'AnnotationsByMD', who, '001.txt'), 'utf8').split('\n')[0].split(',').map(Number);
    const [s, j] = [first('400_senior'), first('400_junior')];
    expect(d.items[0].landmarks[0]).toEqual([(s[0] + j[0]) / 2, (s[1] + j[1]) / 2]);
    expect(d.items[0]).toMatchObject({ id: '001', width: 1935, height: 2400, mmPerPixel: 0.1 });
    expect(d.items.filter((i) => i.split === 'train')).toHaveLength(150);
    expect(d.items.filter((i) => i.split === 'test').map((i) => i.id)[0]).toBe('151');
    const train = await loadDataset({ format: 'isbi2015', root, split: 'train', folds: 5, fold: 2 });
    const val = await loadDataset({ format: 'isbi2015', root, split: 'val', folds: 5, fold: 2 });
    expect([train.items.length, val.items.length]).toEqual([120, 30]);
  });

  it('hand: 10 items, 37 landmarks, 4 of them in the test split', async () => {
    const d = await loadDataset({ format: 'hand-dha', root: join(SHARED_DATA!, 'hand-dha') });
    expect(d.items).toHaveLength(10);
    expect(d.landmarkCount).toBe(37);
    expect(d.items.filter((i) => i.split === 'test').map((i) => i.id)).toEqual(['7081', '7088', '7232', '7236']);
    expect(d.missing).toHaveLength(900);
    for (const item of d.items) expect(item.mmPerPixel).toBeGreaterThan(0);
  });

  it('chest: 11 items, 6 landmarks, all in the first 229 (train)', async () => {
    const d = await loadDataset({ format: 'chest-shenzhen', root: join(SHARED_DATA!, 'chest-shenzhen') });
    expect(d.items).toHaveLength(11);
    expect(d.landmarkCount).toBe(6);
    expect(d.items.every((i) => i.split === 'train')).toBe(true);
    expect(d.items[0].landmarks[0][0]).toBeCloseTo(0.41625 * d.items[0].width, 10);
  });
});
