#!/usr/bin/env bash
# Dev only: lmk's training step against PyTorch's, pair by pair back to back, with each side's dense matrix-product
# rate measured in the same run (the roofline the step's convolutions could at best approach). Prints one JSON
# line per measurement and then a table; see src/train/README.md for what the figures mean.
#   SMP=/path/to/smp scripts/parity/step-vs-torch.sh [quick]
# Needs `npm run build`, python3 with torch 2.13 (CPU) and smp on SMP. "quick" leaves out the full-width pair.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${SMP:?set SMP to a checkout of segmentation_models_pytorch}"
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
bench() { node dist/cli/lmk-bench.js --train --encoder vgg19 --classes 19 --threads 2 --json "$@"; }
torch_step() { PYTHONPATH="$SMP" python3 scripts/parity/torch_step_time.py "$@" | tail -n 1; }
pair() { # label target-ratio lmk-args -- torch-args
  local label=$1 target=$2; shift 2
  local lmk=() ; while [ "$1" != -- ]; do lmk+=("$1"); shift; done; shift
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  echo "{\"label\":\"$label\",\"target\":$target,\"load\":$load,\"lmk\":$(bench "${lmk[@]}"),\"torch\":$(torch_step "$@")}" | tee -a "$OUT"
}
pair "U-Net++/VGG19 1/4, 256x224, batch 4" 0.75 --arch unetplusplus --height 256 --width 224 --batch 4 --width-multiplier 0.25 --loss softmax_ce --steps 6 -- 256 224 4 6 2 0.25 softmax_ce unetplusplus
pair "U-Net/VGG19 1/4, 256x224, batch 4 (the CPU recipe)" null --arch unet --height 256 --width 224 --batch 4 --width-multiplier 0.25 --loss softmax_ce --steps 8 -- 256 224 4 8 2 0.25 softmax_ce unet
[ "${1:-}" = quick ] || pair "U-Net++/VGG19 full width, 256x256, batch 2" 0.5 --arch unetplusplus --height 256 --width 256 --batch 2 --steps 3 -- 256 256 2 3 2
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
const f = (v, d = 2) => v.toFixed(d);
console.log("\n| network, grid, batch | load | lmk step s | PyTorch step s | lmk / PyTorch | conv GFLOP | lmk GFLOP/s | PyTorch GFLOP/s | ORT MatMul GFLOP/s | torch mm GFLOP/s | target | GFLOP/s the target needs |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  const [l, t] = [r.lmk.step_s.median, r.torch.step_s.median];
  const need = r.target ? f(r.lmk.conv_gflop / (r.target * t), 0) : "-";
  console.log(`| ${r.label} | ${r.load} | ${f(l)} | ${f(t)} | ${f(l / t)} | ${f(r.lmk.conv_gflop, 1)} | ${f(r.lmk.conv_gflop_s, 0)} | ${f(r.lmk.conv_gflop / t, 0)} | ${f(r.lmk.matmul_gflop_s, 0)} | ${f(r.torch.mm_gflop_s, 0)} | ${r.target ?? "-"} | ${need} |`);
}' "$OUT"
