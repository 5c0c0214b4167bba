"""Dev-only PyTorch reference for `lmk train` end to end (issue #5 "Must agree with PyTorch"); not part of the product.

Writes a generic `csv` data set of 20 ISBI training images shrunk to 128x128 (8-bit grey PNG, landmarks rounded
to integer pixels), a random smp U-Net++/VGG19 (seed 0, 19 classes) as OUT/init.safetensors, and trains that
model in PyTorch the way `lmk train --no-shuffle --no-augment --val-fraction 0` does on the same files: grey/255
replicated to 3 channels with ImageNet mean/std, sigma-2 Gaussian targets evaluated at integer pixels (zero
beyond 4 sigma, as lmk's renderer), batches of 2 in file order, 10 Adam steps (lr 1e-3), mse. Losses go to
OUT/torch-losses.json. Then run lmk on the same files and compare:

  git --git-dir=/work/.mirror/qubvel-org+segmentation_models.pytorch/repo archive HEAD | tar -x -C /tmp/smp
  cd /tmp && PYTHONPATH=/tmp/smp python3 /path/to/lmk/scripts/parity/loop_parity.py /path/to/shared/data OUT
  node dist/cli/lmk.js train --format csv --root OUT/data --arch unetplusplus --classes 19 --height 128 --width 128 \
    --sigma 2 --loss mse --lr 1e-3 --batch 2 --steps 10 --no-shuffle --no-augment --val-fraction 0 \
    --init-weights OUT/init.safetensors --out OUT/run --log OUT/lmk.jsonl
  python3 /path/to/lmk/scripts/parity/loop_parity.py --compare OUT    # exit 1 unless step 1 < 1e-4, step 10 < 2e-2 relative

Add `--float64` to the first command (after a float32 run) for PyTorch's float64 losses from the same start:
`--compare` then also prints each side's distance from them.
"""
import json
import os
import sys
import time

import numpy as np

STEPS, BATCH, SIZE, K, SIGMA, LR = 10, 2, 128, 19, 2.0, 1e-3
MEAN, STD = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)


def compare(out):
    torch_losses = json.load(open(f'{out}/torch-losses.json'))['losses']
    # A float64 run (optional) shows how far float32 rounding alone moves PyTorch's own losses.
    f64_path = f'{out}/torch-losses-float64.json'
    f64 = json.load(open(f64_path))['losses'] if os.path.exists(f64_path) else None
    lmk = [json.loads(line) for line in open(f'{out}/lmk.jsonl') if line.startswith('{"step"')]
    for s, (t, entry) in enumerate(zip(torch_losses, lmk), 1):
        line = f'step {s:2d}  torch {t:.7f}  lmk {entry["loss"]:.7f}  relative {abs(entry["loss"] - t) / t:.2e}'
        if f64:
            d = f64[s - 1]
            line += f'  | torch64 {d:.7f}  lmk-torch64 {abs(entry["loss"] - d) / d:.2e}  torch-torch64 {abs(t - d) / d:.2e}'
        print(line)
    first = abs(lmk[0]['loss'] - torch_losses[0]) / torch_losses[0]
    last = abs(lmk[STEPS - 1]['loss'] - torch_losses[STEPS - 1]) / torch_losses[STEPS - 1]
    ok = len(lmk) >= STEPS and first < 1e-4 and last < 2e-2
    print('agree' if ok else 'DISAGREE', f'(step 1 {first:.2e} < 1e-4, step {STEPS} {last:.2e} < 2e-2)')
    sys.exit(0 if ok else 1)


def write_dataset(data, out):
    from PIL import Image
    os.makedirs(f'{out}/data/images', exist_ok=True)
    rows = ['image,' + ','.join(f'x{j},y{j}' for j in range(1, K + 1))]
    for i in range(STEPS * BATCH):
        img = Image.open(f'{data}/isbi2015/RawImage/TrainingData/{i + 1:03d}.jpg').convert('L')
        sx, sy = SIZE / img.width, SIZE / img.height
        img.resize((SIZE, SIZE), Image.BILINEAR).save(f'{out}/data/images/{i + 1:03d}.png')
        pts = [tuple(map(float, l.split(','))) for l in open(f'{data}/isbi2015/AnnotationsByMD/400_senior/{i + 1:03d}.txt').read().split()[:K]]
        # Integer pixels inside the image, so that both sides render the Gaussian at the same centres.
        cells = [str(min(SIZE - 1, max(0, round(v * s)))) for x, y in pts for v, s in ((x, sx), (y, sy))]
        rows.append(f'images/{i + 1:03d}.png,' + ','.join(cells))
    open(f'{out}/data/landmarks.csv', 'w').write('\n'.join(rows) + '\n')
    return rows[1:]


def sample(out, row):
    from PIL import Image
    fields = row.split(',')
    grey = np.asarray(Image.open(f'{out}/data/{fields[0]}'), np.float32) / 255
    image = ((np.repeat(grey[None], 3, 0) - MEAN[:, None, None]) / STD[:, None, None]).astype(np.float32)
    r, c = np.mgrid[0:SIZE, 0:SIZE]
    maps = []
    for j in range(K):
        x, y = float(fields[1 + 2 * j]), float(fields[2 + 2 * j])
        d2 = (c - x) ** 2 + (r - y) ** 2
        maps.append(np.where(d2 <= (4 * SIGMA) ** 2, np.exp(-d2 / (2 * SIGMA ** 2)), 0))
    return image, np.stack(maps).astype(np.float32)


def main():
    if sys.argv[1] == '--compare':
        compare(sys.argv[2])
    data, out = sys.argv[1], sys.argv[2]
    dtype_name = 'float64' if '--float64' in sys.argv else 'float32'
    import torch
    torch.library.register_fake = lambda *a, **k: (lambda f: f)  # torchvision here is a CUDA build; see the brief
    import segmentation_models_pytorch as smp
    from safetensors.torch import save_file

    rows = write_dataset(data, out)
    torch.manual_seed(0)
    model = smp.UnetPlusPlus('vgg19', encoder_weights=None, classes=K, in_channels=3)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, f'{out}/init.safetensors')
    samples = [sample(out, row) for row in rows]

    # The float64 run starts from the same float32 draw: it shows how far float32 rounding alone moves the losses.
    dtype = getattr(torch, dtype_name)
    model = model.to(dtype)
    torch.set_num_threads(2)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    losses = []
    for s in range(STEPS):
        batch = samples[s * BATCH:(s + 1) * BATCH]
        x = torch.from_numpy(np.stack([b[0] for b in batch])).to(dtype)
        t = torch.from_numpy(np.stack([b[1] for b in batch])).to(dtype)
        t0 = time.time()
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), t)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        print(s + 1, loss.item(), f'{time.time() - t0:.2f}s', flush=True)
    name = 'torch-losses.json' if dtype_name == 'float32' else f'torch-losses-{dtype_name}.json'
    json.dump({'torch': torch.__version__, 'dtype': dtype_name, 'losses': losses}, open(f'{out}/{name}', 'w'), indent=1)


if __name__ == '__main__':
    main()
