import type { TrainBenchResult } from '../train/bench';

/** The readable table `lmk-bench --train` prints without --json. */
export function formatTrainBench(r: TrainBenchResult): string {
  const rows: [string, string][] = [
    ['execution provider', r.execution_provider],
    ['batch, grid (h x w)', `${r.batch}, ${r.height} x ${r.width}`],
    ['parameters', r.parameters.toLocaleString('en-US')],
    ['setup (compile + session)', `${r.setup_s.toFixed(2)} s`],
    ['steps per run', String(r.steps_per_run)],
    ['warm-up runs (untimed)', r.warmup_s.length ? r.warmup_s.map((t) => `${t.toFixed(2)} s`).join(', ') : 'none'],
    ['step min/median/max', `${r.step_s.min.toFixed(3)} / ${r.step_s.median.toFixed(3)} / ${r.step_s.max.toFixed(3)} s`],
    ['convolutions per step', `${r.conv_gflop.toFixed(1)} GFLOP, ${r.conv_gflop_s.toFixed(1)} GFLOP/s at the median step`],
    ['MatMul rate (same provider)', `${r.matmul_gflop_s.toFixed(1)} GFLOP/s`],
    ['losses', r.losses.map((l) => l.toPrecision(4)).join(', ')],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
