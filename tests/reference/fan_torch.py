"""StarGAN v2's face-alignment network (clovaai/stargan-v2, core/wing.py) in plain torch,
with the module names of the reference (so state-dict keys match wing.ckpt) and its mask
post-processing. make_stargan_v2_fan.py writes the fixtures with it.

The one difference from the reference: the channel width is a parameter (the reference fixes
256, with 64 channels after the stem and 128 in the first blocks: width/4 and width/2 here).
The spatial sizes are the reference's: inputs resized to 256, heatmaps at 64, masks at 256.

Network (FAN(num_modules=1, end_relu=False, num_landmarks=98)):
  conv1     CoordConv: x ++ [row coordinate, column coordinate, radius] (6 channels at
            256 x 256) -> conv 7x7 stride 2 pad 3 (bias) -> width/4 at 128
  bn1, relu; conv2 = ConvBlock(width/4, width/2); avg pool 2 -> 64
  conv3 = ConvBlock(width/2, width/2); conv4 = ConvBlock(width/2, width)
  m0        hourglass of depth 4: a CoordConv 1x1 (width + 3 -> width, bias) first, then
            up = b1(x); low = b2(pool(x)); low = (next level or b2_plus_1)(low);
            out = up + nearest_x2(b3(low))
  top_m_0 = ConvBlock(width, width); conv_last0 1x1 (bias); bn_end0; relu
  l0        1x1 conv width -> 99 (bias): 98 landmark heatmaps and a boundary channel
ConvBlock(i, o): three pre-activation 3x3 convs (BN, ReLU, conv, no bias) i -> o/2 -> o/4
-> o/4, their outputs concatenated (o channels) plus the input, through BN, ReLU and a bias-free
1x1 conv (`downsample.0`, `downsample.2`) when i != o.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

LANDMARKS = 98


def coordinate_planes(size):
    """[1, 3, size, size]: row and column coordinates in [-1, 1], and their radius / sqrt(2)."""
    ramp = torch.arange(size, dtype=torch.float32) / (size - 1) * 2 - 1
    rows = ramp.view(size, 1).expand(size, size)
    cols = ramp.view(1, size).expand(size, size)
    radius = torch.sqrt(rows ** 2 + cols ** 2)
    radius = radius / radius.max()
    return torch.stack([rows, cols, radius]).unsqueeze(0)


class CoordConv(nn.Module):
    """Appends the coordinate planes, then convolves (module `conv`)."""

    def __init__(self, size, c_in, c_out, k, stride, pad):
        super().__init__()
        self.size = size
        self.conv = nn.Conv2d(c_in + 3, c_out, k, stride, pad)

    def forward(self, x):
        planes = coordinate_planes(self.size).to(x.dtype).expand(x.size(0), -1, -1, -1)
        return self.conv(torch.cat([x, planes], 1))


class ConvBlock(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        half, quarter = c_out // 2, c_out // 4
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, half, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(half)
        self.conv2 = nn.Conv2d(half, quarter, 3, 1, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(quarter)
        self.conv3 = nn.Conv2d(quarter, quarter, 3, 1, 1, bias=False)
        self.downsample = None
        if c_in != c_out:
            self.downsample = nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        a = self.conv1(F.relu(self.bn1(x)))
        b = self.conv2(F.relu(self.bn2(a)))
        c = self.conv3(F.relu(self.bn3(b)))
        skip = x if self.downsample is None else self.downsample(x)
        return torch.cat([a, b, c], 1) + skip


class HourGlass(nn.Module):
    def __init__(self, width, depth=4):
        super().__init__()
        self.depth = depth
        self.coordconv = CoordConv(64, width, width, 1, 1, 0)
        # Registered in the reference's order: b1_d, b2_d, (deeper levels), b3_d.
        self._levels(width, depth)

    def _levels(self, width, level):
        self.add_module(f"b1_{level}", ConvBlock(width, width))
        self.add_module(f"b2_{level}", ConvBlock(width, width))
        if level > 1:
            self._levels(width, level - 1)
        else:
            self.add_module(f"b2_plus_{level}", ConvBlock(width, width))
        self.add_module(f"b3_{level}", ConvBlock(width, width))

    def _run(self, level, x):
        up = self._modules[f"b1_{level}"](x)
        low = self._modules[f"b2_{level}"](F.avg_pool2d(x, 2))
        low = self._run(level - 1, low) if level > 1 else self._modules[f"b2_plus_{level}"](low)
        low = self._modules[f"b3_{level}"](low)
        return up + F.interpolate(low, scale_factor=2, mode="nearest")

    def forward(self, x):
        return self._run(self.depth, self.coordconv(x))


class FAN(nn.Module):
    def __init__(self, width=256):
        super().__init__()
        assert width % 8 == 0
        self.conv1 = CoordConv(256, 3, width // 4, 7, 2, 3)
        self.bn1 = nn.BatchNorm2d(width // 4)
        self.conv2 = ConvBlock(width // 4, width // 2)
        self.conv3 = ConvBlock(width // 2, width // 2)
        self.conv4 = ConvBlock(width // 2, width)
        self.m0 = HourGlass(width)
        self.top_m_0 = ConvBlock(width, width)
        self.conv_last0 = nn.Conv2d(width, width, 1)
        self.bn_end0 = nn.BatchNorm2d(width)
        self.l0 = nn.Conv2d(width, LANDMARKS + 1, 1)

    def trunk(self, x01):
        """x01: [N, 3, 256, 256] in [0, 1] -> conv_last0's output, [N, width, 64, 64]."""
        h = F.relu(self.bn1(self.conv1(x01)))
        h = F.avg_pool2d(self.conv2(h), 2)
        h = self.conv4(self.conv3(h))
        return self.conv_last0(self.top_m_0(self.m0(h)))

    def features(self, x01):
        """What l0 reads, [N, width, 64, 64]."""
        return F.relu(self.bn_end0(self.trunk(x01)))

    def forward(self, x01):
        """x01: [N, 3, 256, 256] in [0, 1] -> raw heatmaps [N, 99, 64, 64]."""
        return self.l0(self.features(x01))


# ---- masks (wing.py's get_heatmap(x, b_preprocess=True) and preprocess) ----

# Landmark index ranges [start, end) of the 98-point (WFLW) layout, as the reference names them.
CHIN = (8, 25)
EYEBROWS = (33, 51)
EYEBROW_EDGES = (33, 46)
NOSE = (51, 55)
NOSTRILS = (55, 60)
EYES = (60, 76)
LIP_EDGES = (76, 82)
LIP_UPPER = (77, 82)
LIP_LOWER = (83, 88)
LIP_INNER = (88, 96)


def roll_rows(x, n):
    """Row h of the result is row (h + n) mod H of x: the reference's `shift`."""
    return torch.roll(x, -n, dims=2)


def preprocess(x):
    """x: [N, 98, H, W] landmark heatmaps (upsampled to 256 by get_heatmap) -> (mask, mask
    without faceline, mouth and eyebrows), each [N, 1, H, W] in [0, 1]."""
    n, c, h, w = x.shape
    sw = h // 256
    x = torch.where(x < 0.1, torch.zeros_like(x), x)
    flat = x.reshape(n * c, -1)
    lo = flat.min(1, keepdim=True)[0]
    hi = flat.max(1, keepdim=True)[0]
    x = ((flat - lo) / (hi - lo + 1e-6)).view(n, c, h, w)

    for (start, end), n_shift, power in [
        (CHIN, 0, 3),
        (EYEBROWS, -7 * sw, 2),
        (NOSTRILS, 8 * sw, 4),
        (LIP_UPPER, -8 * sw, 4),
        (LIP_LOWER, 8 * sw, 4),
        (LIP_INNER, -2 * sw, 3),
    ]:
        x[:, start:end] = roll_rows(x[:, start:end], n_shift) ** power
    dead = list(range(0, CHIN[0])) + list(range(CHIN[1], 33))
    dead += [EYEBROW_EDGES[0], EYEBROW_EDGES[1], LIP_EDGES[0], LIP_EDGES[1]]
    x[:, dead] = 0
    x[:, NOSE[0] + 1 : NOSE[1]] = roll_rows(x[:, NOSE[0] + 1 : NOSE[1]], 4 * sw)
    eyes = x[:, EYES[0] : EYES[1]].clone()
    x[:, EYES[0] : EYES[1]] = roll_rows(eyes, -8) ** 3 + roll_rows(eyes, -24)

    x2 = x.clone()
    x2[:, CHIN[0] : CHIN[1]] = 0
    x2[:, LIP_EDGES[0] : LIP_INNER[1]] = 0
    x2[:, EYEBROWS[0] : EYEBROWS[1]] = 0
    m1 = x.sum(1, keepdim=True)
    m2 = x2.sum(1, keepdim=True)
    # NaN (only from a non-finite input) becomes 0 in the first mask; the reference tests the
    # second mask with the first one's already-cleaned NaN pattern, so its NaNs stay.
    m1 = torch.where(m1 != m1, torch.zeros_like(m1), m1)
    return m1.clamp(0, 1), m2.clamp(0, 1)


def get_heatmap(fan, x):
    """The reference's FAN.get_heatmap(x, b_preprocess=True): x [N, 3, H, W] in [-1, 1] ->
    (raw heatmaps [N, 99, 64, 64], (mask, mask2) each [N, 1, 256, 256])."""
    with torch.no_grad():
        x = F.interpolate(x, size=256, mode="bilinear")
        hm = fan(x * 0.5 + 0.5)
        up = F.interpolate(hm[:, :-1], scale_factor=4, mode="bilinear", align_corners=True)
        return hm, preprocess(up)
