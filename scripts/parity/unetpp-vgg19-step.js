#!/usr/bin/env node
// Dev-only: lmk's half of the U-Net++/VGG19 training-step agreement check (issue #5); not part of the
// product. Reads what scripts/parity/unetpp_vgg19_step.py wrote into DIR and runs the same 10 Adam steps
// with lmk's TrainStep, then prints per-step losses next to PyTorch's.
//   npm run build && node scripts/parity/unetpp-vgg19-step.js DIR
'use strict';
const { readFileSync } = require('fs');
const { join, resolve } = require('path');

const dist = process.env.LMK_DIST ? resolve(process.env.LMK_DIST) : resolve(__dirname, '..', '..', 'dist');
const { buildNetwork, importSafetensors, readSafetensors } = require(join(dist, 'models'));
const { TrainStep } = require(join(dist, 'train', 'step'));

async function main() {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: unetpp-vgg19-step.js DIR (written by unetpp_vgg19_step.py)');
  const torch = JSON.parse(readFileSync(join(dir, 'torch-losses.json'), 'utf8'));
  const spec = { arch: 'unetplusplus', encoder: 'vgg19', classes: 19, inChannels: 3 };
  const weights = importSafetensors(spec, await readSafetensors(join(dir, 'init.safetensors')), { source: 'init.safetensors' });
  const [B, K, S] = [2, 19, 128];
  const floats = (name) => { const b = readFileSync(join(dir, name)); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
  const images = floats('images.bin');
  const targets = floats('targets.bin');
  const step = await TrainStep.create({
    batch: B, inChannels: 3, height: S, width: S, classes: K, loss: 'mse', network: (layers, x) => buildNetwork(layers, spec, x),
  }, weights);
  const rows = [];
  for (let s = 0; s < torch.losses.length; s++) {
    const t0 = performance.now();
    const loss = await step.run(images.subarray(s * B * 3 * S * S, (s + 1) * B * 3 * S * S), targets.subarray(s * B * K * S * S, (s + 1) * B * K * S * S), 1e-3);
    const rel = Math.abs(loss - torch.losses[s]) / Math.abs(torch.losses[s]);
    rows.push({ step: s + 1, lmk: loss, torch: torch.losses[s], rel, lmk_s: (performance.now() - t0) / 1000, torch_s: torch.step_s[s] });
    console.log(JSON.stringify(rows[rows.length - 1]));
  }
  await step.release();
  const ok = rows[0].rel <= 1e-4 && rows[rows.length - 1].rel <= 2e-2;
  console.log(ok ? 'AGREE: step 1 within 1e-4, step 10 within 2e-2' : 'DISAGREE');
  process.exitCode = ok ? 0 : 1;
}
main().catch((e) => { console.error(e.message); process.exit(1); });
