import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as heatmaps from '../../src/heatmaps';
import type { Addon } from '../../src/heatmaps/native';
import { identical, maxRelativeDiff, random, withNoise } from './helpers';

const { reference, nativeInfo } = heatmaps;
const info = nativeInfo();
// `npm ci` builds the addon; where it could not be built these skip and the fallback test below still runs.
const describeNative = info.available ? describe : describe.skip;
const METHODS = ['argmax', 'soft-argmax', 'gaussian-fit'] as const;

function landmarks(count: number, height: number, width: number, seed: number): Float32Array {
  const rnd = random(seed);
  // Mostly inside, some straddling or beyond the borders.
  return new Float32Array(2 * count).map((_, i) => (rnd() * 1.2 - 0.1) * (i % 2 ? height : width));
}

describeNative(`native addon (${info.path})`, () => {
  const H = 96;
  const W = 72;
  const K = 24;

  it.each([
    [1.5, undefined],
    [3, undefined],
    [4, 7.5],
  ])('renders what the reference renders (sigma %p, radius %p)', (sigma, radius) => {
    const points = landmarks(K, H, W, 1);
    const native = heatmaps.renderHeatmaps(points, H, W, { sigma, radius, backend: 'cpu' });
    const ref = reference.renderHeatmaps(points, H, W, { sigma, radius });
    expect(maxRelativeDiff(native, ref)).toBeLessThanOrEqual(1e-5);
    expect(native.some((v) => v > 0.5)).toBe(true);
  });

  it.each(METHODS)('decodes what the reference decodes (%s), on clean and noisy heatmaps', (method) => {
    const sigma = 3;
    const clean = heatmaps.renderHeatmaps(landmarks(K, H, W, 2), H, W, { sigma });
    for (const hm of [clean, withNoise(clean, 0.1, 3)]) {
      const native = heatmaps.decodeHeatmaps(hm, K, H, W, { method, sigma, backend: 'cpu' });
      const ref = reference.decodeHeatmaps(hm, K, H, W, { method, sigma });
      expect(maxRelativeDiff(native.points, ref.points)).toBeLessThanOrEqual(1e-5);
      expect(Array.from(native.scores)).toEqual(Array.from(ref.scores));
    }
  });

  it('decodes NaN pixels, ties and all-NaN heatmaps as the reference does', () => {
    const rnd = random(4);
    const hm = new Float32Array(6 * 9 * 37).map(() => Math.round(rnd() * 4) / 4);
    for (let k = 0; k < hm.length; k += 7) hm[k] = NaN;
    hm.fill(NaN, 9 * 37, 2 * 9 * 37);
    hm.fill(-Infinity, 2 * 9 * 37, 3 * 9 * 37);
    hm.fill(-0, 3 * 9 * 37, 4 * 9 * 37); // ties of -0 and +0: the first pixel wins, with its own sign
    hm[3 * 9 * 37 + 5] = 0;
    for (const method of METHODS) {
      const native = heatmaps.decodeHeatmaps(hm, 6, 9, 37, { method, window: 2 });
      const ref = reference.decodeHeatmaps(hm, 6, 9, 37, { method, window: 2 });
      expect(Array.from(native.points)).toEqual(Array.from(ref.points));
      expect(Array.from(native.scores)).toEqual(Array.from(ref.scores));
    }
  });

  it('gives the same result on 1 thread and on many, in batch form too', () => {
    const points = landmarks(2 * K, H, W, 5);
    const one = heatmaps.renderHeatmapsBatch(points, 2, H, W, { sigma: 2, threads: 1 });
    const many = heatmaps.renderHeatmapsBatch(points, 2, H, W, { sigma: 2, threads: 7 });
    expect(identical(many, one)).toBe(true);
    const reused = new Float32Array(one.length).fill(7);
    expect(heatmaps.renderHeatmapsBatch(points, 2, H, W, { sigma: 2, out: reused })).toBe(reused);
    expect(identical(reused, one)).toBe(true);
    const a = heatmaps.decodeHeatmapsBatch(one, 2, K, H, W, { method: 'soft-argmax', sigma: 2, threads: 1 });
    const b = heatmaps.decodeHeatmapsBatch(one, 2, K, H, W, { method: 'soft-argmax', sigma: 2, threads: 5 });
    expect(b).toEqual(a);
    expect(() => heatmaps.renderHeatmapsBatch(points, 5, H, W, { sigma: 2 })).toThrow(/the number of points \(48\) is not a multiple of batch \(5\)/);
  });

  it('async forms give the sync results and leave the event loop free meanwhile', async () => {
    const points = landmarks(37, 512, 368, 6);
    const sync = heatmaps.renderHeatmaps(points, 512, 368, { sigma: 3 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const rendered = heatmaps.renderHeatmapsAsync(points, 512, 368, { sigma: 3, threads: 1 });
    const decoded = heatmaps.decodeHeatmapsAsync(sync, 37, 512, 368, { method: 'gaussian-fit', sigma: 3, threads: 1 });
    const [hm, dec] = await Promise.all([rendered, decoded]);
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
    expect(identical(hm, sync)).toBe(true);
    expect(dec).toEqual(heatmaps.decodeHeatmaps(sync, 37, 512, 368, { method: 'gaussian-fit', sigma: 3 }));
    await expect(heatmaps.decodeHeatmapsAsync(sync, 38, 512, 368, { method: 'argmax' })).rejects.toThrow(RangeError);
  });

  it('meets the accuracy targets on rendered Gaussians', () => {
    const rnd = random(8);
    const points = new Float32Array(2 * K).map((_, i) => 20 + rnd() * ((i % 2 ? H : W) - 40));
    const hm = heatmaps.renderHeatmaps(points, H, W, { sigma: 2.5 });
    const soft = heatmaps.decodeHeatmaps(hm, K, H, W, { method: 'soft-argmax', sigma: 2.5 });
    const arg = heatmaps.decodeHeatmaps(hm, K, H, W, { method: 'argmax' });
    for (let i = 0; i < K; i++) {
      expect(Math.abs(soft.points[2 * i] - points[2 * i])).toBeLessThan(0.05);
      expect(Math.abs(soft.points[2 * i + 1] - points[2 * i + 1])).toBeLessThan(0.05);
      expect(Math.hypot(arg.points[2 * i] - points[2 * i], arg.points[2 * i + 1] - points[2 * i + 1])).toBeLessThanOrEqual(Math.SQRT1_2 + 1e-6);
    }
  });

  describe('raw binding rejects bad calls without touching memory', () => {
    const addon = require(info.path as string) as Addon;
    const f32 = (n: number) => new Float32Array(n);
    const big = 2 ** 31 - 1;
    const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
      ['missing arguments', () => (addon.render as (...a: unknown[]) => unknown)(f32(2), 4, 5), TypeError, /expected 9 arguments, got 3/],
      ['points type', () => addon.render([1, 2] as unknown as Float32Array, 4, 5, 1, 4, f32(20), false, 1, false), TypeError, /^points must be a Float32Array/],
      ['odd points', () => addon.render(f32(3), 4, 5, 1, 4, f32(20), false, 1, false), RangeError, /^points must hold/],
      ['NaN point', () => addon.render(new Float32Array([0, NaN]), 4, 5, 1, 4, f32(20), false, 1, false), RangeError, /^points\[1\] is not a finite number/],
      ['height', () => addon.render(f32(2), -4, 5, 1, 4, f32(20), false, 1, false), RangeError, /^height must be an integer/],
      ['width type', () => addon.render(f32(2), 4, '5' as unknown as number, 1, 4, f32(20), false, 1, false), TypeError, /^width must be a number/],
      ['sigma', () => addon.render(f32(2), 4, 5, 0, 4, f32(20), false, 1, false), RangeError, /^sigma must be a positive finite number/],
      ['radius', () => addon.render(f32(2), 4, 5, 1, Infinity, f32(20), false, 1, false), RangeError, /^radius must be/],
      ['out length', () => addon.render(f32(2), 4, 5, 1, 4, f32(19), false, 1, false), RangeError, /^out has 19 values; expected 20/],
      ['out overflow', () => addon.render(f32(2), big, big, 1, 4, f32(20), false, 1, false), RangeError, /^out has 20 values; expected/],
      ['out overlaps points', () => {
        const buf = f32(22);
        return addon.render(buf.subarray(0, 2), 4, 5, 1, 4, buf.subarray(1, 21), false, 1, false);
      }, RangeError, /^out must not share memory with points/],
      ['outZeroed type', () => addon.render(f32(2), 4, 5, 1, 4, f32(20), 0 as unknown as boolean, 1, false), TypeError, /^outZeroed must be a boolean/],
      ['threads', () => addon.render(f32(2), 4, 5, 1, 4, f32(20), false, 0, false), RangeError, /^threads must be an integer/],
      ['useCuda type', () => addon.render(f32(2), 4, 5, 1, 4, f32(20), false, 1, 1 as unknown as boolean), TypeError, /^useCuda must be a boolean/],
      ['heatmaps type', () => addon.decode(new Float64Array(20) as unknown as Float32Array, 1, 4, 5, 0, 1, f32(2), f32(1), 1, false), TypeError, /^heatmaps must be a Float32Array/],
      ['decode overflow', () => addon.decode(f32(20), big, big, big, 0, 1, f32(2), f32(1), 1, false), RangeError, /overflows|^heatmaps has 20 values/],
      ['decode length', () => addon.decode(f32(20), 2, 4, 5, 0, 1, f32(4), f32(2), 1, false), RangeError, /^heatmaps has 20 values; expected 40/],
      ['method', () => addon.decode(f32(20), 1, 4, 5, 3, 1, f32(2), f32(1), 1, false), RangeError, /^method must be an integer from 0 to 2/],
      ['window', () => addon.decode(f32(20), 1, 4, 5, 1, 0, f32(2), f32(1), 1, false), RangeError, /^window must be an integer/],
      ['points length', () => addon.decode(f32(20), 1, 4, 5, 0, 1, f32(3), f32(1), 1, false), RangeError, /^points must hold 2 x count values/],
      ['scores length', () => addon.decode(f32(20), 1, 4, 5, 0, 1, f32(2), f32(0), 1, false), RangeError, /^scores must hold count values/],
      ['scores overlap heatmaps', () => {
        const buf = f32(20);
        return addon.decode(buf, 1, 4, 5, 0, 1, f32(2), buf.subarray(19), 1, false);
      }, RangeError, /^scores must not share memory with heatmaps/],
    ];
    // The addon's errors come from the host realm, not jest's sandbox, so their class is checked by name.
    it.each(cases)('%s', (_name, call, type, message) => {
      let thrown: unknown;
      try {
        call();
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toMatchObject({ name: type.name, message: expect.stringMatching(message) });
    });

    it('async forms validate before queueing', () => {
      expect(() => addon.renderAsync(f32(2), 4, 5, -1, 4, f32(20), false, 1, false)).toThrow(/^sigma must be/);
      expect(() => addon.decodeAsync(f32(20), 1, 4, 5, 9, 1, f32(2), f32(1), 1, false)).toThrow(/^method must be/);
    });
  });

  const describeCuda = info.cudaDevices > 0 ? describe : describe.skip;
  describeCuda(`CUDA (${info.cudaDevices} devices)`, () => {
    it('renders and decodes what the CPU does', async () => {
      const points = landmarks(2 * 37, 512, 368, 9);
      const cpu = heatmaps.renderHeatmaps(points, 512, 368, { sigma: 3, backend: 'cpu' });
      const gpu = heatmaps.renderHeatmaps(points, 512, 368, { sigma: 3, backend: 'cuda' });
      expect(maxRelativeDiff(gpu, cpu)).toBeLessThanOrEqual(1e-5);
      const noisy = withNoise(cpu, 0.1, 10);
      for (const method of METHODS) {
        const c = heatmaps.decodeHeatmaps(noisy, 74, 512, 368, { method, sigma: 3, backend: 'cpu' });
        const g = heatmaps.decodeHeatmaps(noisy, 74, 512, 368, { method, sigma: 3, backend: 'cuda' });
        const ga = await heatmaps.decodeHeatmapsAsync(noisy, 74, 512, 368, { method, sigma: 3, backend: 'cuda' });
        expect(maxRelativeDiff(g.points, c.points)).toBeLessThanOrEqual(1e-5);
        expect(Array.from(g.scores)).toEqual(Array.from(c.scores));
        expect(ga).toEqual(g);
      }
    });
  });

  if (info.cudaDevices === 0) {
    it("backend 'cuda' without a device is a clear error", () => {
      expect(() => heatmaps.decodeHeatmaps(new Float32Array(4), 1, 2, 2, { method: 'argmax', backend: 'cuda' })).toThrow(
        /decodeHeatmaps: options.backend is 'cuda' but (the addon was built without CUDA|no CUDA device)/,
      );
    });
  }
});

describe('without the addon', () => {
  it('reports why a .node file did not load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmk-heatmaps-'));
    const broken = join(dir, 'broken.node');
    writeFileSync(broken, 'not a shared library');
    const saved = process.env.LMK_NATIVE_ADDON;
    process.env.LMK_NATIVE_ADDON = broken;
    try {
      jest.isolateModules(() => {
        const fresh = require('../../src/heatmaps') as typeof heatmaps;
        expect(fresh.nativeInfo()).toMatchObject({ available: false, reason: expect.stringContaining(`${broken} did not load: `) });
      });
    } finally {
      if (saved === undefined) delete process.env.LMK_NATIVE_ADDON;
      else process.env.LMK_NATIVE_ADDON = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('falls back to the reference, warning once', () => {
    const saved = process.env.LMK_NATIVE_ADDON;
    process.env.LMK_NATIVE_ADDON = 'none';
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      jest.isolateModules(() => {
        const fresh = require('../../src/heatmaps') as typeof heatmaps;
        expect(fresh.nativeAvailable()).toBe(false);
        expect(warn).not.toHaveBeenCalled();
        const points = new Float32Array([3.25, 4.5]);
        const hm = fresh.renderHeatmaps(points, 10, 9, { sigma: 1.5 });
        expect(identical(hm, reference.renderHeatmaps(points, 10, 9, { sigma: 1.5 }))).toBe(true);
        const dec = fresh.decodeHeatmaps(hm, 1, 10, 9, { method: 'soft-argmax', sigma: 1.5 });
        expect(dec).toEqual(reference.decodeHeatmaps(hm, 1, 10, 9, { method: 'soft-argmax', sigma: 1.5 }));
        expect(warn).toHaveBeenCalledTimes(1);
        expect(String(warn.mock.calls[0][0])).toMatch(/native heatmap addon is not available \(disabled by LMK_NATIVE_ADDON=none\); using the slower TypeScript reference/);
      });
    } finally {
      warn.mockRestore();
      if (saved === undefined) delete process.env.LMK_NATIVE_ADDON;
      else process.env.LMK_NATIVE_ADDON = saved;
    }
  });
});
