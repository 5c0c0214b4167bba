"""Dev-only PyTorch twin of test/train/tiny-net.ts: prints per-step losses of 10 Adam steps as JSON
for test/train/fixtures/tiny-torch-losses.json. Not used by the product. Run: python3 scripts/parity/tiny_step.py"""
import json, math
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)
B, K, H, W = 2, 2, 16, 16


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 8, 3, padding=1)
        self.c3 = nn.Conv2d(12, 4, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(4)
        self.head = nn.Conv2d(4, K, 1)

    def forward(self, x):
        c1 = F.relu(self.bn1(self.c1(x)))
        c2 = F.relu(self.c2(F.max_pool2d(c1, 2)))
        cat = torch.cat([F.interpolate(c2, scale_factor=2, mode='nearest'), c1], 1)
        return self.head(F.relu(self.bn3(self.c3(cat))))


ORDER = ['c1.weight', 'bn1.weight', 'bn1.bias', 'c2.weight', 'c2.bias', 'c3.weight', 'bn3.weight', 'bn3.bias', 'head.weight', 'head.bias']


def formula_weights(model):
    sd = model.state_dict()
    for k, name in enumerate(ORDER):
        t = sd[name]
        i = np.arange(t.numel(), dtype=np.float64)
        s = np.sin(0.731 * i + 1.37 * k + 0.1)
        scale = 1 / math.sqrt(np.prod(t.shape[1:])) if t.dim() > 1 else 0.1
        v = (1.0 if name.startswith('bn') and name.endswith('weight') else 0.0) + scale * s
        sd[name].copy_(torch.from_numpy(v.astype(np.float32)).reshape(t.shape))


def formula_batch(index):
    i = np.arange(B * 3 * H * W, dtype=np.float64)
    images = (np.sin(0.05 * i + index) * np.cos(0.013 * i)).astype(np.float32).reshape(B, 3, H, W)
    targets = np.zeros((B, K, H, W), np.float32)
    r, c = np.mgrid[0:H, 0:W]
    for b in range(B):
        for k in range(K):
            cx, cy = (3 + 5 * k + 2 * b + index) % W, (4 + 3 * k + 3 * b + 2 * index) % H
            targets[b, k] = np.exp(-((c - cx) ** 2 + (r - cy) ** 2) / 8)
    return torch.from_numpy(images), torch.from_numpy(targets)


def adaptive_wing(pred, target, alpha=2.1, omega=14, epsilon=1, theta=0.5):
    delta = (target - pred).abs()
    power = alpha - target
    a = omega * (1 / (1 + (theta / epsilon) ** power)) * power * ((theta / epsilon) ** (power - 1)) * (1 / epsilon)
    c = theta * a - omega * torch.log(1 + (theta / epsilon) ** power)
    return torch.where(delta < theta, omega * torch.log(1 + (delta / epsilon) ** power), a * delta - c).mean()


def softmax_ce(pred, target):
    # Spatial softmax cross-entropy: each channel's logits a distribution over the grid, the target
    # normalised to sum 1; mean over batch and channels.
    logp = F.log_softmax(pred.flatten(2), dim=2)
    t = target.flatten(2)
    t = t / (t.sum(dim=2, keepdim=True) + 1e-30)
    return -(t * logp).sum(dim=2).mean()


LOSSES = {'mse': F.mse_loss, 'bce': F.binary_cross_entropy_with_logits, 'adaptive_wing': adaptive_wing, 'softmax_ce': softmax_ce}


def run(loss_name, lr, weight_decay, steps=10):
    model = Tiny()
    with torch.no_grad():
        formula_weights(model)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    for s in range(steps):
        x, t = formula_batch(s)
        opt.zero_grad()
        loss = LOSSES[loss_name](model(x), t)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    sd = model.state_dict()
    return {'loss': loss_name, 'lr': lr, 'weightDecay': weight_decay, 'losses': losses,
            'bn3.running_var': sd['bn3.running_var'].tolist(), 'head.bias': sd['head.bias'].tolist()}


if __name__ == '__main__':
    runs = [run('mse', 1e-2, 0), run('bce', 1e-2, 0), run('adaptive_wing', 1e-2, 0), run('mse', 1e-2, 0.1), run('softmax_ce', 1e-2, 0)]
    print(json.dumps({'torch': torch.__version__, 'runs': runs}, indent=1))
