"""Dev-only: PyTorch CPU time per training step of smp U-Net++/VGG19 (forward, mse, backward, Adam), the
baseline for lmk-bench --train; not part of the product.
  cd /tmp && PYTHONPATH=/tmp/smp python3 /work/main/scripts/parity/torch_step_time.py HEIGHT WIDTH BATCH STEPS [THREADS]"""
import json, sys, time
import torch

torch.library.register_fake = lambda *a, **k: (lambda f: f)  # torchvision here is a CUDA build; see the brief
import segmentation_models_pytorch as smp

h, w, b, steps = map(int, sys.argv[1:5])
torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 2)
torch.manual_seed(0)
model = smp.UnetPlusPlus('vgg19', encoder_weights=None, classes=19).train()
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
x, t = torch.randn(b, 3, h, w), torch.rand(b, 19, h, w)
times = []
for s in range(steps + 1):
    t0 = time.time()
    opt.zero_grad()
    torch.nn.functional.mse_loss(model(x), t).backward()
    opt.step()
    if s > 0:
        times.append(time.time() - t0)
times.sort()
print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'step_s': {'min': times[0], 'median': times[len(times) // 2], 'max': times[-1]}}))
