#!/usr/bin/env bash
# ISBI 2015 head landmarks in three stages on a CPU, within two hours from random weights: MINUTES (default
# 110) on both cores at once. A refinement trains on crops about the true landmarks and needs the first stage's
# grid, not its weights, and one thread trains each of these networks nearly as fast as two (docs/refinement.md),
# so the two cores train side by side:
# - one thread: the CPU recipe (isbi2015-cpu.sh) into OUT/first, for its 200 epochs or the minutes, whichever
#   ends first (on 001-150 the epochs: 7400 steps in about 80 minutes; with --all-images the minutes);
# - the other: two refinements (src/refine) in turn, half the minutes each: a wide one into OUT/wide (64x64
#   crops at 2 crop pixels per first-stage grid pixel: 0.47 mm on ISBI's images, a 30 mm square), then a
#   fine one into OUT/fine (factor 3: 0.31 mm, a 20 mm square) that crops about the point the wide one found
#   (about 13900 steps each).
# Both: U-Net/VGG19 at width 1/4, offsets from the landmark as the first stage misses (sigma 1.5 grid pixels, a
# fifth spread over the crop), spatial softmax cross-entropy (sigma 2 crop pixels), batch 16, Adam 1e-3 along a
# cosine to 1e-5, scaling and intensity as the first stage. Where a refinement's score reaches 0.7 the point
# moves toward the refined one: 0.6 of the way for the wide one, then 0.5 for the fine one. Settings chosen on
# 121-150 with every stage trained on 001-120 (docs/refinement.md; the first stage there for 10600 steps).
#
# Leaves in OUT: model.onnx (the three stages: lmk predict and lmk eval --model as it is; --no-refine reads the
# first alone), test1.json (Test1 with the mean-shape baseline), load.txt; OUT/first holds the first stage's
# run and its own test1.json, OUT/wide and OUT/fine the refinements' runs (their model.onnx joined to an
# untrained first stage, OUT/grid.onnx). A rerun into the same OUT resumes whichever stage stopped.
minutes=110
source "$(dirname "$0")/common.sh"
# Each of the two side by side on one thread unless told otherwise.
threads=${threads:-1}
half=$(awk -v m="$minutes" 'BEGIN { print m / 2 }')
mkdir -p "$out"
sample_load

[ -e "$out/grid.onnx" ] || "${lmk[@]}" export "${cpu_first_stage_network[@]}" --classes 19 --out "$out/grid.onnx" >/dev/null
first_options=(--root "$root" --out "$out/first" --minutes "$minutes" --threads "$threads")
[ -n "$all_images" ] && first_options+=(--all-images)
if [ ${#extra[@]} -gt 0 ]; then first_options+=(-- "${extra[@]}"); fi
"$(dirname "$0")/isbi2015-cpu.sh" "${first_options[@]}" &
first_stage=$!
stop_on_exit+=("$first_stage")

refinement=(--first-stage "$out/grid.onnx" --arch unet --encoder vgg19 --width-multiplier 0.25 --crop 64 --crop-jitter 1.5
  --loss softmax_ce --sigma 2 --batch 16 --lr 1e-3 --lr-schedule cosine --min-lr 1e-5 --scaling 0.05 --intensity 0.5 --gamma 0.7)
train_into "$out/wide" "$half" "${refinement[@]}" --crop-factor 2
train_into "$out/fine" "$half" "${refinement[@]}" --crop-factor 3
wait "$first_stage"

"${lmk[@]}" join "$out/first/model.onnx" "$out/wide/model.onnx" --refined-weight 0.6 --out "$out/first-wide.onnx" >/dev/null
"${lmk[@]}" join "$out/first-wide.onnx" "$out/fine/model.onnx" --refined-weight 0.5 --out "$out/model.onnx" >/dev/null
rm "$out/first-wide.onnx"
score_test1
