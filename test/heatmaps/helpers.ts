import { mulberry32 as random } from '../../src/util/random';

export { random };

/** Largest |a - b| / max(1, |b|): coordinates near 500 carry float32 steps of 3e-5, so parity is relative. */
export function maxRelativeDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    const d = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i]));
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  }
  return worst;
}

/** Network-like heatmaps: the given ones plus uniform noise in [-amplitude, amplitude] (so some negatives). */
export function withNoise(heatmaps: Float32Array, amplitude: number, seed: number): Float32Array {
  const rnd = random(seed);
  return heatmaps.map((v) => v + (2 * rnd() - 1) * amplitude);
}

/** Bit-for-bit equality of two float arrays (jest's toEqual is far too slow on millions of values). */
export function identical(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
