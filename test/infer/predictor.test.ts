import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import sharp from 'sharp';
import { GraphBuilder, serializeModel } from '../../src/onnx';
import { buildShapeModel, serializeShapeModel, SHAPE_MODEL_KEY } from '../../src/shape';
import { Predictor, padBottomRight, cropTopLeft, paddedSize, cudaProviderProblem, cudaProviderStatus } from '../../src/infer';

/**
 * A stand-in network whose single heatmap is the input's first channel (a 1x1 conv picking channel 0):
 * the predicted landmark is then the brightest spot of the image, which checks the whole chain
 * (read, resize to the grid, pad to 32, run, crop, decode, map back) against a known position.
 */
function brightestSpotModel(metadata: Record<string, string>): Uint8Array {
  const g = new GraphBuilder('spot');
  const x = g.input('image', 'float32', ['N', 3, 'H', 'W']);
  const w = g.initializer('w', { dataType: 'float32', dims: [1, 3, 1, 1], data: Float32Array.of(1, 0, 0) });
  g.output(g.conv(x, w, undefined), 'heatmaps', 'float32', ['N', 1, 'H', 'W']);
  return serializeModel(g.build({ 'lmk.classes': '1', 'lmk.in_channels': '3', ...metadata }));
}

async function dotImage(width: number, height: number, cx: number, cy: number, sigma: number): Promise<Buffer> {
  const px = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) px[y * width + x] = Math.round(255 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma)));
  }
  return sharp(px, { raw: { width, height, channels: 1 } }).png().toBuffer();
}

describe('padding', () => {
  test('pad to a multiple of 32 and crop back is the identity', () => {
    expect(paddedSize(368)).toBe(384);
    expect(paddedSize(512)).toBe(512);
    const src = Float32Array.from({ length: 2 * 3 * 5 * 7 }, (_, i) => i + 1);
    const padded = padBottomRight(src, 2, 3, 5, 7, 32, 32);
    expect(padded.length).toBe(2 * 3 * 32 * 32);
    expect(padded[32 * 32 - 1]).toBe(0);
    expect(padded[0]).toBe(1);
    expect(padded[32]).toBe(8); // second row starts after one padded row width
    expect(Array.from(cropTopLeft(padded, 2, 3, 32, 32, 5, 7))).toEqual(Array.from(src));
  });
});

describe('Predictor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmk-predictor-'));

  test('shape check: a far-off, weak landmark is replaced by the fitted training shape and reported; off with shapeCheck: false', async () => {
    // Five landmarks on a 64x64 grid (= original pixels here); the training shapes are a jittered pentagon.
    const pentagon = [0, 1, 2, 3, 4].map((k): [number, number] => [32 + 20 * Math.cos((2 * Math.PI * k) / 5), 32 + 20 * Math.sin((2 * Math.PI * k) / 5)]);
    const items = Array.from({ length: 20 }, (_, i) => ({ landmarks: pentagon.map(([x, y], k): [number, number] => [x + 0.5 * Math.sin(7 * i + k), y + 0.5 * Math.cos(3 * i + 2 * k)]) }));
    const metadata = { 'lmk.grid_height': '64', 'lmk.grid_width': '64', 'lmk.classes': '5', [SHAPE_MODEL_KEY]: serializeShapeModel(buildShapeModel(items)) };
    const found: [number, number][] = pentagon.map(([x, y], k) => (k === 2 ? [x + 15, y - 25] : [Math.round(x), Math.round(y)]));
    const maps = new Float32Array(5 * 64 * 64);
    found.forEach(([cx, cy], k) => {
      const peak = k === 2 ? 0.1 : 0.9;
      for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) maps[k * 4096 + y * 64 + x] = peak * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 8);
    });
    // Only the heatmaps matter: the input and the decode matter to a mirrored pass or a second look, which a
    // model without lmk.plausibility and lmk.framing never makes.
    const reduced = { info: { width: 64, height: 64, format: 'png' as const, bitsStored: 8, photometric: 'MONOCHROME2' }, shrink: 1, width: 64, height: 64, data: new Float32Array(4096), valueRange: [0, 255] as [number, number] };
    const prepared = { info: { width: 64, height: 64, pixelSpacingMm: undefined, format: 'png' as const }, input: new Float32Array(0), reduced, window: { left: -0.5, top: -0.5, width: 64, height: 64 } };
    const on = await Predictor.create({ model: brightestSpotModel(metadata) });
    const off = await Predictor.create({ model: brightestSpotModel(metadata), shapeCheck: false });
    try {
      const r = await on.landmarks(maps, prepared);
      expect(r.replaced).toEqual([2]);
      expect(Math.hypot(r.landmarks[2][0] - pentagon[2][0], r.landmarks[2][1] - pentagon[2][1])).toBeLessThan(2);
      expect(Math.hypot(r.landmarks[0][0] - found[0][0], r.landmarks[0][1] - found[0][1])).toBeLessThan(0.5);
      const plain = await off.landmarks(maps, prepared);
      expect(plain.replaced).toBeUndefined();
      expect(Math.hypot(plain.landmarks[2][0] - found[2][0], plain.landmarks[2][1] - found[2][1])).toBeLessThan(0.5);
    } finally {
      await on.release();
      await off.release();
    }
    await expect(Predictor.create({ model: brightestSpotModel({ 'lmk.grid_height': '64', 'lmk.grid_width': '64' }), shapeCheck: true })).rejects.toThrow(/the shape check needs a model that stores lmk.shape_model/);
    await expect(Predictor.create({ model: brightestSpotModel({ ...metadata, [SHAPE_MODEL_KEY]: '{"version":3}' }) })).rejects.toThrow(/lmk\.shape_model: unsupported version 3/);
    await expect(Predictor.create({ model: brightestSpotModel({ ...metadata, 'lmk.classes': '4' }) })).rejects.toThrow(/lmk\.shape_model has 5 landmarks, the model 4/);
  });

  test('finds a bright dot at its original position through a grid that needs padding', async () => {
    const model = brightestSpotModel({ 'lmk.grid_height': '64', 'lmk.grid_width': '48', 'lmk.sigma': '2' });
    const p = await Predictor.create({ model, threads: 1 });
    try {
      expect(p.grid).toEqual({ height: 64, width: 48 });
      expect(p.executionProvider).toBe('cpu');
      const file = join(dir, 'dot.png');
      writeFileSync(file, await dotImage(300, 400, 123.4, 277.8, 12));
      const r = await p.predict(file);
      expect(r.width).toBe(300);
      expect(r.height).toBe(400);
      expect(r.landmarks).toHaveLength(1);
      // One grid pixel is 6.25 original pixels; sub-pixel decoding should land well inside it.
      expect(Math.abs(r.landmarks[0][0] - 123.4)).toBeLessThan(1.5);
      expect(Math.abs(r.landmarks[0][1] - 277.8)).toBeLessThan(1.5);
      expect(r.landmarksMm).toBeUndefined();
      expect(r.scores[0]).toBeGreaterThan(1);
    } finally {
      await p.release();
    }
  });

  test('the grid argument overrides the model and is required where the model has none', async () => {
    const model = brightestSpotModel({});
    await expect(Predictor.create({ model })).rejects.toThrow(/does not store its grid/);
    const p = await Predictor.create({ model, grid: { height: 32, width: 32 } });
    expect(p.grid).toEqual({ height: 32, width: 32 });
    await p.release();
  });

  test('clear errors for a missing model, a file that is not a model, and a bad image', async () => {
    await expect(Predictor.create({ model: join(dir, 'absent.onnx') })).rejects.toThrow(/absent\.onnx: no such file, nor a shipped model/);
    const junk = join(dir, 'junk.onnx');
    writeFileSync(junk, 'this is text, not protobuf');
    await expect(Predictor.create({ model: junk, grid: { height: 32, width: 32 } })).rejects.toThrow(/junk\.onnx/);
    const p = await Predictor.create({ model: brightestSpotModel({ 'lmk.grid_height': '32', 'lmk.grid_width': '32' }) });
    const bad = join(dir, 'bad.png');
    writeFileSync(bad, Buffer.from('not a png at all'));
    await expect(p.predict(bad)).rejects.toThrow(/bad\.png/);
    await p.release();
  });

  (cudaProviderProblem() === undefined ? test : test.skip)('on CUDA (GPU machines only): the same landmark as on the CPU', async () => {
    const model = brightestSpotModel({ 'lmk.grid_height': '64', 'lmk.grid_width': '48', 'lmk.sigma': '2' });
    const file = join(dir, 'dot-cuda.png');
    writeFileSync(file, await dotImage(300, 400, 123.4, 277.8, 12));
    const [cpu, cuda] = [await Predictor.create({ model }), await Predictor.create({ model, executionProvider: 'cuda' })];
    try {
      expect(cuda.executionProvider).toBe('cuda');
      const [a, b] = [await cpu.predict(file), await cuda.predict(file)];
      expect(Math.abs(a.landmarks[0][0] - b.landmarks[0][0])).toBeLessThan(1e-3);
      expect(Math.abs(a.landmarks[0][1] - b.landmarks[0][1])).toBeLessThan(1e-3);
    } finally {
      await cpu.release();
      await cuda.release();
    }
  });

  test('CUDA without its provider: an error, or the CPU with a warning when allowed', async () => {
    if (cudaProviderStatus().installed) return; // a machine set up for CUDA tests this elsewhere
    const model = brightestSpotModel({ 'lmk.grid_height': '32', 'lmk.grid_width': '32' });
    await expect(Predictor.create({ model, executionProvider: 'cuda' })).rejects.toThrow(/CUDA execution provider is not installed.*lmk setup cuda/);
    const warnings: string[] = [];
    const p = await Predictor.create({ model, executionProvider: 'cuda', allowCpuFallback: true, onWarning: (w) => warnings.push(w) });
    expect(p.executionProvider).toBe('cpu');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/running on the CPU instead/);
    await p.release();
  });
});
