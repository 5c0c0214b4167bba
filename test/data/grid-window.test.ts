import { centroidNear } from './centroid';
import { frameWindow, fromWindowPoint, Grid, reducedToUnitGrid, reducedWindowToUnitGrid, reduceForGrid, Window } from '../../src/data';

/**
 * A window of the image on the grid (the Predictor's second look): a dot lands where fromWindowPoint says,
 * the whole frame reads as the first look does, and past the image the edge pixels repeat.
 */

const W = 600;
const H = 750;
const GRID: Grid = { height: 64, width: 48 };
const SIGMA = 6;

function image(dots: [number, number][]): { width: number; height: number; data: Float32Array; valueRange: [number, number] } {
  const data = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 0;
      for (const [px, py] of dots) v += 250 * Math.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * SIGMA * SIGMA));
      data[y * W + x] = v;
    }
  }
  return { width: W, height: H, data, valueRange: [0, 255] };
}

/** Grid pixel of original point p through the window (fromWindowPoint inverted). */
function toWindowGrid([x, y]: [number, number], w: Window): [number, number] {
  return [((x - w.left) * GRID.width) / w.width - 0.5, ((y - w.top) * GRID.height) / w.height - 0.5];
}

describe('reducedWindowToUnitGrid', () => {
  const dot: [number, number] = [310.4, 402.7];
  const reduced = reduceForGrid(image([dot]), GRID);

  it('reads the whole frame as the first look does, but at the outermost pixels', () => {
    expect(reduced.shrink).toBeGreaterThan(1);
    const first = reducedToUnitGrid(reduced, GRID);
    const whole = reducedWindowToUnitGrid(reduced, GRID, frameWindow({ width: W, height: H }));
    let worst = 0;
    for (let y = 1; y < GRID.height - 1; y++) for (let x = 1; x < GRID.width - 1; x++) worst = Math.max(worst, Math.abs(first[y * GRID.width + x] - whole[y * GRID.width + x]));
    expect(worst).toBeLessThan(1e-6);
  });

  it.each<[string, Window]>([
    ['a window inside the image (the anatomy framed small)', { left: 150.5, top: 180.25, width: 360, height: 450 }],
    ['a window past the image (the anatomy framed large)', { left: -120, top: -160.5, width: 840, height: 1050 }],
  ])('puts a dot where fromWindowPoint maps it: %s', (_, window) => {
    const unit = reducedWindowToUnitGrid(reduced, GRID, window);
    const expected = toWindowGrid(dot, window);
    const found = centroidNear(unit, GRID, expected, 6);
    expect(Math.hypot(found[0] - expected[0], found[1] - expected[1])).toBeLessThan(0.05);
    const back = fromWindowPoint(found, window, GRID);
    expect(Math.hypot(back[0] - dot[0], back[1] - dot[1])).toBeLessThan(0.05 * (window.width / GRID.width));
  });

  it('repeats the edge pixels past the image, not black', () => {
    // Grey rising left to right: a window reaching 200 px past the left edge reads the first column's grey there.
    const ramp = new Float32Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) ramp[y * W + x] = 50 + (150 * x) / (W - 1);
    const r = reduceForGrid({ width: W, height: H, data: ramp, valueRange: [0, 255] }, GRID);
    const unit = reducedWindowToUnitGrid(r, GRID, { left: -200.5, top: -0.5, width: W, height: H });
    const outside = Math.floor((GRID.width * 150) / W);
    for (const y of [0, 30, GRID.height - 1]) {
      for (let x = 0; x < outside; x++) expect(unit[y * GRID.width + x]).toBeCloseTo(ramp[0] / 255, 2);
    }
    expect(unit[GRID.width - 1]).toBeGreaterThan(0.5);
  });
});
