import { existsSync } from 'fs';
import { resolve } from 'path';
import { progressBar } from '../progress';
import { Argv, CommandModule } from 'yargs';
import { DEFAULT_AUGMENT } from '../../data/augment';
import { DEFAULT_GRIDS, formatLandmarkNames, FORMATS, FormatName, LandmarkItem, loadDataset, Random, readLandmarkNamesFile } from '../../data';
import { ARCHS, ENCODERS, ModelSpec, resolveSpec } from '../../models';
import { derivedSeed } from '../../models/random';
import { resolveModelFile } from '../../models/shipped';
import { DEFAULT_PLATEAU, LR_SCHEDULES, LrSchedule } from '../../train/schedule';
import { LOSSES, LossName } from '../../train/step-graph';
import { train, TrainOptions, TrainResult } from '../../train/loop';
import { FINE_TUNE_LR, FINE_TUNE_STEPS, readBaseModel, SMALL_SET_ITEMS } from '../../train/base-model';
import { readFirstStage } from '../../refine/first-stage';
import { check, checkPositiveInt, usage } from '../validate';

interface TrainArgs {
  format: string;
  root: string;
  arch?: string;
  encoder?: string;
  classes?: number;
  'width-multiplier'?: number;
  height?: number;
  width?: number;
  sigma?: number;
  loss?: string;
  optimizer: string;
  lr?: number;
  'weight-decay': number;
  batch: number;
  epochs?: number;
  steps?: number;
  'init-weights'?: string;
  'first-stage'?: string;
  crop: number;
  'crop-factor': number;
  'crop-jitter': number;
  'landmark-names'?: string;
  augment: boolean;
  rotation: number;
  scaling: number;
  shift: number;
  intensity: number;
  gamma?: number;
  shuffle: boolean;
  'val-fraction'?: number;
  'train-split': 'train' | 'all';
  folds?: number;
  fold?: number;
  seed: number;
  'lr-schedule'?: string;
  'min-lr'?: number;
  'warmup-steps': number;
  'time-limit'?: number;
  'plateau-patience': number;
  'plateau-factor': number;
  'early-stopping': number;
  'checkpoint-every': number;
  log?: string;
  save?: string;
  export?: string;
  out: string;
  resume: boolean;
  threads?: number;
  ep: 'cpu' | 'cuda';
  workers: number;
  'steps-per-run'?: number;
  quiet: boolean;
}

const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;

/** A seeded fraction of the training split held out for validation. */
function holdOut(items: LandmarkItem[], fraction: number, seed: number): { train: LandmarkItem[]; validation: LandmarkItem[] } {
  const count = Math.round(items.length * fraction);
  const held = new Set(new Random(derivedSeed(seed, 'validation')).permutation(items.length).slice(0, count));
  return { train: items.filter((_, i) => !held.has(i)), validation: items.filter((_, i) => held.has(i)) };
}

function validateArgs(args: TrainArgs): void {
  checkPositiveInt(args.classes, 'classes');
  checkPositiveInt(args.height, 'height');
  checkPositiveInt(args.width, 'width');
  checkPositiveInt(args.batch, 'batch');
  checkPositiveInt(args.epochs, 'epochs');
  checkPositiveInt(args.steps, 'steps');
  checkPositiveInt(args.threads, 'threads');
  checkPositiveInt(args['steps-per-run'], 'steps-per-run');
  check((args.height === undefined) === (args.width === undefined), '--height and --width go together');
  checkPositiveInt(args.crop, 'crop');
  check(args.crop % 32 === 0, `--crop must be a multiple of 32, got ${args.crop}`);
  check(args['crop-factor'] > 0 && Number.isFinite(args['crop-factor']), `--crop-factor must be a positive number, got ${args['crop-factor']}`);
  check(args['crop-jitter'] >= 0 && Number.isFinite(args['crop-jitter']), `--crop-jitter must be a number >= 0, got ${args['crop-jitter']}`);
  check(args['first-stage'] === undefined || args.height === undefined, '--first-stage trains crops of --crop pixels; --height and --width are the first stage\'s');
  check(args['first-stage'] === undefined || !args['val-fraction'], '--first-stage trains without validation (score the model it writes with lmk eval): leave out --val-fraction');
  check(args.epochs === undefined || args.steps === undefined, 'give --epochs or --steps, not both');
  check(args.sigma === undefined || (args.sigma > 0 && Number.isFinite(args.sigma)), `--sigma must be a positive number, got ${args.sigma}`);
  check(args.lr === undefined || (args.lr > 0 && Number.isFinite(args.lr)), `--lr must be a positive number, got ${args.lr}`);
  check(args['weight-decay'] >= 0, `--weight-decay must be >= 0, got ${args['weight-decay']}`);
  check(args['val-fraction'] === undefined || (args['val-fraction'] >= 0 && args['val-fraction'] < 1), `--val-fraction must be in [0, 1), got ${args['val-fraction']}`);
  check((args.folds === undefined) === (args.fold === undefined), '--folds and --fold go together');
  check(args.folds === undefined || args['train-split'] === 'train', '--folds divide the published training split: leave out --train-split all');
  check(Number.isInteger(args.seed) && args.seed >= 0 && args.seed <= 0xffffffff, `--seed must be a whole number in [0, 4294967295], got ${args.seed}`);
  check(args['min-lr'] === undefined || args['min-lr'] >= 0, `--min-lr must be >= 0, got ${args['min-lr']}`);
  check(Number.isInteger(args['warmup-steps']) && args['warmup-steps'] >= 0, `--warmup-steps must be a whole number >= 0, got ${args['warmup-steps']}`);
  check(args['time-limit'] === undefined || (args['time-limit'] > 0 && Number.isFinite(args['time-limit'])), `--time-limit must be a positive number of minutes, got ${args['time-limit']}`);
  check(Number.isInteger(args['plateau-patience']) && args['plateau-patience'] >= 0, `--plateau-patience must be a whole number >= 0, got ${args['plateau-patience']}`);
  check(args['plateau-factor'] > 0 && args['plateau-factor'] < 1, `--plateau-factor must be in (0, 1), got ${args['plateau-factor']}`);
  checkPositiveInt(args['early-stopping'], 'early-stopping');
  check(Number.isInteger(args['checkpoint-every']) && args['checkpoint-every'] >= 0, `--checkpoint-every must be a whole number >= 0, got ${args['checkpoint-every']}`);
  check(Number.isInteger(args.workers) && args.workers >= 0, `--workers must be a whole number >= 0, got ${args.workers}`);
  if (args['init-weights']) args['init-weights'] = usage(() => resolveModelFile(args['init-weights']!, '--init-weights '));
  check(!args['landmark-names'] || existsSync(args['landmark-names']), `--landmark-names ${args['landmark-names']}: no such file`);
  check(!(args.resume && args['init-weights']), '--resume continues from OUT/checkpoint.safetensors: leave out --init-weights');
}

/** Steps, loss and time left. */
const TRAIN_BAR = 'train |{bar}| step {value}/{total} | epoch {epoch} | loss {loss} | lr {lr} | {eta_formatted} left';

function report(result: TrainResult, quiet: boolean): void {
  if (result.status === 'interrupted') {
    process.stderr.write(`lmk train: interrupted after step ${result.steps}; checkpoint ${result.checkpoint} saved, continue with --resume\n`);
    return;
  }
  if (quiet) return;
  const how = { 'early-stopped': 'stopped early', 'time-limit': 'stopped at the time limit', finished: 'finished' }[result.status];
  const best = result.bestEpoch !== undefined ? `; best validation MRE ${result.bestValidationMre!.toFixed(2)} ${result.mreUnit ?? ''} at epoch ${result.bestEpoch} (its weights are the model)` : '';
  console.log(`${how} after ${result.steps} steps (${result.epochs} epochs), last loss ${result.lastLoss?.toPrecision(4) ?? '-'}${best}`);
  console.log(`wrote ${result.modelFile} and ${result.onnxFile}`);
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'Train a landmark model (U-Net, U-Net++ or DeepLabV3 with a VGG19, ResNeXt101-32x8d or EfficientNet-B7 encoder) on a data set, on the CPU or with --ep cuda on a GPU',
  builder: (y: Argv) => y
    .option('format', { type: 'string', choices: FORMATS, demandOption: true, describe: 'data set layout' })
    .option('root', { type: 'string', demandOption: true, describe: 'data set folder' })
    .option('arch', { type: 'string', choices: ARCHS, describe: 'decoder architecture (smp layout; default: the --init-weights model\'s, else unetplusplus)' })
    .option('encoder', { type: 'string', choices: Object.keys(ENCODERS), describe: 'encoder (default: the --init-weights model\'s, else vgg19)' })
    .option('classes', { type: 'number', describe: 'number of landmarks (default: the data set\'s)' })
    .option('width-multiplier', { type: 'number', describe: 'scale every channel count (0, 1]: small models for CPUs (default: the --init-weights model\'s, else 1)' })
    .option('height', { type: 'number', describe: 'grid height (default: the --init-weights model\'s, else the format\'s)' })
    .option('width', { type: 'number', describe: 'grid width (default: the --init-weights model\'s, else the format\'s)' })
    .option('sigma', { type: 'number', describe: 'target Gaussian sigma in grid pixels (default: the --init-weights model\'s, else 2)' })
    .option('loss', { type: 'string', choices: LOSSES, describe: 'loss over the heatmaps (default: the --init-weights model\'s, else mse)' })
    .option('optimizer', { type: 'string', choices: ['adam'], default: 'adam', describe: 'optimizer (Adam, PyTorch defaults)' })
    .option('lr', { type: 'number', describe: `learning rate (default 1e-4; fine-tuning a model on up to ${SMALL_SET_ITEMS} images: ${FINE_TUNE_LR})` })
    .option('weight-decay', { type: 'number', default: 0, describe: 'Adam L2 weight decay' })
    .option('batch', { type: 'number', default: 2, describe: 'batch size' })
    .option('epochs', { type: 'number', describe: `epochs (default 200; fine-tuning a model on up to ${SMALL_SET_ITEMS} images: ${FINE_TUNE_STEPS} steps)` })
    .option('steps', { type: 'number', describe: 'optimizer steps, instead of --epochs' })
    .option('init-weights', { type: 'string', describe: 'weights to start from: .safetensors (smp state dict, ImageNet VGG19 from torchvision/timm, an lmk run), an lmk .onnx model or a shipped model\'s name (new head when the landmark count differs); an lmk model also gives the architecture, grid, sigma, loss, landmark names, shape model and plausibility bound' })
    .option('first-stage', { type: 'string', describe: 'train the refinement stage of this model (a file or a shipped name): crops about each landmark at --crop-factor times its grid\'s resolution; OUT/model.onnx then holds both stages' })
    .option('crop', { type: 'number', default: 64, describe: '--first-stage: crop side in pixels (a multiple of 32)' })
    .option('crop-factor', { type: 'number', default: 2, describe: '--first-stage: crop pixels per first-stage grid pixel' })
    .option('crop-jitter', { type: 'number', default: 1.5, describe: '--first-stage: sigma of the crops\' offsets from the landmark, in first-stage grid pixels (as the first stage misses; a fifth of them spread over the crop)' })
    .option('landmark-names', { type: 'string', describe: 'a file naming the landmarks, one `CODE,name` line each in order (default: the format\'s names, ISBI 2015\'s nineteen; `landmark N` otherwise)' })
    .option('augment', { type: 'boolean', default: true, describe: 'random affine and intensity augmentation (--no-augment)' })
    .option('rotation', { type: 'number', default: DEFAULT_AUGMENT.rotationDeg, describe: 'augmentation: rotation drawn from [-r, r] degrees' })
    .option('scaling', { type: 'number', default: DEFAULT_AUGMENT.scale, describe: 'augmentation: scale drawn from [1 - s, 1 + s]' })
    .option('shift', { type: 'number', default: DEFAULT_AUGMENT.translation, describe: 'augmentation: shift drawn from [-t, t] times the grid size' })
    .option('intensity', { type: 'number', default: 1, describe: 'augmentation: brightness, contrast and gamma ranges times this (0: none)' })
    .option('gamma', { type: 'number', describe: 'augmentation: gamma drawn log-uniformly from [1 / (1 + g), 1 + g] (default: 0.2 times --intensity); other scanners and exposures differ by more than ISBI\'s images do' })
    .option('shuffle', { type: 'boolean', default: true, describe: 'reshuffle every epoch (--no-shuffle: file order)' })
    .option('val-fraction', { type: 'number', describe: `fraction of the training split held out for validation (default 0.1; fine-tuning a model on up to ${SMALL_SET_ITEMS} images: 0)` })
    .option('train-split', { type: 'string', choices: ['train', 'all'] as const, default: 'train' as const, describe: 'train: the published training split; all: every annotated item, test split included (a model to ship, not to score on that test split)' })
    .option('folds', { type: 'number', describe: 'k-fold cross-validation over the training split (with --fold)' })
    .option('fold', { type: 'number', describe: 'the held-out fold, 0 to folds-1' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of initialisation, validation split, data order and augmentation' })
    .option('lr-schedule', { type: 'string', choices: LR_SCHEDULES, describe: `plateau: ReduceLROnPlateau on the validation loss; cosine: --lr down to --min-lr over the run (its steps, or --time-limit). Default plateau; fine-tuning a model on up to ${SMALL_SET_ITEMS} images: cosine` })
    .option('min-lr', { type: 'number', describe: 'cosine: the final rate (default --lr / 100)' })
    .option('warmup-steps', { type: 'number', default: 0, describe: 'cosine: steps of linear warm-up' })
    .option('time-limit', { type: 'number', describe: 'minutes: stop when the time is up (after the steps in progress), validate and end as a finished run' })
    .option('plateau-patience', { type: 'number', default: DEFAULT_PLATEAU.patience, describe: 'ReduceLROnPlateau: epochs without improvement before the rate drops' })
    .option('plateau-factor', { type: 'number', default: DEFAULT_PLATEAU.factor, describe: 'ReduceLROnPlateau: factor of each drop' })
    .option('early-stopping', { type: 'number', default: 20, describe: 'stop after this many epochs without a better validation MRE' })
    .option('checkpoint-every', { type: 'number', default: 0, describe: 'also checkpoint every N steps (0: at epoch ends)' })
    .option('log', { type: 'string', describe: 'JSONL log: {"step", "loss"} per step, training/validation loss and lr per epoch' })
    .option('save', { type: 'string', describe: 'final weights .safetensors (default OUT/model.safetensors)' })
    .option('export', { type: 'string', describe: 'final .onnx model (default OUT/model.onnx)' })
    .option('out', { type: 'string', default: 'lmk-run', describe: 'run folder: checkpoint, best and final model' })
    .option('resume', { type: 'boolean', default: false, describe: 'continue the run in --out from its last checkpoint' })
    .option('threads', { type: 'number', describe: 'ONNX Runtime threads (default: one per core)' })
    .option('ep', { type: 'string', choices: ['cpu', 'cuda'] as const, default: 'cpu' as const, describe: 'execution provider of the training step' })
    .option('workers', { type: 'number', default: 1, describe: 'batch-assembly worker threads' })
    .option('steps-per-run', { type: 'number', describe: 'optimizer steps per ONNX Runtime run, the state kept inside it between them (default: 1 on the CPU; with --ep cuda up to 8, as memory allows)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress bar or summary' })
    .example('$0 train --format isbi2015 --root data/isbi2015 --arch unetplusplus --classes 19 --height 512 --width 416 --epochs 200', 'the paper\'s setting')
    .example('$0 train --format csv --root my-set --init-weights isbi2015-head --out my-model', 'fine-tunes the shipped head model on a hospital\'s own 10-50 annotated images')
    .example('$0 train --format csv --root my-set --no-shuffle --no-augment --val-fraction 0 --steps 10 --lr 1e-3', 'a short deterministic run') as unknown as Argv<TrainArgs>,
  handler: async (args) => {
    validateArgs(args);
    const format = args.format as FormatName;
    // The published training split (csv: every row without a 'test' split): test items are trained on only
    // with --train-split all.
    const dataset = await loadDataset({ format, root: args.root, split: args['train-split'], folds: args.folds, fold: args.fold });
    const classes = args.classes ?? dataset.landmarkCount;
    check(classes === dataset.landmarkCount, `--classes ${classes}: ${args.root} has ${dataset.landmarkCount} landmarks per image`);
    // An lmk model to start from sets the defaults of what it fixes (its architecture, grid, targets, names).
    const base = args['init-weights'] ? readBaseModel(args['init-weights']) : undefined;
    const fixed = (flag: string, given: string | number | undefined, own: string | number | undefined) =>
      check(given === undefined || own === undefined || given === own, `--${flag} ${given}: ${args['init-weights']} is ${own}; leave --${flag} out to fine-tune it`);
    fixed('arch', args.arch, base?.spec.arch);
    fixed('encoder', args.encoder, base?.spec.encoder);
    fixed('width-multiplier', args['width-multiplier'], base?.spec.widthMultiplier);
    const spec: ModelSpec = {
      arch: (args.arch ?? base?.spec.arch ?? 'unetplusplus') as ModelSpec['arch'], encoder: (args.encoder ?? base?.spec.encoder ?? 'vgg19') as ModelSpec['encoder'],
      classes, inChannels: 3, widthMultiplier: args['width-multiplier'] ?? base?.spec.widthMultiplier ?? 1,
    };
    usage(() => resolveSpec(spec, 'lmk train'));
    const firstStage = args['first-stage'] !== undefined ? readFirstStage(args['first-stage']) : undefined;
    const grid = firstStage ? { height: args.crop, width: args.crop }
      : args.height !== undefined ? { height: args.height, width: args.width! } : base?.grid ?? DEFAULT_GRIDS[format];
    if (dataset.missing.length && !args.quiet) process.stderr.write(`lmk train: ${dataset.missing.length} item(s) skipped (first: ${dataset.missing[0].id}: ${dataset.missing[0].reason})\n`);
    // A hospital's few images fine-tuning a model: all of them train, briefly, along a cosine.
    const smallSet = base !== undefined && args.folds === undefined && dataset.items.length <= SMALL_SET_ITEMS;
    // With folds, the dataset above is the other folds and fold --fold validates.
    const items = args.folds === undefined ? holdOut(dataset.items, args['val-fraction'] ?? (smallSet || firstStage ? 0 : 0.1), args.seed)
      : { train: dataset.items, validation: (await loadDataset({ format, root: args.root, split: 'val', folds: args.folds, fold: args.fold })).items };
    const lr = args.lr ?? (smallSet ? FINE_TUNE_LR : 1e-4);
    check(args['min-lr'] === undefined || args['min-lr'] <= lr, `--min-lr must be at most the learning rate (${lr}), got ${args['min-lr']}`);
    const length = args.epochs !== undefined || args.steps !== undefined || !smallSet ? { epochs: args.epochs, steps: args.steps } : { steps: FINE_TUNE_STEPS };
    if (smallSet && !args.quiet) {
      process.stderr.write(`lmk train: fine-tuning ${args['init-weights']} on ${items.train.length} image(s): `
        + `${length.steps !== undefined ? `${length.steps} steps` : `${length.epochs ?? 200} epochs`} at ${lr}, ${args['lr-schedule'] ?? 'cosine'} schedule\n`);
    }

    const landmarkNames = args['landmark-names'] ? await readLandmarkNamesFile(args['landmark-names'], classes)
      : firstStage?.landmarkNames ?? (base?.landmarkNames?.length === classes ? base.landmarkNames : formatLandmarkNames(format, classes));
    const options: TrainOptions = {
      spec, landmarkNames, train: items.train, validation: items.validation, grid, sigma: args.sigma ?? base?.sigma ?? 2, loss: (args.loss ?? base?.loss ?? 'mse') as LossName, lr,
      weightDecay: args['weight-decay'], batch: args.batch, ...length, initWeights: args['init-weights'], keptMetadata: base?.kept, keptRefinements: base?.refinements,
      ...(firstStage ? { refine: { firstStage, factor: args['crop-factor'], jitter: args['crop-jitter'] } } : {}),
      augment: args.augment, augmentation: {
        rotationDeg: args.rotation, scale: args.scaling, translation: args.shift,
        brightness: DEFAULT_AUGMENT.brightness * args.intensity, contrast: DEFAULT_AUGMENT.contrast * args.intensity, gamma: args.gamma ?? DEFAULT_AUGMENT.gamma * args.intensity,
      }, shuffle: args.shuffle, seed: args.seed, outDir: resolve(args.out), resume: args.resume, logFile: args.log,
      saveFile: args.save, exportFile: args.export, lrSchedule: (args['lr-schedule'] ?? (smallSet ? 'cosine' : 'plateau')) as LrSchedule, minLr: args['min-lr'], warmupSteps: args['warmup-steps'],
      timeLimitMinutes: args['time-limit'], plateau: { patience: args['plateau-patience'], factor: args['plateau-factor'] },
      earlyStoppingPatience: args['early-stopping'], checkpointEvery: args['checkpoint-every'], threads: args.threads, executionProvider: args.ep, workers: args.workers, stepsPerRun: args['steps-per-run'],
    };

    // The first SIGINT/SIGTERM stops after the run of steps in progress with a checkpoint; a second one exits at once.
    const controller = new AbortController();
    let stopSignal: keyof typeof STOP_SIGNALS | undefined;
    const onSignal = (signal: keyof typeof STOP_SIGNALS) => {
      if (stopSignal) process.exit(STOP_SIGNALS[signal]);
      stopSignal = signal;
      process.stderr.write(`\nlmk train: ${signal}: stopping after the steps in progress (again to quit at once)\n`);
      controller.abort();
    };
    for (const s of Object.keys(STOP_SIGNALS) as (keyof typeof STOP_SIGNALS)[]) process.on(s, onSignal);

    const bar = progressBar(TRAIN_BAR, args.quiet, 20);
    let result: TrainResult;
    try {
      result = await train(options, {
        signal: controller.signal,
        onStart: ({ startStep, totalSteps }) => bar?.start(totalSteps, startStep, { epoch: '-', loss: '-', lr: '-' }),
        onStep: (s) => bar?.update(s.step, { epoch: s.epoch, loss: s.loss.toPrecision(4), lr: s.lr.toExponential(1) }),
        onEpoch: (e) => {
          if (args.quiet) return;
          bar?.stop();
          const validation = e.validationLoss === undefined ? ''
            : `, val loss ${e.validationLoss.toPrecision(4)}, val MRE ${e.validationMre!.toFixed(2)} ${e.mreUnit}${e.best ? ' (best)' : ''}`;
          process.stderr.write(`epoch ${e.epoch}: train loss ${e.trainLoss.toPrecision(4)}${validation}, lr ${e.lr.toExponential(1)}; `
            + `steps ${e.stepSeconds.toFixed(0)} s, waiting for data ${e.dataWaitSeconds.toFixed(1)} s\n`);
          bar?.start(bar.getTotal(), e.step, { epoch: e.epoch, loss: '-', lr: e.lr.toExponential(1) });
        },
      });
    } finally {
      bar?.stop();
      for (const s of Object.keys(STOP_SIGNALS) as (keyof typeof STOP_SIGNALS)[]) process.off(s, onSignal);
    }
    report(result, args.quiet);
    if (result.status === 'interrupted' && stopSignal) process.exitCode = STOP_SIGNALS[stopSignal];
  },
};
