import { promises as fsp } from 'fs';
import { basename, dirname, extname, join, relative, resolve, sep } from 'path';
import type { Point } from '../data';
import type { Measurements } from '../cephalometry';
import type { Prediction, Predictor } from '../infer';
import { detectFormat, readDicomReferenceAttributes } from '../io';
import { buildLandmarkSr, SrAlgorithm } from '../sr';
import { writeFileAtomic } from '../util/fs';
import { writePredictionsCsv } from './csv';
import { JsonlJournal, readJournalKeys } from './journal';
import { predictionOverlayPng } from './overlay';
import { PipelineInput, runPipeline } from './pipeline';
import { PreparePool } from './pool';
import { DONE_FILE, Shard, shardDir, ShardDone, shardOfKey } from './shard';
import { IMAGE_EXTENSIONS, walkInputs } from './walk';

/** One line of predictions.jsonl: the input's Prediction and where it came from. */
export interface PredictionLine extends Prediction {
  /** Absolute path of the input. */
  file: string;
  /**
   * The input's path below its `--input` root, the root's own name first (a file given by itself: its name):
   * the resume and shard key, the same on every machine that mounts the archive elsewhere.
   */
  path: string;
  /** The file name without its image extension (what `lmk eval --predictions` matches to data set ids). */
  id: string;
  /** With `dicomSr`, for DICOM inputs: the SR file, relative to the output folder (`sr/<SOPInstanceUID>.dcm`). */
  sr?: string;
}

/** One line of errors.jsonl. */
export interface ErrorLine {
  file: string;
  /** As PredictionLine's (absent in journals of lmk 0.1.0 before shards: those resume by `file`). */
  path?: string;
  error: string;
}

export interface PredictArchiveOptions {
  predictor: Predictor;
  /** Files and folders (walked recursively, in sorted order). */
  inputs: string[];
  /** Output folder (created): predictions.jsonl, errors.jsonl, and with the options predictions.csv, overlays/. */
  outDir: string;
  /** Preparation threads (0: on the main thread). Default 1. */
  workers?: number;
  /** Images per session run. Default 1. */
  batch?: number;
  /** PNGs with the landmarks drawn, in OUT/overlays/ (mirroring the input folders). */
  overlay?: boolean;
  /** Longest side of the overlays in pixels. Default 1024. */
  overlaySize?: number;
  /** OUT/predictions.csv, rewritten from the JSONL at the end. */
  csv?: boolean;
  /** Write predictions the plausibility check finds implausible (marked `"implausible": true`) instead of an error line. */
  keepImplausible?: boolean;
  /**
   * A landmark SR (TID 1500) per DICOM input in OUT/sr/<SOPInstanceUID>.dcm, naming the model as `algorithm`;
   * finding names default to the model's.
   */
  dicomSr?: { algorithm: SrAlgorithm; landmarkNames?: string[] };
  /**
   * Only the inputs of this shard (their keys' hash modulo the count); journals then go to
   * OUT/shards/I-of-N/, and OUT/shards/I-of-N/done.json is written once the inputs are exhausted.
   */
  shard?: Shard;
  /** Stop taking new inputs; those in flight are finished and written. */
  signal?: AbortSignal;
  /** After every input of this run (predicted or failed). */
  onProgress?: (p: ArchiveProgress) => void;
  /** Once known: the inputs this run has to do (a second, counting walk runs alongside the work). */
  onTotal?: (total: number) => void;
}

export interface ArchiveProgress {
  predicted: number;
  failed: number;
}

export interface PredictArchiveResult {
  /** Predicted in this run. */
  predicted: number;
  /** Failed in this run (one errors.jsonl line each). */
  failed: number;
  /** Skipped: already in predictions.jsonl / errors.jsonl from an earlier run. */
  skippedPredicted: number;
  skippedFailed: number;
  interrupted: boolean;
  predictionsFile: string;
  errorsFile: string;
  csvFile?: string;
}

export const PREDICTIONS_FILE = 'predictions.jsonl';
export const ERRORS_FILE = 'errors.jsonl';
export const CSV_FILE = 'predictions.csv';
export const OVERLAY_DIR = 'overlays';
export const SR_DIR = 'sr';

/** The file name without an image extension (UID-named DICOM files keep their whole name). */
export function idOf(file: string): string {
  const name = basename(file);
  const ext = extname(name);
  return IMAGE_EXTENSIONS.has(ext.toLowerCase()) ? name.slice(0, -ext.length) : name;
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/** A prediction as journals store it: pixels to 3 decimals, millimetres, scores and measurements to 4. */
export function roundedPrediction(p: Prediction): Prediction {
  return {
    width: p.width,
    height: p.height,
    landmarks: p.landmarks.map(([x, y]): Point => [round(x, 3), round(y, 3)]),
    ...(p.landmarksMm ? { landmarksMm: p.landmarksMm.map(([x, y]): Point => [round(x, 4), round(y, 4)]) } : {}),
    scores: p.scores.map((v) => round(v, 4)),
    meanScore: round(p.meanScore, 4),
    ...(p.replaced ? { replaced: p.replaced } : {}),
    ...(p.mirrored ? { mirrored: true } : {}),
    ...(p.implausible ? { implausible: true } : {}),
    ...(p.window ? { window: { left: round(p.window.left, 1), top: round(p.window.top, 1), width: round(p.window.width, 1), height: round(p.window.height, 1) } } : {}),
    ...(p.measurements ? {
      measurements: Object.fromEntries(Object.entries(p.measurements).map(([k, m]) => [k, { ...m, value: round(m.value, 4) }])) as Measurements,
    } : {}),
  };
}

interface Item {
  file: string;
  /** The resume and shard key (PredictionLine.path). */
  key: string;
  /** Where its overlay goes, relative to OUT/overlays. */
  overlayName: string;
}

/** An input's key: its path below its root, the root's name first, in '/' form (PredictionLine.path). */
export function inputKey(root: string, file: string): string {
  if (file === root) return basename(file);
  return [basename(root), ...relative(root, file).split(sep)].join('/');
}

/** Every input file under `inputs` with its key (and each walk error with the key of the path that failed). */
async function* keyedInputs(inputs: string[], onError: (path: string, key: string, err: Error) => void): AsyncGenerator<{ file: string; key: string; rel: string }> {
  for (const input of inputs) {
    const root = resolve(input);
    for await (const file of walkInputs([input], (path, err) => onError(path, inputKey(root, resolve(path)), err))) {
      yield { file, key: inputKey(root, file), rel: file === root ? basename(file) : relative(root, file) };
    }
  }
}

/**
 * Predicts landmarks for every image under the inputs, streaming: names are walked lazily, images are
 * prepared on worker threads ahead of the session, each result is appended to predictions.jsonl (or
 * errors.jsonl) as one whole line as soon as it is known. A rerun with the same output folder skips
 * every input already in either file.
 */
export async function predictArchive(o: PredictArchiveOptions): Promise<PredictArchiveResult> {
  const outDir = resolve(o.outDir);
  // A shard's journals are its own: shards never append to one file (over a network file system, say).
  const journalDir = o.shard ? shardDir(outDir, o.shard) : outDir;
  await fsp.mkdir(journalDir, { recursive: true });
  const predictionsFile = join(journalDir, PREDICTIONS_FILE);
  const errorsFile = join(journalDir, ERRORS_FILE);
  const overlayDir = join(outDir, OVERLAY_DIR);
  const overlaySize = o.overlaySize ?? 1024;
  if (!Number.isInteger(overlaySize) || overlaySize < 16) throw new RangeError(`overlaySize must be a whole number >= 16, got ${overlaySize}`);

  // Opening cuts a torn last line, so the keys read next are exactly the whole lines.
  const predictions = JsonlJournal.open(predictionsFile);
  const errors = JsonlJournal.open(errorsFile);
  const pool = new PreparePool(
    { ...o.predictor.prepareOptions, previewSize: o.overlay ? overlaySize : undefined },
    o.workers ?? 1,
  );
  try {
    // Resume by key; lines written before keys existed resume by their absolute path.
    const done = { files: await readJournalKeys(predictionsFile, 'file'), keys: await readJournalKeys(predictionsFile, 'path') };
    const failedBefore = { files: await readJournalKeys(errorsFile, 'file'), keys: await readJournalKeys(errorsFile, 'path') };
    const inJournal = (j: typeof done, file: string, key: string) => j.keys.has(key) || j.files.has(file);
    const mine = (key: string) => !o.shard || shardOfKey(key, o.shard.count) === o.shard.index;
    const result: PredictArchiveResult = {
      predicted: 0, failed: 0, skippedPredicted: 0, skippedFailed: 0, interrupted: false, predictionsFile, errorsFile,
    };
    const progress = () => o.onProgress?.({ predicted: result.predicted, failed: result.failed });
    // Every input of this run enters `seen` once, so overlapping inputs (a folder and a file in it) never make a second line.
    const seen = new Set<string>();
    const fail = (file: string, key: string, error: string) => {
      errors.append({ file, path: key, error } satisfies ErrorLine);
      result.failed++;
      progress();
    };
    // An output folder inside an input folder holds overlays, which are images but no inputs.
    const isOutput = (file: string): boolean => file.startsWith(outDir + sep);
    const isNew = (file: string, key: string): boolean => {
      if (seen.has(file) || !mine(key)) return false;
      seen.add(file);
      if (inJournal(done, file, key)) result.skippedPredicted++;
      else if (inJournal(failedBefore, file, key)) result.skippedFailed++;
      else return true;
      return false;
    };

    async function* items(): AsyncGenerator<PipelineInput<Item>> {
      const walkErrors: [string, string, Error][] = [];
      const failWalk = () => {
        for (const [path, key, err] of walkErrors.splice(0)) if (isNew(path, key)) fail(path, key, err.message);
      };
      for await (const { file, key, rel } of keyedInputs(o.inputs, (path, k, err) => walkErrors.push([path, k, err]))) {
        failWalk();
        if (isOutput(file) || !isNew(file, key)) continue;
        yield { source: file, tag: { file, key, overlayName: join(dirname(rel), `${idOf(rel)}.png`) } };
      }
      failWalk();
    }

    if (o.onTotal) {
      const todo = (file: string, key: string) => !isOutput(file) && mine(key) && !inJournal(done, file, key) && !inJournal(failedBefore, file, key);
      void countTodo(o.inputs, todo).then(o.onTotal, () => undefined);
    }

    await runPipeline(o.predictor, pool, items(), {
      onError: (item, err) => fail(item.file, item.key, err.message),
      onResult: async ({ tag, prediction, preview }) => {
        const refusal = o.keepImplausible ? undefined : o.predictor.refusal(prediction);
        if (refusal) {
          fail(tag.file, tag.key, refusal);
          return;
        }
        const line: PredictionLine = {
          file: tag.file,
          path: tag.key,
          id: idOf(tag.file),
          ...roundedPrediction(prediction),
        };
        if (preview) {
          const path = join(overlayDir, tag.overlayName);
          await fsp.mkdir(dirname(path), { recursive: true });
          await writeFileAtomic(path, await predictionOverlayPng(preview, prediction.landmarks, o.predictor.landmarkNames.map((n) => n.code)));
        }
        if (o.dicomSr) {
          const bytes = await fsp.readFile(tag.file);
          if (detectFormat(bytes) === 'dicom') {
            let sr;
            try {
              sr = buildLandmarkSr({
                source: readDicomReferenceAttributes(bytes, tag.file), prediction, algorithm: o.dicomSr.algorithm,
                landmarkNames: o.dicomSr.landmarkNames ?? o.predictor.landmarkNames.map((n) => n.name),
              });
            } catch (err) {
              // An SR was asked for and cannot be made (a DICOM file without its UIDs, say): the input has failed.
              fail(tag.file, tag.key, `no SR: ${(err as Error).message}`);
              return;
            }
            line.sr = join(SR_DIR, `${sr.sopInstanceUid}.dcm`);
            await fsp.mkdir(join(outDir, SR_DIR), { recursive: true });
            await writeFileAtomic(join(outDir, line.sr), sr.bytes);
          }
        }
        // The prediction line goes last: a file is done only once everything for it is on disk.
        predictions.append(line);
        result.predicted++;
        progress();
      },
    }, { batch: o.batch, signal: o.signal });
    result.interrupted = o.signal?.aborted ?? false;
    predictions.sync();
    errors.sync();
    if (o.shard && !result.interrupted) {
      const record: ShardDone = {
        shard: o.shard.index, shards: o.shard.count, predicted: result.predicted + result.skippedPredicted, failed: result.failed + result.skippedFailed,
        landmarkCodes: o.predictor.landmarkNames.map((n) => n.code), finishedAt: new Date().toISOString(),
      };
      await writeFileAtomic(join(journalDir, DONE_FILE), `${JSON.stringify(record)}\n`);
    }
    if (o.csv) {
      result.csvFile = join(outDir, CSV_FILE);
      await writePredictionsCsv(predictionsFile, result.csvFile, o.predictor.landmarkNames.map((n) => n.code));
    }
    return result;
  } finally {
    predictions.close();
    errors.close();
    await pool.close();
  }
}

/** How many inputs this run has to do (a name-only walk, for progress). */
async function countTodo(inputs: string[], todo: (file: string, key: string) => boolean): Promise<number> {
  const seen = new Set<string>();
  let n = 0;
  const count = (file: string, key: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    if (todo(file, key)) n++;
  };
  for await (const { file, key } of keyedInputs(inputs, (path, key) => count(path, key))) count(file, key);
  return n;
}
