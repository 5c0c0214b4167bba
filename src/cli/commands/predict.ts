import { existsSync, statSync } from 'fs';
import { progressBar } from '../progress';
import { Argv, CommandModule } from 'yargs';
import { predictArchive, PredictArchiveResult } from '../../predict';
import { modelAlgorithm } from '../../sr';
import { check } from '../validate';
import { createPredictor, PredictorArgs, stopOnSignals, validatePredictorArgs, withPredictorOptions } from './predictor-options';
import { resolveShard, ShardArgs, withShardOptions } from './shard-options';

interface PredictArgs extends PredictorArgs, ShardArgs {
  input: string[];
  out: string;
  overlay: boolean;
  'overlay-size': number;
  csv: boolean;
  'dicom-sr': boolean;
  quiet: boolean;
}

function validateArgs(a: PredictArgs): void {
  check(a.input.length > 0, 'give at least one --input');
  validatePredictorArgs(a);
  check(Number.isInteger(a['overlay-size']) && a['overlay-size'] >= 16, `--overlay-size must be a whole number >= 16, got ${a['overlay-size']}`);
  check(!existsSync(a.out) || statSync(a.out).isDirectory(), `--out ${a.out}: exists and is not a folder`);
}

/** Files done, rate and time left. */
const PREDICT_BAR = 'predict |{bar}| {value}/{total} files | {rate} img/s | {eta_formatted} left | {failed} failed';

function summary(r: PredictArchiveResult): string {
  const skipped = r.skippedPredicted + r.skippedFailed;
  const parts = [`predicted ${r.predicted}`, `failed ${r.failed}`];
  if (skipped) parts.push(`skipped ${skipped} done in an earlier run (${r.skippedFailed} of them failed)`);
  const files = [r.predictionsFile, ...(r.failed || r.skippedFailed ? [r.errorsFile] : []), ...(r.csvFile ? [r.csvFile] : [])];
  return `${parts.join(', ')}; see ${files.join(', ')}`;
}

export const predictCommand: CommandModule<object, PredictArgs> = {
  command: 'predict',
  describe: 'Predict landmarks for images and folders (recursive, streaming, resumable): OUT/predictions.jsonl and OUT/errors.jsonl',
  builder: (y: Argv) => withShardOptions(withPredictorOptions(y))
    .option('input', { type: 'string', array: true, demandOption: true, describe: 'image files and folders (jpg, png, bmp, tif, webp, mha, dcm; DICOM also without an extension)' })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder; a rerun with the same folder skips what is done' })
    .option('overlay', { type: 'boolean', default: false, describe: 'PNGs with the landmarks drawn, in OUT/overlays/' })
    .option('overlay-size', { type: 'number', default: 1024, describe: 'longest side of the overlays in pixels' })
    .option('csv', { type: 'boolean', default: false, describe: 'also OUT/predictions.csv (rewritten from the JSONL at the end)' })
    .option('dicom-sr', { type: 'boolean', default: false, describe: 'also a landmark SR (DICOM TID 1500) per DICOM input, in OUT/sr/<SOPInstanceUID>.dcm' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress bar or summary' })
    .example('$0 predict --model head.onnx --input /pacs/export --out preds --csv', 'a folder tree; rerun to resume')
    .example('$0 predict --model hand.onnx --input a.dcm b.png --out preds --overlay', 'files, with overlays')
    .example('$0 predict --model head.onnx --input /pacs/export --out preds --dicom-sr', 'a landmark SR per DICOM file in preds/sr/')
    .example('$0 predict --model head.onnx --input /archive --out preds --shard 2/8', 'one of 8 tasks (in a Slurm array: the index is read from the environment); then lmk merge preds') as unknown as Argv<PredictArgs>,
  handler: async (args) => {
    validateArgs(args);
    const shard = resolveShard(args, 'lmk predict');
    const predictor = await createPredictor(args);
    // The first SIGINT/SIGTERM finishes the images in flight and writes what is done; a second one exits at once.
    const stop = stopOnSignals('lmk predict', 'finishing the images in flight');

    const bar = progressBar(PREDICT_BAR, args.quiet, 50);
    const started = performance.now();
    let last = { predicted: 0, failed: 0 };
    // The total comes from a counting walk alongside the work; the bar starts when it is known.
    let barStarted = false;
    const payload = () => {
      const seconds = (performance.now() - started) / 1000;
      return { failed: last.failed, rate: seconds > 0 ? ((last.predicted + last.failed) / seconds).toFixed(2) : '-' };
    };
    let result: PredictArchiveResult;
    try {
      result = await predictArchive({
        predictor,
        inputs: args.input,
        outDir: args.out,
        workers: args.workers,
        batch: args.batch,
        overlay: args.overlay,
        overlaySize: args['overlay-size'],
        csv: args.csv,
        keepImplausible: args['keep-implausible'],
        shard,
        dicomSr: args['dicom-sr'] ? { algorithm: modelAlgorithm(args.model) } : undefined,
        signal: stop.signal,
        onTotal: (total) => {
          barStarted = true;
          bar?.start(total, last.predicted + last.failed, payload());
        },
        onProgress: (p) => {
          last = p;
          if (barStarted) bar?.update(p.predicted + p.failed, payload());
        },
      });
    } finally {
      bar?.stop();
      stop.release();
      await predictor.release();
    }
    if (!args.quiet) process.stderr.write(`lmk predict: ${summary(result)}\n`);
    if (result.interrupted && stop.exitCode()) process.exitCode = stop.exitCode();
    else if (result.failed + result.skippedFailed > 0) process.exitCode = 1;
  },
};
