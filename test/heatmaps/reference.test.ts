import { reference } from '../../src/heatmaps';
import { random, withNoise } from './helpers';

const { renderHeatmaps, decodeHeatmaps } = reference;

describe('reference.renderHeatmaps', () => {
  it('renders exp(-d^2 / (2 sigma^2)) at integer pixels, peak 1 on a pixel centre, x = column', () => {
    const sigma = 2;
    const hm = renderHeatmaps(new Float32Array([5, 3]), 10, 12, { sigma });
    expect(hm.length).toBe(120);
    expect(hm[3 * 12 + 5]).toBe(1);
    for (const [x, y] of [[6, 3], [5, 5], [2, 1], [9, 6]]) {
      const d2 = (x - 5) ** 2 + (y - 3) ** 2;
      expect(hm[y * 12 + x]).toBeCloseTo(Math.exp(-d2 / (2 * sigma * sigma)), 6);
    }
    expect(Math.max(...hm)).toBe(1);
  });

  it('is zero beyond the truncation radius (default 4 sigma) and non-zero inside it', () => {
    const hm = renderHeatmaps(new Float32Array([20.5, 20]), 41, 41, { sigma: 2 });
    expect(hm[20 * 41 + 28]).toBeGreaterThan(0); // 7.5 px from the centre
    expect(hm[20 * 41 + 29]).toBe(0); // 8.5 px > 4 sigma
    expect(hm[26 * 41 + 26]).toBe(0); // diagonal: sqrt(5.5^2 + 6^2) = 8.1 px
    const tight = renderHeatmaps(new Float32Array([20, 20]), 41, 41, { sigma: 2, radius: 3 });
    expect(tight[20 * 41 + 23]).toBeGreaterThan(0);
    expect(tight[20 * 41 + 24]).toBe(0);
    expect(tight.filter((v) => v > 0).length).toBe(29); // lattice points with x^2 + y^2 <= 9
  });

  it('renders what falls inside for landmarks outside the grid, and nothing for far ones', () => {
    const hm = renderHeatmaps(new Float32Array([-3, 4, 1e30, -1e30, 10, 50]), 8, 12, { sigma: 2 });
    const plane = 96;
    expect(hm[4 * 12 + 0]).toBeCloseTo(Math.exp(-9 / 8), 6);
    expect(hm.subarray(plane, 2 * plane).every((v) => v === 0)).toBe(true);
    expect(hm[2 * plane + 7 * 12 + 10]).toBe(0); // 43 px below the grid, beyond 8 px
  });

  it('lays out B x K landmarks as B x K x H x W and overwrites options.out', () => {
    const out = new Float32Array(4 * 6 * 5).fill(7);
    const points = new Float32Array([0, 0, 4, 5, 2, 2, 1, 3]);
    expect(renderHeatmaps(points, 6, 5, { sigma: 1, out })).toBe(out);
    for (let i = 0; i < 4; i++) {
      const [x, y] = [points[2 * i], points[2 * i + 1]];
      expect(out[i * 30 + y * 5 + x]).toBe(1);
    }
    expect(out.includes(7)).toBe(false);
  });
});

describe('reference.decodeHeatmaps', () => {
  const H = 64;
  const W = 48;
  const rnd = random(7);
  // At least 3 sigma (sigma <= 5) from the borders, so that the soft-argmax window is whole.
  const points = new Float32Array(40).map((_, i) => (i % 2 ? 16 + rnd() * 32 : 16 + rnd() * 16));

  it('argmax is within half a pixel diagonal and scores the peak', () => {
    const hm = renderHeatmaps(points, H, W, { sigma: 2 });
    const { points: p, scores } = decodeHeatmaps(hm, 20, H, W, { method: 'argmax' });
    for (let i = 0; i < 20; i++) {
      expect(Math.hypot(p[2 * i] - points[2 * i], p[2 * i + 1] - points[2 * i + 1])).toBeLessThanOrEqual(Math.SQRT1_2 + 1e-6);
      expect(Number.isInteger(p[2 * i]) && Number.isInteger(p[2 * i + 1])).toBe(true);
      expect(scores[i]).toBe(Math.max(...hm.subarray(i * H * W, (i + 1) * H * W)));
    }
  });

  it.each([1, 1.5, 2, 3, 5])('soft-argmax and gaussian-fit recover sub-pixel positions (sigma %p)', (sigma) => {
    const hm = renderHeatmaps(points, H, W, { sigma });
    const soft = decodeHeatmaps(hm, 20, H, W, { method: 'soft-argmax', sigma });
    const fit = decodeHeatmaps(hm, 20, H, W, { method: 'gaussian-fit', sigma });
    for (let i = 0; i < 40; i++) {
      expect(Math.abs(soft.points[i] - points[i])).toBeLessThan(0.05);
      expect(Math.abs(fit.points[i] - points[i])).toBeLessThan(1e-3);
    }
  });

  it('near a border: gaussian-fit stays exact, soft-argmax no worse than argmax (its window shrinks)', () => {
    const sigma = 3;
    const near = new Float32Array([1.3, 20.4, 46.6, 62.8, 0.2, 0.45]);
    const hm = renderHeatmaps(near, H, W, { sigma });
    const soft = decodeHeatmaps(hm, 3, H, W, { method: 'soft-argmax', sigma });
    const fit = decodeHeatmaps(hm, 3, H, W, { method: 'gaussian-fit', sigma });
    for (let i = 0; i < 6; i++) {
      expect(Math.abs(soft.points[i] - near[i])).toBeLessThanOrEqual(0.5);
      expect(Math.abs(fit.points[i] - near[i])).toBeLessThan(1e-3);
    }
  });

  it('stays close on noisy heatmaps with negative values (network-like outputs)', () => {
    const sigma = 3;
    const noisy = withNoise(renderHeatmaps(points, H, W, { sigma }), 0.05, 11);
    expect(noisy.some((v) => v < 0)).toBe(true);
    for (const method of ['soft-argmax', 'gaussian-fit'] as const) {
      const { points: p } = decodeHeatmaps(noisy, 20, H, W, { method, sigma });
      for (let i = 0; i < 40; i++) expect(Math.abs(p[i] - points[i])).toBeLessThan(0.3);
    }
  });

  it('ignores NaN pixels, breaks ties by raster order, and decodes an all-NaN heatmap to NaN', () => {
    const hm = new Float32Array(3 * 4 * 5).fill(0);
    hm[7] = NaN;
    hm[8] = 0.5;
    hm[13] = 0.5;
    hm.fill(NaN, 20, 40);
    hm.fill(-2, 40, 60);
    const { points: p, scores } = decodeHeatmaps(hm, 3, 4, 5, { method: 'argmax' });
    expect([p[0], p[1], scores[0]]).toEqual([3, 1, 0.5]);
    expect([p[2], p[3], scores[1]]).toEqual([NaN, NaN, NaN]);
    expect([p[4], p[5], scores[2]]).toEqual([0, 0, -2]);
    // No positive weight in the window: soft-argmax keeps the peak pixel.
    const soft = decodeHeatmaps(hm.subarray(40), 1, 4, 5, { method: 'soft-argmax', window: 2 });
    expect(Array.from(soft.points)).toEqual([0, 0]);
  });

  it('falls back to soft-argmax where a Gaussian cannot be fitted', () => {
    const hm = new Float32Array(9 * 9);
    hm[4 * 9 + 4] = 1;
    hm[4 * 9 + 5] = 1; // two positive pixels: the 4-parameter fit is singular
    const fit = decodeHeatmaps(hm, 1, 9, 9, { method: 'gaussian-fit', window: 3 });
    expect(Array.from(fit.points)).toEqual([4.5, 4]);
  });
});

describe('bad input', () => {
  const hm = new Float32Array(2 * 4 * 5);
  const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
    ['points as Array', () => renderHeatmaps([1, 2] as unknown as Float32Array, 4, 5, { sigma: 1 }), TypeError, /points must be a Float32Array \(got Array\)/],
    ['points as Float64Array', () => renderHeatmaps(new Float64Array(2) as unknown as Float32Array, 4, 5, { sigma: 1 }), TypeError, /points must be a Float32Array \(got Float64Array\)/],
    ['odd points', () => renderHeatmaps(new Float32Array(3), 4, 5, { sigma: 1 }), RangeError, /points must hold one or more \(x, y\) pairs \(got 3/],
    ['no points', () => renderHeatmaps(new Float32Array(0), 4, 5, { sigma: 1 }), RangeError, /points must hold/],
    ['NaN point', () => renderHeatmaps(new Float32Array([1, NaN]), 4, 5, { sigma: 1 }), RangeError, /points\[1\] is NaN/],
    ['infinite point', () => renderHeatmaps(new Float32Array([Infinity, 1]), 4, 5, { sigma: 1 }), RangeError, /points\[0\] is Infinity/],
    ['zero height', () => renderHeatmaps(new Float32Array(2), 0, 5, { sigma: 1 }), RangeError, /height must be an integer/],
    ['fractional width', () => renderHeatmaps(new Float32Array(2), 4, 2.5, { sigma: 1 }), RangeError, /width must be an integer/],
    ['string width', () => renderHeatmaps(new Float32Array(2), 4, '5' as unknown as number, { sigma: 1 }), TypeError, /width must be a number/],
    ['sigma 0', () => renderHeatmaps(new Float32Array(2), 4, 5, { sigma: 0 }), RangeError, /options.sigma must be a positive finite number \(got 0\)/],
    ['sigma -1', () => renderHeatmaps(new Float32Array(2), 4, 5, { sigma: -1 }), RangeError, /options.sigma/],
    ['sigma NaN', () => renderHeatmaps(new Float32Array(2), 4, 5, { sigma: NaN }), RangeError, /options.sigma/],
    ['no options', () => renderHeatmaps(new Float32Array(2), 4, 5, undefined as unknown as { sigma: number }), TypeError, /options must be an object/],
    ['radius 0', () => renderHeatmaps(new Float32Array(2), 4, 5, { sigma: 1, radius: 0 }), RangeError, /options.radius/],
    ['render overflow', () => renderHeatmaps(new Float32Array(2), 2 ** 31 - 1, 2 ** 31 - 1, { sigma: 1 }), RangeError, /more than one Float32Array can hold/],
    ['out length', () => renderHeatmaps(new Float32Array(2), 4, 5, { sigma: 1, out: new Float32Array(19) }), RangeError, /options.out has 19 values; expected 1 x 4 x 5 = 20/],
    ['heatmaps as Uint8Array', () => decodeHeatmaps(new Uint8Array(40) as unknown as Float32Array, 2, 4, 5, { method: 'argmax' }), TypeError, /heatmaps must be a Float32Array/],
    ['heatmaps length', () => decodeHeatmaps(hm, 3, 4, 5, { method: 'argmax' }), RangeError, /heatmaps has 40 values; expected K x H x W = 3 x 4 x 5 = 60/],
    ['K overflow', () => decodeHeatmaps(hm, 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, { method: 'argmax' }), RangeError, /more than one Float32Array can hold/],
    ['K too large', () => decodeHeatmaps(hm, 2 ** 40, 4, 5, { method: 'argmax' }), RangeError, /K must be an integer from 1/],
    ['method', () => decodeHeatmaps(hm, 2, 4, 5, { method: 'mean' as 'argmax' }), RangeError, /options.method must be one of argmax, soft-argmax, gaussian-fit \(got "mean"\)/],
    ['soft-argmax without sigma', () => decodeHeatmaps(hm, 2, 4, 5, { method: 'soft-argmax' }), RangeError, /soft-argmax needs options.sigma/],
    ['decode sigma', () => decodeHeatmaps(hm, 2, 4, 5, { method: 'soft-argmax', sigma: -2 }), RangeError, /options.sigma/],
    ['window 0', () => decodeHeatmaps(hm, 2, 4, 5, { method: 'soft-argmax', window: 0 }), RangeError, /options.window/],
    ['threads', () => decodeHeatmaps(hm, 2, 4, 5, { method: 'argmax', threads: 0 }), RangeError, /options.threads/],
    ['backend', () => decodeHeatmaps(hm, 2, 4, 5, { method: 'argmax', backend: 'gpu' as 'cuda' }), RangeError, /options.backend/],
  ];
  it.each(cases)('%s', (_name, call, type, message) => {
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });
});
