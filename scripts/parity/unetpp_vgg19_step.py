"""Dev-only PyTorch reference for the training step (issue #5 "Must agree with PyTorch"); not part of the product.

U-Net++/VGG19 (smp, random init, seed 0), 19 classes, 128x128 ISBI images (grey/255 -> 3 channels, ImageNet
mean/std), sigma-2 Gaussian targets at integer pixel coordinates, batches of 2 in file order, 10 Adam steps
(lr 1e-3), mse. Writes into OUT: init.safetensors (smp names), images.bin and targets.bin (float32, all
batches back to back) and torch-losses.json; scripts/parity/unetpp-vgg19-step.js runs lmk on the same files.

Run from /tmp with smp extracted there:
  git --git-dir=/work/.mirror/qubvel-org+segmentation_models.pytorch/repo archive HEAD | tar -x -C /tmp/smp
  cd /tmp && PYTHONPATH=/tmp/smp python3 /work/main/scripts/parity/unetpp_vgg19_step.py ../work/shared/data OUT
"""
import json, os, sys, time
import numpy as np
import torch

torch.library.register_fake = lambda *a, **k: (lambda f: f)  # torchvision here is a CUDA build; see the brief
import segmentation_models_pytorch as smp
from PIL import Image
from safetensors.torch import save_file

DATA, OUT = sys.argv[1], sys.argv[2]
STEPS, BATCH, SIZE, K, SIGMA, LR = 10, 2, 128, 19, 2.0, 1e-3
MEAN, STD = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)


def sample(i):
    """Image i+1 of ISBI training, shrunk to 128x128 here (the same arrays go to both trainers)."""
    img = Image.open(f'{DATA}/isbi2015/RawImage/TrainingData/{i + 1:03d}.jpg').convert('L')
    sx, sy = SIZE / img.width, SIZE / img.height
    grey = np.asarray(img.resize((SIZE, SIZE), Image.BILINEAR), np.float32) / 255
    image = ((np.repeat(grey[None], 3, 0) - MEAN[:, None, None]) / STD[:, None, None]).astype(np.float32)
    pts = [tuple(map(float, l.split(','))) for l in open(f'{DATA}/isbi2015/AnnotationsByMD/400_senior/{i + 1:03d}.txt').read().split()[:K]]
    r, c = np.mgrid[0:SIZE, 0:SIZE]
    target = np.stack([np.exp(-((c - round(x * sx)) ** 2 + (r - round(y * sy)) ** 2) / (2 * SIGMA ** 2)) for x, y in pts]).astype(np.float32)
    return image, target


os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)
model = smp.UnetPlusPlus('vgg19', encoder_weights=None, classes=K, in_channels=3)
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, f'{OUT}/init.safetensors')
samples = [sample(i) for i in range(STEPS * BATCH)]
images = np.stack([s[0] for s in samples])
targets = np.stack([s[1] for s in samples])
images.tofile(f'{OUT}/images.bin')
targets.tofile(f'{OUT}/targets.bin')

torch.set_num_threads(2)
model.train()
opt = torch.optim.Adam(model.parameters(), lr=LR)
losses, times = [], []
for s in range(STEPS):
    x = torch.from_numpy(images[s * BATCH:(s + 1) * BATCH])
    t = torch.from_numpy(targets[s * BATCH:(s + 1) * BATCH])
    t0 = time.time()
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), t)
    loss.backward()
    opt.step()
    times.append(time.time() - t0)
    losses.append(loss.item())
    print(s + 1, loss.item(), f'{times[-1]:.2f}s', flush=True)
json.dump({'torch': torch.__version__, 'losses': losses, 'step_s': times}, open(f'{OUT}/torch-losses.json', 'w'), indent=1)
