import { existsSync, mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import sharp from 'sharp';
import { Predictor } from '../../src/infer';
import { ErrorLine, predictArchive, PredictionLine } from '../../src/predict';
import { brightestSpotModel, makeArchive } from './helpers';

const readLines = <T>(path: string): T[] => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

describe('predictArchive', () => {
  const root = mkdtempSync(join(tmpdir(), 'lmk-archive-'));
  let predictor: Predictor;
  beforeAll(async () => {
    predictor = await Predictor.create({ model: brightestSpotModel(2), threads: 1 });
  });
  afterAll(async () => predictor.release());

  test('predicts the good images, one error line per bad input, and a rerun adds nothing (worker thread)', async () => {
    const fx = await makeArchive(join(root, 'in'));
    const out = join(root, 'out');
    const progress: number[] = [];
    let total: number | undefined;
    const r = await predictArchive({
      predictor, inputs: [fx.dir], outDir: out, workers: 1, batch: 2, overlay: true, csv: true,
      onProgress: (p) => progress.push(p.predicted + p.failed), onTotal: (t) => (total = t),
    });
    expect(r).toMatchObject({ predicted: 3, failed: 6, skippedPredicted: 0, skippedFailed: 0, interrupted: false });
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(total).toBe(9);

    const predictions = readLines<PredictionLine>(join(out, 'predictions.jsonl'));
    expect(predictions.map((p) => p.file)).toEqual(['a.png', 'sub/b.jpg', 'sub/deeper/c.png'].map((f) => join(fx.dir, f)));
    expect(predictions.map((p) => p.id)).toEqual(['a', 'b', 'c']);
    for (const p of predictions) {
      const [x, y] = fx.good.get(p.file.slice(fx.dir.length + 1))!;
      expect(p.width).toBe(180);
      expect(p.height).toBe(120);
      expect(p.landmarks).toHaveLength(2);
      expect(p.scores).toHaveLength(2);
      expect(p.landmarksMm).toBeUndefined();
      // Grid pixels are 3.75 x 1.9 original pixels; sub-pixel decoding lands well inside one.
      for (const [px, py] of p.landmarks) {
        expect(Math.abs(px - x)).toBeLessThan(2);
        expect(Math.abs(py - y)).toBeLessThan(2);
      }
    }

    const errors = readLines<ErrorLine>(join(out, 'errors.jsonl'));
    const byName = new Map(errors.map((e) => [e.file.slice(fx.dir.length + 1), e.error]));
    expect([...byName.keys()].sort()).toEqual([...fx.bad].sort());
    for (const [rel, message] of byName) expect(message).toContain(join(fx.dir, rel));
    expect(byName.get('sub/empty.dcm')).toMatch(/empty file \(0 bytes\)/);
    expect(byName.get('random.png')).toMatch(/unrecognised image format/);
    expect(byName.get('notes.bmp')).toMatch(/unrecognised image format/);
    expect(byName.get('sub/bomb.png')).toMatch(/exceeds (the )?pixel limit|100000x100000 pixels exceeds the limit/);
    expect(byName.get('sub/unreadable.png')).toMatch(/file not found/);
    expect(byName.get('truncated.jpg')).toBeDefined();
    for (const message of byName.values()) expect(message).not.toMatch(/\n/);

    // Overlays mirror the input tree; the CSV has one row per prediction.
    for (const [i, rel] of ['a.png', 'sub/b.png', 'sub/deeper/c.png'].entries()) {
      const { data, info } = await sharp(join(out, 'overlays', rel)).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([180, 120, 3]);
      // The landmark's pixel is the dot's red (the image itself is grey).
      const [x, y] = predictions[i].landmarks[0].map(Math.round);
      const at = (y * info.width + x) * 3;
      expect([data[at], data[at + 1], data[at + 2]]).toEqual([0xff, 0x30, 0x30]);
    }
    const csv = readFileSync(join(out, 'predictions.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('file,id,width,height,mean_score,mirrored,L1_x,L1_y,L2_x,L2_y,L1_x_mm,L1_y_mm,L2_x_mm,L2_y_mm,L1_score,L2_score');
    expect(csv).toHaveLength(4);
    expect(csv[1].split(',').slice(0, 10).map(String)).toEqual([join(fx.dir, 'a.png'), 'a', '180', '120', String(predictions[0].meanScore), '0', ...predictions[0].landmarks.flat().map(String)]);

    // A rerun, with an overlapping input too, skips everything and writes nothing new.
    const before = [readFileSync(join(out, 'predictions.jsonl'), 'utf8'), readFileSync(join(out, 'errors.jsonl'), 'utf8')];
    const again = await predictArchive({ predictor, inputs: [fx.dir, join(fx.dir, 'a.png')], outDir: out, workers: 1 });
    expect(again).toMatchObject({ predicted: 0, failed: 0, skippedPredicted: 3, skippedFailed: 6 });
    expect([readFileSync(join(out, 'predictions.jsonl'), 'utf8'), readFileSync(join(out, 'errors.jsonl'), 'utf8')]).toEqual(before);
  });

  test('on the calling thread (workers 0) the predictions are the same; a missing input is an error line', async () => {
    const fx = await makeArchive(join(root, 'in0'));
    const out = join(root, 'out0');
    const missing = join(root, 'no-such-folder');
    const r = await predictArchive({ predictor, inputs: [join(fx.dir, 'sub'), missing], outDir: out, workers: 0 });
    expect(r).toMatchObject({ predicted: 2, failed: 4 });
    const errors = readLines<ErrorLine>(join(out, 'errors.jsonl'));
    expect(errors.find((e) => e.file === missing)?.error).toBe(`${missing}: no such file or directory`);
    expect(existsSync(join(out, 'overlays'))).toBe(false);
    expect(existsSync(join(out, 'predictions.csv'))).toBe(false);
    const withWorkers = readLines<PredictionLine>(join(root, 'out', 'predictions.jsonl')).slice(1);
    const inProcess = readLines<PredictionLine>(join(out, 'predictions.jsonl'));
    expect(inProcess.map((p) => p.landmarks)).toEqual(withWorkers.map((p) => p.landmarks));
  });

  test('a crash that tore the last line: the torn record is redone, no line is duplicated', async () => {
    const fx = await makeArchive(join(root, 'in-torn'));
    const out = join(root, 'out-torn');
    await predictArchive({ predictor, inputs: [join(fx.dir, 'a.png'), join(fx.dir, 'sub', 'b.jpg')], outDir: out, workers: 0 });
    const path = join(out, 'predictions.jsonl');
    const whole = readFileSync(path, 'utf8');
    const lines = whole.split('\n').filter(Boolean);
    require('fs').writeFileSync(path, `${lines[0]}\n${lines[1].slice(0, 25)}`);
    const r = await predictArchive({ predictor, inputs: [join(fx.dir, 'a.png'), join(fx.dir, 'sub', 'b.jpg')], outDir: out, workers: 0 });
    expect(r).toMatchObject({ predicted: 1, skippedPredicted: 1 });
    expect(readFileSync(path, 'utf8')).toBe(whole);
  });
});

describe('predictArchive with a model whose landmarks are named ISBI 2015 points', () => {
  test('named CSV columns and overlays, the eight measurements in lines and CSV, MW in mm from --pixel-spacing', async () => {
    const { ISBI2015_LANDMARK_NAMES, LANDMARK_NAMES_KEY, serializeLandmarkNames } = await import('../../src/data');
    const { MEASUREMENT_NAMES } = await import('../../src/cephalometry');
    const { dotImage } = await import('./helpers');
    const { writeFileSync, mkdirSync } = await import('fs');
    const root = mkdtempSync(join(tmpdir(), 'lmk-archive-ceph-'));
    mkdirSync(join(root, 'in'));
    writeFileSync(join(root, 'in', 'ceph.png'), await dotImage(180, 120, 60, 40));
    const model = brightestSpotModel(19, { height: 64, width: 48 }, { [LANDMARK_NAMES_KEY]: serializeLandmarkNames(ISBI2015_LANDMARK_NAMES) });
    for (const [spacing, unit] of [[undefined, 'px'], [0.1, 'mm']] as const) {
      const predictor = await Predictor.create({ model, threads: 1, pixelSpacingMm: spacing });
      try {
        expect(predictor.landmarkNames[0]).toEqual({ code: 'S', name: 'sella' });
        const out = join(root, `out-${unit}`);
        await predictArchive({ predictor, inputs: [join(root, 'in')], outDir: out, workers: 0, csv: true, overlay: true });
        const [line] = readLines<PredictionLine>(join(out, 'predictions.jsonl'));
        expect(Object.keys(line.measurements!)).toEqual([...MEASUREMENT_NAMES]);
        expect(line.measurements!.MW.unit).toBe(unit);
        expect(line.measurements!.SNA.unit).toBe('deg');
        expect(line.measurements!.MW.class === null).toBe(unit === 'px');
        const [header, row] = readFileSync(join(out, 'predictions.csv'), 'utf8').trim().split('\n');
        const columns = header.split(',');
        expect(columns.slice(4, 10)).toEqual(['mean_score', 'mirrored', 'S_x', 'S_y', 'N_x', 'N_y']);
        expect(columns).toContain("Pog'_score");
        expect(columns.slice(-24, -21)).toEqual(['ANB', 'ANB_unit', 'ANB_class']);
        expect(columns.slice(-3)).toEqual(['MW', 'MW_unit', 'MW_class']);
        const cells = row.split(',');
        expect(cells[columns.indexOf('MW_unit')]).toBe(unit);
        expect(Number(cells[columns.indexOf('SNA')])).toBeCloseTo(line.measurements!.SNA.value, 4);
        expect(existsSync(join(out, 'overlays', 'ceph.png'))).toBe(true);
      } finally {
        await predictor.release();
      }
    }
  });
});
