#!/usr/bin/env node
import { existsSync } from 'fs';
import { Argv, CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { benchInference, benchTrainStep, formatInferenceBench, formatTrainBench } from '../bench';
import type { ExecutionProvider } from '../infer';
import { ARCHS, ENCODERS, ModelSpec, resolveSpec } from '../models';
import { resolveModelFile } from '../models/shipped';
import { LOSSES, LossName } from '../train/step-graph';
import { check, usage } from './validate';
import { runCli } from './run';

interface BenchArgs {
  model?: string;
  input?: string;
  synthetic: boolean;
  height?: number;
  width?: number;
  runs: number;
  warmup: number;
  ep: string;
  batch: number;
  threads?: number;
  workers: number;
  json: boolean;
  train: boolean;
  arch: string;
  encoder: string;
  classes?: number;
  'width-multiplier': number;
  steps: number;
  loss: string;
  'steps-per-run'?: number;
}

function validate(a: BenchArgs): void {
  const whole = (v: number | undefined, flag: string, min: number) => check(v === undefined || (Number.isInteger(v) && v >= min), `--${flag} must be a whole number >= ${min}, got ${v}`);
  whole(a.height, 'height', 1);
  whole(a.width, 'width', 1);
  whole(a.runs, 'runs', 1);
  whole(a.warmup, 'warmup', 0);
  whole(a.batch, 'batch', 1);
  whole(a.threads, 'threads', 1);
  whole(a.workers, 'workers', 0);
  whole(a.steps, 'steps', 1);
  whole(a['steps-per-run'], 'steps-per-run', 1);
  whole(a.classes, 'classes', 1);
  check((a.height === undefined) === (a.width === undefined), '--height and --width go together');
  if (a.train) {
    check(a.model === undefined && a.input === undefined && !a.synthetic, '--train times the training step of a new network: leave out --model, --input and --synthetic');
    check(a.classes !== undefined && a.height !== undefined, '--train needs --classes, --height and --width');
    return;
  }
  check(a.model !== undefined, 'give --model M.onnx (or --train)');
  a.model = usage(() => resolveModelFile(a.model!, '--model '));
  check(!(a.input !== undefined && a.synthetic), 'give --input or --synthetic, not both');
  check(a.input === undefined || existsSync(a.input), `--input ${a.input}: no such file or folder`);
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: '$0',
  describe: 'Inference throughput and latency, end to end and session only (or --train: the training step)',
  builder: (y: Argv) => y
    .option('model', { type: 'string', describe: 'an .onnx model (lmk export / lmk train), or a shipped model\'s name (lmk models)' })
    .option('input', { type: 'string', describe: 'a folder (or file) of real images, cycled as needed' })
    .option('synthetic', { type: 'boolean', default: false, describe: 'a synthetic 1935x2400 JPEG (the default without --input)' })
    .option('height', { type: 'number', describe: 'grid height (default: stored in the model)' })
    .option('width', { type: 'number', describe: 'grid width (default: stored in the model)' })
    .option('runs', { type: 'number', default: 10, describe: 'timed session runs (batches), end to end and session only' })
    .option('warmup', { type: 'number', default: 2, describe: 'untimed runs (training: steps) first' })
    .option('ep', { type: 'string', choices: ['cpu', 'cuda'], default: 'cpu', describe: 'execution provider' })
    .option('batch', { type: 'number', default: 1, describe: 'images per session run (training: per step)' })
    .option('threads', { type: 'number', describe: 'ONNX Runtime intra-op threads (default: as lmk predict chooses: one per physical core, or for light models the cores the workers leave)' })
    .option('workers', { type: 'number', default: 1, describe: 'threads decoding and preprocessing images (0: on the main thread)' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' })
    .option('train', { type: 'boolean', default: false, describe: 'time the training step (forward, backward, Adam) instead' })
    .option('arch', { type: 'string', choices: ARCHS, default: 'unetplusplus', describe: '--train: decoder architecture' })
    .option('encoder', { type: 'string', choices: Object.keys(ENCODERS), default: 'vgg19', describe: '--train: encoder' })
    .option('classes', { type: 'number', describe: '--train: number of heatmaps' })
    .option('width-multiplier', { type: 'number', default: 1, describe: '--train: scale every channel count (0, 1]' })
    .option('steps', { type: 'number', default: 5, describe: '--train: timed steps (after --warmup untimed ones)' })
    .option('loss', { type: 'string', choices: LOSSES, default: 'mse', describe: '--train: loss' })
    .option('steps-per-run', { type: 'number', describe: '--train: optimizer steps per ONNX Runtime run (default: as lmk train chooses)' })
    .example('$0 --model head.onnx --input isbi2015/RawImage/TrainingData --height 512 --width 416 --runs 10 --warmup 2', 'real images')
    .example('$0 --model head.onnx --synthetic --json', 'no data needed')
    .example('$0 --train --arch unetplusplus --encoder vgg19 --classes 19 --height 512 --width 416 --batch 2 --steps 5 --json', 'training step') as unknown as Argv<BenchArgs>,
  handler: async (a) => {
    validate(a);
    if (a.train) {
      const spec: ModelSpec = { arch: a.arch as ModelSpec['arch'], encoder: a.encoder as ModelSpec['encoder'], classes: a.classes!, inChannels: 3, widthMultiplier: a['width-multiplier'] };
      usage(() => resolveSpec(spec, 'lmk-bench --train'));
      check(a.height! % 32 === 0 && a.width! % 32 === 0, `--train: --height and --width must be multiples of 32, got ${a.height}x${a.width}`);
      const r = await benchTrainStep(spec, { batch: a.batch, height: a.height!, width: a.width!, steps: a.steps, warmup: a.warmup, loss: a.loss as LossName, threads: a.threads, executionProvider: a.ep as ExecutionProvider, stepsPerRun: a['steps-per-run'] });
      process.stdout.write(a.json ? `${JSON.stringify(r)}\n` : `${formatTrainBench(r)}\n`);
      return;
    }
    const r = await benchInference({
      model: a.model!,
      grid: a.height !== undefined ? { height: a.height, width: a.width! } : undefined,
      input: a.input,
      runs: a.runs,
      warmup: a.warmup,
      batch: a.batch,
      executionProvider: a.ep as ExecutionProvider,
      threads: a.threads,
      workers: a.workers,
    });
    process.stdout.write(a.json ? `${JSON.stringify(r)}\n` : `${formatInferenceBench(r)}\n`);
  },
};

export const BENCH_USAGE = 'lmk-bench [options]\n\nLatency and throughput of lmk models.';

if (require.main === module) void runCli('lmk-bench', hideBin(process.argv), [benchCommand], BENCH_USAGE);
