#!/usr/bin/env node
/**
 * One optimizer step per ONNX Runtime run against blocks of K (compileTrainBlock), in one process with the runs
 * alternated so that both see the same machine; prints seconds per optimizer step (a measurement, not a test).
 * Needs `npm run build`. Usage: node scripts/bench-train-block.js HEIGHT WIDTH BATCH WIDTH_MULTIPLIER K LOSS [ROUNDS]
 */
const ort = require('onnxruntime-node');
const { compileTrainStep, compileTrainBlock, stepStateNames, blockNames } = require('../dist/train/step-graph');
const { buildNetwork } = require('../dist/models/network');
const { resolveSpec } = require('../dist/models/spec');
const { serializeModel } = require('../dist/onnx');
const [H, W, B, wm, K, loss, rounds] = [+process.argv[2], +process.argv[3], +process.argv[4], +process.argv[5], +process.argv[6], process.argv[7], +(process.argv[8] || 4)];
if (![H, W, B, wm, K].every((v) => v > 0) || !loss) {
  console.error('usage: node scripts/bench-train-block.js HEIGHT WIDTH BATCH WIDTH_MULTIPLIER K LOSS [ROUNDS]');
  process.exit(2);
}
(async () => {
  const spec = resolveSpec({ arch: 'unetplusplus', encoder: 'vgg19', classes: 19, inChannels: 3, widthMultiplier: wm });
  const opts = { batch: B, inChannels: 3, height: H, width: W, classes: 19, loss, network: (l, x) => buildNetwork(l, spec, x) };
  const so = { intraOpNumThreads: 2, graphOptimizationLevel: 'all', executionMode: 'sequential', enableCpuMemArena: true, enableMemPattern: true, extra: { session: { intra_op: { allow_spinning: '0' } } } };
  const cs = compileTrainStep(opts), cb = compileTrainBlock(opts);
  const ss = await ort.InferenceSession.create(serializeModel(cs.model), so);
  const sb = await ort.InferenceSession.create(serializeModel(cb.model), so);
  const rnd = (n, sc) => Float32Array.from({ length: n }, () => (Math.random() - 0.5) * sc);
  const state = {};
  for (const v of stepStateNames(cs)) { const n = v.shape.reduce((a, b) => a * b, 1); state[v.name] = new ort.Tensor('float32', v.name.startsWith('adam.') ? new Float32Array(n) : rnd(n, 0.1), v.shape); }
  const img = rnd(B * 3 * H * W, 2), tgt = Float32Array.from({ length: B * 19 * H * W }, () => (Math.random() < 0.001 ? 1 : 0));
  const stack = (a) => { const o = new Float32Array(K * a.length); for (let i = 0; i < K; i++) o.set(a, i * a.length); return o; };
  const fb = { ...state, [blockNames.images]: new ort.Tensor('float32', stack(img), [K, B, 3, H, W]), [blockNames.targets]: new ort.Tensor('float32', stack(tgt), [K, B, 19, H, W]), [blockNames.lrs]: new ort.Tensor('float32', new Float32Array(K).fill(1e-4), [K]), [blockNames.firstStep]: new ort.Tensor('float32', Float32Array.of(1), []) };
  const fs1 = { ...state, images: new ort.Tensor('float32', img, [B, 3, H, W]), targets: new ort.Tensor('float32', tgt, [B, 19, H, W]), lr: new ort.Tensor('float32', Float32Array.of(1e-4), []), step: new ort.Tensor('float32', Float32Array.of(1), []) };
  const names = stepStateNames(cs).map((v) => v.name);
  let st1 = fs1, stb = fb;
  const t1 = [], tb = [];
  for (let r = 0; r < rounds + 1; r++) {
    let t = performance.now();
    for (let i = 0; i < K; i++) { const o = await ss.run(st1); st1 = { ...st1 }; for (const n of names) st1[n] = o['next.' + n]; }
    if (r > 0) t1.push((performance.now() - t) / 1000 / K);
    t = performance.now();
    const o = await sb.run(stb); stb = { ...stb }; for (const n of names) stb[n] = o['next.' + n];
    if (r > 0) tb.push((performance.now() - t) / 1000 / K);
  }
  const f = (a) => { const s = a.slice().sort((x, y) => x - y); return `min ${s[0].toFixed(3)} median ${s[Math.floor(s.length / 2)].toFixed(3)}`; };
  console.log(`${H}x${W} b${B} w${wm} ${loss} K=${K}: step graph ${f(t1)} | block graph ${f(tb)} (s per step; load ${require('os').loadavg()[0].toFixed(2)})`);
})();
