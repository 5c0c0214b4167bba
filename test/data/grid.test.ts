import { fromGridPoint, IMAGENET_MEAN, IMAGENET_STD, resizeToGrid, toGridPoint, toModelInput, toUnitGrid } from '../../src/data';
import { Point } from '../../src/data/types';

/** Intensity-weighted centroid (x, y) of a single-channel image. */
function centroid(data: Float32Array, width: number, height: number): Point {
  let sum = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = data[y * width + x];
      sum += v;
      sx += v * x;
      sy += v * y;
    }
  }
  return [sx / sum, sy / sum];
}

/** A bright 2x2 block centred on the half-integer point (x0 + 0.5, y0 + 0.5). */
function dotImage(width: number, height: number, x0: number, y0: number): Float32Array {
  const data = new Float32Array(width * height);
  for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) data[(y0 + dy) * width + x0 + dx] = 1000;
  return data;
}

describe('original image <-> model grid', () => {
  it('maps pixel edges to pixel edges: x_grid = (x + 0.5) * Wg / W - 0.5', () => {
    const image = { width: 1935, height: 2400 };
    const grid = { height: 512, width: 416 };
    expect(toGridPoint([-0.5, -0.5], image, grid)).toEqual([-0.5, -0.5]);
    const far = toGridPoint([1934.5, 2399.5], image, grid);
    expect(far[0]).toBeCloseTo(415.5, 10);
    expect(far[1]).toBeCloseTo(511.5, 10);
    const p: Point = [832, 993.5];
    const back = fromGridPoint(toGridPoint(p, image, grid), image, grid);
    expect(back[0]).toBeCloseTo(p[0], 10);
    expect(back[1]).toBeCloseTo(p[1], 10);
  });

  it.each([
    ['downscale 4.65x / 4.69x (ISBI)', 1935, 2400, 416, 512, 900, 1200],
    ['downscale 2x', 200, 300, 100, 150, 61, 90],
    ['upscale 3x', 40, 30, 120, 90, 17, 11],
  ])('a bright dot lands where its landmark maps (%s)', (_, W, H, Wg, Hg, x0, y0) => {
    const image = { width: W, height: H };
    const grid = { width: Wg, height: Hg };
    const resized = resizeToGrid(dotImage(W, H, x0, y0), image, grid);
    const expected = toGridPoint([x0 + 0.5, y0 + 0.5], image, grid);
    const found = centroid(resized, Wg, Hg);
    expect(Math.abs(found[0] - expected[0])).toBeLessThan(0.02);
    expect(Math.abs(found[1] - expected[1])).toBeLessThan(0.02);
    // Antialiased: the dot's energy is kept, not dropped between taps.
    const total = resized.reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo((4000 * Wg * Hg) / (W * H), 0);
  });

  it('keeps a constant image constant, edges included', () => {
    const data = new Float32Array(37 * 23).fill(42);
    for (const [Wg, Hg] of [[11, 7], [80, 50]]) {
      const out = resizeToGrid(data, { width: 37, height: 23 }, { width: Wg, height: Hg });
      expect(Math.max(...out.map((v) => Math.abs(v - 42)))).toBeLessThan(1e-4);
    }
  });

  it('is the identity on the same grid', () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i * i);
    expect(Array.from(resizeToGrid(data, { width: 4, height: 3 }, { width: 4, height: 3 }))).toEqual(Array.from(data));
  });
});

describe('network input', () => {
  it('scales by the value range, replicates to 3 channels and ImageNet-normalises (CHW)', () => {
    const grid = { width: 2, height: 1 };
    const eight = toModelInput({ width: 2, height: 1, data: Float32Array.from([0, 255]), valueRange: [0, 255] }, grid);
    expect(eight.length).toBe(6);
    for (let c = 0; c < 3; c++) {
      expect(eight[c * 2]).toBeCloseTo((0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c], 6);
      expect(eight[c * 2 + 1]).toBeCloseTo((1 - IMAGENET_MEAN[c]) / IMAGENET_STD[c], 6);
    }
    const tenBit = toUnitGrid({ width: 2, height: 1, data: Float32Array.from([0, 1023]), valueRange: [0, 1023] }, grid);
    expect(Array.from(tenBit)).toEqual([0, 1]);
    const rescaled = toUnitGrid({ width: 2, height: 1, data: Float32Array.from([-100, 300]), valueRange: [-100, 700] }, grid);
    expect(Array.from(rescaled)).toEqual([0, 0.5]);
  });
});
