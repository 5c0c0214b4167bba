"""Dev-only parity check (not used by the product): GU2Net's evaluation, transcribed from
github.com/MIRACLE-Center/YOLO_Universal_Anatomical_Landmark_Detection (universal_landmark_detection/
evaluation.py and model/datasets/cephalometric.py), applied to an lmk predictions JSONL for the ISBI 2015
head set, to compare with `lmk eval --protocol gu2net --json`.

usage: python3 scripts/parity/gu2net_eval.py ISBI_ROOT PREDICTIONS.jsonl
"""
import json
import sys

import numpy as np

ISBI_ROOT, PREDICTIONS = sys.argv[1], sys.argv[2]
SIZE = (416, 512)  # width x height, config.yaml
ORIGIN = (1935, 2400)
FACTOR = 0.46875  # CEPH_PHYSICAL_FACTOR
THRESHOLDS = [2, 2.5, 3, 4]


def to_grid(point):
    # cephalometric.py readLandmark: round(p * new / old) with Python's round
    return tuple(round(p * new / old) for p, new, old in zip(point, SIZE, ORIGIN))


def radial(p, q, factor=1):
    return sum(((i - j) * factor) ** 2 for i, j in zip(p, q)) ** 0.5


def annotation(who, name):
    with open(f'{ISBI_ROOT}/AnnotationsByMD/{who}/{name}.txt') as f:
        return [tuple(float(v) for v in f.readline().strip().split(',')) for _ in range(19)]


distances = []
with open(PREDICTIONS) as f:
    for line in f:
        if not line.strip():
            continue
        record = json.loads(line)
        senior, junior = annotation('400_senior', record['id']), annotation('400_junior', record['id'])
        gt = [to_grid([(a + b) / 2 for a, b in zip(s, j)]) for s, j in zip(senior, junior)]
        pred = [to_grid(p) for p in record['landmarks']]
        distances += [radial(p, q, FACTOR) for p, q in zip(pred, gt)]

print(json.dumps({
    'mre': float(np.mean(distances)),
    'std': float(np.std(distances)),
    'sdr': {str(t): 100 * sum(d <= t for d in distances) / len(distances) for t in THRESHOLDS},
}))
