import { Argv, CommandModule } from 'yargs';
import { IncompleteShardsError, mergeShards } from '../../predict';

interface MergeArgs {
  out: string;
  csv: boolean;
}

export const mergeCommand: CommandModule<object, MergeArgs> = {
  command: 'merge <out>',
  describe: 'Combine the shards of lmk predict --shard (OUT/shards/I-of-N) into OUT/predictions.jsonl and OUT/errors.jsonl, each input once',
  builder: (y: Argv) => y
    .positional('out', { type: 'string', demandOption: true, describe: 'the --out folder the shards wrote to' })
    .option('csv', { type: 'boolean', default: false, describe: 'also OUT/predictions.csv' })
    .example('$0 merge preds --csv', 'after every array task has finished; rerunning is harmless') as unknown as Argv<MergeArgs>,
  handler: async (args) => {
    try {
      const r = await mergeShards(args.out, { csv: args.csv });
      process.stderr.write(`lmk merge: ${r.shards} shards: ${r.predicted} predicted, ${r.failed} failed; see ${[r.predictionsFile, r.errorsFile, ...(r.csvFile ? [r.csvFile] : [])].join(', ')}\n`);
      if (r.failed > 0) process.exitCode = 1;
    } catch (err) {
      if (!(err instanceof IncompleteShardsError)) throw err;
      process.stderr.write(`lmk merge: ${err.message}\n`);
      process.exitCode = 1;
    }
  },
};
