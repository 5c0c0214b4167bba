import { createReadStream, existsSync, promises as fsp } from 'fs';
import { join } from 'path';
import { createInterface } from 'readline';
import { writeFileAtomic } from '../util/fs';
import { CSV_FILE, ERRORS_FILE, PREDICTIONS_FILE } from './archive';
import { writePredictionsCsv } from './csv';
import { DONE_FILE, ShardDone, SHARDS_DIR } from './shard';

/** Shards that cannot be merged yet: the ones missing and the ones that have not run to their end. */
export class IncompleteShardsError extends Error {
  override name = 'IncompleteShardsError';
}

export interface MergeResult {
  shards: number;
  predicted: number;
  failed: number;
  predictionsFile: string;
  errorsFile: string;
  csvFile?: string;
}

async function* jsonLines(path: string): AsyncGenerator<Record<string, unknown>> {
  if (!existsSync(path)) return;
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    try {
      yield JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${path}:${n}: not a JSON line`);
    }
  }
}

/** Lines of a journal written in one piece: a temporary file renamed over the old one. */
async function writeLines(path: string, lines: Iterable<Record<string, unknown>>): Promise<void> {
  let text = '';
  for (const l of lines) text += `${JSON.stringify(l)}\n`;
  await writeFileAtomic(path, text);
}

/**
 * Combines OUT/shards/I-of-N/ into OUT/predictions.jsonl and OUT/errors.jsonl (and OUT/predictions.csv),
 * each input exactly once, sorted by key. Every shard 0..N-1 must have run to its end (its done.json);
 * otherwise nothing is written and the error names the missing and unfinished shards. Rerunning is harmless.
 */
export async function mergeShards(outDir: string, options: { csv?: boolean } = {}): Promise<MergeResult> {
  const root = join(outDir, SHARDS_DIR);
  const names = existsSync(root) ? (await fsp.readdir(root)).filter((n) => /^\d+-of-\d+$/.test(n)) : [];
  if (names.length === 0) throw new IncompleteShardsError(`${root}: no shard folders (I-of-N) to merge; run lmk predict --shard I/N first`);
  const counts = new Set(names.map((n) => Number(n.split('-of-')[1])));
  if (counts.size > 1) throw new IncompleteShardsError(`${root}: shards of different counts (${[...counts].sort((a, b) => a - b).join(', ')}): one --out per partition`);
  const count = [...counts][0];
  const missing: number[] = [];
  const unfinished: number[] = [];
  const dones: ShardDone[] = [];
  for (let i = 0; i < count; i++) {
    const dir = join(root, `${i}-of-${count}`);
    if (!existsSync(dir)) missing.push(i);
    else if (!existsSync(join(dir, DONE_FILE))) unfinished.push(i);
    else dones.push(JSON.parse(await fsp.readFile(join(dir, DONE_FILE), 'utf8')) as ShardDone);
  }
  if (missing.length || unfinished.length) {
    const parts = [...(missing.length ? [`missing: ${missing.join(', ')}`] : []), ...(unfinished.length ? [`not run to their end: ${unfinished.join(', ')}`] : [])];
    throw new IncompleteShardsError(`${root}: ${count} shards, ${parts.join('; ')} (rerun those indices, then merge again)`);
  }
  // One line per input: its prediction if any shard has one, else its last error.
  const predictions = new Map<string, Record<string, unknown>>();
  const errors = new Map<string, Record<string, unknown>>();
  const keyOf = (l: Record<string, unknown>) => String(l.path ?? l.file);
  for (let i = 0; i < count; i++) {
    const dir = join(root, `${i}-of-${count}`);
    for await (const l of jsonLines(join(dir, PREDICTIONS_FILE))) predictions.set(keyOf(l), l);
    for await (const l of jsonLines(join(dir, ERRORS_FILE))) errors.set(keyOf(l), l);
  }
  for (const key of predictions.keys()) errors.delete(key);
  const sorted = (m: Map<string, Record<string, unknown>>) => [...m.keys()].sort().map((k) => m.get(k)!);
  const predictionsFile = join(outDir, PREDICTIONS_FILE);
  const errorsFile = join(outDir, ERRORS_FILE);
  await writeLines(predictionsFile, sorted(predictions));
  await writeLines(errorsFile, sorted(errors));
  const result: MergeResult = { shards: count, predicted: predictions.size, failed: errors.size, predictionsFile, errorsFile };
  if (options.csv) {
    result.csvFile = join(outDir, CSV_FILE);
    await writePredictionsCsv(predictionsFile, result.csvFile, dones[0]?.landmarkCodes);
  }
  return result;
}
