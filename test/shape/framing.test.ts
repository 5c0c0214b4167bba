import { buildFraming, framingWindow, parseFraming, reframes, REFRAME_SCALE, serializeFraming, spacingWindow } from '../../src/shape';

/** How training images frame their landmarks, and the window that frames new points the same way. */

const SHAPE: [number, number][] = [[0, 0], [40, -10], [60, 30], [10, 50], [-20, 25]];
const place = (scale: number, cx: number, cy: number) => SHAPE.map(([x, y]): [number, number] => [cx + scale * x, cy + scale * y]);

describe('framing', () => {
  const items = [0.9, 1, 1.1].map((s) => ({ landmarks: place(s * 4, 500, 600), width: 800, height: 1000 }));
  const framing = buildFraming(items);

  it('is the mean centroid, spread and aspect of the training frames, and round-trips as JSON', () => {
    const mean = SHAPE.reduce(([a, b], [x, y]) => [a + x / SHAPE.length, b + y / SHAPE.length], [0, 0]);
    expect(framing.centre[0]).toBeCloseTo((500 + 4 * mean[0] + 0.5) / 800, 9);
    expect(framing.centre[1]).toBeCloseTo((600 + 4 * mean[1] + 0.5) / 1000, 9);
    expect(framing.aspect).toBeCloseTo(0.8, 12);
    expect(parseFraming(serializeFraming(framing)).radius).toBeCloseTo(framing.radius, 6);
    expect(() => parseFraming('{"centre": [0.5], "radius": 0.2, "aspect": 0.8}', 'm.onnx: lmk.framing')).toThrow(/m\.onnx: lmk\.framing: must be \{"centre": \[u, v\], "radius": r > 0, "aspect": a > 0, "frameMm"\?: mm > 0\}/);
    expect(() => parseFraming('nope')).toThrow(/lmk\.framing: not JSON/);
  });

  it('frames points found larger and elsewhere as training did: the window scales and moves with them', () => {
    const frame = { left: -0.5, top: -0.5, width: 800, height: 1000 };
    const same = framingWindow(place(4, 500, 600), framing)!;
    expect(same.height).toBeCloseTo(1000, 0);
    expect(same.width).toBeCloseTo(800, 0);
    expect(reframes(same, frame)).toBe(false);
    // The same anatomy 1.3 times as large, 100 px to the left: the window is 1.3 times the frame, moved alike.
    const large = framingWindow(place(5.2, 400, 600), framing)!;
    expect(large.height / same.height).toBeCloseTo(1.3, 6);
    // The points' centroid sits at the training share of the window.
    const centroid = (pts: [number, number][]) => pts.reduce(([a, b], [x, y]) => [a + x / pts.length, b + y / pts.length], [0, 0]);
    const [cx, cy] = centroid(place(5.2, 400, 600));
    expect(large.left + framing.centre[0] * large.width).toBeCloseTo(cx, 9);
    expect(large.top + framing.centre[1] * large.height).toBeCloseTo(cy, 9);
    expect(reframes(large, frame)).toBe(true);
    expect(reframes({ ...frame, height: 1000 * REFRAME_SCALE * 0.99, width: 800 * REFRAME_SCALE * 0.99 }, frame)).toBe(false);
    expect(reframes({ ...frame, left: frame.left + 0.08 * 800 }, frame)).toBe(true);
    expect(framingWindow([[1, 1], [1, 1], [1, 1]], framing)).toBeUndefined();
  });

  it('first shows a file with a pixel spacing at the training frame\'s size in mm, about its centre', () => {
    const spaced = buildFraming(items.map((i) => ({ ...i, mmPerPixel: 0.1 })));
    expect(spaced.frameMm).toBeCloseTo(100, 9);
    expect(framing.frameMm).toBeUndefined();
    expect(parseFraming(serializeFraming(spaced)).frameMm).toBeCloseTo(100, 6);
    // 0.25 mm pixels, 520 x 650 of them (130 x 162.5 mm): the training frame's 100 mm are 400 rows and 320 columns.
    const w = spacingWindow({ width: 520, height: 650, pixelSpacingMm: [0.25, 0.25] }, spaced)!;
    expect(w.height).toBeCloseTo(400, 6);
    expect(w.width).toBeCloseTo(320, 6);
    expect(w.left + w.width / 2).toBeCloseTo(259.5, 9);
    expect(w.top + w.height / 2).toBeCloseTo(324.5, 9);
    // Near the training frame's size, or no spacing stated, or none in training: the whole frame.
    expect(spacingWindow({ width: 800, height: 1000, pixelSpacingMm: [0.1, 0.1] }, spaced)).toBeUndefined();
    expect(spacingWindow({ width: 520, height: 650, pixelSpacingMm: [0.15, 0.15] }, spaced)).toBeUndefined();
    expect(spacingWindow({ width: 520, height: 650 }, spaced)).toBeUndefined();
    expect(spacingWindow({ width: 520, height: 650, pixelSpacingMm: [0.25, 0.25] }, framing)).toBeUndefined();
  });
});
