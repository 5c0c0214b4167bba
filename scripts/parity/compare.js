#!/usr/bin/env node
/**
 * Dev-only: exports lmk's model with the weights written by `smp_parity.py full DIR` and compares
 * onnxruntime's output with smp's. Run `npm run build` first. Usage: node scripts/parity/compare.js DIR
 */
const { join } = require('path');
const ort = require('onnxruntime-node');
const { models, onnx } = require('../../dist');

async function main() {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: node scripts/parity/compare.js DIR (written by smp_parity.py full DIR)');
  const casePath = join(dir, 'case.safetensors');
  const reference = await models.readSafetensors(casePath);
  const spec = JSON.parse(reference.metadata.spec);
  const started = Date.now();
  const weights = await models.loadWeights(join(dir, 'weights.safetensors'), spec);
  const bytes = onnx.serializeModel(models.exportModel(spec, weights));
  const built = Date.now() - started;
  const image = reference.tensors.get('image');
  const expected = reference.tensors.get('heatmaps');
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ image: new ort.Tensor('float32', image.data, image.dims) });
  await session.release();
  const got = out.heatmaps;
  if (got.dims.join() !== expected.dims.join()) throw new Error(`shape ${got.dims} differs from smp's ${expected.dims}`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.data.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(got.data[i] - expected.data[i]));
    maxRef = Math.max(maxRef, Math.abs(expected.data[i]));
  }
  let line = `${spec.arch}/${spec.encoder} x${spec.widthMultiplier ?? 1} classes ${spec.classes}, input [${image.dims}]: `
    + `max |lmk - smp| = ${maxDiff.toExponential(3)} (max |smp| ${maxRef.toFixed(3)})`;
  // smp's float64 output (hi + lo, written by smp_parity_table1.py full): both float32 results against it.
  const hi = reference.tensors.get('heatmaps_float64_hi');
  const lo = reference.tensors.get('heatmaps_float64_lo');
  if (hi && lo) {
    let lmk64 = 0;
    let smp64 = 0;
    for (let i = 0; i < hi.data.length; i++) {
      const exact = hi.data[i] + lo.data[i];
      lmk64 = Math.max(lmk64, Math.abs(got.data[i] - exact));
      smp64 = Math.max(smp64, Math.abs(expected.data[i] - exact));
    }
    line += `; against smp float64: lmk ${lmk64.toExponential(3)}, smp float32 ${smp64.toExponential(3)}`;
  }
  console.log(`${line}; load+export ${built} ms`);
  if (!(maxDiff < 1e-4)) process.exitCode = 1;
}

main().catch((err) => { console.error(`compare: ${err.message}`); process.exitCode = 1; });
