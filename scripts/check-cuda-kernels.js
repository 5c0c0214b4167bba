#!/usr/bin/env node
// Dev check (needs an NVIDIA GPU): the CUDA heatmap kernels against the CPU ones of the same addon.
// Build first with `npm run build:cuda`, then:
//   node scripts/check-cuda-kernels.js [--quick] [--addon path/to/lmk_heatmaps.node]
// Renders and decodes (argmax, soft-argmax, gaussian-fit) a set of cases on both backends through the raw
// binding (sync and async forms) and exits 1 on any mismatch, or when the addon has no CUDA or sees no
// device. Tolerances: rendered values within 1e-6 absolute (float32 rounding of the same double
// arithmetic: CUDA's exp may differ from libm's in the last place); decoded points within 1e-5 relative
// (as test/heatmaps does); scores bit for bit, NaN for NaN, -0 for -0.
// --quick: small cases only (for compute-sanitizer). Timings of both backends: scripts/bench-heatmaps.js.
const { existsSync } = require('fs');
const { join, resolve } = require('path');
const { availableParallelism } = require('os');

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const addonAt = argv.indexOf('--addon');
const path = resolve(
  addonAt >= 0 ? argv[addonAt + 1] : process.env.LMK_NATIVE_ADDON || join(__dirname, '..', 'build-cuda', 'Release', 'lmk_heatmaps.node'),
);
if (!existsSync(path)) {
  console.error(`check-cuda-kernels: ${path} does not exist; build it with \`npm run build:cuda\`.`);
  process.exit(1);
}
const addon = require(path);
const random = join(__dirname, '..', 'dist', 'util', 'random.js');
if (!existsSync(random)) {
  console.error(`check-cuda-kernels: ${random} does not exist; run \`npm run build\` first.`);
  process.exit(1);
}
const { mulberry32 } = require(random);
const info = addon.info();
console.log(`addon ${path}: ${JSON.stringify(info)}`);
if (!info.cuda || !(info.cudaDevices > 0)) {
  console.error(`check-cuda-kernels: no CUDA ${info.cuda ? `device (${info.cudaError || 'none found'})` : 'in this build'}; nothing checked.`);
  process.exit(1);
}

const THREADS = Math.min(availableParallelism(), 64);
const METHODS = ['argmax', 'soft-argmax', 'gaussian-fit'];

let failures = 0;
let checks = 0;
function fail(what, detail) {
  failures++;
  console.error(`MISMATCH ${what}: ${detail}`);
}

/** Largest |a - b| (NaN where only one side is NaN), where it is (first), and how many values differ at all. */
function compare(a, b) {
  let maxAbs = 0;
  let maxRel = 0;
  let differ = 0;
  let first;
  for (let i = 0; i < a.length; i++) {
    if (Object.is(a[i], b[i])) continue;
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) return { maxAbs: NaN, maxRel: NaN, differ: differ + 1, first: i };
    differ++;
    const d = Math.abs(a[i] - b[i]);
    if (d > maxAbs) first = i;
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / Math.max(1, Math.abs(b[i])));
  }
  return { maxAbs, maxRel, differ, first };
}

function sameBits(a, b) {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

const worst = { render: 0, decode: 0 };

function landmarks(count, height, width, rnd, spread = 1.2) {
  return new Float32Array(2 * count).map((_, i) => (rnd() * spread - (spread - 1) / 2) * (i % 2 ? height : width));
}

function render(points, height, width, sigma, radius, cuda, out, zeroed = false) {
  out ??= new Float32Array((points.length / 2) * height * width);
  return addon.render(points, height, width, sigma, radius, out, zeroed, THREADS, cuda);
}

async function checkRender(name, points, height, width, sigma, radius) {
  const count = points.length / 2;
  checks++;
  const cpu = render(points, height, width, sigma, radius, false);
  // The CUDA path must overwrite a dirty output (zeroed: false) and leave a clean one right (zeroed: true).
  const dirty = new Float32Array(count * height * width).fill(7.5);
  const gpu = render(points, height, width, sigma, radius, true, dirty, false);
  const gpuZeroed = render(points, height, width, sigma, radius, true, undefined, true);
  const gpuAsync = await addon.renderAsync(points, height, width, sigma, radius, new Float32Array(count * height * width).fill(-1), false, THREADS, true);
  const c = compare(gpu, cpu);
  worst.render = Math.max(worst.render, c.maxAbs);
  if (!(c.maxAbs <= 1e-6)) fail(`render ${name}`, `max |cuda - cpu| = ${c.maxAbs} (${c.differ} values differ${c.first !== undefined ? `, worst at ${c.first}` : ''})`);
  if (sameBits(gpuZeroed, gpu) >= 0) fail(`render ${name}`, 'outZeroed true and false differ');
  if (sameBits(gpuAsync, gpu) >= 0) fail(`render ${name}`, 'renderAsync differs from render');
  return { cpu, c };
}

function decode(maps, count, height, width, method, window, cuda) {
  const points = new Float32Array(2 * count).fill(123);
  const scores = new Float32Array(count).fill(123);
  addon.decode(maps, count, height, width, METHODS.indexOf(method), window, points, scores, THREADS, cuda);
  return { points, scores };
}

async function checkDecode(name, maps, count, height, width, window) {
  for (const method of METHODS) {
    checks++;
    const cpu = decode(maps, count, height, width, method, window, false);
    const gpu = decode(maps, count, height, width, method, window, true);
    const asyncPoints = new Float32Array(2 * count);
    const asyncScores = new Float32Array(count);
    await addon.decodeAsync(maps, count, height, width, METHODS.indexOf(method), window, asyncPoints, asyncScores, THREADS, true);
    const c = compare(gpu.points, cpu.points);
    worst.decode = Math.max(worst.decode, c.maxRel);
    const label = `decode ${name} ${method} window ${window}`;
    if (!(c.maxRel <= 1e-5)) fail(label, `points: max relative |cuda - cpu| = ${c.maxRel} (${c.differ} differ${c.first !== undefined ? `, worst at ${c.first}: cuda ${gpu.points[c.first]} cpu ${cpu.points[c.first]}` : ''})`);
    const s = sameBits(gpu.scores, cpu.scores);
    if (s >= 0) fail(label, `scores[${s}]: cuda ${gpu.scores[s]} cpu ${cpu.scores[s]}`);
    if (sameBits(asyncPoints, gpu.points) >= 0 || sameBits(asyncScores, gpu.scores) >= 0) fail(label, 'decodeAsync differs from decode');
  }
}

function withNoise(maps, amplitude, rnd) {
  return maps.map((v) => v + (2 * rnd() - 1) * amplitude);
}

async function main() {
  const rnd = mulberry32(1);
  const shapes = quick
    ? [[1, 1, 1], [3, 7, 5], [6, 33, 17], [4, 64, 48]]
    : [[1, 1, 1], [3, 7, 5], [6, 33, 17], [5, 1, 300], [5, 300, 1], [24, 96, 72], [74, 512, 368], [38, 512, 512], [3, 257, 2049]];
  for (const [count, height, width] of shapes) {
    for (const [sigma, radius] of [[1.5, 4.5], [3, 9], [4, 7.5], [2, 1e6], [0.3, 0.5]]) {
      const points = landmarks(count, height, width, rnd);
      const name = `${count}x${height}x${width} sigma ${sigma} radius ${radius}`;
      const { cpu } = await checkRender(name, points, height, width, sigma, radius);
      if (sigma === 3 || sigma === 0.3) {
        for (const window of [1, 2, Math.ceil(3 * sigma), 50]) {
          await checkDecode(`${name} (clean)`, cpu, count, height, width, window);
          await checkDecode(`${name} (noisy)`, withNoise(cpu, 0.1, rnd), count, height, width, window);
        }
      }
    }
  }
  // Landmarks far outside, exactly on pixel centres and on the borders.
  const edge = new Float32Array([-1e30, 5, 1e30, 1e30, 0, 0, 63, 47, 0.5, 0.5, 31, 23.5, -4, 10, 66.9, 50.9]);
  await checkRender('edge landmarks 8x48x64', edge, 48, 64, 2, 6);

  // NaN pixels, ties (first pixel wins), all-NaN, all -inf, -0 against +0, +inf, all-negative, constant.
  const [K, H, W] = [10, 9, 37];
  const plane = H * W;
  const maps = new Float32Array(K * plane).map(() => Math.round(rnd() * 4) / 4);
  for (let k = 0; k < plane; k += 7) maps[k] = NaN;
  maps.fill(NaN, plane, 2 * plane);
  maps.fill(-Infinity, 2 * plane, 3 * plane);
  maps.fill(-0, 3 * plane, 4 * plane);
  maps[3 * plane + 5] = 0;
  maps[4 * plane + 100] = Infinity;
  maps[4 * plane + 200] = Infinity;
  for (let k = 5 * plane; k < 6 * plane; k++) maps[k] = -1 - rnd();
  maps.fill(0.25, 6 * plane, 7 * plane);
  maps.fill(NaN, 7 * plane, 8 * plane);
  maps[8 * plane - 1] = -5; // the only comparable pixel is the last
  for (let k = 8 * plane; k < 9 * plane; k++) maps[k] = rnd() < 0.5 ? 1e-30 : 1e30; // extremes in the fit
  for (let k = 9 * plane; k < 10 * plane; k++) maps[k] = rnd() < 0.5 ? 3.4e38 : -3.4e38;
  for (const window of [1, 2, 5, 40]) await checkDecode('special values 10x9x37', maps, K, H, W, window);

  if (!quick) {
    // Many heatmaps, and one large plane (the block-wide scan over > 2^22 pixels).
    const many = landmarks(3000, 40, 30, rnd);
    const { cpu } = await checkRender('3000x40x30', many, 40, 30, 2, 6);
    await checkDecode('3000x40x30', withNoise(cpu, 0.05, rnd), 3000, 40, 30, 3);
    const big = new Float32Array([1234.5, 1800.25, 10, 2040]);
    const { cpu: bigMaps } = await checkRender('2x2048x2048', big, 2048, 2048, 3, 9);
    await checkDecode('2x2048x2048', bigMaps, 2, 2048, 2048, 9);
  }
  console.log(`${checks} checks; max |cuda - cpu| rendered value ${worst.render}; max relative |cuda - cpu| decoded point ${worst.decode}`);
  if (failures) {
    console.error(`check-cuda-kernels: ${failures} mismatches`);
    process.exit(1);
  }
  console.log('check-cuda-kernels: CUDA matches the CPU');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
