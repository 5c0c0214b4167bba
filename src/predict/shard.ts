import { createHash } from 'crypto';
import { join } from 'path';

/**
 * Shards of one job over many machines (a Slurm array, a Kubernetes Indexed Job, an LSF job array): every
 * task computes the same partition from the inputs' stable keys, so N tasks do each input once between them,
 * whatever their mount points, and each writes its own journals under OUT/shards/I-of-N/.
 */
export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

export class ShardError extends Error {
  override name = 'ShardError';
}

/** `I/N` (0-based I). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new ShardError(`--shard ${text}: expected I/N, the 0-based index I of N shards (e.g. 0/4)`);
  return checkedShard(Number(m[1]), Number(m[2]), `--shard ${text}`);
}

function checkedShard(index: number, count: number, where: string): Shard {
  if (!Number.isSafeInteger(count) || count < 1) throw new ShardError(`${where}: the number of shards must be a whole number >= 1, got ${count}`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) throw new ShardError(`${where}: shard index ${index} is not in 0..${count - 1}`);
  return { index, count };
}

const wholeNumber = (v: string | undefined): number | undefined => (v !== undefined && /^\d+$/.test(v.trim()) ? Number(v) : undefined);

/**
 * The array index a scheduler gives this task, as a shard, and a line saying where it came from; undefined
 * outside an array job. Slurm: SLURM_ARRAY_TASK_ID (from SLURM_ARRAY_TASK_MIN in steps of
 * SLURM_ARRAY_TASK_STEP) of SLURM_ARRAY_TASK_COUNT, or with `shards` the task id itself (so that one task
 * of an array 0..N-1 can be submitted again alone); Kubernetes Indexed Job: JOB_COMPLETION_INDEX of `shards`
 * (the pod does not see the completion count); LSF: LSB_JOBINDEX (1-based) of `shards` or LSB_JOBINDEX_END.
 */
export function shardFromEnvironment(env: NodeJS.ProcessEnv, shards?: number): { shard: Shard; source: string } | undefined {
  const slurm = wholeNumber(env.SLURM_ARRAY_TASK_ID);
  if (slurm !== undefined) {
    const where = `SLURM_ARRAY_TASK_ID=${slurm}`;
    // With --shards the task id is the shard itself (an array of 0..N-1, or one task of it submitted again).
    if (shards !== undefined) return { shard: checkedShard(slurm, shards, where), source: `${where} of --shards ${shards}` };
    const min = wholeNumber(env.SLURM_ARRAY_TASK_MIN) ?? 0;
    const step = wholeNumber(env.SLURM_ARRAY_TASK_STEP) ?? 1;
    const count = wholeNumber(env.SLURM_ARRAY_TASK_COUNT);
    if (count === undefined) throw new ShardError(`${where} without SLURM_ARRAY_TASK_COUNT: give the number of shards with --shards N`);
    if ((slurm - min) % step !== 0) throw new ShardError(`${where} is not SLURM_ARRAY_TASK_MIN=${min} plus a multiple of SLURM_ARRAY_TASK_STEP=${step}`);
    return { shard: checkedShard((slurm - min) / step, count, where), source: `${where} (min ${min}, step ${step}) of ${count}` };
  }
  const k8s = wholeNumber(env.JOB_COMPLETION_INDEX);
  if (k8s !== undefined) {
    const where = `JOB_COMPLETION_INDEX=${k8s}`;
    if (shards === undefined) throw new ShardError(`${where}: give the number of shards (the Job's completions) with --shards N`);
    return { shard: checkedShard(k8s, shards, where), source: `${where} of --shards ${shards}` };
  }
  // LSF sets LSB_JOBINDEX=0 for jobs that are not arrays.
  const lsf = wholeNumber(env.LSB_JOBINDEX);
  if (lsf !== undefined && lsf > 0) {
    const end = wholeNumber(env.LSB_JOBINDEX_END);
    const count = shards ?? end;
    const where = `LSB_JOBINDEX=${lsf}`;
    if (count === undefined) throw new ShardError(`${where} without LSB_JOBINDEX_END: give the number of shards with --shards N`);
    return { shard: checkedShard(lsf - 1, count, where), source: `${where} (1-based) of ${shards !== undefined ? `--shards ${shards}` : `LSB_JOBINDEX_END=${end}`}` };
  }
  return undefined;
}

/** The shard of an input's stable key: the first 48 bits of its SHA-256, modulo the count. */
export function shardOfKey(key: string, count: number): number {
  return parseInt(createHash('sha256').update(key).digest('hex').slice(0, 12), 16) % count;
}

export const SHARDS_DIR = 'shards';

/** OUT/shards/I-of-N: where a shard's journals go. */
export function shardDir(outDir: string, shard: Shard): string {
  return join(outDir, SHARDS_DIR, `${shard.index}-of-${shard.count}`);
}

/** The record a shard writes when its inputs are exhausted (OUT/shards/I-of-N/done.json). */
export interface ShardDone {
  shard: number;
  shards: number;
  predicted: number;
  failed: number;
  /** The model's landmark codes, for the merged CSV's header. */
  landmarkCodes: string[];
  finishedAt: string;
}

export const DONE_FILE = 'done.json';
