"""Dev-only parity check of lmk's Table 1 networks (U-Net, U-Net++, DeepLabV3 with VGG19, ResNeXt101-32x8d,
EfficientNet-B7) against segmentation_models_pytorch (smp). Not used by lmk; never vendors smp.

Needs torch, torchvision, safetensors, numpy and the smp source on PYTHONPATH, e.g.
  git --git-dir=/work/.mirror/qubvel-org+segmentation_models.pytorch/repo archive HEAD | tar -x -C /tmp/smp
  cd /tmp && PYTHONPATH=/tmp/smp:/path/to/lmk/scripts/parity python3 /path/to/lmk/scripts/parity/smp_parity_table1.py <mode> ...

Modes (as smp_parity.py):
  full DIR     random smp state dict (random BatchNorm statistics at a sane scale, see calibrate; smp's never-run
               modules included), random
               input; writes DIR/weights.safetensors and DIR/case.safetensors. Compare with scripts/parity/compare.js.
  fixture FILE weights and input from lmk's seeded generator (smp_parity.seeded_case's rule), only smp's output
               stored: a small committed fixture (test/fixtures/models/).

A width multiplier m < 1 (powers of two) builds smp's model at lmk's scaled widths: ResNeXt stem scale(64 m),
scale(32 m) groups of 8 * 2^l channels, scale(256 * 2^l m) outputs; EfficientNet-B7 width coefficient 2.0 m;
decoder channels scaled.
"""
import argparse
import copy
import json
import os
import re

import numpy as np
import torch
from torch import nn

# torchvision in this environment is a CUDA build; on CPU torch its fake-op registration fails.
torch.library.register_fake = lambda *a, **k: (lambda f: f)
import segmentation_models_pytorch as smp  # noqa: E402
import segmentation_models_pytorch.encoders.efficientnet as smp_efficientnet  # noqa: E402
from segmentation_models_pytorch.encoders.resnet import ResNetEncoder  # noqa: E402
from torchvision.models.resnet import Bottleneck  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from smp_parity import mulberry32, random_case, scale, uniform  # noqa: E402


def round_filters(filters, wc):
    f = filters * wc
    new = max(8, int(f + 4) // 8 * 8)
    return int(new + 8 if new < 0.9 * f else new)


class ScaledResNeXt(ResNetEncoder):
    """ResNeXt101-32x8d rebuilt at lmk's scaled widths (torchvision's own _make_layer and Bottleneck)."""
    multiplier = 1.0

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        m = self.multiplier
        if m == 1.0:
            return
        s = lambda c: scale(c, m)  # noqa: E731
        self.inplanes, self.dilation = s(64), 1
        self.groups, self.base_width = s(32), 8 / m
        self.conv1 = nn.Conv2d(3, s(64), 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(s(64))
        self.layer1 = self._make_layer(Bottleneck, s(64), 3)
        self.layer2 = self._make_layer(Bottleneck, s(128), 4, stride=2)
        self.layer3 = self._make_layer(Bottleneck, s(256), 23, stride=2)
        self.layer4 = self._make_layer(Bottleneck, s(512), 3, stride=2)


def build(arch, encoder, classes, in_channels, m):
    entry = smp.encoders.encoders[encoder]
    if encoder == "vgg19":
        entry["params"]["config"] = [c if c == "M" else scale(c, m) for c in entry["params"]["config"]]
        entry["params"]["out_channels"] = [scale(c, m) for c in entry["params"]["out_channels"]]
    elif encoder == "resnext101_32x8d":
        ScaledResNeXt.multiplier = m
        entry["encoder"] = ScaledResNeXt
        entry["params"]["out_channels"] = [3, scale(64, m)] + [scale(256 * 2 ** l, m) for l in range(4)]
    else:
        original = smp_efficientnet.get_model_params
        smp_efficientnet.get_model_params = lambda name, override_params: original(name, {"width_coefficient": 2.0 * m})
        entry["params"]["out_channels"] = [3] + [round_filters(c, 2.0 * m) for c in (32, 24, 40, 112, 320)]
    if arch == "deeplabv3":
        model = smp.DeepLabV3(encoder, encoder_weights=None, in_channels=in_channels, classes=classes,
                              decoder_channels=scale(256, m))
    else:
        cls = smp.UnetPlusPlus if arch == "unetplusplus" else smp.Unet
        model = cls(encoder, encoder_weights=None, in_channels=in_channels, classes=classes,
                    decoder_channels=[scale(c, m) for c in (256, 128, 64, 32, 16)])
    return model.eval()


def never_run(arch, encoder, name):
    """smp modules that its forward never runs, which lmk does not build."""
    return (name.endswith("num_batches_tracked")
            or (arch == "unetplusplus" and name.startswith("decoder.center."))
            or (encoder == "efficientnet-b7" and (name.startswith("encoder._conv_head.") or name.startswith("encoder._bn1."))))


DAMPED = re.compile(r"^encoder\.(_blocks\.\d+\._bn2|layer\d\.\d+\.bn3)\.(weight|bias)$")


def damp(name, value):
    """Random weights put a 55-block EfficientNet in the chaotic regime, where float32 rounding alone changes the
    output completely (torch float32 vs float64 differ by the output's own size), and grow ResNeXt's activations
    to ~1e6 over its 33 residual blocks. Scaling the last BatchNorm of each residual branch (EfficientNet's
    projection `_bn2`, ResNeXt's `bn3`) by 0.1 keeps the branches small (as zero-init-residual does in
    training), so that an absolute tolerance means something."""
    return value * 0.1 if DAMPED.match(name) else value


def seeded_case(arch, encoder, model, seed, input_shape):
    """As smp_parity.seeded_case: sorted names, one stream; 4-D weights U(+-sqrt(6/fan_in)), BatchNorm scales and
    variances U(0.5, 1.5), other vectors U(-0.2, 0.2), then damped (see damp); input U(-2, 2) from the stream of
    seed + 1."""
    shapes = {n: tuple(t.shape) for n, t in model.state_dict().items()}
    names = sorted(n for n in shapes if not never_run(arch, encoder, n))
    draws = mulberry32(seed, sum(int(np.prod(shapes[n])) for n in names))
    state, at = {}, 0
    for n in names:
        shape = shapes[n]
        u = draws[at:at + int(np.prod(shape))]
        at += u.size
        if len(shape) == 4:
            b = np.sqrt(6.0 / (shape[1] * shape[2] * shape[3]))
            v = uniform(u, -b, b)
        elif n.endswith("running_var") or n.endswith(".weight"):
            v = uniform(u, 0.5, 1.5)
        else:
            v = uniform(u, -0.2, 0.2)
        state[n] = damp(n, torch.from_numpy(v.reshape(shape)))
    image = torch.from_numpy(uniform(mulberry32(seed + 1, int(np.prod(input_shape))), -2, 2).reshape(input_shape))
    return state, image


def calibrate(model, image, seed, perturbation):
    """Deep residual networks with arbitrary BatchNorm statistics blow activations up to ~1e7, where an absolute
    tolerance means nothing. Set every running statistic to the batch statistics of one training-mode pass over the
    input (biased variance, so that eval mode reproduces that pass), then perturb them at random by
    `perturbation` x (mean + 0.2 std N(0, 1), variance x U(0.7, 1.3)). EfficientNet-B7's 55 blocks amplify such
    perturbations chaotically (torch float32 and float64 then disagree by the output's own size): use 0 there."""
    g = torch.Generator().manual_seed(seed + 7)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    counts = {}
    hooks = [bn.register_forward_hook(lambda m, i, o: counts.__setitem__(m, i[0].numel() // i[0].shape[1])) for bn in bns]
    for bn in bns:
        bn.momentum = None  # cumulative average: one pass gives the batch statistics
        bn.reset_running_stats()
    model.train()
    # Statistics of the eval-mode network: no dropout, no stochastic depth in the calibration pass.
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    drop_connect = getattr(model.encoder, "_drop_connect_rate", None)
    if drop_connect is not None:
        model.encoder._drop_connect_rate = 0.0
    with torch.no_grad():
        model(image)
    if drop_connect is not None:
        model.encoder._drop_connect_rate = drop_connect
    for h in hooks:
        h.remove()
    model.eval()
    for bn in bns:
        if bn in counts:  # modules that never run keep their initial statistics
            bn.running_var *= (counts[bn] - 1) / counts[bn]
        std = bn.running_var.sqrt()
        bn.running_mean += perturbation * 0.2 * std * torch.randn(std.shape, generator=g)
        bn.running_var *= 1 + perturbation * 0.3 * (2 * torch.rand(std.shape, generator=g) - 1)
        bn.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
    return {k: v.clone() for k, v in model.state_dict().items()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["full", "fixture"])
    p.add_argument("out")
    p.add_argument("--arch", choices=["unetplusplus", "unet", "deeplabv3"], required=True)
    p.add_argument("--encoder", choices=["vgg19", "resnext101_32x8d", "efficientnet-b7"], required=True)
    p.add_argument("--classes", type=int, default=1)
    p.add_argument("--in-channels", type=int, choices=[1, 3], default=3)
    p.add_argument("--width-multiplier", type=float, default=1.0)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--height", type=int, default=96)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bn-perturbation", type=float, default=1.0, help="full mode: scale of the random BatchNorm statistics (see calibrate)")
    a = p.parse_args()

    model = build(a.arch, a.encoder, a.classes, a.in_channels, a.width_multiplier)
    input_shape = (a.batch, a.in_channels, a.height, a.width)
    if a.mode == "fixture":
        state, image = seeded_case(a.arch, a.encoder, model, a.seed, input_shape)
    else:
        state, image = random_case(a.arch, model, a.seed, input_shape, adjust=damp)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(never_run(a.arch, a.encoder, n) for n in missing), (missing, unexpected)
    if a.mode == "full":
        state = calibrate(model, image, a.seed, a.bn_perturbation)
    with torch.no_grad():
        heatmaps = model(image).contiguous()
        if a.mode == "full":
            # smp in float64 on the same weights: how far float32 rounding alone moves smp's own output. Kept as two
            # float32 tensors (hi + lo), which lmk's safetensors reader takes.
            exact = copy.deepcopy(model).double()(image.double())
            hi = exact.float()
            lo = (exact - hi.double()).float()
    spec = {"arch": a.arch, "encoder": a.encoder, "classes": a.classes, "inChannels": a.in_channels,
            "widthMultiplier": a.width_multiplier}
    meta = {"spec": json.dumps(spec), "seed": str(a.seed), "input_shape": json.dumps(list(input_shape)),
            "generator": "smp " + smp.__version__ + ", torch " + torch.__version__}
    if a.mode == "fixture":
        save_file({"heatmaps": heatmaps}, a.out, metadata=meta)
    else:
        os.makedirs(a.out, exist_ok=True)
        save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(a.out, "weights.safetensors"))
        save_file({"image": image.contiguous(), "heatmaps": heatmaps, "heatmaps_float64_hi": hi.contiguous(),
                   "heatmaps_float64_lo": lo.contiguous()}, os.path.join(a.out, "case.safetensors"), metadata=meta)
    params = sum(t.numel() for t in model.parameters())
    print(f"{a.mode} {a.arch}/{a.encoder} x{a.width_multiplier}: smp params {params}, heatmaps {tuple(heatmaps.shape)}, "
          f"|max| {heatmaps.abs().max().item():.4g}, std {heatmaps.std().item():.4g} -> {a.out}")


if __name__ == "__main__":
    main()
