import { Argv, CommandModule } from 'yargs';
import { FormatName, FORMATS } from '../../data';
import { aggregateToText, baselineWarning } from '../../eval';
import { predictorEvaluate, runCrossValidation, trainerRunner, writeCrossValidationReport } from '../../study';
import { UsageError } from '../errors';
import { checkPositiveInt } from '../validate';
import { resolveShard, ShardArgs, withShardOptions } from './shard-options';
import {
  checkOutputSettings, describeStudyModel, parseInit, studyProgress, StudyTrainArgs, unfinishedRuns, validateStudyTrainArgs, withReportOption, withStudyTrainOptions,
} from './study-options';

interface CvArgs extends StudyTrainArgs, ShardArgs {
  report: boolean;
  format: string;
  root: string;
  folds: number;
  height?: number;
  width?: number;
}

export const cvCommand: CommandModule<object, CvArgs> = {
  command: 'cv',
  describe: 'k-fold cross-validation on the training split (the paper\'s Table 1): train per fold, score the held-out fold, mean and std',
  builder: (y: Argv) => withReportOption(withShardOptions(withStudyTrainOptions(
    y
      .option('format', { type: 'string', choices: FORMATS, demandOption: true, describe: 'data set layout' })
      .option('root', { type: 'string', demandOption: true, describe: 'data set folder' })
      .option('folds', { type: 'number', default: 5, describe: 'number of folds' })
      .option('height', { type: 'number', describe: "grid height (default: the format's)" })
      .option('width', { type: 'number', describe: "grid width (default: the format's)" }),
    'lmk-cv',
  )))
    .example('$0 cv --format isbi2015 --root data/isbi2015 --init imagenet:vgg19.safetensors --out cv-head', 'Table 1 for the head')
    .example('sbatch --array=0-4 --wrap "$0 cv --format isbi2015 --root data/isbi2015 --init scratch --out cv-head"', 'a fold per Slurm task; then the same with --report')
    .example('$0 cv --format csv --root my-set --init scratch --steps 200 --width-multiplier 0.25', 'a quick CPU run') as unknown as Argv<CvArgs>,
  handler: async (args) => {
    const settings = validateStudyTrainArgs(args);
    if (!(Number.isInteger(args.folds) && args.folds >= 2)) throw new UsageError(`--folds must be a whole number of at least 2, got ${args.folds}`);
    if ((args.height === undefined) !== (args.width === undefined)) throw new UsageError('--height and --width go together');
    checkPositiveInt(args.height, 'height');
    checkPositiveInt(args.width, 'width');
    if (args.height !== undefined) settings.grid = { height: args.height, width: args.width as number };
    const { init, weights } = parseInit(args.init);
    const shard = args.report ? undefined : resolveShard(args, 'lmk cv');
    await checkOutputSettings(args.out, settings, { init: args.init!, seed: args.seed });
    const progress = studyProgress('lmk cv', args.quiet);
    let result;
    try {
      result = await runCrossValidation({
        outDir: args.out, format: args.format as FormatName, root: args.root, folds: args.folds, init, imagenetWeights: weights, seed: args.seed,
        train: trainerRunner(settings, progress.hooks), evaluate: predictorEvaluate('physical', args.threads), onEvent: progress.onEvent, shard, reportOnly: args.report,
      });
    } catch (err) {
      unfinishedRuns(err, 'lmk cv', args.report);
      return;
    } finally {
      progress.dispose();
    }
    const report = await writeCrossValidationReport(args.out, args.format, result, { overlays: args.overlays, model: describeStudyModel(settings, args.init!) });
    process.stdout.write(`${aggregateToText(result.aggregate, result.baseline)}report: ${report}\n`);
    const warning = result.baseline && baselineWarning(result.aggregate.mre.mean, result.baseline.mre.mean, result.aggregate.mre.unit);
    if (warning) process.stderr.write(`lmk cv: ${warning}\n`);
  },
};
