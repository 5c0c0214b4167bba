import { adjustIntensity, applyAffine, augment, augmentMatrix, DEFAULT_AUGMENT, invertAffine, Random, sampleAugmentation, warpAffine } from '../../src/data';
import { Point } from '../../src/data/types';

const grid = { width: 96, height: 128 };

function dot(x0: number, y0: number): Float32Array {
  const pixels = new Float32Array(grid.width * grid.height);
  for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) pixels[(y0 + dy) * grid.width + x0 + dx] = Math.exp(-(dx * dx + dy * dy) / 2);
  return pixels;
}

function centroid(pixels: Float32Array): Point {
  let s = 0;
  let sx = 0;
  let sy = 0;
  pixels.forEach((v, i) => {
    s += v;
    sx += v * (i % grid.width);
    sy += v * Math.floor(i / grid.width);
  });
  return [sx / s, sy / s];
}

describe('augmentation', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const pixels = dot(40, 60);
    const a = augment(pixels, grid, [[40, 60]], new Random(7));
    const b = augment(pixels, grid, [[40, 60]], new Random(7));
    const c = augment(pixels, grid, [[40, 60]], new Random(8));
    expect(a.params).toEqual(b.params);
    expect(Array.from(a.pixels)).toEqual(Array.from(b.pixels));
    expect(a.params).not.toEqual(c.params);
  });

  it('draws parameters within the configured ranges', () => {
    const random = new Random(1);
    for (let i = 0; i < 200; i++) {
      const p = sampleAugmentation(random, grid);
      expect(Math.abs(p.rotationDeg)).toBeLessThanOrEqual(DEFAULT_AUGMENT.rotationDeg);
      expect(Math.abs(p.scale - 1)).toBeLessThanOrEqual(DEFAULT_AUGMENT.scale);
      expect(Math.abs(p.translateX)).toBeLessThanOrEqual(DEFAULT_AUGMENT.translation * grid.width);
      expect(p.gamma).toBeGreaterThanOrEqual(1 / (1 + DEFAULT_AUGMENT.gamma) - 1e-12);
      expect(p.gamma).toBeLessThanOrEqual(1 + DEFAULT_AUGMENT.gamma + 1e-12);
    }
  });

  it('moves landmarks with the same matrix as the pixels', () => {
    const random = new Random(3);
    const options = { ...DEFAULT_AUGMENT, rotationDeg: 25, brightness: 0, contrast: 0, gamma: 0 };
    for (let trial = 0; trial < 5; trial++) {
      const out = augment(dot(50, 70), grid, [[50, 70]], random, options);
      const found = centroid(out.pixels);
      expect(Math.abs(found[0] - out.landmarks[0][0])).toBeLessThan(0.1);
      expect(Math.abs(found[1] - out.landmarks[0][1])).toBeLessThan(0.1);
    }
  });

  it('leaves the image alone with zero ranges', () => {
    const pixels = Float32Array.from({ length: grid.width * grid.height }, (_, i) => (i % 17) / 16);
    const zero = { rotationDeg: 0, scale: 0, translation: 0, brightness: 0, contrast: 0, gamma: 0 };
    const out = augment(pixels, grid, [[3, 4]], new Random(0), zero);
    expect(Array.from(out.pixels)).toEqual(Array.from(pixels));
    expect(out.landmarks).toEqual([[3, 4]]);
  });

  it('rotates about the grid centre and inverts exactly', () => {
    const m = augmentMatrix({ rotationDeg: 90, scale: 1, translateX: 0, translateY: 0, brightness: 0, contrast: 1, gamma: 1 }, grid);
    const centre: Point = [(grid.width - 1) / 2, (grid.height - 1) / 2];
    const c = applyAffine(m, centre);
    expect(c[0]).toBeCloseTo(centre[0], 10);
    expect(c[1]).toBeCloseTo(centre[1], 10);
    const p = applyAffine(invertAffine(m), applyAffine(m, [10, 20]));
    expect(p[0]).toBeCloseTo(10, 10);
    expect(p[1]).toBeCloseTo(20, 10);
    // A shift by whole pixels moves pixels exactly; what comes from outside is black.
    const shifted = warpAffine(Float32Array.from({ length: 12 }, (_, i) => i + 1), { width: 4, height: 3 }, [1, 0, 1, 0, 1, 0]);
    expect(Array.from(shifted)).toEqual([0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11]);
  });

  it('applies gamma, contrast and brightness in that order, clamped', () => {
    const out = adjustIntensity(Float32Array.from([0.5, 1, 0]), { gamma: 2, contrast: 1.2, brightness: 0.1 });
    expect(out[0]).toBeCloseTo((0.25 - 0.5) * 1.2 + 0.5 + 0.1, 6);
    expect(out[1]).toBe(1);
    expect(out[2]).toBeCloseTo(0, 6);
    expect(Array.from(adjustIntensity(Float32Array.from([0.2]), { gamma: 1, contrast: 1, brightness: -0.5 }))).toEqual([0]);
  });

  it('rejects bad options', () => {
    expect(() => sampleAugmentation(new Random(0), grid, { ...DEFAULT_AUGMENT, scale: 1.5 })).toThrow('scale must be below 1');
    expect(() => sampleAugmentation(new Random(0), grid, { ...DEFAULT_AUGMENT, rotationDeg: -1 })).toThrow('rotationDeg must be a non-negative number');
  });
});
