import { readFileSync } from 'fs';
import { join } from 'path';
import sharp from 'sharp';
import { Predictor, PLAUSIBILITY_KEY } from '../../src/infer';
import { loadDataset } from '../../src/data';
import { GraphBuilder, serializeModel } from '../../src/onnx';
import { FRAMING_KEY, serializeFraming } from '../../src/shape';
import { describeWithSharedData, SHARED_DATA } from '../util/shared-data';

/**
 * The second look at images that frame their landmarks unlike the training images: the network runs again on
 * the window that frames them as training did, and the surer pass is kept.
 */

const [W, H] = [480, 640];
const GRID = { height: 64, width: 48 };
const DOTS: [number, number][] = [[0.2 * W, 0.5 * H], [0.5 * W, 0.4 * H], [0.8 * W, 0.5 * H]];
const ZOOM = 1.5;

/** Landmark k is the brightest spot in the k-th third of the grid's columns (input channel 0). */
function bandModel(metadata: Record<string, string>): Uint8Array {
  const padded = 64;
  const g = new GraphBuilder('bands');
  const x = g.input('image', 'float32', ['N', 3, padded, padded]);
  const weights = g.initializer('w', { dataType: 'float32', dims: [3, 3, 1, 1], data: Float32Array.from([1, 0, 0, 1, 0, 0, 1, 0, 0]) });
  const mask = new Float32Array(3 * padded * padded);
  for (let k = 0; k < 3; k++) for (let y = 0; y < padded; y++) for (let c = (k * GRID.width) / 3; c < ((k + 1) * GRID.width) / 3; c++) mask[k * padded * padded + y * padded + c] = 1;
  const m = g.initializer('mask', { dataType: 'float32', dims: [1, 3, padded, padded], data: mask });
  // Relu just above black (-2.12 after ImageNet normalisation): the background adds nothing to the soft-argmax around a dot.
  const bias = g.initializer('b', { dataType: 'float32', dims: [3], data: Float32Array.from([2, 2, 2]) });
  g.output(g.mul(g.relu(g.conv(x, weights, bias)), m), 'heatmaps', 'float32', ['N', 3, padded, padded]);
  return serializeModel(g.build({ 'lmk.classes': '3', 'lmk.in_channels': '3', 'lmk.grid_height': String(GRID.height), 'lmk.grid_width': String(GRID.width), 'lmk.sigma': '2', ...metadata }));
}

async function dotsImage(): Promise<Buffer> {
  const px = Buffer.alloc(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 0;
      for (const [cx, cy] of DOTS) v += Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 5 * 5));
      px[y * W + x] = Math.round(255 * Math.min(1, v));
    }
  }
  return sharp(px, { raw: { width: W, height: H, channels: 1 } }).png().toBuffer();
}

describe('the second look (lmk.framing)', () => {
  // Training framed these three points 1.5 times as large about their centroid.
  const centroid = DOTS.reduce(([a, b], [x, y]) => [a + x / 3, b + y / 3], [0, 0]);
  const radius = Math.sqrt(DOTS.reduce((s, [x, y]) => s + (x - centroid[0]) ** 2 + (y - centroid[1]) ** 2, 0) / 3);
  const framing = { centre: [(centroid[0] + 0.5) / W, (centroid[1] + 0.5) / H] as [number, number], radius: (ZOOM * radius) / H, aspect: W / H };

  it('looks again through the window that frames the points as training did, and keeps the surer pass', async () => {
    const image = await dotsImage();
    const again = await Predictor.create({ model: bandModel({ [FRAMING_KEY]: serializeFraming(framing) }), threads: 1 });
    const once = await Predictor.create({ model: bandModel({ [FRAMING_KEY]: serializeFraming(framing) }), threads: 1, reframe: false });
    try {
      const first = await once.predict(image);
      const second = await again.predict(image);
      expect(first.window).toBeUndefined();
      // The window is the frame shrunk 1.5 times about the points' centroid (as the first pass found them).
      const win = second.window!;
      expect(Math.abs(win.height / (H / ZOOM) - 1)).toBeLessThan(0.02);
      expect(win.width / win.height).toBeCloseTo(W / H, 9);
      expect(Math.abs(win.left + framing.centre[0] * win.width - centroid[0])).toBeLessThan(1.5);
      expect(Math.abs(win.top + framing.centre[1] * win.height - centroid[1])).toBeLessThan(1.5);
      // Finer pixels blur the dots less: surer peaks, and the points where the dots are.
      expect(second.meanScore).toBeGreaterThan(first.meanScore);
      second.landmarks.forEach(([x, y], k) => expect(Math.hypot(x - DOTS[k][0], y - DOTS[k][1])).toBeLessThan(1.5));
    } finally {
      await again.release();
      await once.release();
    }
    // minMeanScore holds for first passes over the whole frame, minWindowScore (default mirrorBelow) for a look
    // through a window (first passes score about 1.8 here, second looks about 2.8).
    const bounded = (bound: Record<string, number>) => Predictor.create({
      model: bandModel({ [FRAMING_KEY]: serializeFraming(framing), [PLAUSIBILITY_KEY]: JSON.stringify({ anatomy: 'dot triangle', minMeanScore: 2, ...bound }) }), threads: 1,
    });
    for (const [bound, implausible] of [[{ mirrorBelow: 2.5 }, false], [{ mirrorBelow: 2.9 }, true], [{ mirrorBelow: 2.9, minWindowScore: 2.5 }, false], [{ mirrorBelow: 2.5, minWindowScore: 2.9 }, true]] as const) {
      const predictor = await bounded(bound);
      try {
        const p = await predictor.predict(image);
        expect(p.implausible === true).toBe(implausible);
        expect(p.window === undefined).toBe(implausible);
      } finally {
        await predictor.release();
      }
    }
    await expect(Predictor.create({ model: bandModel({}), reframe: true })).rejects.toThrow(/the second look at other framings needs a model that stores lmk\.framing/);
    await expect(Predictor.create({ model: bandModel({ [FRAMING_KEY]: '{"centre": 1}' }) })).rejects.toThrow(/model: lmk\.framing: must be/);
  });
});

describeWithSharedData('the shipped head model on a cephalogram framed small (fov 0.7: another device\'s wider field)', () => {
  it('finds the landmarks through the second look; the image as it is needs none', async () => {
    const root = join(SHARED_DATA!, 'isbi2015');
    const item = (await loadDataset({ format: 'isbi2015', root, split: 'test' })).items.find((i) => i.id === '151')!;
    // The image in a black frame 1/0.7 times its size, centred (as scripts/isbi-transform.js fov:0.7).
    const [w, h] = [Math.round(item.width / 0.7), Math.round(item.height / 0.7)];
    const [left, top] = [Math.round((w - item.width) / 2), Math.round((h - item.height) / 2)];
    const padded = await sharp(readFileSync(item.imagePath)).greyscale()
      .extend({ left, top, right: w - item.width - left, bottom: h - item.height - top, background: { r: 0, g: 0, b: 0 } }).png().toBuffer();
    const predictor = await Predictor.create({ model: 'isbi2015-head', threads: 1 });
    const mre = (points: [number, number][], dx: number, dy: number) =>
      points.reduce((s, [x, y], k) => s + Math.hypot(x - dx - item.landmarks[k][0], y - dy - item.landmarks[k][1]), 0) / points.length * 0.1;
    try {
      const asIs = await predictor.predict(item.imagePath);
      expect(asIs.window).toBeUndefined();
      const small = await predictor.predict(padded);
      expect(small.window).toBeDefined();
      expect(small.window!.height / h).toBeGreaterThan(0.6);
      expect(small.window!.height / h).toBeLessThan(0.8);
      const found = mre(small.landmarks, left, top);
      expect(found).toBeLessThan(mre(asIs.landmarks, 0, 0) + 0.5);
      const plain = await Predictor.create({ model: 'isbi2015-head', threads: 1, reframe: false });
      try {
        expect(mre((await plain.predict(padded)).landmarks, left, top)).toBeGreaterThan(found);
      } finally {
        await plain.release();
      }
    } finally {
      await predictor.release();
    }
  });
});
