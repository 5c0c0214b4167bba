import { existsSync, readFileSync } from 'fs';
import { mkdir } from 'fs/promises';
import { join } from 'path';
import { writeFileAtomic } from '../../util/fs';
import { progressBar } from '../progress';
import { Argv } from 'yargs';
import { ARCHS, ENCODERS, ModelSpec, resolveSpec } from '../../models';
import type { TrainHooks } from '../../train/loop';
import { LOSSES, LossName } from '../../train/step-graph';
import { RunEvent, StudyInit, StudyTrainSettings, UnfinishedRunsError } from '../../study';
import { UsageError } from '../errors';
import { checkPositiveInt, usage } from '../validate';

/** Options `lmk cv` and `lmk study` share: initialisation, training settings, reports. */
export interface StudyTrainArgs {
  arch: string;
  encoder: string;
  init?: string;
  out: string;
  epochs?: number;
  steps?: number;
  lr: number;
  batch: number;
  sigma: number;
  loss: string;
  'width-multiplier': number;
  'val-fraction': number;
  seed: number;
  threads?: number;
  ep: 'cpu' | 'cuda';
  overlays: number;
  quiet: boolean;
}

export function withStudyTrainOptions<T>(y: Argv<T>, defaultOut: string): Argv<T & StudyTrainArgs> {
  return y
    .option('arch', { type: 'string', choices: ARCHS, default: 'unetplusplus', describe: 'decoder architecture (smp layout)' })
    .option('encoder', { type: 'string', choices: Object.keys(ENCODERS), default: 'vgg19', describe: 'encoder (the paper\'s Table 1: vgg19, resnext101_32x8d, efficientnet-b7)' })
    .option('init', { type: 'string', describe: "'imagenet:FILE' (the encoder's ImageNet .safetensors: torchvision/timm VGG19 or ResNeXt, efficientnet-pytorch B7) or 'scratch' (random initialisation)" })
    .option('out', { type: 'string', default: defaultOut, describe: 'folder for the runs (one subfolder each) and the report; rerunning resumes' })
    .option('epochs', { type: 'number', describe: 'epochs per training run (default 200)' })
    .option('steps', { type: 'number', describe: 'optimizer steps per training run, instead of --epochs' })
    .option('lr', { type: 'number', default: 1e-4, describe: 'learning rate' })
    .option('batch', { type: 'number', default: 2, describe: 'batch size' })
    .option('sigma', { type: 'number', default: 2, describe: 'target Gaussian sigma in grid pixels' })
    .option('loss', { type: 'string', choices: LOSSES, default: 'mse', describe: 'training loss (the paper: mse; softmax_ce learns far sooner from scratch)' })
    .option('width-multiplier', { type: 'number', default: 1, describe: 'scale every channel count (0, 1]: small models for CPUs' })
    .option('val-fraction', { type: 'number', default: 0.1, describe: 'fraction of each training set held out for the schedule and early stopping' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of every run' })
    .option('threads', { type: 'number', describe: 'ONNX Runtime threads' })
    .option('ep', { type: 'string', choices: ['cpu', 'cuda'] as const, default: 'cpu' as const, describe: 'execution provider of the training steps (cuda: after lmk setup cuda, on a GPU)' })
    .option('overlays', { type: 'number', default: 4, describe: 'overlay images per reported run (0: none)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress bar' }) as unknown as Argv<T & StudyTrainArgs>;
}

/** 'scratch' or 'imagenet:FILE'; `allowBareImagenet` accepts 'imagenet' alone (for --plan, which trains nothing). */
export function parseInit(value: string | undefined, allowBareImagenet = false): { init: StudyInit; weights?: string } {
  if (value === undefined) throw new UsageError("give --init imagenet:FILE (the encoder's ImageNet weights) or --init scratch");
  if (value === 'scratch') return { init: 'scratch' };
  if (value === 'imagenet' && allowBareImagenet) return { init: 'imagenet' };
  const m = /^imagenet:(.+)$/.exec(value);
  if (!m) throw new UsageError(`--init must be 'imagenet:FILE' or 'scratch', got '${value}'`);
  if (!existsSync(m[1])) throw new UsageError(`--init imagenet:${m[1]}: no such file`);
  return { init: 'imagenet', weights: m[1] };
}

export function validateStudyTrainArgs(args: StudyTrainArgs): StudyTrainSettings {
  const arch = args.arch as ModelSpec['arch'];
  const encoder = args.encoder as ModelSpec['encoder'];
  usage(() => resolveSpec({ arch, encoder, classes: 1, inChannels: 3 }, '--arch/--encoder'));
  checkPositiveInt(args.epochs, 'epochs');
  checkPositiveInt(args.steps, 'steps');
  checkPositiveInt(args.batch, 'batch');
  checkPositiveInt(args.threads, 'threads');
  if (args.epochs !== undefined && args.steps !== undefined) throw new UsageError('give --epochs or --steps, not both');
  if (!(args.lr > 0)) throw new UsageError(`--lr must be a positive number, got ${args.lr}`);
  if (!(args.sigma > 0)) throw new UsageError(`--sigma must be a positive number, got ${args.sigma}`);
  if (!(args['width-multiplier'] > 0 && args['width-multiplier'] <= 1)) throw new UsageError(`--width-multiplier must be in (0, 1], got ${args['width-multiplier']}`);
  if (!(args['val-fraction'] >= 0 && args['val-fraction'] < 1)) throw new UsageError(`--val-fraction must be in [0, 1), got ${args['val-fraction']}`);
  if (!(Number.isInteger(args.seed) && args.seed >= 0 && args.seed <= 0xffffffff)) throw new UsageError(`--seed must be a whole number in [0, 4294967295], got ${args.seed}`);
  if (!(Number.isInteger(args.overlays) && args.overlays >= 0)) throw new UsageError(`--overlays must be a whole number >= 0, got ${args.overlays}`);
  return {
    arch, encoder, epochs: args.epochs, steps: args.steps, lr: args.lr, batch: args.batch, sigma: args.sigma, loss: args.loss as LossName,
    widthMultiplier: args['width-multiplier'], valFraction: args['val-fraction'], threads: args.threads,
    executionProvider: args.ep,
  };
}

/** The trained model in words, for report headings: 'deeplabv3 / efficientnet-b7, width 0.125, 3 steps, init scratch'. */
export function describeStudyModel(settings: StudyTrainSettings, init: string): string {
  const length = settings.steps !== undefined ? `${settings.steps} steps` : `up to ${settings.epochs ?? 200} epochs`;
  const grid = settings.grid ? `, grid ${settings.grid.height}x${settings.grid.width}` : '';
  return `${settings.arch} / ${settings.encoder}, width ${settings.widthMultiplier}${grid}, ${settings.loss ?? 'mse'} loss, ${length}, init ${init}`;
}

/** `--report` of the commands whose runs an array job shares (`lmk cv`, `lmk study`). */
export function withReportOption<T>(y: Argv<T>): Argv<T> {
  return y.option('report', { type: 'boolean', default: false, describe: 'train nothing: write the report from the finished runs (exit 1 naming the runs not finished); after the tasks of an array job (--shard)' });
}

/**
 * Where runs are missing: with --report a failure naming them (exit 1); for a shard that has done its share,
 * a line saying so and how to report once every task has ended. Other errors pass through.
 */
export function unfinishedRuns(err: unknown, program: string, report: boolean): void {
  if (!(err instanceof UnfinishedRunsError) || report) throw err;
  process.stderr.write(`${program}: this task's runs are finished; ${err.message}. Once every task has ended: ${program} ... --report\n`);
}

/**
 * Finished runs are skipped on a rerun, so a rerun into the same folder with settings that change what is
 * computed (another encoder, say) would report runs it did not make. The first run records those settings
 * in OUT/settings.json; later runs must match them.
 */
export async function checkOutputSettings(outDir: string, settings: StudyTrainSettings, extra: { init: string; seed: number }): Promise<void> {
  const current: Record<string, unknown> = {
    arch: settings.arch, encoder: settings.encoder, widthMultiplier: settings.widthMultiplier, grid: settings.grid ?? 'the format\'s',
    sigma: settings.sigma, loss: settings.loss ?? 'mse', lr: settings.lr, batch: settings.batch, epochs: settings.epochs ?? null, steps: settings.steps ?? null,
    valFraction: settings.valFraction, init: extra.init, seed: extra.seed,
  };
  await mkdir(outDir, { recursive: true });
  const path = join(outDir, 'settings.json');
  if (existsSync(path)) {
    let recorded: Record<string, unknown>;
    try {
      recorded = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new UsageError(`${path}: not readable JSON (${(err as Error).message}); use another --out`);
    }
    const differing = Object.keys(current).filter((k) => JSON.stringify(recorded[k]) !== JSON.stringify(current[k]));
    if (differing.length > 0) {
      const what = differing.map((k) => `${k} ${JSON.stringify(recorded[k])} (now ${JSON.stringify(current[k])})`).join(', ');
      throw new UsageError(`${path}: the runs in this folder were made with ${what}; use another --out, or the same settings to resume`);
    }
    return;
  }
  await writeFileAtomic(path, JSON.stringify(current, null, 2) + '\n');
}

/**
 * A progress bar over the steps of the current run, labelled with the run and its place in the
 * sequence, and a signal that stops training after the current step on SIGINT/SIGTERM (with a
 * checkpoint, so that rerunning the command resumes).
 */
export function studyProgress(program: string, quiet: boolean): { hooks: (runId: string) => TrainHooks; onEvent: (e: RunEvent) => void; dispose: () => void } {
  const controller = new AbortController();
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(signal === 'SIGINT' ? 130 : 143);
    stopping = true;
    process.stderr.write(`\n${program}: ${signal}: stopping after this step (again to quit at once); rerun to resume\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const bar = progressBar('{run} |{bar}| step {value}/{total} | loss {loss} | {eta_formatted} left', quiet, 20);
  let run = '';
  const say = (line: string): void => { if (!quiet) process.stderr.write(`${line}\n`); };
  return {
    onEvent: (e) => {
      run = `run ${e.index + 1}/${e.total} ${e.runId}`;
      if (e.state === 'skipped') say(`${run}: finished earlier, skipped`);
      if (e.state === 'waiting') say(`${run}: waiting for shard ${e.claim!.shard} (${e.claim!.host} pid ${e.claim!.pid}), which trains it`);
      if (e.state === 'training') say(`${run}: training`);
      if (e.state === 'evaluating') { bar?.stop(); say(`${run}: evaluating`); }
      if (e.state === 'finished') say(`${run}: finished`);
    },
    hooks: () => ({
      signal: controller.signal,
      onStart: ({ startStep, totalSteps }) => bar?.start(totalSteps, startStep, { run, loss: '-' }),
      onStep: ({ step, loss }) => bar?.update(step, { run, loss: loss.toPrecision(4) }),
    }),
    dispose: () => {
      bar?.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
