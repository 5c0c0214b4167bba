#!/usr/bin/env bash
# ISBI 2015 head landmarks on a GPU: the paper's grid (512x416) and network (U-Net++/VGG19 at full width), spatial
# softmax cross-entropy (sigma 4 grid pixels: the CPU recipe's 2 at twice the resolution), Adam 1e-3 decayed along
# a cosine over the time limit, batch 4, random shifts, ONNX Runtime's CUDA provider (install it once with
# `lmk setup cuda`). --init-weights IMAGENET_VGG19.safetensors after `--` starts from ImageNet weights as the paper does.
#
# Leaves in OUT what the CPU recipe leaves: model.onnx, train.jsonl, test1.json, load.txt.
set -euo pipefail

usage() {
  echo "usage: $0 --root ISBI2015_DIR --out DIR [--minutes 10] [-- more lmk train options]" >&2
  exit 2
}
root='' out='' minutes=10
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    --minutes) minutes=${2:-}; shift 2 ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
[ -n "$root" ] && [ -n "$out" ] || usage
[ -d "$root/RawImage" ] || { echo "$0: $root: not an ISBI 2015 folder (no RawImage/)" >&2; exit 2; }

lmk=(node "$(cd "$(dirname "$0")/../.." && pwd)/dist/cli/lmk.js")
mkdir -p "$out"
resume=()
[ -e "$out/checkpoint.safetensors" ] && resume=(--resume)

(while true; do echo "$(date -u +%FT%TZ) $(cut -d' ' -f1-3 /proc/loadavg)"; sleep 60; done) >>"$out/load.txt" &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true' EXIT

"${lmk[@]}" train --format isbi2015 --root "$root" --out "$out" --log "$out/train.jsonl" "${resume[@]}" --ep cuda --workers 4 \
  --arch unetplusplus --encoder vgg19 --height 512 --width 416 \
  --loss softmax_ce --sigma 4 --batch 4 --lr 1e-3 --lr-schedule cosine --min-lr 1e-5 --time-limit "$minutes" \
  --rotation 0 --scaling 0 --shift 0.035 --intensity 0 --val-fraction 0 "$@"

"${lmk[@]}" eval --format isbi2015 --root "$root" --model "$out/model.onnx" --json >"$out/test1.json.tmp"
mv "$out/test1.json.tmp" "$out/test1.json"
"${lmk[@]}" eval --format isbi2015 --root "$root" --model "$out/model.onnx"
