#!/usr/bin/env node
// Heatmap render/decode benchmark (a command, not a test): native addon vs the TypeScript reference, and
// decode against a memory-bandwidth estimate (bytes of heatmaps read / measured memcpy bandwidth).
// Defaults are the hand grid: B=2, K=37, 512x368. Run after `npm run build` (it uses dist/):
//   node scripts/bench-heatmaps.js [--batch 2] [--landmarks 37] [--height 512] [--width 368] [--sigma 3]
//                                  [--repeat 15] [--threads N] [--json]
// Timings are medians over --repeat runs after one warm-up; on a shared machine they are noisy.
const { performance } = require('perf_hooks');
const { existsSync } = require('fs');
const { join } = require('path');
const yargs = require('yargs/yargs');

const dist = join(__dirname, '..', 'dist', 'heatmaps', 'index.js');
if (!existsSync(dist)) {
  console.error(`bench-heatmaps: ${dist} does not exist; run \`npm run build\` first.`);
  process.exit(1);
}
const heatmaps = require(dist);

const argv = yargs(process.argv.slice(2))
  .strict()
  .option('batch', { type: 'number', default: 2 })
  .option('landmarks', { type: 'number', default: 37 })
  .option('height', { type: 'number', default: 512 })
  .option('width', { type: 'number', default: 368 })
  .option('sigma', { type: 'number', default: 3 })
  .option('repeat', { type: 'number', default: 15 })
  .option('threads', { type: 'number', describe: 'native threads (default: available parallelism)' })
  .option('json', { type: 'boolean', default: false, describe: 'print the figures as JSON' })
  .check((a) => {
    for (const k of ['batch', 'landmarks', 'height', 'width', 'repeat']) {
      if (!Number.isInteger(a[k]) || a[k] < 1) throw new Error(`--${k} must be a positive integer (got ${a[k]})`);
    }
    if (!(a.sigma > 0)) throw new Error(`--sigma must be positive (got ${a.sigma})`);
    return true;
  })
  .parseSync();

const { batch: B, landmarks: K, height: H, width: W, sigma, repeat } = argv;
const count = B * K;
const bytes = count * H * W * 4;

/** Median and minimum milliseconds of fn over `repeat` runs after one warm-up. */
function time(fn) {
  fn();
  const ms = [];
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], min: ms[0] };
}

// Landmarks spread over the grid, sub-pixel, deterministic.
const points = new Float32Array(2 * count).map((_, i) => {
  const t = ((i * 2654435761) % 1000) / 1000;
  return 8 + t * ((i % 2 ? H : W) - 16);
});
const native = heatmaps.nativeInfo();
const nativeOpts = { backend: 'cpu', ...(argv.threads ? { threads: argv.threads } : {}) };
const rows = [];

// Render into a reused output (as a training loop does): a fresh 50 MiB array per call mostly measures the
// kernel's page faults on first touch, shown once as 'render, fresh out'.
const out = new Float32Array(count * H * W);
rows.push({ what: 'render', impl: 'reference', ...time(() => heatmaps.reference.renderHeatmaps(points, H, W, { sigma, out })) });
if (native.available) {
  rows.push({ what: 'render', impl: 'native', ...time(() => heatmaps.renderHeatmaps(points, H, W, { sigma, out, ...nativeOpts })) });
  rows.push({ what: 'render, fresh out', impl: 'native', ...time(() => heatmaps.renderHeatmaps(points, H, W, { sigma, ...nativeOpts })) });
}

const maps = heatmaps.reference.renderHeatmaps(points, H, W, { sigma });
for (const method of heatmaps.DECODE_METHODS) {
  rows.push({ what: `decode ${method}`, impl: 'reference', ...time(() => heatmaps.reference.decodeHeatmaps(maps, count, H, W, { method, sigma })) });
  if (native.available) {
    rows.push({ what: `decode ${method}`, impl: 'native', ...time(() => heatmaps.decodeHeatmaps(maps, count, H, W, { method, sigma, ...nativeOpts })) });
  }
  if (native.cudaDevices > 0) {
    rows.push({ what: `decode ${method}`, impl: 'cuda', ...time(() => heatmaps.decodeHeatmaps(maps, count, H, W, { method, sigma, backend: 'cuda' })) });
  }
}
if (native.cudaDevices > 0) rows.push({ what: 'render', impl: 'cuda', ...time(() => heatmaps.renderHeatmaps(points, H, W, { sigma, out, backend: 'cuda' })) });

// memcpy bandwidth on a buffer as large as the heatmaps (TypedArray.set is a memcpy); the bandwidth
// estimate of a decode is the time to stream its input once at that rate.
const src = new Uint8Array(bytes).fill(1);
const dst = new Uint8Array(bytes);
const copy = time(() => dst.set(src));
const bandwidth = bytes / (copy.median / 1000);
const estimateMs = (bytes / bandwidth) * 1000;

const find = (what, impl) => rows.find((r) => r.what === what && r.impl === impl);
const summary = heatmaps.DECODE_METHODS.map((method) => {
  const ref = find(`decode ${method}`, 'reference');
  const nat = find(`decode ${method}`, 'native');
  return nat && { method, speedup: ref.median / nat.median, overEstimate: nat.median / estimateMs };
}).filter(Boolean);

if (argv.json) {
  console.log(JSON.stringify({ batch: B, landmarks: K, height: H, width: W, sigma, repeat, native, rows, memcpyGBs: bandwidth / 1e9, estimateMs, summary }, null, 2));
} else {
  console.log(`heatmaps: B=${B} K=${K} ${H}x${W} sigma=${sigma}: ${(bytes / 2 ** 20).toFixed(1)} MiB of float32; median (min) of ${repeat} runs`);
  console.log(`native: ${native.available ? native.path + (native.cuda ? ` (CUDA build, ${native.cudaDevices} devices)` : ' (CPU build)') : `not available (${native.reason})`}`);
  for (const r of rows) console.log(`  ${r.what.padEnd(20)} ${r.impl.padEnd(10)} ${r.median.toFixed(2).padStart(9)} ms  (${r.min.toFixed(2)})`);
  console.log(`memcpy: ${(bandwidth / 1e9).toFixed(2)} GB/s -> bandwidth estimate for one decode: ${estimateMs.toFixed(2)} ms`);
  const render = [find('render', 'reference'), find('render', 'native')];
  if (render[1]) console.log(`  render                native is ${(render[0].median / render[1].median).toFixed(1)}x the reference`);
  for (const s of summary) {
    console.log(`  decode ${s.method.padEnd(13)} native is ${s.speedup.toFixed(1)}x the reference (goal >= 3x), ${s.overEstimate.toFixed(2)}x the bandwidth estimate (goal <= 2x)`);
  }
}
