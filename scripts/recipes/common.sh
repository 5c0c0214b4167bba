# Shared by the ISBI 2015 recipes (sourced, not run): options, resume, the load sampler, train, then eval.
# The sourcing script sets `minutes` (default time limit) and calls `run_recipe LMK_TRAIN_OPTIONS...`.
set -euo pipefail

recipe_usage() {
  echo "usage: $0 --root ISBI2015_DIR --out DIR [--minutes $minutes] [--threads N] [--all-images] [-- more lmk train options]" >&2
  exit 2
}

root='' out='' threads='' all_images='' extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    --minutes) minutes=${2:-}; shift 2 ;;
    --threads) threads=${2:-}; shift 2 ;;
    # Every annotated image (001-300 of the shared copy: Test1 too), as for a model to ship; Test1 is then not scored.
    --all-images) all_images=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) recipe_usage ;;
  esac
done
[ -n "$root" ] && [ -n "$out" ] || recipe_usage
[ -d "$root/RawImage" ] || { echo "$0: $root: not an ISBI 2015 folder (no RawImage/)" >&2; exit 2; }

# Trains into OUT (resuming a run already there), then scores Test1: OUT/test1.json and a table on stdout.
run_recipe() {
  # LMK_CLI: the lmk script to run (default: this checkout's build).
  local lmk=(node "${LMK_CLI:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/dist/cli/lmk.js}")
  local resume=() thread_option=() split_option=()
  mkdir -p "$out"
  [ -e "$out/checkpoint.safetensors" ] && resume=(--resume)
  [ -n "$threads" ] && thread_option=(--threads "$threads")
  [ -n "$all_images" ] && split_option=(--train-split all)
  # The load average beside the figures: a busy machine trains fewer steps in the same minutes.
  (while true; do echo "$(date -u +%FT%TZ) $(cut -d' ' -f1-3 /proc/loadavg)"; sleep 60; done) >>"$out/load.txt" 2>/dev/null &
  local sampler=$!
  trap "kill $sampler 2>/dev/null || true" EXIT

  "${lmk[@]}" train --format isbi2015 --root "$root" --out "$out" --log "$out/train.jsonl" "${resume[@]}" "${thread_option[@]}" "${split_option[@]}" \
    --time-limit "$minutes" "$@" "${extra[@]}"
  if [ -n "$all_images" ]; then
    echo "$0: trained on every image, Test1 included: Test1 is not scored" >&2
    return
  fi
  "${lmk[@]}" eval --format isbi2015 --root "$root" --model "$out/model.onnx" "${thread_option[@]}" --json >"$out/test1.json.tmp"
  mv "$out/test1.json.tmp" "$out/test1.json"
  "${lmk[@]}" eval --format isbi2015 --root "$root" --model "$out/model.onnx" "${thread_option[@]}"
}
