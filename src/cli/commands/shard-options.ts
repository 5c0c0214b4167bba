import { Argv } from 'yargs';
import { parseShard, Shard, shardFromEnvironment } from '../../predict';
import { UsageError } from '../errors';
import { usage } from '../validate';

/** `--shard I/N` and `--shards N` of the commands that split their work over an array job (`lmk predict`, `lmk pacs`). */
export interface ShardArgs {
  shard?: string;
  shards?: number;
}

export function withShardOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('shard', { type: 'string', describe: 'do only shard I of N (0-based I/N); default: the array index of Slurm, a Kubernetes Indexed Job or LSF where set' })
    .option('shards', { type: 'number', describe: 'the number of shards where the scheduler does not say it (Kubernetes: the completions; LSF without LSB_JOBINDEX_END)' });
}

/**
 * The shard this task does, from --shard or the scheduler's environment, with one line on stderr saying
 * which; undefined for a job of one. Resolved once here, passed down as it is.
 */
export function resolveShard(a: ShardArgs, command: string, env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  if (a.shard !== undefined) {
    const shard = usage(() => parseShard(a.shard!));
    if (a.shards !== undefined && a.shards !== shard.count) throw new UsageError(`--shards ${a.shards} disagrees with --shard ${a.shard}`);
    process.stderr.write(`${command}: shard ${shard.index} of ${shard.count} (from --shard ${a.shard})\n`);
    return shard;
  }
  const found = usage(() => shardFromEnvironment(env, a.shards));
  if (!found) {
    if (a.shards !== undefined) throw new UsageError(`--shards ${a.shards} without --shard or a scheduler's array index (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, LSB_JOBINDEX)`);
    return undefined;
  }
  process.stderr.write(`${command}: shard ${found.shard.index} of ${found.shard.count} (from ${found.source})\n`);
  return found.shard;
}
