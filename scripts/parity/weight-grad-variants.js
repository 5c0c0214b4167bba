#!/usr/bin/env node
// Dev-only: three formulations of a 3x3 (pad 1) convolution's weight gradient on ONNX Runtime (CPU), timed
// interleaved in one process (minimum of 5 runs after one untimed): 'transposed' (dY transposed to
// [Cout, N*H*W], one MatMul per tap: lmk's rule until 2026-11-28), 'batched' (dY as it is, [N, Cout, H*W],
// per-tap MatMuls batched over the images: the rule where Cin <= Cout) and 'moved' (the padded input whole,
// dY moved to each tap by a Pad: the rule where Cin > Cout). Prints min ms and the largest difference from
// 'transposed'. Table in src/train/README.md.
//   npm run build && node scripts/parity/weight-grad-variants.js N CIN COUT H W
'use strict';
const { join, resolve } = require('path');
const ort = require('onnxruntime-node');
const { GraphBuilder, serializeModel } = require(join(resolve(__dirname, '..', '..', 'dist'), 'onnx'));

const [n, cin, cout, h, w] = process.argv.slice(2, 7).map(Number);
if (![n, cin, cout, h, w].every((v) => Number.isInteger(v) && v > 0)) {
  console.error('usage: weight-grad-variants.js N CIN COUT H W');
  process.exit(2);
}

/** Stacks nine [1, R] tap rows, R = rows x cols, into a [cout, cin, 3, 3] weight gradient. */
function stack(g, taps, rows, cols, transposed) {
  const k = g.reshape(g.transpose(g.concat(taps, 0), [1, 0]), [rows, cols, 3, 3]);
  return transposed ? g.transpose(k, [1, 0, 2, 3]) : k;
}

const VARIANTS = {
  transposed(g, x, d) {
    const padded = g.op1('Pad', [g.transpose(x, [0, 2, 3, 1]), g.int64([0, 1, 1, 0, 0, 1, 1, 0])]);
    const dyRows = g.reshape(g.transpose(d, [1, 0, 2, 3]), [1, cout, n * h * w]);
    const taps = [];
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
      taps.push(g.reshape(g.matmul(dyRows, g.reshape(g.slice(padded, [a, b], [a + h, b + w], [1, 2]), [1, n * h * w, cin])), [1, cout * cin]));
    }
    return stack(g, taps, cout, cin, false);
  },
  batched(g, x, d) {
    const padded = g.op1('Pad', [g.transpose(x, [0, 2, 3, 1]), g.int64([0, 1, 1, 0, 0, 1, 1, 0])]);
    const dyRows = g.reshape(d, [n, cout, h * w]);
    const taps = [];
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
      const perImage = g.matmul(dyRows, g.reshape(g.slice(padded, [a, b], [a + h, b + w], [1, 2]), [n, h * w, cin]));
      taps.push(g.reshape(g.reduceSum(perImage, [0], false), [1, cout * cin]));
    }
    return stack(g, taps, cout, cin, false);
  },
  moved(g, x, d) {
    const xRows = g.reshape(g.op1('Pad', [x, g.int64([0, 0, 1, 1, 0, 0, 1, 1])]), [n, cin, (h + 2) * (w + 2)]);
    const dyNhwc = g.transpose(d, [0, 2, 3, 1]);
    const taps = [];
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) {
      const moved = g.reshape(g.op1('Pad', [dyNhwc, g.int64([0, a, b, 0, 0, 2 - a, 2 - b, 0])]), [n, (h + 2) * (w + 2), cout]);
      taps.push(g.reshape(g.reduceSum(g.matmul(xRows, moved), [0], false), [1, cin * cout]));
    }
    return stack(g, taps, cin, cout, true);
  },
};

(async () => {
  const options = { intraOpNumThreads: 2, graphOptimizationLevel: 'all', extra: { session: { intra_op: { allow_spinning: '0' } } } };
  const sessions = {};
  for (const [name, body] of Object.entries(VARIANTS)) {
    const g = new GraphBuilder(name);
    const x = g.input('x', 'float32', [n, cin, h, w]);
    const d = g.input('d', 'float32', [n, cout, h, w]);
    g.output(body(g, x, d), 'dw', 'float32');
    sessions[name] = await ort.InferenceSession.create(serializeModel(g.build()), options);
  }
  let seed = 7;
  const random = (count) => Float32Array.from({ length: count }, () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 - 0.5; });
  const feeds = { x: new ort.Tensor('float32', random(n * cin * h * w), [n, cin, h, w]), d: new ort.Tensor('float32', random(n * cout * h * w), [n, cout, h, w]) };
  const times = Object.fromEntries(Object.keys(VARIANTS).map((k) => [k, []]));
  const out = {};
  for (let r = 0; r < 6; r++) {
    for (const k of Object.keys(VARIANTS)) {
      const t = performance.now();
      out[k] = (await sessions[k].run(feeds)).dw.data;
      if (r > 0) times[k].push(performance.now() - t);
    }
  }
  const gflop = (2 * n * h * w * cin * cout * 9) / 1e9;
  console.log(`N ${n}, ${cin} -> ${cout}, ${h}x${w}: ${gflop.toFixed(2)} GFLOP; load ${require('os').loadavg()[0].toFixed(2)}`);
  for (const k of Object.keys(VARIANTS)) {
    const best = Math.min(...times[k]);
    const diff = out[k].reduce((m, v, i) => Math.max(m, Math.abs(v - out.transposed[i])), 0);
    console.log(`${k.padEnd(10)} ${best.toFixed(1).padStart(7)} ms ${(gflop / best * 1000).toFixed(0).padStart(5)} GFLOP/s  max |diff| ${diff.toExponential(1)}`);
  }
})();
