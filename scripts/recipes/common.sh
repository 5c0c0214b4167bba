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

# LMK_CLI: the lmk script to run (default: this checkout's build).
lmk=(node "${LMK_CLI:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/dist/cli/lmk.js}")
# The CPU recipe's first stage: the network and its grid (isbi2015-cpu.sh; the refined recipe's refinements crop on its grid).
cpu_first_stage_network=(--arch unet --encoder vgg19 --width-multiplier 0.25 --height 256 --width 224)

# Processes to stop when the script ends however it ends: the load sampler, lmk train, a recipe training
# beside this one (which stops its own). lmk train stops after its steps in progress and saves a checkpoint
# on the first signal; a second would quit at once, so each gets one.
stop_on_exit=()
trap 'kill "${stop_on_exit[@]}" 2>/dev/null || true' EXIT
# A signal ends the script at once (the EXIT trap then stops the rest): each run is waited on, never in the
# foreground, where bash would hold the signal until the run ended.
trap 'exit 130' INT
trap 'exit 143' TERM

# The load average once a minute into OUT/load.txt: a busy machine trains fewer steps in the same minutes.
sample_load() {
  mkdir -p "$out"
  (while true; do echo "$(date -u +%FT%TZ) $(cut -d' ' -f1-3 /proc/loadavg)"; sleep 60; done) >>"$out/load.txt" 2>/dev/null &
  stop_on_exit+=($!)
}

# train_into DIR MINUTES LMK_TRAIN_OPTIONS...: trains into DIR for MINUTES (resuming a run already there).
train_into() {
  local dir=$1 limit=$2
  shift 2
  local resume=() thread_option=() split_option=()
  mkdir -p "$dir"
  [ -e "$dir/checkpoint.safetensors" ] && resume=(--resume)
  [ -n "$threads" ] && thread_option=(--threads "$threads")
  [ -n "$all_images" ] && split_option=(--train-split all)
  "${lmk[@]}" train --format isbi2015 --root "$root" --out "$dir" --log "$dir/train.jsonl" "${resume[@]}" "${thread_option[@]}" "${split_option[@]}" \
    --time-limit "$limit" "$@" "${extra[@]}" &
  local trainer=$!
  stop_on_exit+=("$trainer")
  wait "$trainer"
}

# Scores OUT/model.onnx on Test1: OUT/test1.json (with the mean-shape baseline) and a table on stdout.
score_test1() {
  if [ -n "$all_images" ]; then
    echo "$0: trained on every image, Test1 included: Test1 is not scored" >&2
    return
  fi
  local thread_option=()
  [ -n "$threads" ] && thread_option=(--threads "$threads")
  "${lmk[@]}" eval --format isbi2015 --root "$root" --model "$out/model.onnx" "${thread_option[@]}" --json >"$out/test1.json.tmp"
  mv "$out/test1.json.tmp" "$out/test1.json"
  "${lmk[@]}" eval --format isbi2015 --root "$root" --model "$out/model.onnx" "${thread_option[@]}"
}

# Trains into OUT (resuming a run already there), then scores Test1.
run_recipe() {
  sample_load
  train_into "$out" "$minutes" "$@"
  score_test1
}
