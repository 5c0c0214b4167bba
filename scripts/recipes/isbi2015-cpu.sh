#!/usr/bin/env bash
# ISBI 2015 head landmarks (train 001-150, Test1 151-300) on a CPU in about an hour: U-Net++/VGG19 at width 1/4
# on a 256x224 grid from random weights, spatial softmax cross-entropy (sigma 2 grid pixels), Adam 1e-3 decayed
# along a cosine over the time limit to 1e-5, batch 4, random shifts of up to 3.5 % of the grid, all 150
# training images (the cosine's last weights are the model). Measured figures: README, "Recipes".
#
# Leaves in OUT: model.onnx (for lmk predict and lmk eval --model as it is), train.jsonl (one line per step and
# epoch), test1.json (lmk eval --json on Test1, the mean-shape baseline beside it), load.txt (the load average
# once a minute). A rerun into the same OUT resumes the training where it stopped.
set -euo pipefail

usage() {
  echo "usage: $0 --root ISBI2015_DIR --out DIR [--minutes 60] [--threads N] [-- more lmk train options]" >&2
  exit 2
}
root='' out='' minutes=60 threads=''
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    --minutes) minutes=${2:-}; shift 2 ;;
    --threads) threads=${2:-}; shift 2 ;;
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
thread_option=()
[ -n "$threads" ] && thread_option=(--threads "$threads")

# The load average beside the figures: a busy machine trains fewer steps in the same minutes.
(while true; do echo "$(date -u +%FT%TZ) $(cut -d' ' -f1-3 /proc/loadavg)"; sleep 60; done) >>"$out/load.txt" &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true' EXIT

"${lmk[@]}" train --format isbi2015 --root "$root" --out "$out" --log "$out/train.jsonl" "${resume[@]}" "${thread_option[@]}" \
  --arch unetplusplus --encoder vgg19 --width-multiplier 0.25 --height 256 --width 224 \
  --loss softmax_ce --sigma 2 --batch 4 --lr 1e-3 --lr-schedule cosine --min-lr 1e-5 --time-limit "$minutes" \
  --rotation 0 --scaling 0 --shift 0.035 --intensity 0 --val-fraction 0 "$@"

"${lmk[@]}" eval --format isbi2015 --root "$root" --model "$out/model.onnx" "${thread_option[@]}" --json >"$out/test1.json.tmp"
mv "$out/test1.json.tmp" "$out/test1.json"
"${lmk[@]}" eval --format isbi2015 --root "$root" --model "$out/model.onnx" "${thread_option[@]}"
