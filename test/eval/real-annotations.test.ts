import { describeWithSharedData, SHARED_DATA } from '../util/shared-data';
import { evaluatePredictions, GU2NET_HEAD_MM_PER_GRID_PIXEL, roundHalfEven, type EvaluationDataset } from '../../src/eval';
import type { Point } from '../../src/data/types';
import { loadDataset } from '../../src/data';
import { chestDataset, handDataset, headDataset, shifted } from './ground-truth';

const sdrOf = (s: { sdr: Array<{ threshold: number; percent: number }> }): Record<string, number> =>
  Object.fromEntries(s.sdr.map((x) => [String(x.threshold), x.percent]));

describeWithSharedData('MRE/SDR on the real annotations with known offsets', () => {
  const root = SHARED_DATA as string;

  describe('head (ISBI 2015, physical: 0.1 mm per original pixel)', () => {
    let head: EvaluationDataset;
    beforeAll(() => { head = headDataset(root, 150); });

    test('every landmark +3 px in x gives 0.3 mm exactly, std 0, SDR 100 %', () => {
      const s = evaluatePredictions(head, shifted(head, ([x, y]) => [x + 3, y]));
      expect(s.n_images).toBe(150);
      expect(s.mre.unit).toBe('mm');
      expect(s.mre.value).toBeCloseTo(0.3, 12);
      expect(s.mre.std).toBeCloseTo(0, 12);
      expect(sdrOf(s)).toEqual({ '2': 100, '2.5': 100, '3': 100, '4': 100 });
      expect(s.per_landmark).toHaveLength(19);
      for (const l of s.per_landmark) expect(l.mre).toBeCloseTo(0.3, 12);
    });

    test('landmark j moved by (5j + 1) px: MRE 4.6 mm, SDR 4/19, 5/19, 6/19, 8/19, per-landmark errors', () => {
      const s = evaluatePredictions(head, shifted(head, ([x, y], _item, _i, j) => [x, y + 5 * j + 1]));
      expect(s.mre.value).toBeCloseTo(4.6, 12);
      const expected = { '2': (100 * 4) / 19, '2.5': (100 * 5) / 19, '3': (100 * 6) / 19, '4': (100 * 8) / 19 };
      for (const [k, v] of Object.entries(expected)) expect(sdrOf(s)[k]).toBeCloseTo(v, 10);
      s.per_landmark.forEach((l, j) => {
        expect(l.mre).toBeCloseTo(0.1 + 0.5 * j, 12);
        expect(l.std).toBeCloseTo(0, 12);
        expect(l.sdr.map((x) => x.percent)).toEqual([0.1 + 0.5 * j <= 2, 0.1 + 0.5 * j <= 2.5, 0.1 + 0.5 * j <= 3, 0.1 + 0.5 * j <= 4].map((ok) => (ok ? 100 : 0)));
      });
    });

    test('std is over images: half the images 0.3 mm off, half 0.6 mm (3-4-5 triangles)', () => {
      const s = evaluatePredictions(head, shifted(head, ([x, y], _item, i) => (i % 2 === 0 ? [x + 3, y] : [x + 3.6, y + 4.8])));
      expect(s.mre.value).toBeCloseTo(0.45, 12);
      expect(s.mre.std).toBeCloseTo(0.15, 12);
    });
  });

  describe('hand (Digital Hand Atlas, physical: 50 mm between landmarks 1 and 5)', () => {
    let hand: EvaluationDataset;
    beforeAll(() => { hand = handDataset(root, false); });

    test('offsets of 1 mm (odd landmarks) and 3 mm (even) by the per-image wrist scale', () => {
      expect(hand.items.length).toBeGreaterThan(900);
      const s = evaluatePredictions(
        hand,
        shifted(hand, ([x, y], item, _i, j) => {
          const pxPerMm = Math.hypot(item.landmarks[0][0] - item.landmarks[4][0], item.landmarks[0][1] - item.landmarks[4][1]) / 50;
          const mm = j % 2 === 0 ? 1 : 3;
          return [x + 0.6 * mm * pxPerMm, y - 0.8 * mm * pxPerMm];
        }),
      );
      expect(s.mre.unit).toBe('mm');
      expect(s.mre.value).toBeCloseTo((19 * 1 + 18 * 3) / 37, 10);
      expect(s.mre.std).toBeCloseTo(0, 10);
      expect(sdrOf(s)['2']).toBeCloseTo((100 * 19) / 37, 10);
      expect(sdrOf(s)['4']).toBe(100);
      expect(sdrOf(s)['10']).toBe(100);
      expect(s.per_landmark[0].mre).toBeCloseTo(1, 10);
      expect(s.per_landmark[1].mre).toBeCloseTo(3, 10);
    });
  });

  describe('chest (Shenzhen, physical: pixels of the 512x512 grid)', () => {
    test('a (3, 4) offset on the 512x512 grid is 5 px whatever the original size', async () => {
      const chest = await chestDataset(root);
      expect(chest.items.length).toBe(11);
      const s = evaluatePredictions(chest, shifted(chest, ([x, y], item) => [x + (3 * item.width) / 512, y + (4 * item.height) / 512]));
      expect(s.mre.unit).toBe('px');
      expect(s.mre.value).toBeCloseTo(5, 10);
      expect(sdrOf(s)).toEqual({ '3': 0, '6': 100, '9': 100 });
    });
  });

  test('through the data loader: ISBI test split +3 px is 0.3 mm; hand test images 1 mm by the wrist rule', async () => {
    const head = await loadDataset({ format: 'isbi2015', root: `${root}/isbi2015`, split: 'test' });
    expect(head.items.length).toBe(150);
    const s = evaluatePredictions(head, shifted(head, ([x, y]) => [x + 3, y]));
    expect(s.mre.value).toBeCloseTo(0.3, 12);
    const hand = await loadDataset({ format: 'hand-dha', root: `${root}/hand-dha`, split: 'test' });
    expect(hand.items.length).toBeGreaterThan(0);
    const h = evaluatePredictions(hand, shifted(hand, ([x, y], item) => [x, y + Math.hypot(item.landmarks[0][0] - item.landmarks[4][0], item.landmarks[0][1] - item.landmarks[4][1]) / 50]));
    expect(h.mre.value).toBeCloseTo(1, 10);
  });

  describe('gu2net protocol: rounded positions on the resized grid', () => {
    /** The original-pixel position of a grid pixel, so that it maps back onto exactly that grid pixel. */
    const gridPoint = (item: { width: number; height: number }, grid: { width: number; height: number }, gx: number, gy: number): Point => [
      (gx * item.width) / grid.width,
      (gy * item.height) / grid.height,
    ];

    test('head: (3, 4) grid pixels from the rounded ground truth is 5 x 0.46875 mm', () => {
      const head = headDataset(root, 150);
      const grid = { width: 416, height: 512 };
      const s = evaluatePredictions(
        head,
        shifted(head, ([x, y], item) => gridPoint(item, grid, roundHalfEven((x * 416) / 1935) + 3, roundHalfEven((y * 512) / 2400) + 4)),
        { protocol: 'gu2net' },
      );
      expect(s.mre.value).toBeCloseTo(5 * GU2NET_HEAD_MM_PER_GRID_PIXEL, 12);
      expect(s.mre.std).toBeCloseTo(0, 12);
      expect(sdrOf(s)).toEqual({ '2': 0, '2.5': 100, '3': 100, '4': 100 });
    });

    test('head: a sub-pixel offset that stays inside the ground truth grid pixel scores 0', () => {
      const head = headDataset(root, 20);
      const s = evaluatePredictions(
        head,
        shifted(head, ([x, y], item) => gridPoint(item, { width: 416, height: 512 }, roundHalfEven((x * 416) / 1935) + 0.3, roundHalfEven((y * 512) / 2400) - 0.3)),
        { protocol: 'gu2net' },
      );
      expect(s.mre.value).toBe(0);
    });

    test('hand: 2 grid pixels in x, scaled by 50 / |g1 - g5| measured on the 368x512 grid', () => {
      const hand = handDataset(root, true);
      expect(hand.items.length).toBe(9);
      const grid = { width: 368, height: 512 };
      const g = (item: { width: number; height: number }, p: Point): Point => [roundHalfEven((p[0] * 368) / item.width), roundHalfEven((p[1] * 512) / item.height)];
      const s = evaluatePredictions(hand, shifted(hand, (p, item) => { const q = g(item, p); return gridPoint(item, grid, q[0] + 2, q[1]); }), { protocol: 'gu2net' });
      const perImage = hand.items.map((item) => {
        const a = g(item, item.landmarks[0]);
        const b = g(item, item.landmarks[4]);
        return (2 * 50) / Math.hypot(a[0] - b[0], a[1] - b[1]);
      });
      expect(s.mre.value).toBeCloseTo(perImage.reduce((x, y) => x + y, 0) / perImage.length, 10);
      // GU2Net's std pools all landmark errors: here 37 equal errors per image.
      const m = s.mre.value;
      expect(s.mre.std).toBeCloseTo(Math.sqrt(perImage.reduce((acc, e) => acc + (e - m) ** 2, 0) / perImage.length), 10);
    });

    test('chest: (3, 4) grid pixels is 5 px', async () => {
      const chest = await chestDataset(root);
      const grid = { width: 512, height: 512 };
      const s = evaluatePredictions(
        chest,
        shifted(chest, ([x, y], item) => gridPoint(item, grid, roundHalfEven((x * 512) / item.width) + 3, roundHalfEven((y * 512) / item.height) + 4)),
        { protocol: 'gu2net' },
      );
      expect(s.mre.value).toBeCloseTo(5, 12);
    });
  });
});
