import { createReadStream, existsSync, promises as fsp } from 'fs';
import { join, resolve } from 'path';
import { createInterface } from 'readline';
import type { Prediction, Predictor } from '../infer';
import { readDicomReferenceAttributes, DicomReferenceAttributes } from '../io';
import { JsonlJournal, readJournalKeys, roundedPrediction, runPipeline, PipelineInput, PreparePool, Shard, shardDir, shardOfKey, SR_DIR } from '../predict';
import { buildLandmarkSr, SrAlgorithm } from '../sr';
import { writeFileAtomic } from '../util/fs';
import { DicomwebClient, DicomwebError, InstanceRef } from './dicomweb';

/** One line of OUT/predictions.jsonl: an instance predicted, its SR written to OUT/sr. */
export interface PacsPredictionLine extends Prediction {
  /** The resume key. */
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  /** The SR file, relative to the output folder. */
  sr: string;
  srInstanceUid: string;
}

/** One line of OUT/stored.jsonl: the SR of an instance is on the server. */
export interface PacsStoredLine {
  sopInstanceUid: string;
  srInstanceUid: string;
}

/**
 * One line of OUT/errors.jsonl. Failures of an instance (undecodable pixels, a non-image object, a 4xx on
 * its URL, a refused SR) are final: reruns skip it. `transient` lines (the server unreachable after the
 * retries) are only reported; a rerun tries again.
 */
export interface PacsErrorLine {
  sopInstanceUid?: string;
  url?: string;
  status?: number;
  error: string;
  transient?: true;
}

export const PACS_FILES = { predictions: 'predictions.jsonl', stored: 'stored.jsonl', errors: 'errors.jsonl' } as const;

/** SR objects (Basic/Enhanced/Comprehensive/3D SR, Key Objects, ...: SOP classes 1.2.840.10008.5.1.4.1.1.88.x) are never inputs. */
export function isStructuredReport(ref: InstanceRef): boolean {
  return ref.modality === 'SR' || (ref.sopClassUid?.startsWith('1.2.840.10008.5.1.4.1.1.88.') ?? false);
}

/** `--filter Modality=CR,DX` as QIDO-RS queries: one per combination of the listed values. */
export function filterQueries(filters: Record<string, string[]>): Record<string, string>[] {
  let queries: Record<string, string>[] = [{}];
  for (const [key, values] of Object.entries(filters)) queries = queries.flatMap((q) => values.map((v) => ({ ...q, [key]: v })));
  return queries;
}

export interface PacsPassOptions {
  client: DicomwebClient;
  predictor: Predictor;
  /** Journals and SRs (created): predictions.jsonl, stored.jsonl, errors.jsonl, sr/. */
  outDir: string;
  algorithm: SrAlgorithm;
  /** Finding names per landmark (default: the model's). */
  landmarkNames?: string[];
  /** Store SRs of predictions the plausibility check finds implausible too. */
  keepImplausible?: boolean;
  /**
   * Only the instances of this shard (their SOP Instance UID's hash modulo the count), so that N replicas of
   * the worker on one server do each instance once between them; journals then go to OUT/shards/I-of-N/.
   */
  shard?: Shard;
  /** QIDO-RS match keys and their accepted values (each key's values or-ed, the keys and-ed). */
  filters?: Record<string, string[]>;
  /** Store each SR on the server (STOW-RS). */
  storeSr?: boolean;
  /** Preparation threads (default 1) and images per session run (default 1), as in predictArchive. */
  workers?: number;
  batch?: number;
  /** Stop taking new instances; the ones in flight are finished and written. */
  signal?: AbortSignal;
  onProgress?: (p: PacsProgress) => void;
}

export interface PacsProgress {
  predicted: number;
  failed: number;
  stored: number;
}

export interface PacsPassResult extends PacsProgress {
  /** Instances found on the server (SRs left out). */
  found: number;
  /** Already done or failed in an earlier run; `skippedFailed` of them failed. */
  skipped: number;
  skippedFailed: number;
  interrupted: boolean;
  /** The server stopped answering (after the retries): what is done is written, a rerun does the rest. */
  fault?: DicomwebError;
}

/** Keys of the final (not transient) lines of errors.jsonl. */
async function finalFailures(path: string): Promise<Set<string>> {
  const keys = new Set<string>();
  if (!existsSync(path)) return keys;
  for await (const line of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) {
    try {
      const e = JSON.parse(line) as PacsErrorLine;
      if (e.sopInstanceUid && !e.transient) keys.add(e.sopInstanceUid);
    } catch {
      // A torn last line: JsonlJournal.open cuts it off.
    }
  }
  return keys;
}

interface Fetched {
  ref: InstanceRef;
  url: string;
  attributes: DicomReferenceAttributes;
}

/**
 * One pass of the PACS worker: stores SRs written earlier but not yet stored (with `storeSr`), finds the
 * image instances with QIDO-RS, and for each one not done before fetches it (WADO-RS), predicts, writes
 * OUT/sr/<SR SOPInstanceUID>.dcm (temp file, then rename), appends its predictions.jsonl line, and stores the
 * SR (STOW-RS). A crash anywhere leaves whole files and whole lines; the SR's UID is derived from the image,
 * model and prediction, so storing it again after a crash between STOW-RS and stored.jsonl is the same
 * instance, not a duplicate.
 */
export async function runPacsPass(o: PacsPassOptions): Promise<PacsPassResult> {
  const outDir = resolve(o.outDir);
  await fsp.mkdir(join(outDir, SR_DIR), { recursive: true });
  const journalDir = o.shard ? shardDir(outDir, o.shard) : outDir;
  await fsp.mkdir(journalDir, { recursive: true });
  const paths = { predictions: join(journalDir, PACS_FILES.predictions), stored: join(journalDir, PACS_FILES.stored), errors: join(journalDir, PACS_FILES.errors) };
  const predictions = JsonlJournal.open(paths.predictions);
  const stored = JsonlJournal.open(paths.stored);
  const errors = JsonlJournal.open(paths.errors);
  const result: PacsPassResult = { found: 0, skipped: 0, skippedFailed: 0, predicted: 0, failed: 0, stored: 0, interrupted: false };
  const progress = () => o.onProgress?.({ predicted: result.predicted, failed: result.failed, stored: result.stored });
  // A fault (the server gone) stops taking new instances, as the caller's signal does.
  const stopOnFault = new AbortController();
  const stopping = o.signal ? AbortSignal.any([o.signal, stopOnFault.signal]) : stopOnFault.signal;
  /** A transient fault stops the pass (the caller tries again); any other failure here stops the run. */
  const fault = (err: unknown): void => {
    if (!(err instanceof DicomwebError) || !err.transient) throw err;
    if (!result.fault) {
      result.fault = err;
      errors.append({ url: err.url, ...(err.status ? { status: err.status } : {}), error: err.message, transient: true } satisfies PacsErrorLine);
    }
    stopOnFault.abort();
  };
  const failInstance = (sopInstanceUid: string, err: Error, url?: string): void => {
    const status = err instanceof DicomwebError ? err.status : undefined;
    errors.append({ sopInstanceUid, ...(url ? { url } : {}), ...(status ? { status } : {}), error: err.message } satisfies PacsErrorLine);
    result.failed++;
    progress();
  };
  const storeSr = async (line: { sopInstanceUid: string; studyInstanceUid: string; srInstanceUid: string; sr: string }): Promise<void> => {
    try {
      await o.client.storeInstances(line.studyInstanceUid, [await fsp.readFile(join(outDir, line.sr))]);
    } catch (err) {
      if (err instanceof DicomwebError && !err.transient && !err.access) {
        failInstance(line.sopInstanceUid, new Error(`storing its SR: ${err.message}`), err.url);
        return;
      }
      fault(err);
      return;
    }
    stored.append({ sopInstanceUid: line.sopInstanceUid, srInstanceUid: line.srInstanceUid } satisfies PacsStoredLine);
    result.stored++;
    progress();
  };

  const pool = new PreparePool(o.predictor.prepareOptions, o.workers ?? 1);
  try {
    const done = await readJournalKeys(paths.predictions, 'sopInstanceUid');
    const failedBefore = await finalFailures(paths.errors);

    if (o.storeSr) {
      // SRs written by an earlier run (one without --store-sr, or one that stopped before storing them).
      const storedBefore = await readJournalKeys(paths.stored, 'sopInstanceUid');
      for await (const text of createInterface({ input: createReadStream(paths.predictions, 'utf8'), crlfDelay: Infinity })) {
        if (stopping.aborted) break;
        let line: PacsPredictionLine;
        try {
          line = JSON.parse(text) as PacsPredictionLine;
        } catch {
          continue;
        }
        if (!storedBefore.has(line.sopInstanceUid) && !failedBefore.has(line.sopInstanceUid)) await storeSr(line);
      }
    }

    let refs: InstanceRef[] = [];
    if (!stopping.aborted) {
      try {
        const seen = new Set<string>();
        for (const query of filterQueries(o.filters ?? {})) {
          for (const ref of await o.client.searchInstances(query)) {
            if (seen.has(ref.sopInstanceUid) || isStructuredReport(ref)) continue;
            if (o.shard && shardOfKey(ref.sopInstanceUid, o.shard.count) !== o.shard.index) continue;
            seen.add(ref.sopInstanceUid);
            refs.push(ref);
          }
        }
      } catch (err) {
        fault(err);
      }
    }
    result.found = refs.length;
    result.skippedFailed = refs.filter((r) => failedBefore.has(r.sopInstanceUid)).length;
    refs = refs.filter((r) => !done.has(r.sopInstanceUid) && !failedBefore.has(r.sopInstanceUid));
    result.skipped = result.found - refs.length;

    async function* fetched(): AsyncGenerator<PipelineInput<Fetched>> {
      for (const ref of refs) {
        if (stopping.aborted) return;
        const url = o.client.instanceUrl(ref);
        let bytes: Uint8Array;
        let attributes: DicomReferenceAttributes;
        try {
          bytes = await o.client.retrieveInstance(ref);
          attributes = readDicomReferenceAttributes(bytes, url);
        } catch (err) {
          if (err instanceof DicomwebError && (err.transient || err.access)) {
            fault(err);
            return;
          }
          failInstance(ref.sopInstanceUid, err as Error, url);
          continue;
        }
        yield { source: bytes, name: url, tag: { ref, url, attributes } };
      }
    }

    await runPipeline(o.predictor, pool, fetched(), {
      onError: (item, err) => failInstance(item.ref.sopInstanceUid, err, item.url),
      onResult: async ({ tag, prediction }) => {
        // Not the model's anatomy (a hand or chest the query also found): no SR, an error line.
        const refusal = o.keepImplausible ? undefined : o.predictor.refusal(prediction);
        if (refusal) {
          failInstance(tag.ref.sopInstanceUid, new Error(refusal), tag.url);
          return;
        }
        let sr;
        try {
          sr = buildLandmarkSr({ source: tag.attributes, prediction, algorithm: o.algorithm, landmarkNames: o.landmarkNames ?? o.predictor.landmarkNames.map((n) => n.name) });
        } catch (err) {
          // No SR can be made for this instance (a malformed UID, say): it has failed, the rest go on.
          failInstance(tag.ref.sopInstanceUid, new Error(`no SR: ${(err as Error).message}`), tag.url);
          return;
        }
        const line: PacsPredictionLine = {
          sopInstanceUid: tag.ref.sopInstanceUid,
          studyInstanceUid: tag.attributes.studyInstanceUid,
          seriesInstanceUid: tag.attributes.seriesInstanceUid,
          ...roundedPrediction(prediction),
          sr: join(SR_DIR, `${sr.sopInstanceUid}.dcm`),
          srInstanceUid: sr.sopInstanceUid,
        };
        await writeFileAtomic(join(outDir, line.sr), sr.bytes);
        // The line goes after the SR file: an instance is done once its SR is on disk.
        predictions.append(line);
        result.predicted++;
        progress();
        if (o.storeSr && !stopOnFault.signal.aborted) await storeSr(line);
      },
    }, { batch: o.batch, signal: stopping });
    result.interrupted = o.signal?.aborted ?? false;
    return result;
  } finally {
    predictions.sync();
    stored.sync();
    errors.sync();
    predictions.close();
    stored.close();
    errors.close();
    await pool.close();
  }
}
