import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Predictor, Prediction } from '../../src/infer';
import { readDicomReferenceAttributes } from '../../src/io';
import { buildLandmarkSr, COMPREHENSIVE_SR_SOP_CLASS, readLandmarkSr, toScoordPoint, fromScoordPoint, uidProblem } from '../../src/sr';
import { cephalometricMeasurements, MEASUREMENT_NAMES } from '../../src/cephalometry';
import { ISBI2015_LANDMARK_NAMES } from '../../src/data';
import type { Point } from '../../src/data/types';
import { brightestSpotModel } from '../predict/helpers';
import { describeWithSharedData, SHARED_DATA } from '../util/shared-data';
import { dicomImage, DSRDUMP, dsrdump } from './helpers';

const ALGORITHM = { name: 'spot', version: 'sha256:0123456789abcdef' };
const IDS = { studyInstanceUid: '1.2.826.0.1.3680043.10.1', seriesInstanceUid: '1.2.826.0.1.3680043.10.1.1', sopInstanceUid: '1.2.826.0.1.3680043.10.1.1.1', patientName: 'Doe^Jane', patientId: 'P-7', accessionNumber: 'A42' };

/** A 64x48 image with a bright dot at (cx, cy). */
function dotPixels(width: number, height: number, cx: number, cy: number): Uint8Array {
  const px = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) px[y * width + x] = Math.round(250 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 18));
  return px;
}

/** GraphicData is FL: a point comes back as its SCOORD value rounded to float32, mapped back. */
const viaFloat32 = (p: [number, number]): [number, number] => fromScoordPoint(toScoordPoint(p).map(Math.fround) as [number, number]);

function expectSameLandmarks(sr: ReturnType<typeof readLandmarkSr>, prediction: Prediction, imageUid: string): void {
  expect(sr.landmarks).toHaveLength(prediction.landmarks.length);
  sr.landmarks.forEach((l, k) => {
    expect(l.point).toEqual(viaFloat32(prediction.landmarks[k]));
    expect(Math.abs(l.point[0] - prediction.landmarks[k][0])).toBeLessThan(1e-3);
    expect(Math.abs(l.point[1] - prediction.landmarks[k][1])).toBeLessThan(1e-3);
    expect(l.score).toBeCloseTo(prediction.scores[k], 6);
    expect(l.imageSopInstanceUid).toBe(imageUid);
  });
}

describe('landmark SR (TID 1500)', () => {
  let predictor: Predictor;
  beforeAll(async () => {
    predictor = await Predictor.create({ model: brightestSpotModel(3, { height: 64, width: 48 }), threads: 1 });
  });
  afterAll(() => predictor.release());

  test('the SCOORD mapping puts lmk pixel centres at +0.5', () => {
    expect(toScoordPoint([0, 0])).toEqual([0.5, 0.5]);
    expect(fromScoordPoint([10, 20.5])).toEqual([9.5, 20]);
  });

  test('reads back the prediction: points, scores, names, the image and the copied patient and study', async () => {
    const image = dicomImage(IDS, 48, 64, dotPixels(48, 64, 30.25, 11.5));
    const prediction = await predictor.predict(image);
    const sr = buildLandmarkSr({ source: image, prediction, algorithm: ALGORITHM, landmarkNames: ['Sella', 'Nasion'] });
    const back = readLandmarkSr(sr.bytes);
    expect(back.sopInstanceUid).toBe(sr.sopInstanceUid);
    expect(back.seriesInstanceUid).toBe(sr.seriesInstanceUid);
    expect(back.seriesInstanceUid).not.toBe(IDS.seriesInstanceUid);
    expect(back.studyInstanceUid).toBe(IDS.studyInstanceUid);
    expect(back.images).toEqual([{ sopClassUid: '1.2.840.10008.5.1.4.1.1.1', sopInstanceUid: IDS.sopInstanceUid }]);
    expectSameLandmarks(back, prediction, IDS.sopInstanceUid);
    expect(back.landmarks.map((l) => l.name)).toEqual(['Sella', 'Nasion', 'landmark 3']);
    expect(new Set(back.landmarks.map((l) => l.trackingUid)).size).toBe(3);
    // The SR is a DICOM file lmk's own reader takes: patient and study as the source's, a new instance.
    const header = readDicomReferenceAttributes(sr.bytes, 'sr');
    expect(header).toMatchObject({ sopClassUid: COMPREHENSIVE_SR_SOP_CLASS, modality: 'SR', patientName: 'Doe^Jane', patientId: 'P-7', accessionNumber: 'A42', studyInstanceUid: IDS.studyInstanceUid });
  });

  test('the same result makes the same instance; another prediction or model another one', () => {
    const image = dicomImage(IDS, 48, 64, dotPixels(48, 64, 10, 10));
    const prediction = { landmarks: [[1.25, 2.5]] as [number, number][], scores: [0.5] };
    const a = buildLandmarkSr({ source: image, prediction, algorithm: ALGORITHM, created: new Date(0) });
    const b = buildLandmarkSr({ source: readDicomReferenceAttributes(image, 'image'), prediction, algorithm: ALGORITHM });
    expect(b.sopInstanceUid).toBe(a.sopInstanceUid);
    expect(buildLandmarkSr({ source: image, prediction: { ...prediction, scores: [0.6] }, algorithm: ALGORITHM }).sopInstanceUid).not.toBe(a.sopInstanceUid);
    const other = buildLandmarkSr({ source: image, prediction, algorithm: { ...ALGORITHM, version: 'sha256:ffff' } });
    expect(other.sopInstanceUid).not.toBe(a.sopInstanceUid);
    expect(other.seriesInstanceUid).not.toBe(a.seriesInstanceUid);
    expect(a.sopInstanceUid).toMatch(/^2\.25\.\d{1,39}$/);
  });

  test('non-ASCII names are written as UTF-8 and read back', () => {
    const image = dicomImage(IDS, 48, 64, dotPixels(48, 64, 10, 10));
    const sr = buildLandmarkSr({ source: image, prediction: { landmarks: [[3, 4]], scores: [1] }, algorithm: ALGORITHM, landmarkNames: ['Näsion €'] });
    expect(readLandmarkSr(sr.bytes).landmarks[0].name).toBe('Näsion €');
    expect(readDicomReferenceAttributes(sr.bytes, 'sr').patientName).toBe('Doe^Jane');
  });

  test('refuses a prediction without one score per landmark, and a file that is no landmark report', () => {
    const image = dicomImage(IDS, 48, 64, dotPixels(48, 64, 10, 10));
    expect(() => buildLandmarkSr({ source: image, prediction: { landmarks: [[1, 2]], scores: [] }, algorithm: ALGORITHM })).toThrow(/one score per landmark/);
    expect(() => readLandmarkSr(image, 'image.dcm')).toThrow(/^image\.dcm: not a TID 1500 Imaging Measurement Report$/);
  });

  (DSRDUMP ? test : test.skip)('dcmtk dsrdump reads it without errors or warnings (skipped where dcmtk is not installed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmk-sr-'));
    const image = dicomImage(IDS, 48, 64, dotPixels(48, 64, 20, 40));
    const file = join(dir, 'sr.dcm');
    writeFileSync(file, buildLandmarkSr({ source: image, prediction: await predictor.predict(image), algorithm: ALGORITHM }).bytes);
    const r = dsrdump(file);
    expect(r.complaints).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.output).toContain('Comprehensive SR Document');
    expect(r.output.match(/<contains SCOORD:\(,,"Image Region"\)=\(POINT,/g)).toHaveLength(3);
  });
});

describe('cephalometric measurements and source UIDs in the SR', () => {
  // Nineteen points of a plausible head (ISBI 2015 image 001's ground truth, rounded).
  const head: Point[] = [[835, 996], [1473, 1029], [1290, 1279], [602, 1228], [1449, 1712], [1375, 2108], [1385, 2273], [1290, 2348], [1345, 2320],
    [693, 1867], [1464, 1890], [1494, 1831], [1601, 1743], [1557, 2059], [1569, 1627], [1495, 2326], [959, 1520], [1464, 1577], [757, 1546]];
  const prediction = { landmarks: head, scores: head.map(() => 0.9), measurements: cephalometricMeasurements(head, 0.1) };
  const names = ISBI2015_LANDMARK_NAMES.map((n) => n.name);

  test('one measurement group per measurement (UCUM units, its class), read back, named landmarks', () => {
    const image = dicomImage(IDS, 48, 64, dotPixels(48, 64, 10, 10));
    const back = readLandmarkSr(buildLandmarkSr({ source: image, prediction, algorithm: ALGORITHM, landmarkNames: names }).bytes);
    expect(back.landmarks.map((l) => l.name)).toEqual(names);
    expect(back.landmarks[0].trackingIdentifier).toBe('landmark 1: sella');
    expect(back.measurements.map((m) => m.name)).toEqual([...MEASUREMENT_NAMES]);
    expect(back.mirrored).toBe(false);
    expect(readLandmarkSr(buildLandmarkSr({ source: image, prediction: { ...prediction, mirrored: true }, algorithm: ALGORITHM }).bytes).mirrored).toBe(true);
    back.measurements.forEach((m) => {
      const made = prediction.measurements[m.name as keyof typeof prediction.measurements];
      expect(m.value).toBeCloseTo(made.value, 4);
      expect(m.unit).toBe({ deg: 'deg', mm: 'mm', px: '{pixel}', ratio: '1' }[made.unit]);
      expect(m.classCode).toBe(`C${made.class}`);
    });
  });

  (DSRDUMP ? test : test.skip)('dsrdump reads the measurement groups without errors or warnings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lmk-sr-'));
    const file = join(dir, 'sr.dcm');
    const image = dicomImage(IDS, 48, 64, dotPixels(48, 64, 10, 10));
    writeFileSync(file, buildLandmarkSr({ source: image, prediction, algorithm: ALGORITHM, landmarkNames: names }).bytes);
    writeFileSync(`${file}.mirrored`, buildLandmarkSr({ source: image, prediction: { ...prediction, mirrored: true }, algorithm: ALGORITHM, landmarkNames: names }).bytes);
    const mirrored = dsrdump(`${file}.mirrored`);
    expect(mirrored.complaints).toEqual([]);
    expect(mirrored.output).toContain('<contains TEXT:(,,"Image mirrored for detection")="landmarks found on the mirr');
    const r = dsrdump(file);
    expect(r.complaints).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/<contains NUM:\(,,"ANB \(ANB angle \(SNA - SNB\)\)"\)="[-\d.]+" \(deg,UCUM,"degree"\)>/);
    expect(r.output).toMatch(/<contains NUM:\(,,"MW \(modified Wits[^"]*\)"\)="[-\d.]+" \(mm,UCUM,"millimeter"\)>/);
    expect(r.output.match(/<contains CODE:\(,,"\w+ class"\)=\(ceph-\w+-C\d,99LMK,/g)).toHaveLength(8);
  });

  test('a source UID that breaks the DICOM rules: no SR, one line naming the UID', () => {
    expect(uidProblem('999.999.01.23.45.6789')).toBe("component '01' has a leading zero");
    expect(uidProblem('1.2.840.10008.1.2')).toBeUndefined();
    expect(uidProblem('1..2')).toBe('it has an empty component');
    expect(uidProblem('1.2.a')).toBe("component 'a' is not all digits");
    expect(uidProblem(`1.${'2'.repeat(63)}`)).toMatch(/65 characters/);
    const image = dicomImage({ ...IDS, sopInstanceUid: '999.999.01.23.45.6789' }, 48, 64, dotPixels(48, 64, 10, 10));
    expect(() => buildLandmarkSr({ source: image, prediction, algorithm: ALGORITHM })).toThrow(
      "the source's SOP Instance UID '999.999.01.23.45.6789' breaks the DICOM UID rules (component '01' has a leading zero), so an SR referencing it would be unreadable: none written",
    );
  });
});

describeWithSharedData('landmark SR of the real CR DICOM', () => {
  test('predict, build, dsrdump where installed, read back', async () => {
    const bytes = readFileSync(join(SHARED_DATA!, 'dicom/CR-MONO1-10-chest.dcm'));
    const predictor = await Predictor.create({ model: brightestSpotModel(2, { height: 128, width: 128 }), threads: 1 });
    try {
      const prediction = await predictor.predict(bytes);
      const sr = buildLandmarkSr({ source: bytes, prediction, algorithm: ALGORITHM });
      const source = readDicomReferenceAttributes(bytes, 'CR');
      const back = readLandmarkSr(sr.bytes);
      expect(back.studyInstanceUid).toBe(source.studyInstanceUid);
      expectSameLandmarks(back, prediction, source.sopInstanceUid);
      if (DSRDUMP) {
        const file = join(mkdtempSync(join(tmpdir(), 'lmk-sr-')), 'sr.dcm');
        writeFileSync(file, sr.bytes);
        expect(dsrdump(file).complaints).toEqual([]);
      }
    } finally {
      await predictor.release();
    }
  });
});
