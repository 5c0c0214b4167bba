"""Dev-only: PyTorch CPU time per training step of smp U-Net++/VGG19 or U-Net/VGG19 (forward, loss, backward,
Adam), the baseline for lmk-bench --train; not part of the product. WIDTH scales every channel count as lmk's
--width-multiplier does (encoder and decoder); LOSS is mse or softmax_ce (spatial softmax cross-entropy); ARCH is
unetplusplus (default) or unet.
  cd /tmp && PYTHONPATH=/tmp/smp python3 /work/main/scripts/parity/torch_step_time.py HEIGHT WIDTH BATCH STEPS [THREADS [WIDTH_MULTIPLIER [LOSS [ARCH]]]]"""
import json, sys, time
import torch

torch.library.register_fake = lambda *a, **k: (lambda f: f)  # torchvision here is a CUDA build; see the brief
import segmentation_models_pytorch as smp

h, w, b, steps = map(int, sys.argv[1:5])
torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 2)
multiplier = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0
loss_name = sys.argv[7] if len(sys.argv) > 7 else 'mse'
arch_name = sys.argv[8] if len(sys.argv) > 8 else 'unetplusplus'
arch = {'unetplusplus': smp.UnetPlusPlus, 'unet': smp.Unet}[arch_name]
scale = lambda c: max(1, int(c * multiplier + 0.5))  # lmk's scaleChannels (round half up)
params = smp.encoders.encoders['vgg19']['params']
params['config'] = [c if c == 'M' else scale(c) for c in params['config']]
params['out_channels'] = [scale(c) for c in params['out_channels']]
torch.manual_seed(0)
model = arch('vgg19', encoder_weights=None, classes=19, decoder_channels=[scale(c) for c in (256, 128, 64, 32, 16)]).train()
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
x, t = torch.randn(b, 3, h, w), torch.rand(b, 19, h, w)


def loss_of(p):
    if loss_name == 'softmax_ce':
        target = t.flatten(2) / t.flatten(2).sum(2, keepdim=True)
        return -(target * torch.log_softmax(p.flatten(2), 2)).sum(2).mean()
    return torch.nn.functional.mse_loss(p, t)


times = []
for s in range(steps + 1):
    t0 = time.time()
    opt.zero_grad()
    loss_of(model(x)).backward()
    opt.step()
    if s > 0:
        times.append(time.time() - t0)
times.sort()
# The dense reference beside lmk-bench's matmul_gflop_s: four chained 2048^3 products, best of three after one.
a = torch.full((2048, 2048), 1 / 2048)
mm = []
for k in range(4):
    t0 = time.time()
    y = a
    for _ in range(4):
        y = y @ a
    if k > 0:
        mm.append(time.time() - t0)
print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'arch': arch_name, 'width_multiplier': multiplier, 'loss': loss_name,
                  'step_s': {'min': times[0], 'median': times[len(times) // 2], 'max': times[-1]}, 'mm_gflop_s': 4 * 2 * 2048 ** 3 / min(mm) / 1e9}))
