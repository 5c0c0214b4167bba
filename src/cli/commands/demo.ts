import { CommandModule } from 'yargs';
import { progressBar } from '../progress';
import { DEMO_RECIPE, runDemo } from '../../demo/run';
import { check, checkPositiveInt } from '../validate';

interface DemoArgs {
  out: string;
  seed: number;
  steps: number;
  threads?: number;
  quiet: boolean;
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'The main job on a built-in synthetic data set: train a small U-Net++/VGG19 on the CPU, evaluate against the mean shape, predict, report',
  builder: (y) => y
    .option('out', { type: 'string', default: './lmk-demo', describe: 'output folder (report.md, report.json, model, overlays)' })
    .option('seed', { type: 'number', default: 1, describe: 'seed of the data, initialisation and batches' })
    .option('steps', { type: 'number', default: DEMO_RECIPE.steps, describe: 'training steps' })
    .option('threads', { type: 'number', describe: 'ONNX Runtime threads (default: all cores)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'print only the result' }),
  handler: async (args) => {
    checkPositiveInt(args.steps, 'steps');
    checkPositiveInt(args.threads, 'threads');
    check(Number.isInteger(args.seed) && args.seed >= 0, `--seed must be a whole number >= 0, got ${args.seed}`);
    const say = (line: string) => { if (!args.quiet) process.stderr.write(`${line}\n`); };
    const bar = progressBar('demo training |{bar}| step {value}/{total} | loss {loss} | {eta_formatted} left', args.quiet, 30);
    let lastLine = 0;
    const report = await runDemo({ out: args.out, seed: args.seed, steps: args.steps, threads: args.threads }, {
      onPhase: (phase) => { bar?.stop(); say(`lmk demo: ${phase}`); },
      train: {
        onStart: ({ startStep, totalSteps }) => bar?.start(totalSteps, startStep, { loss: '-' }),
        onStep: ({ step, totalSteps, loss }) => {
          bar?.update(step, { loss: loss.toPrecision(3) });
          // Without a terminal, a line every 30 s says the run is alive.
          if (!bar && Date.now() - lastLine > 30_000) {
            lastLine = Date.now();
            say(`  step ${step}/${totalSteps} loss ${loss.toPrecision(3)}`);
          }
        },
      },
    });
    bar?.stop();
    const sdr = Object.entries(report.metrics.sdr).map(([t, p]) => `SDR@${t}px ${p.toFixed(1)}%`).join(', ');
    console.log(`model MRE ${report.metrics.mre.toFixed(2)} ${report.metrics.mre_unit} (${sdr}); mean-shape baseline MRE ${report.baseline.mre.toFixed(2)} ${report.metrics.mre_unit}: ${report.improvement.toFixed(1)}x better`);
    console.log(`report: ${report.files.report_md}`);
  },
};
