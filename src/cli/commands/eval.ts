import { existsSync } from 'fs';
import { progressBar } from '../progress';
import { Argv, CommandModule } from 'yargs';
import { formatLandmarkNames, FormatName, FORMATS, loadDataset, SplitSelection } from '../../data';
import {
  baselineWarning, constantPredictions, evaluateMeanShape, evaluateMeasurements, evaluatePredictions, meanShape, measurementsToText, PROTOCOLS, ProtocolName,
  readPredictions, summaryToJson, summaryToText,
} from '../../eval';
import { measuresCephalograms } from '../../cephalometry';
import { predictItems } from '../../study/predict-items';
import { UsageError } from '../errors';
import { resolveModelFile } from '../../models/shipped';
import { checkPositiveInt, usage } from '../validate';

interface EvalArgs {
  format: string;
  root: string;
  predictions?: string;
  model?: string;
  'shape-check'?: boolean;
  reframe?: boolean;
  refine?: boolean;
  split: string;
  protocol: string;
  thresholds?: string;
  threads?: number;
  json: boolean;
}

const EVAL_SPLITS = ['train', 'test', 'all'];

function parseThresholds(text: string): number[] {
  const values = text.split(',').map((t) => Number(t.trim()));
  if (values.length === 0 || values.some((v) => !(v > 0) || !Number.isFinite(v))) throw new UsageError(`--thresholds must be positive numbers separated by commas, got '${text}'`);
  return values;
}

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'Score landmark predictions against a data set: MRE (with std) and SDR, overall and per landmark',
  builder: (y: Argv) => y
    .option('format', { type: 'string', choices: FORMATS, demandOption: true, describe: 'data set layout' })
    .option('root', { type: 'string', demandOption: true, describe: 'data set folder' })
    .option('predictions', { type: 'string', describe: 'JSONL, one line per image: {"id": ..., "landmarks": [[x, y], ...]} in original pixels' })
    .option('model', { type: 'string', describe: 'an .onnx model (lmk train / lmk export) to predict the split with' })
    .option('split', { type: 'string', choices: EVAL_SPLITS, default: 'test', describe: 'which published split to score' })
    .option('protocol', { type: 'string', choices: PROTOCOLS, default: 'physical', describe: 'physical: sub-pixel errors in mm (chest: px of the 512x512 grid); gu2net: GU2Net\'s rounded-grid computation' })
    .option('thresholds', { type: 'string', describe: 'SDR thresholds, comma-separated (default: head 2,2.5,3,4 mm; hand 2,4,10 mm; chest 3,6,9 px)' })
    .option('threads', { type: 'number', describe: 'ONNX Runtime threads with --model' })
    .option('shape-check', { type: 'boolean', describe: 'with --model: the Predictor\'s shape check (default: on when the model stores a training shape; --no-shape-check to turn off)' })
    .option('refine', { type: 'boolean', describe: 'with --model: the refinement stage of models that hold one (default: on; --no-refine for the first stage alone)' })
    .option('reframe', { type: 'boolean', describe: 'with --model: the Predictor\'s second look at images framed unlike the training images (default: on when the model stores lmk.framing; --no-reframe to turn off)' })
    .option('json', { type: 'boolean', default: false, describe: 'print {"n_images", "mre": {"value", "unit", "std"}, "sdr": {"2": pct, ...}, "per_landmark": [...], "baseline": {"n_train", "mre", "sdr"}}' })
    .check((args) => {
      if ((args.predictions === undefined) === (args.model === undefined)) throw new UsageError('give exactly one of --predictions and --model');
      return true;
    })
    .example('$0 eval --format isbi2015 --root data/isbi2015 --predictions preds.jsonl', 'physical protocol on the test split')
    .example('$0 eval --format hand-dha --root data/hand --model hand.onnx --protocol gu2net --json', 'predict, then score as GU2Net does') as unknown as Argv<EvalArgs>,
  handler: async (args) => {
    const thresholds = args.thresholds !== undefined ? parseThresholds(args.thresholds) : undefined;
    if (args.predictions !== undefined && !existsSync(args.predictions)) throw new UsageError(`--predictions ${args.predictions}: no such file`);
    if (args.model !== undefined) args.model = usage(() => resolveModelFile(args.model!, '--model '));
    checkPositiveInt(args.threads, 'threads');
    const dataset = await loadDataset({ format: args.format as FormatName, root: args.root, split: args.split as SplitSelection });
    if (dataset.items.length === 0) throw new Error(`${args.root}: no ${args.split} items with both annotations and an image`);
    let predictions;
    if (args.predictions !== undefined) {
      predictions = readPredictions(args.predictions);
    } else {
      const bar = progressBar('predict |{bar}| {value}/{total} images | {eta_formatted} left', args.json, 10);
      bar?.start(dataset.items.length, 0);
      try {
        const records = await predictItems(args.model as string, dataset.items, { threads: args.threads, shapeCheck: args['shape-check'], reframe: args.reframe, refine: args.refine, onItem: (done) => bar?.update(done) });
        predictions = new Map(records.map((r) => [r.id, r.landmarks]));
      } finally {
        bar?.stop();
      }
    }
    let summary;
    try {
      summary = evaluatePredictions(dataset, predictions, { protocol: args.protocol as ProtocolName, thresholds });
    } catch (err) {
      throw new Error(`${args.predictions ?? args.model}: ${(err as Error).message}`);
    }
    // The trivial answer on the same images with the same protocol: the mean shape of the published training split.
    const training = (await loadDataset({ format: args.format as FormatName, root: args.root, split: 'train' })).items;
    const baseline = training.length > 0 ? evaluateMeanShape(training, dataset, { protocol: args.protocol as ProtocolName, thresholds }) : undefined;
    if (dataset.missing.length > 0 && !args.json) process.stderr.write(`lmk eval: ${dataset.missing.length} item(s) of ${args.root} unusable and not scored (first: ${dataset.missing[0].id}: ${dataset.missing[0].reason})\n`);
    if (!baseline && !args.json) process.stderr.write(`lmk eval: no baseline: ${args.root} has no training split\n`);
    // The challenge's task 2 where the landmarks are its nineteen: measurements and classes from both point sets.
    const codes = formatLandmarkNames(dataset.format, dataset.landmarkCount).map((n) => n.code);
    const measured = measuresCephalograms(codes) ? evaluateMeasurements(dataset.items, predictions) : undefined;
    const measuredBaseline = measured && training.length > 0 ? evaluateMeasurements(dataset.items, constantPredictions(dataset.items, meanShape(training))) : undefined;
    process.stdout.write(args.json
      ? summaryToJson(summary, baseline, measured ? { measurements: measured, ...(measuredBaseline ? { baseline_measurements: measuredBaseline } : {}) } : {})
      : summaryToText(summary, baseline, codes) + (measured ? `\n${measurementsToText(measured, measuredBaseline)}` : ''));
    const warning = baseline && baselineWarning(summary.mre.value, baseline.summary.mre.value, summary.mre.unit);
    if (warning) process.stderr.write(`lmk eval: ${warning}\n`);
  },
};
