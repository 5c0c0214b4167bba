import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { lmk } from '../util/lmk-cli';
import { readLandmarkSr } from '../../src/sr';
import type { PredictionLine } from '../../src/predict';
import { dicomImage } from '../sr/helpers';
import { brightestSpotModel, dotImage, makeArchive } from './helpers';

describe('lmk predict', () => {
  const root = mkdtempSync(join(tmpdir(), 'lmk-predict-cli-'));
  const model = join(root, 'spot.onnx');
  writeFileSync(model, brightestSpotModel(3));

  test('exit 1 with bad inputs after finishing the rest; a rerun adds nothing and still exits 1', async () => {
    const fx = await makeArchive(join(root, 'in'));
    const out = join(root, 'out');
    const first = await lmk(['predict', '--model', model, '--input', fx.dir, '--out', out, '--workers', '0', '--csv']);
    expect(first.stderr).toMatch(/predicted 3, failed 6/);
    expect(first.status).toBe(1);
    const lines = (f: string) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean).length;
    expect([lines('predictions.jsonl'), lines('errors.jsonl'), lines('predictions.csv')]).toEqual([3, 6, 4]);
    const second = await lmk(['predict', '--model', model, '--input', fx.dir, '--out', out, '--workers', '0']);
    expect(second.stderr).toMatch(/predicted 0, failed 0, skipped 9 done in an earlier run \(6 of them failed\)/);
    expect(second.status).toBe(1);
    expect([lines('predictions.jsonl'), lines('errors.jsonl')]).toEqual([3, 6]);
  });

  test('exit 0 when every input succeeds; --quiet prints nothing', async () => {
    const fx = await makeArchive(join(root, 'in-good'));
    const r = await lmk(['predict', '--model', model, '--input', join(fx.dir, 'a.png'), join(fx.dir, 'sub', 'b.jpg'), '--out', join(root, 'out-good'), '--workers', '0', '--quiet']);
    expect(r).toEqual({ status: 0, stderr: '' });
  });

  test('usage errors exit 2 with one line naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [['--model', join(root, 'absent.onnx'), '--input', root, '--out', join(root, 'o')], /--model .*absent\.onnx: no such file/],
      [['--model', model, '--input', root, '--out', model], /--out .*spot\.onnx: exists and is not a folder/],
      [['--model', model, '--input', root, '--out', join(root, 'o'), '--workers', '-1'], /--workers must be a whole number >= 0/],
      [['--model', model, '--input', root, '--out', join(root, 'o'), '--height', '64'], /--height and --width go together/],
      [['--model', model, '--out', join(root, 'o')], /Missing required argument: input/],
      [['--model', model, '--input', root, '--out', join(root, 'o'), '--ep', 'tpu'], /Invalid values/],
    ];
    for (const [args, message] of cases) {
      const r = await lmk(['predict', ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(message);
    }
  });

  test('--dicom-sr: an SR per DICOM input in OUT/sr, named in its prediction line, with the predicted points', async () => {
    const dir = join(root, 'in-dicom');
    mkdirSync(dir);
    const px = new Uint8Array(40 * 30);
    px[12 * 40 + 25] = 255;
    const ids = { studyInstanceUid: '1.2.826.0.1.3680043.10.9', seriesInstanceUid: '1.2.826.0.1.3680043.10.9.1', sopInstanceUid: '1.2.826.0.1.3680043.10.9.1.1' };
    writeFileSync(join(dir, 'image.dcm'), dicomImage(ids, 40, 30, px));
    writeFileSync(join(dir, 'photo.png'), await dotImage(40, 30, 5, 5));
    const out = join(root, 'out-sr');
    const r = await lmk(['predict', '--model', model, '--input', dir, '--out', out, '--workers', '0', '--dicom-sr', '--quiet']);
    expect(r).toEqual({ status: 0, stderr: '' });
    const lines = readFileSync(join(out, 'predictions.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as PredictionLine);
    const dicomLine = lines.find((l) => l.id === 'image')!;
    expect(lines.find((l) => l.id === 'photo')!.sr).toBeUndefined();
    expect(readdirSync(join(out, 'sr'))).toEqual([dicomLine.sr!.slice('sr/'.length)]);
    const sr = readLandmarkSr(readFileSync(join(out, dicomLine.sr!)));
    expect(sr.images[0].sopInstanceUid).toBe(ids.sopInstanceUid);
    sr.landmarks.forEach((l, k) => {
      expect(l.point[0]).toBeCloseTo(dicomLine.landmarks[k][0], 2);
      expect(l.point[1]).toBeCloseTo(dicomLine.landmarks[k][1], 2);
    });
  });
});
