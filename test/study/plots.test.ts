import sharp from 'sharp';
import { overlayPng, perLandmarkPng, sdrCurve, sdrCurvePng } from '../../src/study';
import { evaluatePredictions, EvaluationDataset } from '../../src/eval';

const isPng = (b: Buffer): boolean => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

describe('plots and overlays', () => {
  test('the SDR curve counts errors at most each threshold', () => {
    expect(sdrCurve([0.5, 1, 2, 4], 4, 4)).toEqual([
      { threshold: 0, sdr: 0 }, { threshold: 1, sdr: 50 }, { threshold: 2, sdr: 75 }, { threshold: 3, sdr: 75 }, { threshold: 4, sdr: 100 },
    ]);
  });

  test('SDR curves and per-landmark bars render headless to PNG', async () => {
    const curve = await sdrCurvePng([{ label: 'a', errors: [0.1, 1, 3] }, { label: 'b', errors: [2, 5] }], 'mm', [2, 4], 'SDR');
    expect(isPng(curve)).toBe(true);
    expect((await sharp(curve).metadata()).width).toBeGreaterThan(500);
    const dataset: EvaluationDataset = {
      format: 'csv', grid: { height: 64, width: 64 }, unit: 'px', landmarkCount: 2,
      items: [{ id: 'a', imagePath: '', landmarks: [[1, 1], [5, 5]], width: 64, height: 64 }],
    };
    const summary = evaluatePredictions(dataset, new Map([['a', [[2, 1], [5, 8]]]]));
    expect(isPng(await perLandmarkPng([{ label: 'run', summary }], 'per landmark'))).toBe(true);
  });

  test('overlay: ground truth ring in green, prediction dot in red, at pixel centres, small images scaled up', async () => {
    const image = { data: new Float32Array(100 * 50).fill(0.2), width: 100, height: 50, valueRange: [0, 1] as [number, number] };
    const png = await overlayPng(image, [[20, 20]], [[70, 30]]);
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([512, 256]);
    const px = (x: number, y: number): number[] => Array.from(data.subarray((Math.round(y) * info.width + Math.round(x)) * 3, (Math.round(y) * info.width + Math.round(x)) * 3 + 3));
    const [r, g, b] = px(70.5 * 5.12, 30.5 * 5.12);
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(100);
    expect(b).toBeLessThan(100);
    const near = (cx: number, cy: number): number[][] => [-3, -2, -1, 0, 1, 2, 3].flatMap((dy) => [-3, -2, -1, 0, 1, 2, 3].map((dx) => px(cx + dx, cy + dy)));
    expect(near(20.5 * 5.12, 20.5 * 5.12).some(([pr, pg]) => pg > 150 && pr < 100)).toBe(true);
    expect(px(5, 250)).toEqual([51, 51, 51]);
  });
});
