#!/usr/bin/env bash
# ISBI 2015 head landmarks on a GPU: the paper's grid (512x416) and network (U-Net++/VGG19 at full width), spatial
# softmax cross-entropy (sigma 4 grid pixels: the CPU recipe's 2 at twice the resolution), Adam 1e-3 decayed along
# a cosine over the time limit, batch 4, random shifts, ONNX Runtime's CUDA provider (install it once with
# `lmk setup cuda`). --init-weights IMAGENET_VGG19.safetensors after `--` starts from ImageNet weights as the paper does.
#
# Leaves in OUT what the CPU recipe leaves: model.onnx, train.jsonl, test1.json, load.txt.
minutes=10
source "$(dirname "$0")/common.sh"
run_recipe --ep cuda --workers 4 --arch unetplusplus --encoder vgg19 --height 512 --width 416 \
  --loss softmax_ce --sigma 4 --batch 4 --lr 1e-3 --lr-schedule cosine --min-lr 1e-5 \
  --rotation 0 --scaling 0 --shift 0.035 --intensity 0 --val-fraction 0
