#!/usr/bin/env bash
# ISBI 2015 head landmarks (train 001-150, Test1 151-300) on a CPU in about an hour: U-Net/VGG19 at width 1/4
# on a 256x224 grid from random weights, spatial softmax cross-entropy (sigma 2 grid pixels), Adam 1e-3 decayed
# along a cosine over the time limit to 1e-5, batch 4, mild augmentation (shifts of up to 3.5 % of the grid,
# rotations of up to 3 degrees, scaling by up to 5 %, half the default brightness and contrast changes, gamma
# from 1/1.7 to 1.7: other devices' exposures differ by more than ISBI's images do), all 150 training
# images (the cosine's last weights are the model). U-Net, not the paper's U-Net++: at this size lmk's U-Net
# step is about 3x faster (0.64 s against 1.96 s on 2 cores): the hour held 99-130 epochs, U-Net++ 33.
# Measured figures: README, "Recipes".
#
# Leaves in OUT: model.onnx (for lmk predict and lmk eval --model as it is), train.jsonl (one line per step and
# epoch), test1.json (lmk eval --json on Test1, the mean-shape baseline beside it), load.txt (the load average
# once a minute). A rerun into the same OUT resumes the training where it stopped.
minutes=60
source "$(dirname "$0")/common.sh"
run_recipe "${cpu_first_stage_network[@]}" \
  --loss softmax_ce --sigma 2 --batch 4 --lr 1e-3 --lr-schedule cosine --min-lr 1e-5 \
  --rotation 3 --scaling 0.05 --shift 0.035 --intensity 0.5 --gamma 0.7 --val-fraction 0
