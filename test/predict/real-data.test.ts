import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Predictor } from '../../src/infer';
import { readImageInfo } from '../../src/io';
import { ErrorLine, predictArchive, PredictionLine } from '../../src/predict';
import { describeWithSharedData, SHARED_DATA } from '../util/shared-data';
import { brightestSpotModel } from './helpers';

const readLines = <T>(path: string): T[] => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

describeWithSharedData('predictArchive on real x-rays', () => {
  test('ISBI JPEGs, a hand MetaImage, a chest PNG and a CR DICOM without extension, with bad files mixed in', async () => {
    const data = SHARED_DATA!;
    const dir = mkdtempSync(join(tmpdir(), 'lmk-real-'));
    mkdirSync(join(dir, 'head'));
    mkdirSync(join(dir, 'pacs'));
    for (const id of ['001', '002']) copyFileSync(join(data, 'isbi2015/RawImage/TrainingData', `${id}.jpg`), join(dir, 'head', `${id}.jpg`));
    copyFileSync(join(data, 'hand-dha/images/3167.mha'), join(dir, '3167.mha'));
    copyFileSync(join(data, 'chest-shenzhen/pngs/CHNCXR_0001_0.png'), join(dir, 'CHNCXR_0001_0.png'));
    copyFileSync(join(data, 'dicom/CR-MONO1-10-chest.dcm'), join(dir, 'pacs', '1.2.392.200036.9125.9.0'));
    const jpeg = readFileSync(join(data, 'isbi2015/RawImage/TrainingData/003.jpg'));
    writeFileSync(join(dir, 'head', '003.jpg'), jpeg.subarray(0, 50000)); // truncated
    writeFileSync(join(dir, 'pacs', 'empty.dcm'), Buffer.alloc(0));

    const predictor = await Predictor.create({ model: brightestSpotModel(2, { height: 128, width: 96 }), threads: 1 });
    try {
      // OUT inside the input folder: the overlays written there must not be taken as inputs.
      const out = join(dir, 'out');
      const r = await predictArchive({ predictor, inputs: [dir], outDir: out, workers: 1, overlay: true, overlaySize: 256 });
      expect(r).toMatchObject({ predicted: 5, failed: 2 });
      const predictions = new Map(readLines<PredictionLine>(join(out, 'predictions.jsonl')).map((p) => [p.id, p]));
      expect([...predictions.keys()].sort()).toEqual(['001', '002', '1.2.392.200036.9125.9.0', '3167', 'CHNCXR_0001_0']);
      expect(predictions.get('001')).toMatchObject({ width: 1935, height: 2400 });
      expect(predictions.get('1.2.392.200036.9125.9.0')).toMatchObject({ width: 440, height: 440 });
      for (const p of predictions.values()) {
        for (const [x, y] of p.landmarks) {
          expect(x).toBeGreaterThanOrEqual(-0.5);
          expect(x).toBeLessThanOrEqual(p.width - 0.5);
          expect(y).toBeGreaterThanOrEqual(-0.5);
          expect(y).toBeLessThanOrEqual(p.height - 0.5);
        }
        // Millimetres exactly where the file states its spacing (the hand's MetaImage: 0.108075 mm).
        const spacing = (await readImageInfo(p.file)).pixelSpacingMm;
        if (!spacing) expect(p.landmarksMm).toBeUndefined();
        else p.landmarks.forEach(([x, y], k) => {
          expect(p.landmarksMm![k][0]).toBeCloseTo(x * spacing[1], 3);
          expect(p.landmarksMm![k][1]).toBeCloseTo(y * spacing[0], 3);
        });
      }
      expect(predictions.get('3167')!.landmarksMm).toHaveLength(2);
      // Overlays keep a UID-like name whole (its numeric tail is no extension).
      expect(existsSync(join(out, 'overlays', 'pacs', '1.2.392.200036.9125.9.0.png'))).toBe(true);
      expect(existsSync(join(out, 'overlays', 'head', '001.png'))).toBe(true);
      const errors = readLines<ErrorLine>(join(out, 'errors.jsonl')).map((e) => e.file).sort();
      expect(errors).toEqual([join(dir, 'head', '003.jpg'), join(dir, 'pacs', 'empty.dcm')]);
    } finally {
      await predictor.release();
    }
  });
});
