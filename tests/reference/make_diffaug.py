"""Writes the golden tensors for gantry's DiffAugment ops (src/ops/augment.rs, src/nn/diffaug.rs).

Run from the repository root with a Python that has torch and safetensors:
    python tests/reference/make_diffaug.py
It writes tests/fixtures/diffaug.safetensors. Regenerate, never edit: tests/gpu/ops/augment.rs
reads only what this script writes.

The five functions below restate the semantics of FastGAN's diffaug.py (Zhao et al. 2020)
with the random draws passed in as arguments, so the test can hand the same draws to gantry.
Translation and cutout are written the way the reference computes them (a one-pixel zero
pad gathered at clamped indices; a mask scattered at clamped indices), which is a different
formulation from gantry's kernels (bounds checks; a clamped rectangle).

For each image shape S the file holds:
    S.x                                  the input, [N, C, H, W]
    S.brightness, S.saturation, S.contrast   the U(0, 1) draws r, [N]
    S.translation                        (tx, ty) per sample, [N, 2] (whole numbers in f32)
    S.cutout                             the offsets (ox, oy) per sample, [N, 2]
    S.<case>.out, S.<case>.w, S.<case>.grad   out = case(x), the weight w and d sum(out * w) / dx
    S.translation_sq.w2, S.translation_sq.gg  for out = translation(x)^2, the second-order
                                         gradient d sum(grad * w2) / dx
Cases: brightness, saturation, contrast, translation, cutout, color_translation,
color_translation_cutout, translation_sq.
"""

import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)  # compute in f64, store f32: the goldens carry no f32 error
OUT_PATH = os.path.join(os.path.dirname(__file__), "..", "fixtures", "diffaug.safetensors")
OUT = {}


def put(name, t):
    OUT[name] = t.detach().to(torch.float32).clone().contiguous()


def per_sample(r):
    return r.view(-1, 1, 1, 1)


def brightness(x, r):
    return x + (per_sample(r) - 0.5)


def saturation(x, r):
    grey = x.mean(dim=1, keepdim=True)
    return (x - grey) * (2.0 * per_sample(r)) + grey


def contrast(x, r):
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (per_sample(r) + 0.5) + mean


def translation(x, shifts):
    """out[n, c, i, j] = x[n, c, i + tx, j + ty] inside the image, else 0 (via a zero border)."""
    n, _, h, w = x.shape
    bordered = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # [N, H + 2, W + 2, C]
    rows = (torch.arange(h).view(1, h, 1) + shifts[:, 0].view(n, 1, 1) + 1).clamp(0, h + 1)
    cols = (torch.arange(w).view(1, 1, w) + shifts[:, 1].view(n, 1, 1) + 1).clamp(0, w + 1)
    picked = bordered[torch.arange(n).view(n, 1, 1), rows, cols]  # [N, H, W, C]
    return picked.permute(0, 3, 1, 2)


def cutout_size(h, w):
    return int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)


def cutout(x, offsets):
    """Zeroes, in every channel, the rows and columns offset - size // 2 + a, clamped."""
    n, _, h, w = x.shape
    ch, cw = cutout_size(h, w)
    rows = (torch.arange(ch).view(1, ch, 1) + offsets[:, 0].view(n, 1, 1) - ch // 2).clamp(0, h - 1)
    cols = (torch.arange(cw).view(1, 1, cw) + offsets[:, 1].view(n, 1, 1) - cw // 2).clamp(0, w - 1)
    keep = torch.ones(n, h, w)
    keep[torch.arange(n).view(n, 1, 1), rows, cols] = 0.0
    return x * keep.unsqueeze(1)


def color(x, d):
    return contrast(saturation(brightness(x, d["brightness"]), d["saturation"]), d["contrast"])


CASES = {
    "brightness": lambda x, d: brightness(x, d["brightness"]),
    "saturation": lambda x, d: saturation(x, d["saturation"]),
    "contrast": lambda x, d: contrast(x, d["contrast"]),
    "translation": lambda x, d: translation(x, d["translation"]),
    "cutout": lambda x, d: cutout(x, d["cutout"]),
    "color_translation": lambda x, d: translation(color(x, d), d["translation"]),
    "color_translation_cutout": lambda x, d: cutout(translation(color(x, d), d["translation"]), d["cutout"]),
    "translation_sq": lambda x, d: translation(x, d["translation"]) ** 2,
}


def check_ranges(shape, d):
    """The hand-picked draws lie in the reference's torch.randint ranges."""
    _, _, h, w = shape
    sx, sy = int(h * 0.125 + 0.5), int(w * 0.125 + 0.5)
    ch, cw = cutout_size(h, w)
    t, o = d["translation"], d["cutout"]
    assert t[:, 0].abs().max() <= sx and t[:, 1].abs().max() <= sy, (shape, t)
    assert o.min() >= 0 and o[:, 0].max() < h + 1 - ch % 2 and o[:, 1].max() < w + 1 - cw % 2, (shape, o)


def write_shape(tag, shape, shifts, offsets):
    n = shape[0]
    d = {name: torch.rand(n) for name in ("brightness", "saturation", "contrast")}
    d["translation"] = torch.tensor(shifts, dtype=torch.long)
    d["cutout"] = torch.tensor(offsets, dtype=torch.long)
    check_ranges(shape, d)
    for name, v in d.items():
        put(f"{tag}.{name}", v)
    x = torch.randn(shape).to(torch.float32).to(torch.float64).requires_grad_(True)
    put(f"{tag}.x", x)
    for case, fn in CASES.items():
        out = fn(x, d)
        w = torch.randn(out.shape).to(torch.float32).to(torch.float64)
        (grad,) = torch.autograd.grad((out * w).sum(), x, create_graph=True)
        put(f"{tag}.{case}.out", out)
        put(f"{tag}.{case}.w", w)
        put(f"{tag}.{case}.grad", grad)
        if case == "translation_sq":
            w2 = torch.randn(shape).to(torch.float32).to(torch.float64)
            (gg,) = torch.autograd.grad((grad * w2).sum(), x)
            put(f"{tag}.{case}.w2", w2)
            put(f"{tag}.{case}.gg", gg)


# H = 10, W = 12: sx = 1, sy = 2; cutout 5 x 6, ox in [0, 10), oy in [0, 13). The shifts reach
# both limits on each axis; the offsets clamp the cutout at every edge and once not at all.
write_shape("even", [3, 3, 10, 12], [(-1, 2), (1, -2), (0, 1)], [(0, 12), (9, 0), (4, 5)])
# H = 9, W = 7 (both odd): sx = sy = 1; cutout 5 x 4, ox in [0, 9), oy in [0, 8).
write_shape("odd", [2, 3, 9, 7], [(1, -1), (-1, 1)], [(8, 7), (2, 0)])

os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
save_file(OUT, OUT_PATH)
print(f"wrote {len(OUT)} tensors to {os.path.normpath(OUT_PATH)}")
