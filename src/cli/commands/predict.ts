import { existsSync, statSync } from 'fs';
import { availableParallelism } from 'os';
import { progressBar } from '../progress';
import { Argv, CommandModule } from 'yargs';
import { DECODE_METHODS, DecodeMethod } from '../../heatmaps';
import { ExecutionProvider, Predictor } from '../../infer';
import { predictArchive, PredictArchiveResult } from '../../predict';
import { check, checkPositiveInt } from '../validate';

interface PredictArgs {
  model: string;
  input: string[];
  out: string;
  height?: number;
  width?: number;
  ep: string;
  threads?: number;
  workers: number;
  batch: number;
  decode: string;
  overlay: boolean;
  'overlay-size': number;
  csv: boolean;
  'max-pixels'?: number;
  'shape-check'?: boolean;
  quiet: boolean;
}

const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;

/** Preparation threads by default: half the cores (the session takes the rest), between 1 and 4. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)));
}

function validateArgs(a: PredictArgs): void {
  checkPositiveInt(a.height, 'height');
  checkPositiveInt(a.width, 'width');
  checkPositiveInt(a.threads, 'threads');
  checkPositiveInt(a.batch, 'batch');
  checkPositiveInt(a['max-pixels'], 'max-pixels');
  check((a.height === undefined) === (a.width === undefined), '--height and --width go together');
  check(Number.isInteger(a.workers) && a.workers >= 0, `--workers must be a whole number >= 0, got ${a.workers}`);
  check(Number.isInteger(a['overlay-size']) && a['overlay-size'] >= 16, `--overlay-size must be a whole number >= 16, got ${a['overlay-size']}`);
  check(a.input.length > 0, 'give at least one --input');
  check(existsSync(a.model) && statSync(a.model).isFile(), `--model ${a.model}: no such file`);
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
  builder: (y: Argv) => y
    .option('model', { type: 'string', demandOption: true, describe: 'an .onnx model (lmk export / lmk train)' })
    .option('input', { type: 'string', array: true, demandOption: true, describe: 'image files and folders (jpg, png, bmp, tif, webp, mha, dcm; DICOM also without an extension)' })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder; a rerun with the same folder skips what is done' })
    .option('height', { type: 'number', describe: 'model grid height (default: stored in the model)' })
    .option('width', { type: 'number', describe: 'model grid width (default: stored in the model)' })
    .option('ep', { type: 'string', choices: ['cpu', 'cuda'], default: 'cpu', describe: 'execution provider' })
    .option('threads', { type: 'number', describe: 'ONNX Runtime intra-op threads (default: one per core)' })
    .option('workers', { type: 'number', default: defaultWorkers(), describe: 'threads decoding and preprocessing images (0: on the main thread)' })
    .option('batch', { type: 'number', default: 1, describe: 'images per session run' })
    .option('decode', { type: 'string', choices: DECODE_METHODS, default: 'soft-argmax', describe: 'heatmap decoding' })
    .option('overlay', { type: 'boolean', default: false, describe: 'PNGs with the landmarks drawn, in OUT/overlays/' })
    .option('overlay-size', { type: 'number', default: 1024, describe: 'longest side of the overlays in pixels' })
    .option('csv', { type: 'boolean', default: false, describe: 'also OUT/predictions.csv (rewritten from the JSONL at the end)' })
    .option('max-pixels', { type: 'number', describe: 'refuse images with more pixels (default 268402689)' })
    .option('shape-check', { type: 'boolean', describe: 'replace far-off, low-confidence landmarks by the fitted training shape (default: on when the model stores one; --no-shape-check to turn off)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress bar or summary' })
    .example('$0 predict --model head.onnx --input /pacs/export --out preds --csv', 'a folder tree; rerun to resume')
    .example('$0 predict --model hand.onnx --input a.dcm b.png --out preds --overlay', 'files, with overlays') as unknown as Argv<PredictArgs>,
  handler: async (args) => {
    validateArgs(args);
    const predictor = await Predictor.create({
      model: args.model,
      grid: args.height !== undefined ? { height: args.height, width: args.width! } : undefined,
      executionProvider: args.ep as ExecutionProvider,
      threads: args.threads,
      decode: args.decode as DecodeMethod,
      maxPixels: args['max-pixels'],
      shapeCheck: args['shape-check'],
    });

    // The first SIGINT/SIGTERM finishes the images in flight and writes what is done; a second one exits at once.
    const controller = new AbortController();
    let stopSignal: keyof typeof STOP_SIGNALS | undefined;
    const onSignal = (signal: keyof typeof STOP_SIGNALS) => {
      if (stopSignal) process.exit(STOP_SIGNALS[signal]);
      stopSignal = signal;
      process.stderr.write(`\nlmk predict: ${signal}: finishing the images in flight (again to quit at once)\n`);
      controller.abort();
    };
    for (const s of Object.keys(STOP_SIGNALS) as (keyof typeof STOP_SIGNALS)[]) process.on(s, onSignal);

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
        signal: controller.signal,
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
      for (const s of Object.keys(STOP_SIGNALS) as (keyof typeof STOP_SIGNALS)[]) process.off(s, onSignal);
      await predictor.release();
    }
    if (!args.quiet) process.stderr.write(`lmk predict: ${summary(result)}\n`);
    if (result.interrupted && stopSignal) process.exitCode = STOP_SIGNALS[stopSignal];
    else if (result.failed + result.skippedFailed > 0) process.exitCode = 1;
  },
};
