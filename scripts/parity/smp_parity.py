"""Dev-only parity check of lmk's networks against segmentation_models_pytorch (smp). Not used by lmk.

Needs torch, safetensors, numpy and the smp source on PYTHONPATH (never vendored into lmk), e.g.
  git --git-dir=/work/.mirror/qubvel-org+segmentation_models.pytorch/repo archive HEAD | tar -x -C /tmp/smp
  cd /tmp && PYTHONPATH=/tmp/smp python3 /path/to/lmk/scripts/parity/smp_parity.py <mode> ...

Modes:
  full DIR     random smp state dict (random BatchNorm statistics, num_batches_tracked, and for U-Net++
               smp's unused decoder.center), random input; writes DIR/weights.safetensors (smp names)
               and DIR/case.safetensors (image, heatmaps, spec). Compare with scripts/parity/compare.js.
  fixture FILE weights and input drawn from lmk's seeded generator (mulberry32; the same rule as
               test/models/parity-case.ts), so only smp's output is stored: a small committed fixture.
"""
import argparse
import json

import numpy as np
import torch

# torchvision in this environment is a CUDA build; on CPU torch its fake-op registration fails.
torch.library.register_fake = lambda *a, **k: (lambda f: f)
import segmentation_models_pytorch as smp  # noqa: E402
from safetensors.torch import save_file  # noqa: E402


def scale(channels, multiplier):
    """lmk's scaleChannels: max(1, round half up)."""
    return max(1, int(np.floor(channels * multiplier + 0.5)))


def build(arch, classes, in_channels, width_multiplier):
    params = smp.encoders.encoders["vgg19"]["params"]
    params["config"] = [c if c == "M" else scale(c, width_multiplier) for c in params["config"]]
    params["out_channels"] = [scale(c, width_multiplier) for c in params["out_channels"]]
    decoder_channels = [scale(c, width_multiplier) for c in (256, 128, 64, 32, 16)]
    cls = smp.UnetPlusPlus if arch == "unetplusplus" else smp.Unet
    model = cls("vgg19", encoder_weights=None, in_channels=in_channels, classes=classes, decoder_channels=decoder_channels)
    return model.eval()


def lmk_names(arch, model):
    """The tensors lmk's network holds: smp's state dict less num_batches_tracked and U-Net++'s unused center."""
    return [n for n in model.state_dict()
            if not n.endswith("num_batches_tracked") and not (arch == "unetplusplus" and n.startswith("decoder.center."))]


def mulberry32(seed, count):
    """lmk's Rng.uniform(), vectorised: draw k uses state seed + (k + 1) * 0x6D2B79F5 mod 2^32."""
    m = np.uint64(0xFFFFFFFF)
    a = (np.uint64(seed) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x6D2B79F5)) & m
    imul = lambda x, y: (x * y) & m  # noqa: E731 (products of two 32-bit values fit in uint64)
    t = imul(a ^ (a >> np.uint64(15)), a | np.uint64(1))
    t = ((t + imul(t ^ (t >> np.uint64(7)), t | np.uint64(61))) & m) ^ t
    return ((t ^ (t >> np.uint64(14))) & m).astype(np.float64) / 4294967296.0


def uniform(values, low, high):
    return (low + (high - low) * values).astype(np.float32)


def seeded_case(arch, model, seed, input_shape):
    """Weights in sorted-name order from one stream; conv weights U(+-sqrt(6/fan_in)), BatchNorm scales and
    variances U(0.5, 1.5), biases and means U(-0.2, 0.2); input U(-2, 2) from the stream of seed + 1."""
    shapes = {n: tuple(t.shape) for n, t in model.state_dict().items()}
    names = sorted(lmk_names(arch, model))
    total = sum(int(np.prod(shapes[n])) for n in names)
    draws = mulberry32(seed, total)
    state, at = {}, 0
    for n in names:
        shape = shapes[n]
        count = int(np.prod(shape))
        u = draws[at:at + count]
        at += count
        if len(shape) == 4:
            b = np.sqrt(6.0 / (shape[1] * shape[2] * shape[3]))
            v = uniform(u, -b, b)
        elif n.endswith("running_var") or n.endswith(".weight"):
            v = uniform(u, 0.5, 1.5)
        else:
            v = uniform(u, -0.2, 0.2)
        state[n] = torch.from_numpy(v.reshape(shape))
    image = torch.from_numpy(uniform(mulberry32(seed + 1, int(np.prod(input_shape))), -2, 2).reshape(input_shape))
    return state, image


def random_case(arch, model, seed, input_shape, adjust=lambda name, value: value):
    """An independent random state dict with random BatchNorm statistics (torch's generator); `adjust(name,
    value)` may rescale a tensor as it is drawn (smp_parity_table1.damp)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for n, t in model.state_dict().items():
        if n.endswith("num_batches_tracked"):
            state[n] = torch.tensor(int(torch.randint(0, 1000, (1,), generator=g)), dtype=torch.int64)
        elif n.endswith("running_var") or (t.ndim == 1 and n.endswith(".weight")):
            state[n] = 0.5 + torch.rand(t.shape, generator=g)
        elif t.ndim == 4:
            fan_in = t.shape[1] * t.shape[2] * t.shape[3]
            state[n] = torch.randn(t.shape, generator=g) * np.sqrt(2.0 / fan_in)
        else:
            state[n] = 0.2 * torch.randn(t.shape, generator=g)
        state[n] = adjust(n, state[n])
    image = torch.randn(input_shape, generator=g)
    return state, image


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["full", "fixture"])
    p.add_argument("out")
    p.add_argument("--arch", choices=["unetplusplus", "unet"], required=True)
    p.add_argument("--classes", type=int, default=1)
    p.add_argument("--in-channels", type=int, choices=[1, 3], default=3)
    p.add_argument("--width-multiplier", type=float, default=1.0)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--height", type=int, default=96)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    model = build(a.arch, a.classes, a.in_channels, a.width_multiplier)
    input_shape = (a.batch, a.in_channels, a.height, a.width)
    make = seeded_case if a.mode == "fixture" else random_case
    state, image = make(a.arch, model, a.seed, input_shape)
    missing, unexpected = model.load_state_dict(state, strict=False)
    # Only U-Net++'s never-run center may be absent (fixture mode leaves it out).
    assert not unexpected and all(m.startswith("decoder.center.") and a.arch == "unetplusplus" for m in missing), (missing, unexpected)
    with torch.no_grad():
        heatmaps = model(image).contiguous()
    spec = {"arch": a.arch, "encoder": "vgg19", "classes": a.classes, "inChannels": a.in_channels,
            "widthMultiplier": a.width_multiplier}
    meta = {"spec": json.dumps(spec), "seed": str(a.seed), "input_shape": json.dumps(list(input_shape)),
            "generator": "smp " + smp.__version__ + ", torch " + torch.__version__}
    if a.mode == "fixture":
        save_file({"heatmaps": heatmaps}, a.out, metadata=meta)
    else:
        import os
        os.makedirs(a.out, exist_ok=True)
        save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(a.out, "weights.safetensors"))
        save_file({"image": image.contiguous(), "heatmaps": heatmaps}, os.path.join(a.out, "case.safetensors"), metadata=meta)
    print(f"{a.mode} {a.arch}: heatmaps {tuple(heatmaps.shape)}, |max| {heatmaps.abs().max().item():.4g}, std {heatmaps.std().item():.4g} -> {a.out}")


if __name__ == "__main__":
    main()
