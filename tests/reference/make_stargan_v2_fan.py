"""Writes the fixtures for gantry's StarGAN v2 FAN (core/wing.py) and its face masks.

Run from the repository root: python tests/reference/make_stargan_v2_fan.py
It needs torch and safetensors only; the network and the masks are fan_torch.py's.
With STARGAN_V2_WING=<path to the reference's core/wing.py> it first checks fan_torch.py
against the reference itself (cv2, skimage and munch are stubbed: the parts used need none
of them): the same state-dict keys, shapes and parameter count at width 256, and the same
masks from the same weights, bit for bit.

Writes tests/fixtures/stargan_v2/:
  wing_w16.ckpt  A FAN of width 16 in wing.ckpt's layout, {'state_dict': weights}, saved in
                 torch's legacy format (as the 2020 release was). Random weights, BatchNorm
                 with non-trivial affine parameters and running statistics, plus a few keys
                 of a 4-stack model (m1.*, l1.*, bl0.*, al0.*) that the loader must ignore,
                 as the reference's filter does. Its bytes change from run to run (the
                 legacy format names storages by address); its values do not.
  fan.safetensors
    e2e.*        get_heatmap end to end on x [2, 3, 40, 32] in [-1, 1] (resized to 256
                 first): the raw heatmaps of a few channels (`e2e.heatmap_channels`) at
                 64 x 64, every channel's sum, and both masks average-pooled 4 x 4 ([2, 1,
                 64, 64]: the full 256 x 256 masks would be 1 MB) with their full sums.
                 l0 (and bn_end0's biases) are set so that each landmark heatmap lies
                 wholly above the truncation threshold 0.1 (by >= 0.05) or wholly below
                 it, the ones above mostly at their minimum, as landmarks are: a value within
                 float rounding of 0.1 would flip between 0 and 0.1 under any other
                 arithmetic, so this end-to-end case keeps clear of the threshold, and
                 `post.*` tests the truncation on exact inputs.
    post.*       `preprocess` alone on heatmaps [2, 98, 256, 256] that both sides compute
                 from `post.params` [2, 98, 5] = (cy, cx, s, a, b) per map: in float64,
                 v = b + a / (1 + ((h - cy)^2 + (w - cx)^2) / s^2), rounded to float32
                 (only exactly rounded operations, so both sides get the same bits). Blobs
                 at random places; a tenth of the maps wholly below 0.1, a tenth wholly
                 above. Both masks average-pooled 2 x 2 ([2, 1, 128, 128]) and their sums.
    resize.*     bilinear resizing with align_corners=True of x [1, 2, 5, 7] to 9 x 13 and
                 to 3 x 4 (the op get_heatmap upsamples the heatmaps with).
    fan_keys     the number of FAN keys in the checkpoint's state dict.
"""

import os
import sys
import types

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
import fan_torch as ft  # noqa: E402

WIDTH = 16
DIR = os.path.join(os.path.dirname(__file__), "..", "fixtures", "stargan_v2")
# Landmarks whose heatmaps lie above the threshold in the end-to-end case: at least one in
# every term of the masks, some the masks zero (3, 33, 46, 76, 82) and the boundary map (98).
ACTIVE = [3, 10, 33, 40, 46, 53, 57, 62, 76, 79, 82, 85, 90, 97, 98]
HEATMAP_CHANNELS = [10, 33, 57, 62, 90, 98]
MARGIN = 0.05


def randomise(fan, gen):
    """Non-trivial BatchNorm parameters and statistics, biases not zero."""
    with torch.no_grad():
        for name, t in fan.state_dict().items():
            if name.endswith("running_mean"):
                t.copy_(torch.randn(t.shape, generator=gen) * 0.2)
            elif name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=gen) * 1.5 + 0.5)
            elif name.endswith("num_batches_tracked"):
                t.fill_(12345)
            elif name.endswith(".weight") and t.dim() == 1:
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif name.endswith(".bias"):
                t.copy_(torch.randn(t.shape, generator=gen) * 0.1)


def set_heatmap_levels(fan, x01, gen):
    """Sets l0 so that each map is wholly above 0.1 + MARGIN (ACTIVE) or below 0.1 - MARGIN.
    An active map reads one ReLU feature, whose bn_end0 bias is lowered until it is zero on
    85% of the pixels: its normalised values are then mostly 0, as a landmark's are, and the
    masks' sums do not saturate at 1 everywhere."""
    with torch.no_grad():
        pre = fan.bn_end0(fan.trunk(x01)).transpose(0, 1).flatten(1)  # [width, N*64*64]
        fan.bn_end0.bias.sub_(torch.quantile(pre, 0.85, dim=1))
        feats = fan.features(x01)
        weight = torch.randn(fan.l0.weight.shape, generator=gen)
        spread = feats.amax((0, 2, 3)) - feats.amin((0, 2, 3))
        live = torch.nonzero(spread > 0.2 * spread.max()).flatten()
        for c in ACTIVE:
            weight[c] = 0
            weight[c, live[torch.randint(len(live), (1,), generator=gen)]] = 1
        fan.l0.weight.copy_(weight)
        raw = F.conv2d(feats, fan.l0.weight)
        spread = (raw.amax((0, 2, 3)) - raw.amin((0, 2, 3))).clamp_min(1e-6)
        fan.l0.weight.mul_((0.6 / spread).view(-1, 1, 1, 1))  # each map spans 0.6
        raw = F.conv2d(feats, fan.l0.weight)
        lo, hi = raw.amin((0, 2, 3)), raw.amax((0, 2, 3))
        lift = torch.rand(99, generator=gen) * 0.3
        active = torch.zeros(99, dtype=torch.bool)
        active[ACTIVE] = True
        fan.l0.bias.copy_(torch.where(active, 0.1 + 2 * MARGIN - lo + lift, 0.1 - 2 * MARGIN - hi - lift))


def blob_heatmaps(params):
    """[N, 98, 256, 256] float32 from params [N, 98, 5], computed in float64."""
    p = params.double()
    cy, cx, s, a, b = (p[..., i].view(*p.shape[:2], 1, 1) for i in range(5))
    rows = torch.arange(256, dtype=torch.float64).view(1, 1, 256, 1)
    cols = torch.arange(256, dtype=torch.float64).view(1, 1, 1, 256)
    dy, dx = rows - cy, cols - cx
    return (b + a / (1 + (dy * dy + dx * dx) / (s * s))).float()


def blob_params(gen, n=2):
    u = lambda lo, hi: torch.rand(n, ft.LANDMARKS, generator=gen) * (hi - lo) + lo
    cy, cx, s, a, b = u(32, 224), u(32, 224), u(8, 24), u(0.3, 1.3), u(-0.3, 0.05)
    kind = torch.rand(n, ft.LANDMARKS, generator=gen)
    a = torch.where(kind < 0.1, u(0.05, 0.15), a)
    b = torch.where(kind < 0.1, u(-0.3, -0.2), b)  # wholly below 0.1: truncated to zeros
    b = torch.where(kind > 0.9, u(0.15, 0.3), b)  # wholly above: no truncation
    return torch.stack([cy, cx, s, a, b], -1)


def check_against_reference(path):
    """fan_torch.py against the reference's wing.py, when its path is given."""
    stubs = {"cv2": types.ModuleType("cv2"), "skimage": types.ModuleType("skimage"),
             "skimage.filters": types.ModuleType("skimage.filters"), "munch": types.ModuleType("munch")}
    stubs["skimage.filters"].gaussian = None
    stubs["munch"].Munch = type("Munch", (dict,), {"__getattr__": lambda self, k: self[k]})
    sys.modules.update(stubs)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    import wing

    torch.manual_seed(0)
    ref = wing.FAN(num_modules=1, end_relu=False, num_landmarks=98).eval()
    twin = ft.FAN(256).eval()
    rs, ts = ref.state_dict(), twin.state_dict()
    assert list(rs) == list(ts) and all(rs[k].shape == ts[k].shape for k in rs)
    assert sum(p.numel() for p in ref.parameters()) == sum(p.numel() for p in twin.parameters()) == 6333603
    randomise(ref, torch.Generator().manual_seed(5))
    twin.load_state_dict(ref.state_dict())
    x = torch.rand(2, 3, 40, 32) * 2 - 1
    with torch.no_grad():
        want = ref.get_heatmap(x)
    got = ft.get_heatmap(twin, x)[1]
    assert all(torch.equal(a, b) for a, b in zip(want, got))
    hm = blob_heatmaps(blob_params(torch.Generator().manual_seed(6)))
    assert all(torch.equal(a, b) for a, b in zip(wing.preprocess(hm.clone()), ft.preprocess(hm)))
    print("fan_torch.py matches", path)


def main():
    if os.environ.get("STARGAN_V2_WING"):
        check_against_reference(os.environ["STARGAN_V2_WING"])
    os.makedirs(DIR, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    assert sum(p.numel() for p in ft.FAN(256).parameters()) == 6333603  # clovaai/stargan-v2#29

    fan = ft.FAN(WIDTH).eval()
    randomise(fan, gen)
    x = torch.rand(2, 3, 40, 32, generator=gen) * 2 - 1
    x01 = F.interpolate(x, size=256, mode="bilinear") * 0.5 + 0.5
    set_heatmap_levels(fan, x01, gen)
    hm, (m1, m2) = ft.get_heatmap(fan, x)
    up = F.interpolate(hm[:, :-1], scale_factor=4, mode="bilinear", align_corners=True)
    lo, hi = up.amin((0, 2, 3)), up.amax((0, 2, 3))
    assert bool(((lo >= 0.1 + MARGIN) | (hi <= 0.1 - MARGIN)).all()), "a heatmap crosses the threshold"
    between = lambda m: ((m > 0) & (m < 1)).float().mean().item()
    print(f"e2e masks: {between(m1):.2f} and {between(m2):.2f} of the pixels strictly inside (0, 1)")

    params = blob_params(gen)
    p1, p2 = ft.preprocess(blob_heatmaps(params))
    print(f"post masks: {between(p1):.2f} and {between(p2):.2f} of the pixels strictly inside (0, 1)")

    rx = torch.randn(1, 2, 5, 7, generator=gen)
    bilinear = lambda size: F.interpolate(rx, size=size, mode="bilinear", align_corners=True)

    state = fan.state_dict()
    extra = {  # from the 4-stack AdaptiveWing model; StarGAN's FAN ignores them
        "m1.coordconv.conv.weight": torch.randn(WIDTH, WIDTH + 5, 1, 1, generator=gen),
        "l1.weight": torch.randn(99, WIDTH, 1, 1, generator=gen),
        "bl0.weight": torch.randn(WIDTH, 2, 1, 1, generator=gen),
        "al0.weight": torch.randn(WIDTH, 99, 1, 1, generator=gen),
    }
    torch.save({"state_dict": {**state, **extra}}, os.path.join(DIR, "wing_w16.ckpt"),
               _use_new_zipfile_serialization=False)

    sums = lambda a, b: torch.stack([a.double().sum((1, 2, 3)), b.double().sum((1, 2, 3))], 1)
    tensors = {
        "e2e.x": x,
        "e2e.heatmap_channels": torch.tensor(HEATMAP_CHANNELS, dtype=torch.float32),
        "e2e.heatmaps": hm[:, HEATMAP_CHANNELS],
        "e2e.heatmap_sums": hm.double().sum((2, 3)),
        "e2e.mask1_pool4": F.avg_pool2d(m1, 4),
        "e2e.mask2_pool4": F.avg_pool2d(m2, 4),
        "e2e.mask_sums": sums(m1, m2),
        "post.params": params,
        "post.mask1_pool2": F.avg_pool2d(p1, 2),
        "post.mask2_pool2": F.avg_pool2d(p2, 2),
        "post.mask_sums": sums(p1, p2),
        "resize.x": rx,
        "resize.out_9x13": bilinear((9, 13)),
        "resize.out_3x4": bilinear((3, 4)),
        "fan_keys": torch.tensor([len(state)], dtype=torch.float32),
    }
    save_file({k: v.detach().float().contiguous() for k, v in tensors.items()}, os.path.join(DIR, "fan.safetensors"))
    print("wrote", os.path.normpath(DIR))


if __name__ == "__main__":
    main()
