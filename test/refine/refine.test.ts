import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import sharp from 'sharp';
import { frameWindow, loadDataset, readForGrid } from '../../src/data';
import { benchInference } from '../../src/bench';
import { Predictor } from '../../src/infer';
import { GraphBuilder, Model, parseModel, serializeModel } from '../../src/onnx';
import { detailFor, REFINE_MIN_SCORE, REFINED_WEIGHT } from '../../src/refine/crops';
import { Refiner } from '../../src/refine/refiner';
import { firstStageOf, joinSettings, joinStages, parseRefinements, REFINE_KEY, refinementStages, splitStages } from '../../src/refine/stages';
import { readFirstStage } from '../../src/refine/first-stage';
import { prepareCropSample } from '../../src/train/crop-samples';
import { train } from '../../src/train/loop';
import { DEFAULT_AUGMENT } from '../../src/data/augment';
import { writeMarkerSet } from '../train/loop-data';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'fs';
import { spawnSync } from 'child_process';
import { buildCli } from '../train/built-cli';
import { readBaseModel } from '../../src/train/base-model';
import { exportModel } from '../../src/models/export';
import { initStateDict } from '../../src/models/parameters';

/**
 * The refinement stage: crops about the first stage's landmarks at a finer pixel size, decoded in their own
 * landmark's map, mapped back to the image (either way the patient faces); the joined model file; and its
 * training samples.
 */

const [W, H] = [480, 640];
const DOTS: [number, number][] = [[0.2 * W, 0.55 * H], [0.5 * W, 0.4 * H], [0.8 * W, 0.6 * H]];
// A coarse first stage: 40 px grid pixels; the crops (factor 8) have 5 px pixels and hold one dot each.
const FIRST_GRID = { height: 16, width: 12 };
const SETTINGS = { crop: 32, factor: 8, sigma: 2, minScore: 0, refinedWeight: 1, output: 'heatmap' as const };

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'lmk-refine-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function dotsImage(): Promise<Buffer> {
  const px = Buffer.alloc(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 0;
      for (const [cx, cy] of DOTS) v += Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 8 * 8));
      px[y * W + x] = Math.round(255 * Math.min(1, v));
    }
  }
  return sharp(px, { raw: { width: W, height: H, channels: 1 } }).png().toBuffer();
}

/** Every output channel is the input's first channel lifted above black: each map peaks at the crop's dot. */
function dotModel(classes: number, metadata: Record<string, string> = {}): Model {
  const g = new GraphBuilder('dots');
  const x = g.input('image', 'float32', ['N', 3, 'H', 'W']);
  const weights = g.initializer('w', { dataType: 'float32', dims: [classes, 3, 1, 1], data: Float32Array.from({ length: classes * 3 }, (_, i) => (i % 3 === 0 ? 1 : 0)) });
  // Relu just above black (-2.12 after ImageNet normalisation): the background adds nothing.
  const bias = g.initializer('b', { dataType: 'float32', dims: [classes], data: new Float32Array(classes).fill(2) });
  g.output(g.relu(g.conv(x, weights, bias)), 'heatmaps', 'float32', ['N', classes, 'H', 'W']);
  return g.build({ 'lmk.classes': String(classes), 'lmk.in_channels': '3', 'lmk.sigma': '2', ...metadata });
}

/** A first stage on FIRST_GRID (padded 32 x 32): landmark k is the brightest spot in the k-th third of the grid's columns. */
function bandModel(metadata: Record<string, string> = {}): Model {
  const padded = 32;
  const g = new GraphBuilder('bands');
  const x = g.input('image', 'float32', ['N', 3, padded, padded]);
  const weights = g.initializer('w', { dataType: 'float32', dims: [3, 3, 1, 1], data: Float32Array.from([1, 0, 0, 1, 0, 0, 1, 0, 0]) });
  const mask = new Float32Array(3 * padded * padded);
  for (let k = 0; k < 3; k++) for (let y = 0; y < padded; y++) for (let c = (k * FIRST_GRID.width) / 3; c < ((k + 1) * FIRST_GRID.width) / 3; c++) mask[k * padded * padded + y * padded + c] = 1;
  const m = g.initializer('mask', { dataType: 'float32', dims: [1, 3, padded, padded], data: mask });
  const bias = g.initializer('b', { dataType: 'float32', dims: [3], data: Float32Array.from([2, 2, 2]) });
  g.output(g.mul(g.relu(g.conv(x, weights, bias)), m), 'heatmaps', 'float32', ['N', 3, padded, padded]);
  return g.build({ 'lmk.classes': '3', 'lmk.in_channels': '3', 'lmk.sigma': '2', 'lmk.grid_height': String(FIRST_GRID.height), 'lmk.grid_width': String(FIRST_GRID.width), ...metadata });
}

/** The same maps computed here, for the Refiner alone: channel 0 (ImageNet red) + 2, clamped at 0. */
const cropRun = (classes: number) => async (crops: Float32Array, n: number): Promise<Float32Array> => {
  const plane = SETTINGS.crop ** 2;
  const out = new Float32Array(n * classes * plane);
  for (let i = 0; i < n; i++) for (let c = 0; c < classes; c++) for (let p = 0; p < plane; p++) out[(i * classes + c) * plane + p] = Math.max(0, crops[i * 3 * plane + p] + 2);
  return out;
};

describe('Refiner', () => {
  it('finds each landmark again in a crop about the first estimate, in the image and mirrored', async () => {
    const image = await readForGrid(await dotsImage(), FIRST_GRID, { detail: detailFor(SETTINGS) });
    // The decode keeps the crops' resolution: 5 px crop pixels, a decode at 1/4 (1/8 would be 8 px pixels).
    expect(image.shrink).toBe(4);
    const refiner = new Refiner(SETTINGS, FIRST_GRID, 3, 3, cropRun(3));
    // First estimates 30 and 25 px off (three quarters of a first-stage grid pixel).
    const off = DOTS.map(([x, y], k): [number, number] => [x + (k === 1 ? -30 : 30), y + 25]);
    const { points: refined } = await refiner.refine(off, frameWindow({ width: W, height: H }), image, false);
    refined.forEach(([x, y], k) => expect(Math.hypot(x - DOTS[k][0], y - DOTS[k][1])).toBeLessThan(3));
    // A mirrored pass: points and window in the mirrored image, crops cut from the image as it is.
    const mirroredOff = off.map(([x, y]): [number, number] => [W - 1 - x, y]);
    const { points: mirrored } = await refiner.refine(mirroredOff, frameWindow({ width: W, height: H }), image, true);
    mirrored.forEach(([x, y], k) => expect(Math.hypot(x - (W - 1 - DOTS[k][0]), y - DOTS[k][1])).toBeLessThan(3));
  });

  it('keeps the first estimate where the refinement\'s score falls short of minScore', async () => {
    const image = await readForGrid(await dotsImage(), FIRST_GRID, { detail: detailFor(SETTINGS) });
    // Landmark 1's estimate 100 px off: its 160 px crop holds no dot, its map nothing to be sure of.
    const off = DOTS.map(([x, y], k): [number, number] => [x + (k === 1 ? 100 : 20), y + 20]);
    const all = await new Refiner(SETTINGS, FIRST_GRID, 3, 3, cropRun(3)).refine(off, frameWindow({ width: W, height: H }), image, false);
    const minScore = 0.5;
    expect(all.scores[1]).toBeLessThan(minScore);
    expect(Math.min(all.scores[0], all.scores[2])).toBeGreaterThan(minScore);
    const gated = await new Refiner({ ...SETTINGS, minScore }, FIRST_GRID, 3, 3, cropRun(3)).refine(off, frameWindow({ width: W, height: H }), image, false);
    expect(gated.points[1]).toEqual(off[1]);
    expect(all.points[1]).not.toEqual(off[1]);
    for (const k of [0, 2]) expect(gated.points[k]).toEqual(all.points[k]);
    expect(gated.scores).toEqual(all.scores);
  });

  it('moves a refined point refinedWeight of the way from the first estimate, and leaves a gated one', async () => {
    const image = await readForGrid(await dotsImage(), FIRST_GRID, { detail: detailFor(SETTINGS) });
    const off = DOTS.map(([x, y], k): [number, number] => [x + (k === 1 ? 100 : 20), y + 20]);
    const settings = { ...SETTINGS, minScore: 0.5 };
    const full = await new Refiner(settings, FIRST_GRID, 3, 3, cropRun(3)).refine(off, frameWindow({ width: W, height: H }), image, false);
    const quarter = await new Refiner({ ...settings, refinedWeight: 0.25 }, FIRST_GRID, 3, 3, cropRun(3)).refine(off, frameWindow({ width: W, height: H }), image, false);
    for (const k of [0, 2]) {
      expect(quarter.points[k][0]).toBeCloseTo(off[k][0] + 0.25 * (full.points[k][0] - off[k][0]), 9);
      expect(quarter.points[k][1]).toBeCloseTo(off[k][1] + 0.25 * (full.points[k][1] - off[k][1]), 9);
    }
    expect(quarter.points[1]).toEqual(off[1]);
    expect(quarter.scores).toEqual(full.scores);
  });

  it('scales crops with the window the first stage saw (a second look at half the frame: half the crop)', async () => {
    const image = await readForGrid(await dotsImage(), FIRST_GRID, { detail: detailFor(SETTINGS) });
    const seen: number[] = [];
    const run = cropRun(3);
    const refiner = new Refiner(SETTINGS, FIRST_GRID, 3, 3, async (crops, n) => {
      // Bright pixels of crop 1: its dot (sigma 8 px) covers about 4x as many 2.5 px pixels as 5 px ones.
      const plane = SETTINGS.crop ** 2;
      seen.push(Array.from(crops.subarray(plane, 2 * plane)).filter((v) => v > 0).length);
      return run(crops, n);
    });
    await refiner.refine(DOTS, frameWindow({ width: W, height: H }), image, false);
    const half = { left: W / 4 - 0.5, top: H / 4 - 0.5, width: W / 2, height: H / 2 };
    const { points: refined } = await refiner.refine(DOTS, half, image, false);
    expect(seen[1] / seen[0]).toBeGreaterThan(3);
    expect(seen[1] / seen[0]).toBeLessThan(5);
    refined.forEach(([x, y], k) => expect(Math.hypot(x - DOTS[k][0], y - DOTS[k][1])).toBeLessThan(2));
  });
});

describe('a model file with both stages', () => {
  const first = (): Model => bandModel();

  it('refines the first stage with its second graph, and --no-refine reads the first alone', async () => {
    const joined = serializeModel(joinStages(first(), dotModel(3, { 'lmk.output': 'heatmap' }), { crop: SETTINGS.crop, factor: SETTINGS.factor, sigma: SETTINGS.sigma, minScore: SETTINGS.minScore, refinedWeight: SETTINGS.refinedWeight }));
    expect(parseRefinements(parseModel(joined).metadata![REFINE_KEY], 'x')).toEqual([SETTINGS]);
    const image = await dotsImage();
    const two = await Predictor.create({ model: joined, threads: 1 });
    const one = await Predictor.create({ model: joined, threads: 1, refine: false });
    const plain = await Predictor.create({ model: serializeModel(first()), threads: 1 });
    try {
      expect(two.refines).toBe(true);
      expect(one.refines).toBe(false);
      const error = (p: { landmarks: [number, number][] }) => p.landmarks.reduce((s, [x, y], k) => s + Math.hypot(x - DOTS[k][0], y - DOTS[k][1]), 0) / 3;
      const [a, b, c] = [await one.predict(image), await two.predict(image), await plain.predict(image)];
      // The joined file's first stage is the first stage's file.
      expect(a.landmarks).toEqual(c.landmarks);
      expect(a.scores).toEqual(c.scores);
      // A 40 px grid finds the dots within several pixels; its 5 px crops within a couple; the scores stay the first stage's.
      expect(error(a)).toBeGreaterThan(4);
      expect(error(b)).toBeLessThan(0.5 * error(a));
      expect(error(b)).toBeLessThan(2.5);
      expect(b.scores).toEqual(a.scores);
    } finally {
      await Promise.all([one.release(), two.release(), plain.release()]);
    }
    await expect(Predictor.create({ model: serializeModel(first()), refine: true })).rejects.toThrow(/no refinement stage/);
  });

  it('lmk-bench counts one crop run per image in its session-only figure as in its end-to-end one', async () => {
    const model = join(dir, 'two-stages.onnx');
    writeFileSync(model, serializeModel(joinStages(first(), dotModel(3, { 'lmk.output': 'heatmap' }), SETTINGS)));
    const cropRuns = jest.spyOn(Predictor.prototype, 'runCrops');
    try {
      const r = await benchInference({ model, syntheticSize: { width: W, height: H }, runs: 3, warmup: 0, batch: 2, workers: 0, threads: 1 });
      expect(r.images).toBe(6);
      // 6 images refined in the pipeline, and 3 session-only runs of a batch of 2.
      expect(cropRuns).toHaveBeenCalledTimes(12);
      expect(cropRuns.mock.calls.every(([, n]) => n === 3)).toBe(true);
    } finally {
      cropRuns.mockRestore();
    }
  });

  it('as a pair of files (the first stage naming its refinement\'s file beside it) predicts as the joined file does', async () => {
    // (lmk.arch and lmk.encoder make it a model to fine-tune from: readBaseModel below.)
    const joinedModel = joinStages(bandModel({ 'lmk.arch': 'unet', 'lmk.encoder': 'vgg19' }), dotModel(3, { 'lmk.output': 'heatmap' }), SETTINGS);
    const pairDir = join(dir, 'pair');
    require('fs').mkdirSync(pairDir, { recursive: true });
    const pair = splitStages(joinedModel, 'refinement.onnx');
    const firstPath = join(pairDir, 'model.onnx');
    writeFileSync(firstPath, serializeModel(pair.first));
    expect(pair.refinements.map((r) => r.file)).toEqual(['refinement.onnx']);
    writeFileSync(join(pairDir, 'refinement.onnx'), serializeModel(pair.refinements[0].model));
    expect(parseRefinements(pair.first.metadata![REFINE_KEY], 'x')).toEqual([{ ...SETTINGS, file: 'refinement.onnx' }]);
    // The first stage's file holds no refinement weights, the refinement's file no first-stage ones.
    expect(pair.first.graph.initializers.map((t) => t.name).sort()).toEqual(first().graph.initializers.map((t) => t.name).sort());
    expect(pair.first.graph.inputs.map((i) => i.name)).toEqual(['image']);

    const image = await dotsImage();
    const fromPair = await Predictor.create({ model: firstPath, threads: 1 });
    const fromJoined = await Predictor.create({ model: serializeModel(joinedModel), threads: 1 });
    try {
      expect(fromPair.refines).toBe(true);
      const [a, b] = [await fromPair.predict(image), await fromJoined.predict(image)];
      expect(a.landmarks).toEqual(b.landmarks);
      expect(a.scores).toEqual(b.scores);
    } finally {
      await Promise.all([fromPair.release(), fromJoined.release()]);
    }
    // The refinement stage reads back the same from either, to join to another first stage or to fine-tune from.
    const [fromFile] = refinementStages(parseModel(readFileSync(firstPath)), firstPath, firstPath);
    const [fromOne] = refinementStages(joinedModel, undefined, 'joined');
    expect(fromFile.settings).toEqual(fromOne.settings);
    expect(fromFile.model.graph.initializers).toEqual(fromOne.model.graph.initializers);
    expect(readBaseModel(firstPath)?.refinements?.[0].settings).toEqual({ crop: SETTINGS.crop, factor: SETTINGS.factor, sigma: SETTINGS.sigma, minScore: SETTINGS.minScore, refinedWeight: SETTINGS.refinedWeight });

    // Bytes alone cannot name a file beside them; without the refinement they need none.
    const bytes = readFileSync(firstPath);
    await expect(Predictor.create({ model: bytes })).rejects.toThrow(/model: its refinement stage is a file of its own \(refinement.onnx, beside the model\)/);
    const one = await Predictor.create({ model: bytes, refine: false, threads: 1 });
    await one.release();
    unlinkSync(join(pairDir, 'refinement.onnx'));
    await expect(Predictor.create({ model: firstPath })).rejects.toThrow(new RegExp(`^${join(pairDir, 'refinement.onnx')}: cannot read the model's refinement stage`));
    expect(() => splitStages(pair.first, 'other.onnx')).toThrow(/already a pair/);
    expect(() => parseRefinements(JSON.stringify({ ...SETTINGS, file: '../x.onnx' }), 'm.onnx')).toThrow(/m.onnx: lmk.refine's "file" must name an .onnx file beside the model/);
  });

  it('names what lmk.refine lacks', () => {
    expect(() => parseRefinements('{"crop": 30, "factor": 3, "sigma": 2, "minScore": 0.7, "output": "heatmap"}', 'm.onnx')).toThrow(/m.onnx: lmk.refine must be .*multiple of 32/);
    expect(() => parseRefinements('{"crop": 32, "factor": 3, "sigma": 2, "minScore": 0.7, "refinedWeight": 0, "output": "heatmap"}', 'm.onnx')).toThrow(/m.onnx: lmk.refine must be .*"refinedWeight": over 0 to 1/);
    // A file written before refinedWeight: the refined point replaces the first stage's.
    expect(parseRefinements('{"crop": 32, "factor": 3, "sigma": 2, "minScore": 0.7, "output": "heatmap"}', 'm.onnx')[0].refinedWeight).toBe(1);
    const [stored] = parseRefinements(JSON.stringify(SETTINGS), 'm.onnx');
    expect(joinSettings(stored, { refinedWeight: 0.5 })).toEqual({ crop: 32, factor: 8, sigma: 2, minScore: 0, refinedWeight: 0.5 });
    expect(() => joinSettings(stored, { refinedWeight: 1.5 })).toThrow(/--refined-weight must lie over 0 up to 1, got 1.5/);
    // A chain: each element checked and named by its place.
    expect(() => parseRefinements(JSON.stringify([SETTINGS, { ...SETTINGS, crop: 30 }]), 'm.onnx')).toThrow(/m.onnx: lmk.refine\[1\] must be .*multiple of 32/);
    expect(() => parseRefinements('[]', 'm.onnx')).toThrow(/m.onnx: lmk.refine is an empty list/);
    expect(() => parseRefinements(JSON.stringify([{ ...SETTINGS, file: 'a.onnx' }, SETTINGS]), 'm.onnx')).toThrow(/m.onnx: lmk.refine names a file for some refinements and not others/);
    expect(() => parseRefinements(JSON.stringify([{ ...SETTINGS, file: 'a.onnx' }, { ...SETTINGS, file: 'a.onnx' }]), 'm.onnx')).toThrow(/one file for two refinements/);
  });

  it('a chain of two refinements: the second crops about the point the first found, joined or as files', async () => {
    // Each moves half way: one refinement leaves half the first stage's miss, two in turn a quarter.
    const half = { ...SETTINGS, refinedWeight: 0.5 };
    const { output: _o, ...joinable } = half;
    // (lmk.arch and lmk.encoder make it a model to fine-tune from: readBaseModel below.)
    const one = joinStages(bandModel({ 'lmk.arch': 'unet', 'lmk.encoder': 'vgg19' }), dotModel(3, { 'lmk.output': 'heatmap' }), joinable);
    const chain = joinStages(one, dotModel(3, { 'lmk.output': 'heatmap' }), joinable);
    expect(parseRefinements(chain.metadata![REFINE_KEY], 'x')).toEqual([half, half]);
    expect(chain.graph.inputs.map((i) => i.name)).toEqual(['image', 'crops', 'crops_2']);
    expect(chain.graph.outputs.map((o) => o.name)).toEqual(['heatmaps', 'crop_heatmaps', 'crop_heatmaps_2']);
    // Its first stage alone is the first stage's graph, whichever the chain's length.
    const alone = firstStageOf(chain);
    expect(alone.graph.initializers.map((t) => t.name).sort()).toEqual(first().graph.initializers.map((t) => t.name).sort());
    expect(alone.graph.nodes).toHaveLength(first().graph.nodes.length);
    expect(alone.metadata![REFINE_KEY]).toBeUndefined();

    const image = await dotsImage();
    const [plain, once, twice] = await Promise.all([alone, one, chain].map((m) => Predictor.create({ model: serializeModel(m), threads: 1 })));
    try {
      const [a, b, c] = [await plain.predict(image), await once.predict(image), await twice.predict(image)];
      // The same refinement by hand, twice in turn, on the same decode.
      const decoded = await readForGrid(image, FIRST_GRID, { detail: detailFor(SETTINGS) });
      const refiner = new Refiner(half, FIRST_GRID, 3, 3, cropRun(3));
      const window = frameWindow({ width: W, height: H });
      const byHand = (await refiner.refine((await refiner.refine(a.landmarks, window, decoded, false)).points, window, decoded, false)).points;
      c.landmarks.forEach(([x, y], k) => {
        expect(x).toBeCloseTo(byHand[k][0], 3);
        expect(y).toBeCloseTo(byHand[k][1], 3);
      });
      const miss = (p: { landmarks: [number, number][] }, k: number) => Math.hypot(p.landmarks[k][0] - DOTS[k][0], p.landmarks[k][1] - DOTS[k][1]);
      for (let k = 0; k < 3; k++) expect(miss(c, k)).toBeLessThan(miss(b, k));
      expect(c.scores).toEqual(a.scores);
    } finally {
      await Promise.all([plain.release(), once.release(), twice.release()]);
    }

    // As files: refinement.onnx and refinement-2.onnx beside the first stage, predicting as the joined file does.
    const filesDir = join(dir, 'chain');
    require('fs').mkdirSync(filesDir, { recursive: true });
    const split = splitStages(chain, 'refinement.onnx');
    expect(split.refinements.map((r) => r.file)).toEqual(['refinement.onnx', 'refinement-2.onnx']);
    for (const r of split.refinements) writeFileSync(join(filesDir, r.file), serializeModel(r.model));
    const firstPath = join(filesDir, 'model.onnx');
    writeFileSync(firstPath, serializeModel(split.first));
    expect(split.first.graph.inputs.map((i) => i.name)).toEqual(['image']);
    const fromFiles = await Predictor.create({ model: firstPath, threads: 1 });
    const fromJoined = await Predictor.create({ model: serializeModel(chain), threads: 1 });
    try {
      expect((await fromFiles.predict(image)).landmarks).toEqual((await fromJoined.predict(image)).landmarks);
    } finally {
      await Promise.all([fromFiles.release(), fromJoined.release()]);
    }
    // Read back from either, each refinement with its own weights, in order; fine-tuning keeps the chain.
    const fromSplit = refinementStages(parseModel(readFileSync(firstPath)), firstPath, firstPath);
    const fromOne = refinementStages(chain, undefined, 'chain');
    expect(fromSplit.map((r) => r.settings)).toEqual(fromOne.map((r) => r.settings));
    fromSplit.forEach((r, i) => expect(r.model.graph.initializers).toEqual(fromOne[i].model.graph.initializers));
    expect(readBaseModel(firstPath)?.refinements).toHaveLength(2);
    // A chain stored as files grows from its joined form only.
    expect(() => joinStages(split.first, dotModel(3, { 'lmk.output': 'heatmap' }), joinable)).toThrow(/files of their own: join to the model that holds them in one file/);
  });
});

describe('lmk join', () => {
  it('joins a refined model\'s refinement to another first stage, then another after it (a chain), and names what is wrong', () => {
    const cli = buildCli(join(dir, 'cli'));
    const lmk = (...args: string[]) => spawnSync(process.execPath, [cli.script, 'join', ...args], { env: cli.env, encoding: 'utf8' });
    const paths = { first: join(dir, 'j-first.onnx'), refined: join(dir, 'j-refined.onnx'), once: join(dir, 'j-once.onnx'), twice: join(dir, 'j-twice.onnx') };
    const { output: _o, ...joinable } = SETTINGS;
    writeFileSync(paths.first, serializeModel(bandModel()));
    // The refinement trained against another first stage (lmk train --first-stage needs only its grid).
    writeFileSync(paths.refined, serializeModel(joinStages(bandModel({ 'lmk.sigma': '3' }), dotModel(3, { 'lmk.output': 'heatmap' }), joinable)));
    let r = lmk(paths.first, paths.refined, '--out', paths.once);
    expect(r.stderr).toMatch(/refined weight 1\n/);
    expect(r.status).toBe(0);
    r = lmk(paths.once, paths.refined, '--refined-weight', '0.5', '--out', paths.twice);
    expect(r.status).toBe(0);
    const twice = parseModel(readFileSync(paths.twice));
    expect(parseRefinements(twice.metadata![REFINE_KEY], 'x')).toEqual([SETTINGS, { ...SETTINGS, refinedWeight: 0.5 }]);
    // The first stage's own metadata, not the refined model's.
    expect(twice.metadata!['lmk.sigma']).toBe('2');
    expect(firstStageOf(twice).graph.initializers).toEqual(bandModel().graph.initializers);

    r = lmk(paths.first, paths.first, '--out', join(dir, 'j-x.onnx'));
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`lmk: ${paths.first}: the model has no refinement stage`);
    writeFileSync(join(dir, 'j-text.onnx'), 'not a model');
    r = lmk(join(dir, 'j-text.onnx'), paths.refined, '--out', join(dir, 'j-x.onnx'));
    expect(r.stderr.trim()).toBe(`lmk: ${join(dir, 'j-text.onnx')}: not an ONNX model`);
    writeFileSync(join(dir, 'j-five.onnx'), serializeModel(dotModel(5)));
    r = lmk(join(dir, 'j-five.onnx'), paths.refined, '--out', join(dir, 'j-x.onnx'));
    expect(r.stderr.trim()).toBe(`lmk: ${paths.refined}: its refinement finds 3 landmarks, the first stage ${join(dir, 'j-five.onnx')} 5`);
    r = lmk(paths.first, paths.refined, '--refined-weight', '2', '--out', join(dir, 'j-x.onnx'));
    expect(r.stderr.trim()).toBe('lmk: --refined-weight must lie over 0 up to 1, got 2');
    expect(existsSync(join(dir, 'j-x.onnx'))).toBe(false);
  }, 60_000);
});

describe('refinement training', () => {
  it('cuts crops about a landmark at the first stage\'s grid pixel / factor, targets where the landmarks are', async () => {
    const root = join(dir, 'markers');
    await writeMarkerSet(root, 8, 96, 5);
    const { items } = await loadDataset({ format: 'csv', root });
    const sampling = { firstGrid: { height: 24, width: 24 }, factor: 2, jitter: 1 };
    const config = { grid: { height: 32, width: 32 }, padded: { height: 32, width: 32 }, sigma: 1.5, classes: 2, inChannels: 3, augmentation: DEFAULT_AUGMENT, refine: sampling };
    const cache = new Map();
    const item = items[0];
    const peak = (target: Float32Array, k: number): [number, number] => {
      const plane = 32 * 32;
      let best = k * plane;
      for (let i = k * plane; i < (k + 1) * plane; i++) if (target[i] > target[best]) best = i;
      return [(best - k * plane) % 32, Math.floor((best - k * plane) / 32)];
    };
    // No augmentation: landmark 0 at the crop's centre (15.5); landmark 1 where it lies at 2 px per crop pixel.
    const plain = await prepareCropSample(item, 0, config, sampling, null, cache);
    expect(Array.from(plain.gridLandmarks.slice(0, 2))).toEqual([15.5, 15.5]);
    const [dx, dy] = [item.landmarks[1][0] - item.landmarks[0][0], item.landmarks[1][1] - item.landmarks[0][1]];
    expect(plain.gridLandmarks[2]).toBeCloseTo(15.5 + dx / 2, 4);
    expect(plain.gridLandmarks[3]).toBeCloseTo(15.5 + dy / 2, 4);
    expect(peak(plain.target, 0).map((v) => Math.abs(v - 15.5))).toEqual([0.5, 0.5]);
    // A landmark outside the crop has an empty map.
    const outside = [2, 3].some((i) => plain.gridLandmarks[i] < -0.5 || plain.gridLandmarks[i] > 31.5);
    const mass1 = plain.target.subarray(1024, 2048).reduce((a, b) => a + b, 0);
    expect(outside ? mass1 === 0 : mass1 > 0).toBe(true);
    // Augmented crops are offset from the landmark (jitter 1 grid px = 2 crop px, a fifth spread over the crop) and stay about it.
    const offsets = await Promise.all(Array.from({ length: 40 }, (_, s) => prepareCropSample(item, 0, config, sampling, 100 + s, cache)
      .then((x) => Math.hypot(x.gridLandmarks[0] - 15.5, x.gridLandmarks[1] - 15.5))));
    expect(Math.max(...offsets)).toBeGreaterThan(1);
    expect(Math.max(...offsets)).toBeLessThan(16 * 0.75 * Math.SQRT2 * 1.06);
  });

  it('trains the refinement stage of a first-stage model and writes one file holding both', async () => {
    const root = join(dir, 'train-set');
    await writeMarkerSet(root, 6, 64, 9);
    const { items } = await loadDataset({ format: 'csv', root });
    const firstFile = join(dir, 'first.onnx');
    const spec = { arch: 'unet' as const, encoder: 'vgg19' as const, classes: 2, inChannels: 3 as const, widthMultiplier: 1 / 16 };
    writeFileSync(firstFile, serializeModel(exportModel(spec, initStateDict(spec, 3), { metadata: { 'lmk.grid_height': '16', 'lmk.grid_width': '16', 'lmk.sigma': '2' } })));
    const firstStage = readFirstStage(firstFile);
    const out = join(dir, 'run');
    const result = await train({
      spec: { arch: 'unet', encoder: 'vgg19', classes: 2, inChannels: 3, widthMultiplier: 1 / 16 },
      train: items, grid: { height: 32, width: 32 }, sigma: 2, loss: 'softmax_ce', lr: 1e-3, steps: 6, batch: 4,
      outDir: out, threads: 1, workers: 0, refine: { firstStage, factor: 2, jitter: 1 },
    });
    expect(result.status).toBe('finished');
    const predictor = await Predictor.create({ model: join(out, 'model.onnx'), threads: 1 });
    try {
      expect(predictor.refines).toBe(true);
      expect(predictor.grid).toEqual({ height: 16, width: 16 });
      const p = await predictor.predict(items[0].imagePath);
      expect(p.landmarks).toHaveLength(2);
      p.landmarks.flat().forEach((v) => expect(Number.isFinite(v)).toBe(true));
    } finally {
      await predictor.release();
    }
    expect(() => readFirstStage(join(out, 'model.onnx'))).toThrow(/already has a refinement stage/);
    // Fine-tuning the two-stage model trains its first stage and keeps its refinement stage.
    const base = readBaseModel(join(out, 'model.onnx'))!;
    expect(base.refinements![0].settings).toEqual({ crop: 32, factor: 2, sigma: 2, minScore: REFINE_MIN_SCORE, refinedWeight: REFINED_WEIGHT });
    const tuned = join(dir, 'tuned');
    await train({
      spec: base.spec, train: items, grid: base.grid!, sigma: 2, loss: 'softmax_ce', steps: 2, batch: 2, outDir: tuned, threads: 1, workers: 0,
      initWeights: join(out, 'model.onnx'), keptRefinements: base.refinements,
    });
    const again = await Predictor.create({ model: join(tuned, 'model.onnx'), threads: 1 });
    try {
      expect(again.refines).toBe(true);
      expect((await again.predict(items[1].imagePath)).landmarks).toHaveLength(2);
    } finally {
      await again.release();
    }
    await expect(train({
      spec: { arch: 'unet', encoder: 'vgg19', classes: 2, inChannels: 3, widthMultiplier: 1 / 16 },
      train: items.slice(0, 4), validation: items.slice(4), grid: { height: 32, width: 32 }, sigma: 2, steps: 1, batch: 4,
      outDir: join(dir, 'run-validated'), refine: { firstStage, factor: 2, jitter: 1 },
    })).rejects.toThrow(/without validation/);
  });
});
