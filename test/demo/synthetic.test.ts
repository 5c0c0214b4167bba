import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import sharp from 'sharp';
import { loadDataset } from '../../src/data/load';
import { generateCase, generateSyntheticSet, SYNTHETIC_LANDMARK_NAMES, writeSyntheticCsvDataset } from '../../src/demo/synthetic';

describe('synthetic x-ray-like hands', () => {
  const cases = generateSyntheticSet({ count: 90, seed: 5, noise: 0 });

  test('seeded: equal seeds give equal cases, case k does not depend on the count', () => {
    const again = generateSyntheticSet({ count: 3, seed: 5, noise: 0 });
    expect(again[2].landmarks).toEqual(cases[2].landmarks);
    expect(Buffer.from(again[2].image.buffer)).toEqual(Buffer.from(cases[2].image.buffer));
    expect(generateCase(6, 2).landmarks).not.toEqual(cases[2].landmarks);
  });

  test('landmarks sit on the drawn anatomy: bone just inside each fingertip, darker tissue just beyond it', () => {
    const at = (c: (typeof cases)[0], x: number, y: number): number => c.image[Math.round(y) * c.width + Math.round(x)];
    for (const c of cases) {
      expect(c.landmarks).toHaveLength(SYNTHETIC_LANDMARK_NAMES.length);
      for (const [x, y] of c.landmarks) {
        expect(x).toBeGreaterThanOrEqual(3);
        expect(y).toBeGreaterThanOrEqual(3);
        expect(x).toBeLessThanOrEqual(c.width - 4);
        expect(y).toBeLessThanOrEqual(c.height - 4);
      }
      // The fingertip direction: from the wrist midpoint towards the tip.
      const wrist = [(c.landmarks[5][0] + c.landmarks[6][0]) / 2, (c.landmarks[5][1] + c.landmarks[6][1]) / 2];
      for (let j = 1; j < 5; j++) {
        const [x, y] = c.landmarks[j];
        const n = Math.hypot(x - wrist[0], y - wrist[1]);
        const ux = (x - wrist[0]) / n;
        const uy = (y - wrist[1]) / n;
        expect(at(c, x - 2 * ux, y - 2 * uy)).toBeGreaterThan(at(c, x + 3 * ux, y + 3 * uy) + 0.25);
      }
    }
  });

  test('pose varies: the mean shape is a poor predictor (mean error over 10 px at 128 x 128)', () => {
    const n = SYNTHETIC_LANDMARK_NAMES.length;
    const train = cases.slice(0, 60);
    const mean = Array.from({ length: n }, (_, j) => [0, 1].map((k) => train.reduce((s, c) => s + c.landmarks[j][k], 0) / train.length));
    let total = 0;
    for (const c of cases.slice(60)) for (let j = 0; j < n; j++) total += Math.hypot(c.landmarks[j][0] - mean[j][0], c.landmarks[j][1] - mean[j][1]);
    expect(total / (30 * n)).toBeGreaterThan(10);
  });

  test('writes a csv data set that the csv loader reads back (splits, spacing, landmarks, PNG size)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmk-synthetic-'));
    try {
      const test = generateSyntheticSet({ count: 2, seed: 5, firstIndex: 1000 });
      const written = await writeSyntheticCsvDataset(dir, cases.slice(0, 4), { spacingMm: 0.5, testCases: test });
      const lines = readFileSync(written.csvPath, 'utf8').trim().split('\n');
      expect(lines[0]).toBe('image,x1,y1,x2,y2,x3,y3,x4,y4,x5,y5,x6,y6,x7,y7,spacing_mm,split');
      const meta = await sharp(join(dir, 'images', 'case0000.png')).metadata();
      expect([meta.width, meta.height, meta.channels]).toEqual([128, 128, 1]);
      const loaded = await loadDataset({ format: 'csv', root: dir, split: 'test' });
      expect(loaded.missing).toEqual([]);
      expect(loaded.unit).toBe('mm');
      expect(loaded.items.map((i) => i.id)).toEqual(['images/case1000.png', 'images/case1001.png']);
      expect(loaded.items[0].mmPerPixel).toBe(0.5);
      loaded.items[0].landmarks.forEach(([x, y], j) => {
        expect(x).toBeCloseTo(test[0].landmarks[j][0], 3);
        expect(y).toBeCloseTo(test[0].landmarks[j][1], 3);
      });
      expect((await loadDataset({ format: 'csv', root: dir, split: 'train' })).items).toHaveLength(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('rejects sizes it cannot draw', () => {
    expect(() => generateCase(1, 0, { width: 32, height: 32 })).toThrow('at least 64 x 64');
  });
});
