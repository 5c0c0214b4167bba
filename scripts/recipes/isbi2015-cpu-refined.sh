#!/usr/bin/env bash
# ISBI 2015 head landmarks in two stages on a CPU, within two hours from random weights, MINUTES in all
# (default 110): the CPU recipe (isbi2015-cpu.sh) for 6/11 of them (60) into OUT/first, then for the rest (50)
# a refinement stage (src/refine):
# U-Net/VGG19 at width 1/4 on 64x64 crops about each landmark at 3 crop pixels per first-stage grid pixel
# (0.31 mm on ISBI's images, a 20 mm square), offsets from the landmark as the first stage misses (sigma 1.5 grid pixels, a
# fifth spread over the crop), spatial softmax cross-entropy (sigma 2 crop pixels), batch 16, Adam 1e-3
# along a cosine to 1e-5 over the time limit, scaling and intensity as the first stage; where the
# refinement's score reaches 0.7 the first stage's point moves 0.75 of the way to the refined one. Settings
# chosen on 121-150 with both stages trained on 001-120 (docs/refinement.md).
#
# Leaves in OUT: model.onnx (both stages: lmk predict and lmk eval --model as it is; --no-refine reads the
# first alone), train.jsonl, test1.json (Test1 with the mean-shape baseline), load.txt; OUT/first holds the
# first stage's run and its own test1.json. A rerun into the same OUT resumes whichever stage stopped.
minutes=110
source "$(dirname "$0")/common.sh"
first_minutes=$(awk -v m="$minutes" 'BEGIN { print m * 6 / 11 }')
first_options=(--root "$root" --out "$out/first" --minutes "$first_minutes")
[ -n "$threads" ] && first_options+=(--threads "$threads")
[ -n "$all_images" ] && first_options+=(--all-images)
if [ ${#extra[@]} -gt 0 ]; then first_options+=(-- "${extra[@]}"); fi
"$(dirname "$0")/isbi2015-cpu.sh" "${first_options[@]}"
minutes=$(awk -v m="$minutes" -v f="$first_minutes" 'BEGIN { print m - f }')
run_recipe --first-stage "$out/first/model.onnx" --arch unet --encoder vgg19 --width-multiplier 0.25 \
  --crop 64 --crop-factor 3 --crop-jitter 1.5 --loss softmax_ce --sigma 2 --batch 16 --lr 1e-3 --lr-schedule cosine --min-lr 1e-5 \
  --scaling 0.05 --intensity 0.5 --gamma 0.7
