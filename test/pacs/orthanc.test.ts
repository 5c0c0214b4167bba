import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Predictor } from '../../src/infer';
import { readImage } from '../../src/io';
import { DicomwebClient, PacsErrorLine, PacsPredictionLine, runPacsPass } from '../../src/pacs';
import { shardDir, shardOfKey } from '../../src/predict';
import { buildLandmarkSr, modelAlgorithm, readLandmarkSr } from '../../src/sr';
import { str, writeDicom } from '../io/dicom-writer';
import { brightestSpotModel } from '../predict/helpers';
import { dicomImage, DSRDUMP, dsrdump, TestImageIds } from '../sr/helpers';
import { lmk } from '../util/lmk-cli';
import { SHARED_DATA } from '../util/shared-data';
import { Orthanc, ORTHANC_MISSING } from './orthanc';

const CLASSES = 3;
const readLines = <T>(path: string): T[] => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

let uidCounter = 0;
/** Test UIDs under a root of their own, one study per test image set. */
function ids(study: number, n: number): TestImageIds {
  const root = `1.2.826.0.1.3680043.10.543.${study}`;
  return { studyInstanceUid: root, seriesInstanceUid: `${root}.1`, sopInstanceUid: `${root}.1.${n}.${++uidCounter}`, patientName: `Test^P${study}`, patientId: `P${study}` };
}

/** A grey image with a bright dot, as DICOM. */
function dotDicom(study: number, n: number, width: number, height: number, cx: number, cy: number): Buffer {
  const px = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) px[y * width + x] = Math.round(240 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 20));
  return dicomImage(ids(study, n), width, height, px);
}

/** A DICOM object without pixels (a presentation state): found by QIDO-RS, but no image. */
function presentationState(study: number): { bytes: Buffer; sopInstanceUid: string } {
  const i = ids(study, 99);
  const bytes = writeDicom({
    transferSyntax: '1.2.840.10008.1.2.1',
    mediaStorage: { sopClassUid: '1.2.840.10008.5.1.4.1.1.11.1', sopInstanceUid: i.sopInstanceUid },
    elements: [
      str(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.11.1'),
      str(0x00080018, 'UI', i.sopInstanceUid),
      str(0x00080060, 'CS', 'PR'),
      str(0x00100010, 'PN', i.patientName!),
      str(0x00100020, 'LO', i.patientId!),
      str(0x0020000d, 'UI', i.studyInstanceUid),
      str(0x0020000e, 'UI', `${i.seriesInstanceUid}.99`),
    ],
    pixels: null,
  });
  return { bytes, sopInstanceUid: i.sopInstanceUid };
}

/** A shared image (any format lmk reads) as an 8-bit CR DICOM. */
async function sharedAsDicom(path: string, study: number, n: number): Promise<Buffer> {
  const image = await readImage(path);
  const [lo, hi] = image.valueRange;
  const px = Uint8Array.from(image.data, (v) => Math.round((255 * (v - lo)) / (hi - lo || 1)));
  return dicomImage(ids(study, n), image.width, image.height, px);
}

(ORTHANC_MISSING ? describe.skip : describe)(`lmk pacs against a private Orthanc${ORTHANC_MISSING ? ` (skipped: ${ORTHANC_MISSING})` : ''}`, () => {
  const root = mkdtempSync(join(tmpdir(), 'lmk-pacs-'));
  const model = join(root, 'spot.onnx');
  let orthanc: Orthanc;
  /** SOP Instance UIDs of the images on the server. */
  const images = new Set<string>();
  let nonImage: string;

  const withCredentials = async <T>(user: string, password: string, run: () => Promise<T>): Promise<T> => {
    process.env.LMK_DICOMWEB_USER = user;
    process.env.LMK_DICOMWEB_PASSWORD = password;
    try {
      return await run();
    } finally {
      delete process.env.LMK_DICOMWEB_USER;
      delete process.env.LMK_DICOMWEB_PASSWORD;
    }
  };

  /** The SRs on the server made with the test model. */
  const ourSrs = async () => (await orthanc.instances()).filter((i) => i.modality === 'SR' && i.modelName === 'spot');

  beforeAll(async () => {
    writeFileSync(model, brightestSpotModel(CLASSES, { height: 64, width: 48 }));
    orthanc = await Orthanc.start(join(root, 'orthanc'));
    const files: Buffer[] = [dotDicom(1, 1, 48, 64, 30, 20), dotDicom(1, 2, 96, 80, 10, 60)];
    if (SHARED_DATA) {
      // The real CR DICOM, and DICOM made from the other formats: an ISBI JPEG, a hand MetaImage, a chest PNG.
      files.push(readFileSync(join(SHARED_DATA, 'dicom/CR-MONO1-10-chest.dcm')));
      files.push(await sharedAsDicom(join(SHARED_DATA, 'isbi2015/RawImage/TrainingData/001.jpg'), 2, 1));
      files.push(await sharedAsDicom(join(SHARED_DATA, 'hand-dha/images/3167.mha'), 3, 1));
      files.push(await sharedAsDicom(join(SHARED_DATA, 'chest-shenzhen/pngs/CHNCXR_0001_0.png'), 4, 1));
    }
    for (const f of files) await orthanc.upload(f);
    for (const i of await orthanc.instances()) images.add(i.sopInstanceUid);
    // Not inputs: a presentation state (no pixels: a failure in errors.jsonl) and an SR of another model.
    const pr = presentationState(1);
    await orthanc.upload(pr.bytes);
    nonImage = pr.sopInstanceUid;
    const first = files[0];
    await orthanc.upload(buildLandmarkSr({ source: first, prediction: { landmarks: [[1, 2]], scores: [0.5] }, algorithm: { name: 'other', version: 'v1' } }).bytes);
  });

  afterAll(async () => {
    await orthanc?.stop();
  });

  test('wrong credentials: one line naming the URL and the status, the password nowhere, exit 1', async () => {
    const r = await withCredentials(orthanc.user, 'wrong-secret', () => lmk(['pacs', '--url', orthanc.dicomweb, '--model', model, '--out', join(root, 'out-denied'), '--workers', '0']));
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^lmk: ${orthanc.dicomweb}/instances\\?\\S+: HTTP 401 Unauthorized: check LMK_DICOMWEB_USER/LMK_DICOMWEB_PASSWORD or LMK_DICOMWEB_TOKEN$`));
    expect(r.stderr).not.toContain('wrong-secret');
  });

  test('one SR per image on the server, referencing it, with the predicted points; a second run adds none', async () => {
    const out = join(root, 'out');
    const args = ['pacs', '--url', orthanc.dicomweb, '--model', model, '--out', out, '--workers', '0', '--store-sr', '--once'];
    const first = await withCredentials(orthanc.user, orthanc.password, () => lmk(args));
    // The presentation state fails (no pixels), so the status is 1, after every image is done.
    expect(first.status).toBe(1);
    expect(first.stderr).toContain(`${images.size + 1} instance(s) found (SRs left out)`);
    expect(first.stderr).toContain(`predicted ${images.size}, failed 1, stored ${images.size} SR(s)`);
    expect(first.stderr).not.toContain(orthanc.password);

    const predictions = readLines<PacsPredictionLine>(join(out, 'predictions.jsonl'));
    expect(new Set(predictions.map((p) => p.sopInstanceUid))).toEqual(images);
    const errors = readLines<PacsErrorLine>(join(out, 'errors.jsonl'));
    expect(errors).toHaveLength(1);
    expect(errors[0].sopInstanceUid).toBe(nonImage);
    expect(errors[0].error).toMatch(new RegExp(`^${orthanc.dicomweb}/studies/.+/instances/.+: DICOM file has no pixel data$`));
    expect(readdirSync(join(out, 'sr'))).toHaveLength(images.size);

    const checkServer = async () => {
      const srs = await ourSrs();
      expect(srs).toHaveLength(images.size);
      const referenced = new Set<string>();
      for (const s of srs) {
        const bytes = await orthanc.file(s.id);
        if (DSRDUMP) {
          const file = join(root, `${s.sopInstanceUid}.dcm`);
          writeFileSync(file, bytes);
          expect(dsrdump(file).complaints).toEqual([]);
        }
        const sr = readLandmarkSr(bytes, s.sopInstanceUid);
        expect(sr.images).toHaveLength(1);
        const image = sr.images[0].sopInstanceUid;
        referenced.add(image);
        expect(sr.landmarks).toHaveLength(CLASSES);
        const line = predictions.find((p) => p.sopInstanceUid === image)!;
        expect(line.srInstanceUid).toBe(s.sopInstanceUid);
        sr.landmarks.forEach((l, k) => {
          expect(l.imageSopInstanceUid).toBe(image);
          expect(l.point[0]).toBeCloseTo(line.landmarks[k][0], 2);
          expect(l.point[1]).toBeCloseTo(line.landmarks[k][1], 2);
        });
      }
      expect(referenced).toEqual(images);
    };
    await checkServer();

    const second = await withCredentials(orthanc.user, orthanc.password, () => lmk(args));
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`${images.size + 1} instance(s) found (SRs left out), ${images.size + 1} done before (1 of them failed), predicted 0, failed 0`);
    expect(readLines(join(out, 'stored.jsonl'))).toHaveLength(images.size);
    await checkServer();
  });

  test('three replicas with --shard i/3 on one server: each instance once between them, each in its shard', async () => {
    const out = join(root, 'out-shards');
    const predictor = await Predictor.create({ model, threads: 1 });
    try {
      const client = new DicomwebClient({ url: orthanc.dicomweb, credentials: { kind: 'basic', user: orthanc.user, password: orthanc.password } });
      const seen: string[] = [];
      for (let index = 0; index < 3; index++) {
        const shard = { index, count: 3 };
        await runPacsPass({ client, predictor, outDir: out, algorithm: modelAlgorithm(model), workers: 0, shard });
        const lines = readLines<PacsPredictionLine>(join(shardDir(out, shard), 'predictions.jsonl'));
        for (const l of lines) expect(shardOfKey(l.sopInstanceUid, 3)).toBe(index);
        seen.push(...lines.map((l) => l.sopInstanceUid));
      }
      expect(seen.sort()).toEqual([...images].sort());
      // A replica restarted does nothing twice.
      const again = await runPacsPass({ client, predictor, outDir: out, algorithm: modelAlgorithm(model), workers: 0, shard: { index: 1, count: 3 } });
      expect(again.predicted).toBe(0);
    } finally {
      await predictor.release();
    }
  });

  test('an abort (what SIGINT does) finishes the instances in flight and stops; the next run does the rest', async () => {
    const out = join(root, 'out-abort');
    const predictor = await Predictor.create({ model, threads: 1 });
    try {
      const client = new DicomwebClient({ url: orthanc.dicomweb, credentials: { kind: 'basic', user: orthanc.user, password: orthanc.password } });
      const controller = new AbortController();
      const base = { client, predictor, outDir: out, algorithm: modelAlgorithm(model), workers: 0 };
      const first = await runPacsPass({ ...base, signal: controller.signal, onProgress: () => controller.abort() });
      // In flight: the instance being predicted and those already fetched for the next session runs (two here).
      expect(first.interrupted).toBe(true);
      expect(first.predicted).toBeGreaterThanOrEqual(1);
      expect(first.predicted).toBeLessThanOrEqual(3);
      expect(readLines(join(out, 'predictions.jsonl'))).toHaveLength(first.predicted);
      const rest = await runPacsPass(base);
      expect(rest.predicted).toBe(images.size - first.predicted);
      expect(new Set(readLines<PacsPredictionLine>(join(out, 'predictions.jsonl')).map((p) => p.sopInstanceUid))).toEqual(images);
    } finally {
      await predictor.release();
    }
  });
});

(ORTHANC_MISSING ? describe.skip : describe)(`lmk pacs when Orthanc stops mid-run${ORTHANC_MISSING ? ` (skipped: ${ORTHANC_MISSING})` : ''}`, () => {
  test('killed after the first prediction: the run reports the fault, the rerun after a restart finishes the rest, no SR twice', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lmk-pacs-stop-'));
    const model = join(root, 'spot.onnx');
    writeFileSync(model, brightestSpotModel(CLASSES, { height: 64, width: 48 }));
    const orthanc = await Orthanc.start(join(root, 'orthanc'));
    const predictor = await Predictor.create({ model, threads: 1 });
    try {
      for (let n = 1; n <= 4; n++) await orthanc.upload(dotDicom(10, n, 48, 64, 8 * n, 40));
      const client = new DicomwebClient({ url: orthanc.dicomweb, credentials: { kind: 'basic', user: orthanc.user, password: orthanc.password }, retries: 2, backoffMs: 50 });
      const out = join(root, 'out');
      const base = { client, predictor, outDir: out, algorithm: modelAlgorithm(model), workers: 0, storeSr: true };
      let stopping: Promise<void> | undefined;
      const first = await runPacsPass({ ...base, onProgress: () => { stopping ??= orthanc.stop('SIGKILL'); } });
      await stopping;
      expect(first.fault?.message).toMatch(new RegExp(`^${orthanc.dicomweb}/\\S+: cannot connect \\(\\w+\\) \\(after 3 attempts\\)$`));
      // The first SR's STOW-RS met the dead server; the instances fetched before are predicted, not stored.
      expect(first.stored).toBe(0);
      expect(first.predicted).toBeLessThan(4);
      expect(readLines<PacsErrorLine>(join(out, 'errors.jsonl'))).toEqual([expect.objectContaining({ transient: true })]);

      await orthanc.restart();
      const rest = await runPacsPass(base);
      expect(rest.fault).toBeUndefined();
      expect(first.predicted + rest.predicted).toBe(4);
      expect(rest.stored).toBe(4);
      const srs = (await orthanc.instances()).filter((i) => i.modality === 'SR');
      expect(srs).toHaveLength(4);
      const referenced = new Set<string>();
      for (const s of srs) referenced.add(readLandmarkSr(await orthanc.file(s.id)).images[0].sopInstanceUid);
      expect(referenced.size).toBe(4);
      expect(readLines(join(out, 'stored.jsonl'))).toHaveLength(4);
    } finally {
      await predictor.release();
      await orthanc.stop();
    }
  });
});
