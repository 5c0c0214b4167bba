import { availableParallelism } from 'os';
import { Argv } from 'yargs';
import { DECODE_METHODS, DecodeMethod } from '../../heatmaps';
import { ExecutionProvider, Predictor } from '../../infer';
import { resolveModelFile } from '../../models/shipped';
import { check, checkPositiveInt, usage } from '../validate';

/** The options of the commands that run a model over images (`lmk predict`, `lmk pacs`): one meaning everywhere. */
export interface PredictorArgs {
  model: string;
  height?: number;
  width?: number;
  ep: string;
  threads?: number;
  workers: number;
  batch: number;
  decode: string;
  'max-pixels'?: number;
  'shape-check'?: boolean;
  reframe?: boolean;
  refine?: boolean;
  'pixel-spacing'?: number;
  'keep-implausible': boolean;
}

/** Preparation threads by default: half the cores (the session takes the rest), between 1 and 4. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)));
}

export function withPredictorOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('model', { type: 'string', demandOption: true, describe: 'an .onnx model (lmk export / lmk train), or the name of a shipped one (lmk models)' })
    .option('height', { type: 'number', describe: 'model grid height (default: stored in the model)' })
    .option('width', { type: 'number', describe: 'model grid width (default: stored in the model)' })
    .option('ep', { type: 'string', choices: ['cpu', 'cuda'], default: 'cpu', describe: 'execution provider' })
    .option('threads', { type: 'number', describe: 'ONNX Runtime intra-op threads (default: one per core; for light models such as the shipped head model, the cores the workers leave)' })
    .option('workers', { type: 'number', default: defaultWorkers(), describe: 'threads decoding and preprocessing images (0: on the main thread)' })
    .option('batch', { type: 'number', default: 1, describe: 'images per session run' })
    .option('decode', { type: 'string', choices: DECODE_METHODS, default: 'soft-argmax', describe: 'heatmap decoding' })
    .option('max-pixels', { type: 'number', describe: 'refuse images with more pixels (default 268402689)' })
    .option('shape-check', { type: 'boolean', describe: 'replace far-off landmarks (of low confidence, or beyond any confidence) by the fitted training shape (default: on when the model stores one; --no-shape-check to turn off)' })
    .option('refine', { type: 'boolean', describe: 'the refinement stage of models that hold one: each landmark found again in a finer crop about it (default: on where the model has one; --no-refine for the first stage alone)' })
    .option('reframe', { type: 'boolean', describe: 'a second look at images that frame the anatomy unlike the training images, through the window that frames it as they did (default: on when the model stores lmk.framing; --no-reframe to turn off)' })
    .option('keep-implausible', { type: 'boolean', default: false, describe: 'write predictions of images the model finds implausible (not its anatomy, even mirrored), marked "implausible": true, instead of an error line' })
    .option('pixel-spacing', { type: 'number', describe: 'mm per pixel of images whose files state none (JPEG, PNG): mm coordinates, and MW in mm for head models' });
}

export function validatePredictorArgs(a: PredictorArgs): void {
  checkPositiveInt(a.height, 'height');
  checkPositiveInt(a.width, 'width');
  checkPositiveInt(a.threads, 'threads');
  checkPositiveInt(a.batch, 'batch');
  checkPositiveInt(a['max-pixels'], 'max-pixels');
  check(a['pixel-spacing'] === undefined || (a['pixel-spacing'] > 0 && Number.isFinite(a['pixel-spacing'])), `--pixel-spacing must be a positive number of mm, got ${a['pixel-spacing']}`);
  check((a.height === undefined) === (a.width === undefined), '--height and --width go together');
  check(Number.isInteger(a.workers) && a.workers >= 0, `--workers must be a whole number >= 0, got ${a.workers}`);
  // A shipped model's name becomes its file here, once, for everything downstream.
  a.model = usage(() => resolveModelFile(a.model, '--model '));
}

export function createPredictor(a: PredictorArgs): Promise<Predictor> {
  return Predictor.create({
    model: a.model,
    grid: a.height !== undefined ? { height: a.height, width: a.width! } : undefined,
    executionProvider: a.ep as ExecutionProvider,
    threads: a.threads,
    preparationWorkers: a.workers,
    decode: a.decode as DecodeMethod,
    maxPixels: a['max-pixels'],
    shapeCheck: a['shape-check'],
    reframe: a.reframe,
    refine: a.refine,
    pixelSpacingMm: a['pixel-spacing'],
  });
}

const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof STOP_SIGNALS;

/**
 * The first SIGINT/SIGTERM aborts the returned signal (the command finishes what is in flight and writes what
 * is done) after one line on stderr; a second one exits at once. `release` removes the handlers; `exitCode` is
 * the status for the signal received (130/143), if any.
 */
export function stopOnSignals(command: string, finishing: string): { signal: AbortSignal; release: () => void; exitCode: () => number | undefined } {
  const controller = new AbortController();
  let received: StopSignal | undefined;
  const onSignal = (signal: StopSignal) => {
    if (received) process.exit(STOP_SIGNALS[signal]);
    received = signal;
    process.stderr.write(`\n${command}: ${signal}: ${finishing} (again to quit at once)\n`);
    controller.abort();
  };
  for (const s of Object.keys(STOP_SIGNALS) as StopSignal[]) process.on(s, onSignal);
  return {
    signal: controller.signal,
    release: () => {
      for (const s of Object.keys(STOP_SIGNALS) as StopSignal[]) process.off(s, onSignal);
    },
    exitCode: () => (received ? STOP_SIGNALS[received] : undefined),
  };
}
