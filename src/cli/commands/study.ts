import { existsSync, statSync } from 'fs';
import { Argv, CommandModule } from 'yargs';
import {
  formatPlan, predictorEvaluate, runStudy, STUDY_DATASETS, StudyDataset, studyPlan, trainerRunner, writeStudyReport,
} from '../../study';
import { UsageError } from '../errors';
import { resolveShard, ShardArgs, withShardOptions } from './shard-options';
import {
  checkOutputSettings, describeStudyModel, parseInit, studyProgress, StudyTrainArgs, unfinishedRuns, validateStudyTrainArgs, withReportOption, withStudyTrainOptions,
} from './study-options';

interface StudyArgs extends StudyTrainArgs, ShardArgs {
  report: boolean;
  plan: boolean;
  head?: string;
  hand?: string;
  chest?: string;
  targets: string;
}

function parseTargets(text: string): StudyDataset[] {
  const targets = text.split(',').map((t) => t.trim());
  for (const t of targets) if (!STUDY_DATASETS.includes(t as StudyDataset)) throw new UsageError(`--targets: unknown data set '${t}' (one of ${STUDY_DATASETS.join(', ')})`);
  return STUDY_DATASETS.filter((d) => targets.includes(d));
}

export const studyCommand: CommandModule<object, StudyArgs> = {
  command: 'study',
  describe: 'The transfer-learning grid (the paper\'s Table 2): 5 pre-training chains per target, fine-tuned on head, hand and chest; resumable',
  builder: (y: Argv) => withReportOption(withShardOptions(withStudyTrainOptions(
    y
      .option('plan', { type: 'boolean', default: false, describe: 'print the chains and runs, train nothing' })
      .option('head', { type: 'string', describe: 'ISBI 2015 folder (isbi2015 layout)' })
      .option('hand', { type: 'string', describe: 'Digital Hand Atlas folder (hand-dha layout)' })
      .option('chest', { type: 'string', describe: 'Shenzhen chest folder (chest-shenzhen layout)' })
      .option('targets', { type: 'string', default: STUDY_DATASETS.join(','), describe: 'targets to run, comma-separated' }),
    'lmk-study',
  )))
    .example('$0 study --plan', 'the 15 chains')
    .example('$0 study --head data/isbi2015 --hand data/hand --chest data/chest --init imagenet:vgg19.safetensors', 'the whole grid') as unknown as Argv<StudyArgs>,
  handler: async (args) => {
    const targets = parseTargets(args.targets);
    if (args.plan) {
      // The paper's chains start from ImageNet; printing them needs no weights file.
      const { init } = parseInit(args.init ?? 'imagenet', true);
      process.stdout.write(formatPlan(studyPlan(init, targets)));
      return;
    }
    const settings = validateStudyTrainArgs(args);
    const { init, weights } = parseInit(args.init);
    const plan = studyPlan(init, targets);
    const shard = args.report ? undefined : resolveShard(args, 'lmk study');
    for (const d of args.report ? [] : new Set(plan.runs.flatMap((r) => r.stages))) {
      const root = args[d];
      if (root === undefined) throw new UsageError(`the chains train on ${d}: give its folder with --${d}`);
      if (!existsSync(root) || !statSync(root).isDirectory()) throw new UsageError(`--${d} ${root}: no such folder`);
    }
    await checkOutputSettings(args.out, settings, { init: args.init!, seed: args.seed });
    const progress = studyProgress('lmk study', args.quiet);
    let records;
    try {
      records = await runStudy({
        outDir: args.out, plan, roots: { head: args.head, hand: args.hand, chest: args.chest }, imagenetWeights: weights, seed: args.seed,
        train: trainerRunner(settings, progress.hooks), evaluate: predictorEvaluate('physical', args.threads), onEvent: progress.onEvent, shard, reportOnly: args.report,
      });
    } catch (err) {
      unfinishedRuns(err, 'lmk study', args.report);
      return;
    } finally {
      progress.dispose();
    }
    const report = await writeStudyReport(args.out, plan, records, { overlays: args.overlays, model: describeStudyModel(settings, args.init!) });
    process.stdout.write(`${records.size} runs finished; report: ${report}\n`);
  },
};
