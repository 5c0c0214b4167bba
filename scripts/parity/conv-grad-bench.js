#!/usr/bin/env node
// Dev-only: times formulations of the Conv gradient on ONNX Runtime (CPU) against the forward conv, for
// the layer shapes of U-Net++/VGG19; not part of the product. Variants run interleaved and the minimum
// of several runs is reported, because the machine is shared.
//   npm run build && node scripts/parity/conv-grad-bench.js [batch] [size] [repeats] [threads]
'use strict';
const { join, resolve } = require('path');
const ort = require('onnxruntime-node');

const dist = process.env.LMK_DIST ? resolve(process.env.LMK_DIST) : resolve(__dirname, '..', '..', 'dist');
const { GraphBuilder, serializeModel, attr } = require(join(dist, 'onnx'));
const { inferShapes, constantInts } = require(join(dist, 'onnx', 'shapes'));
const { GRADIENT_RULES } = require(join(dist, 'train', 'gradients'));

const [batch, size, repeats, threads] = [2, 256, 3, 2].map((d, i) => Number(process.argv[2 + i] ?? d));

/** A graph with inputs x [N,Cin,H,W], w [Cout,Cin,3,3], dy [N,Cout,H,W] and one output built by `body`. */
function graph(n, cin, cout, h, body) {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [n, cin, h, h]);
  const w = g.input('w', 'float32', [cout, cin, 3, 3]);
  const dy = g.input('dy', 'float32', [n, cout, h, h]);
  g.output(body(g, x, w, dy), 'out');
  return serializeModel(g.build());
}

/** lmk's rule (what autodiff emits), for the input or the weight gradient. */
function lmkRule(which) {
  return (g, x, w, dy) => {
    const y = g.conv(x, w, undefined, { pads: [1, 1, 1, 1] });
    const shapes = inferShapes(g.graph);
    const inits = new Map(g.graph.initializers.map((i) => [i.name, i]));
    const ctx = { g, shape: (v) => shapes.get(v), ints: (node, i) => constantInts(node, i, inits) };
    const node = g.graph.nodes[g.graph.nodes.length - 1];
    g.graph.nodes.pop(); // only the backward nodes are timed
    const out = GRADIENT_RULES.Conv(ctx, node, [dy], [which === 'x', which === 'w', false]);
    void y;
    return which === 'x' ? out[0] : out[1];
  };
}

const VARIANTS = {
  forward: (g, x, w) => g.conv(x, w, undefined, { pads: [1, 1, 1, 1] }),
  'dX ConvTranspose': (g, x, w, dy) => g.op1('ConvTranspose', [dy, w], { pads: attr.ints([1, 1, 1, 1]) }),
  'dX lmk (flipped-weight Conv)': lmkRule('x'),
  'dW Conv on transposed tensors': (g, x, w, dy) => {
    // dW[o, i] = correlation of x[:, i] with dy[:, o] over N: batch = Cin, channels = N, "weight" = dy as [Cout, N, H, W].
    const xt = g.transpose(x, [1, 0, 2, 3]);
    const dyt = g.transpose(dy, [1, 0, 2, 3]);
    return g.transpose(g.conv(xt, dyt, undefined, { pads: [1, 1, 1, 1] }), [1, 0, 2, 3]);
  },
  'dW lmk (NHWC im2col + MatMul per tap)': lmkRule('w'),
};

const LAYERS = [[64, 64, 1], [128, 128, 2], [256, 256, 4], [512, 512, 8], [512, 512, 16], [576, 64, 2], [640, 128, 4]];

async function main() {
  console.log(`batch ${batch}, ${size}x${size}, min of ${repeats}, threads ${threads}`);
  for (const [cin, cout, div] of LAYERS) {
    const h = size / div;
    const sessions = {};
    for (const [name, body] of Object.entries(VARIANTS)) {
      sessions[name] = await ort.InferenceSession.create(graph(batch, cin, cout, h, body), { intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
    }
    const rand = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const feeds = { x: new ort.Tensor('float32', rand(batch * cin * h * h), [batch, cin, h, h]), w: new ort.Tensor('float32', rand(cout * cin * 9), [cout, cin, 3, 3]), dy: new ort.Tensor('float32', rand(batch * cout * h * h), [batch, cout, h, h]) };
    const best = {};
    for (let r = 0; r < repeats + 1; r++) {
      for (const [name, s] of Object.entries(sessions)) {
        const f = {};
        for (const i of s.inputNames) f[i] = feeds[i];
        const t = performance.now();
        await s.run(f);
        const dt = performance.now() - t;
        if (r > 0) best[name] = Math.min(best[name] ?? Infinity, dt);
      }
    }
    const fwd = best.forward;
    console.log(`Cin ${cin} Cout ${cout} ${h}x${h}: ` + Object.entries(best).map(([k, v]) => `${k} ${v.toFixed(0)} ms (${(v / fwd).toFixed(2)}x)`).join(', '));
    for (const s of Object.values(sessions)) await s.release();
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
