"""Writes the fixtures for gantry's LPIPS (VGG16, v0.1, "net-lin"), FastGAN's perceptual loss.

Run from the repository root: python tests/reference/make_lpips.py [divisor]
It needs only torch and safetensors (no torchvision, no lpips package, no download): the
network is written out here in plain torch.nn, with torchvision's layer indices so that the
state-dict keys are the ones of the real files:
  - features: VGG16's convolutional part, conv 3x3 padding 1 + ReLU, max pool 2x2 stride 2;
    convs at 0,2,5,7,10,12,14,17,19,21,24,26,28, pools at 4,9,16,23,30.
  - LPIPS taps the ReLU outputs at 3, 8, 15, 22, 29 (relu1_2 ... relu5_3), normalizes each
    over channels, f / (sqrt(sum_c f^2) + 1e-10), squares the difference of the two
    images' features, weighs channels with a bias-free 1x1 conv C -> 1 (`lin{k}.model.1`,
    behind an eval-mode Dropout at model.0), averages over H, W and sums the five taps.
  - Inputs in [-1, 1] are first scaled: (x - shift) / scale per channel.

Weights are random (seeded), and every width is VGG16's divided by `divisor` (default 8) so
the committed files stay small; gantry reads the widths from the file's shapes.

Writes tests/fixtures/lpips/:
  vgg16.pth      torch.save of a torchvision-style state dict: features.{i}.weight/bias and
                 a dummy classifier.0.weight that the loader must ignore (zip format, as
                 torchvision's downloads are).
  lin.pth        torch.save of the lin layers, lin{k}.model.1.weight [1, C_k, 1, 1], in the
                 legacy (pre-1.6) format that lpips's shipped weights/v0.1/vgg.pth uses
                 (its bytes change from run to run, since that format names storages by
                 their memory address; its values do not).
  expected.safetensors
                 target, pred [2, 3, 34, 40] (odd sizes on the way down: 17, 5), the
                 per-sample distance [2, 1, 1, 1] and the gradients of its sum w.r.t. pred
                 and target; dead.*: the distance and pred's gradient with features.28.bias
                 set to -1000, which zeroes relu5_3 everywhere (a channel vector of zeros
                 must not give NaN).
The forward and backward run in float64 from the f32-rounded weights and inputs, so the
goldens carry no f32 error of their own.
"""

import os
import sys

import torch
from safetensors.torch import save_file
from torch import nn

DIVISOR = int(sys.argv[1]) if len(sys.argv) > 1 else 8
STAGES = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]  # (width, convs) of VGG16
TAPS = [3, 8, 15, 22, 29]
SHIFT = [-0.030, -0.088, -0.188]
SCALE = [0.458, 0.448, 0.450]
DIR = os.path.join(os.path.dirname(__file__), "..", "fixtures", "lpips")


def vgg16_features(widths):
    layers, c = [], 3
    for stage, ((_, convs), width) in enumerate(zip(STAGES, widths)):
        if stage > 0:
            layers.append(nn.MaxPool2d(2, 2))
        for _ in range(convs):
            layers += [nn.Conv2d(c, width, 3, padding=1), nn.ReLU()]
            c = width
    layers.append(nn.MaxPool2d(2, 2))  # index 30: in torchvision's features, unused by LPIPS
    net = nn.Sequential(*layers)
    convs = [i for i, l in enumerate(net) if isinstance(l, nn.Conv2d)]
    assert convs == [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28], convs
    return net


def normalize(f, eps=1e-10):
    return f / (torch.sqrt((f ** 2).sum(1, keepdim=True)) + eps)


def lpips(features, lins, target, pred):
    """Distance per sample, [N, 1, 1, 1]."""
    shift = torch.tensor(SHIFT, dtype=target.dtype).view(1, 3, 1, 1)
    scale = torch.tensor(SCALE, dtype=target.dtype).view(1, 3, 1, 1)
    h0, h1 = (target - shift) / scale, (pred - shift) / scale
    total = 0
    for i, layer in enumerate(features[: TAPS[-1] + 1]):
        h0, h1 = layer(h0), layer(h1)
        if i in TAPS:
            d = (normalize(h0) - normalize(h1)) ** 2
            total = total + lins[TAPS.index(i)](d).mean((2, 3), keepdim=True)
    return total


def main():
    torch.manual_seed(0)
    widths = [w // DIVISOR for w, _ in STAGES]
    features = vgg16_features(widths)
    for layer in features:
        if isinstance(layer, nn.Conv2d):
            # He initialisation keeps activations O(1) through 13 layers, as trained VGG's are.
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.normal_(layer.bias, 0.0, 0.1)
    lins = nn.ModuleList(nn.Conv2d(w, 1, 1, bias=False) for w in widths)
    for lin in lins:
        # lpips's trained lin weights are non-negative (it clamps them while training).
        nn.init.uniform_(lin.weight, 0.0, 1.0 / lin.weight.shape[1] ** 0.5)

    os.makedirs(DIR, exist_ok=True)
    vgg_sd = {f"features.{k}": v.clone() for k, v in features.state_dict().items()}
    vgg_sd["classifier.0.weight"] = torch.randn(4, 3)  # stands in for the ignored classifier
    torch.save(vgg_sd, os.path.join(DIR, "vgg16.pth"))
    lin_sd = {f"lin{k}.model.1.weight": l.weight.detach().clone() for k, l in enumerate(lins)}
    torch.save(lin_sd, os.path.join(DIR, "lin.pth"), _use_new_zipfile_serialization=False)

    features, lins = features.double().eval(), lins.double().eval()
    target = (torch.rand(2, 3, 34, 40) * 2 - 1).double()
    pred = (target + 0.3 * torch.randn(2, 3, 34, 40)).clamp(-1, 1).double()
    out = {"target": target, "pred": pred}

    def record(prefix, with_target=True):
        t, p = target.clone().requires_grad_(), pred.clone().requires_grad_()
        dist = lpips(features, lins, t, p)
        grad_pred, grad_target = torch.autograd.grad(dist.sum(), [p, t])
        assert torch.isfinite(grad_pred).all() and torch.isfinite(grad_target).all()
        out[f"{prefix}distance"] = dist
        out[f"{prefix}grad_pred"] = grad_pred
        if with_target:
            out[f"{prefix}grad_target"] = grad_target
        print(f"{prefix or 'live.'}distance {dist.flatten().tolist()}, max |grad_pred| {grad_pred.abs().max():.3g}")

    with torch.no_grad():
        scale = torch.tensor(SCALE, dtype=torch.float64).view(1, 3, 1, 1)
        probe = (target - torch.tensor(SHIFT, dtype=torch.float64).view(1, 3, 1, 1)) / scale
        for i, layer in enumerate(features[: TAPS[-1] + 1]):
            probe = layer(probe)
            if i in TAPS:
                zero = (probe.abs().sum(1) == 0).float().mean()
                print(f"tap {i}: {list(probe.shape)}, all-zero channel vectors {zero:.1%}")
    record("")
    with torch.no_grad():
        features[28].bias.fill_(-1000.0)
    record("dead.", with_target=False)

    save_file({k: v.detach().float().contiguous() for k, v in out.items()}, os.path.join(DIR, "expected.safetensors"))
    print(f"wrote {DIR} with widths {widths}")


if __name__ == "__main__":
    main()
