"""FastGAN in PyTorch, laid out as odegeasslbc/FastGAN-pytorch's models.py lays it out (so
state-dict names match) and trained the way its train.py trains, with every random draw
passed in: the latent codes, the noise-injection maps, the DiffAugment parameters, the
quadrant and the hinge margins. make_fastgan.py writes the fixtures with it.

Differences from the reference, all for testing: the decoders' base width is a parameter
(the reference fixes 32), and the reconstruction distance is a parameter (the reference
uses LPIPS-VGG; `l1_distance` is gantry's fallback without the LPIPS weights)."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

# Noise maps for the injection layers, consumed in forward order when not empty.
NOISE = []


def sn_conv(i, o, k, s=1, p=0):
    return spectral_norm(nn.Conv2d(i, o, k, s, p, bias=False))


class GLU(nn.Module):
    def forward(self, x):
        half = x.size(1) // 2
        return x[:, :half] * torch.sigmoid(x[:, half:])


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class NoiseInjection(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        n, _, h, w = x.shape
        noise = NOISE.pop(0) if NOISE else torch.randn(n, 1, h, w)
        assert noise.shape == (n, 1, h, w)
        return x + self.weight * noise


class SEBlock(nn.Module):
    def __init__(self, c_small, c_big):
        super().__init__()
        self.main = nn.Sequential(nn.AdaptiveAvgPool2d(4), sn_conv(c_small, c_big, 4), Swish(),
                                  sn_conv(c_big, c_big, 1), nn.Sigmoid())

    def forward(self, small, big):
        return big * self.main(small)


class InitLayer(nn.Module):
    def __init__(self, nz, c):
        super().__init__()
        convt = spectral_norm(nn.ConvTranspose2d(nz, 2 * c, 4, 1, 0, bias=False))
        self.init = nn.Sequential(convt, nn.BatchNorm2d(2 * c), GLU())

    def forward(self, z):
        return self.init(z.view(z.size(0), -1, 1, 1))


def up_block(i, o):
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), sn_conv(i, 2 * o, 3, 1, 1),
                         nn.BatchNorm2d(2 * o), GLU())


def up_block_comp(i, o):
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), sn_conv(i, 2 * o, 3, 1, 1),
                         NoiseInjection(), nn.BatchNorm2d(2 * o), GLU(),
                         sn_conv(o, 2 * o, 3, 1, 1), NoiseInjection(), nn.BatchNorm2d(2 * o), GLU())


def table(multipliers, width):
    return {side: int(m * width) for side, m in multipliers.items()}


G_MULT = {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 0.5, 512: 0.25, 1024: 0.125}
D_MULT = {4: 16, 8: 16, 16: 8, 32: 4, 64: 2, 128: 1, 256: 0.5, 512: 0.25, 1024: 0.125}


class Generator(nn.Module):
    def __init__(self, ngf, nz, im_size):
        super().__init__()
        c = table(G_MULT, ngf)
        self.im_size = im_size
        self.init = InitLayer(nz, c[4])
        self.feat_8 = up_block_comp(c[4], c[8])
        self.feat_16 = up_block(c[8], c[16])
        self.feat_32 = up_block_comp(c[16], c[32])
        self.feat_64 = up_block(c[32], c[64])
        self.feat_128 = up_block_comp(c[64], c[128])
        self.feat_256 = up_block(c[128], c[256])
        self.se_64 = SEBlock(c[4], c[64])
        self.se_128 = SEBlock(c[8], c[128])
        self.se_256 = SEBlock(c[16], c[256])
        self.to_128 = sn_conv(c[128], 3, 1)
        self.to_big = sn_conv(c[im_size], 3, 3, 1, 1)
        if im_size > 256:
            self.feat_512 = up_block_comp(c[256], c[512])
            self.se_512 = SEBlock(c[32], c[512])
        if im_size > 512:
            self.feat_1024 = up_block(c[512], c[1024])

    def forward(self, z):
        f4 = self.init(z)
        f8 = self.feat_8(f4)
        f16 = self.feat_16(f8)
        f32 = self.feat_32(f16)
        f64 = self.se_64(f4, self.feat_64(f32))
        f128 = self.se_128(f8, self.feat_128(f64))
        f256 = self.se_256(f16, self.feat_256(f128))
        if self.im_size == 256:
            return [self.to_big(f256), self.to_128(f128)]
        f512 = self.se_512(f32, self.feat_512(f256))
        if self.im_size == 512:
            return [self.to_big(f512), self.to_128(f128)]
        f1024 = self.feat_1024(f512)
        return [torch.tanh(self.to_big(f1024)), torch.tanh(self.to_128(f128))]


class DownBlock(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.main = nn.Sequential(sn_conv(i, o, 4, 2, 1), nn.BatchNorm2d(o), nn.LeakyReLU(0.2))

    def forward(self, x):
        return self.main(x)


class DownBlockComp(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.main = nn.Sequential(sn_conv(i, o, 4, 2, 1), nn.BatchNorm2d(o), nn.LeakyReLU(0.2),
                                  sn_conv(o, o, 3, 1, 1), nn.BatchNorm2d(o), nn.LeakyReLU(0.2))
        self.direct = nn.Sequential(nn.AvgPool2d(2, 2), sn_conv(i, o, 1), nn.BatchNorm2d(o),
                                    nn.LeakyReLU(0.2))

    def forward(self, x):
        return (self.main(x) + self.direct(x)) / 2


class SimpleDecoder(nn.Module):
    def __init__(self, c_in, base=32):
        super().__init__()
        self.main = nn.Sequential(nn.AdaptiveAvgPool2d(8), up_block(c_in, 4 * base),
                                  up_block(4 * base, 2 * base), up_block(2 * base, 2 * base),
                                  up_block(2 * base, base), sn_conv(base, 3, 3, 1, 1), nn.Tanh())

    def forward(self, x):
        return self.main(x)


def quadrant(x, part):
    h, w = x.size(2) // 2, x.size(3) // 2
    rows = slice(h, None) if part >= 2 else slice(None, h)
    cols = slice(w, None) if part % 2 == 1 else slice(None, w)
    return x[:, :, rows, cols]


class Discriminator(nn.Module):
    def __init__(self, ndf, im_size, dec_nf=32):
        super().__init__()
        c = table(D_MULT, ndf)
        self.im_size = im_size
        lrelu = nn.LeakyReLU(0.2)
        if im_size == 1024:
            self.down_from_big = nn.Sequential(sn_conv(3, c[1024], 4, 2, 1), lrelu,
                                               sn_conv(c[1024], c[512], 4, 2, 1),
                                               nn.BatchNorm2d(c[512]), lrelu)
        elif im_size == 512:
            self.down_from_big = nn.Sequential(sn_conv(3, c[512], 4, 2, 1), lrelu)
        else:
            self.down_from_big = nn.Sequential(sn_conv(3, c[512], 3, 1, 1), lrelu)
        self.down_4 = DownBlockComp(c[512], c[256])
        self.down_8 = DownBlockComp(c[256], c[128])
        self.down_16 = DownBlockComp(c[128], c[64])
        self.down_32 = DownBlockComp(c[64], c[32])
        self.down_64 = DownBlockComp(c[32], c[16])
        self.rf_big = nn.Sequential(sn_conv(c[16], c[8], 1), nn.BatchNorm2d(c[8]), lrelu,
                                    sn_conv(c[8], 1, 4))
        self.se_2_16 = SEBlock(c[512], c[64])
        self.se_4_32 = SEBlock(c[256], c[32])
        self.se_8_64 = SEBlock(c[128], c[16])
        self.down_from_small = nn.Sequential(sn_conv(3, c[256], 4, 2, 1), lrelu,
                                             DownBlock(c[256], c[128]), DownBlock(c[128], c[64]),
                                             DownBlock(c[64], c[32]))
        self.rf_small = sn_conv(c[32], 1, 4)
        self.decoder_big = SimpleDecoder(c[16], dec_nf)
        self.decoder_part = SimpleDecoder(c[32], dec_nf)
        self.decoder_small = SimpleDecoder(c[32], dec_nf)

    def forward(self, imgs, part=None):
        if not isinstance(imgs, list):
            imgs = [F.interpolate(imgs, size=self.im_size), F.interpolate(imgs, size=128)]
        f2 = self.down_from_big(imgs[0])
        f4 = self.down_4(f2)
        f8 = self.down_8(f4)
        f16 = self.se_2_16(f2, self.down_16(f8))
        f32 = self.se_4_32(f4, self.down_32(f16))
        last = self.se_8_64(f8, self.down_64(f32))
        small = self.down_from_small(imgs[1])
        logits = torch.cat([self.rf_big(last).view(-1), self.rf_small(small).view(-1)])
        if part is None:
            return logits
        recs = [self.decoder_big(last), self.decoder_small(small),
                self.decoder_part(quadrant(f32, part))]
        return logits, recs


def weights_init(m):
    name = m.__class__.__name__
    if "Conv" in name:
        m.weight.data.normal_(0.0, 0.02)
    elif "BatchNorm" in name:
        m.weight.data.normal_(1.0, 0.02)
        m.bias.data.fill_(0)


# DiffAugment with its draws supplied: r_b, r_s, r_c (uniform [0, 1) per sample), tx, ty
# (integer shifts per sample) for 'color,translation'.
def diff_augment(x, d):
    x = x + (d["r_b"].view(-1, 1, 1, 1) - 0.5)
    m = x.mean(dim=1, keepdim=True)
    x = (x - m) * (d["r_s"].view(-1, 1, 1, 1) * 2) + m
    m = x.mean(dim=[1, 2, 3], keepdim=True)
    x = (x - m) * (d["r_c"].view(-1, 1, 1, 1) + 0.5) + m
    n, _, h, w = x.shape
    tx, ty = d["tx"].long().view(-1, 1, 1), d["ty"].long().view(-1, 1, 1)
    gb, gx, gy = torch.meshgrid(torch.arange(n), torch.arange(h), torch.arange(w), indexing="ij")
    gx = torch.clamp(gx + tx + 1, 0, h + 1)
    gy = torch.clamp(gy + ty + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])
    return padded.permute(0, 2, 3, 1).contiguous()[gb, gx, gy].permute(0, 3, 1, 2).contiguous()


def draw_augment(n, h, w, gen):
    sx, sy = int(h * 0.125 + 0.5), int(w * 0.125 + 0.5)
    return {"r_b": torch.rand(n, generator=gen), "r_s": torch.rand(n, generator=gen),
            "r_c": torch.rand(n, generator=gen),
            "tx": torch.randint(-sx, sx + 1, (n,), generator=gen).float(),
            "ty": torch.randint(-sy, sy + 1, (n,), generator=gen).float()}


def l1_distance(rec, target):
    """gantry's fallback for LPIPS: the mean absolute difference per sample, [n]."""
    return (rec - target).abs().mean(dim=[1, 2, 3])


def train_iteration(g, d, g_ema, opt_g, opt_d, real, dr, distance=l1_distance):
    """One iteration of train.py with the draws `dr`: z, noise maps, augmentation draws for
    the real batch and each fake output, the quadrant, and the two margin draws. Returns the
    losses by gantry's names."""
    NOISE[:] = list(dr["maps"])
    fake = g(dr["z"])
    assert not NOISE
    real = diff_augment(real, dr["aug_real"])
    fake = [diff_augment(f, a) for f, a in zip(fake, dr["aug_fake"])]
    d.zero_grad()
    part = dr["part"]
    pred, (rec_big, rec_small, rec_part) = d(real, part)
    hinge_real = F.relu(dr["margin_real"] * 0.2 + 0.8 - pred).mean()
    target = F.interpolate(real, rec_big.shape[2])
    rec = distance(rec_big, target).sum() + distance(rec_small, target).sum() + \
        distance(rec_part, F.interpolate(quadrant(real, part), rec_part.shape[2])).sum()
    (hinge_real + rec).backward()
    pred_fake = d([f.detach() for f in fake])
    hinge_fake = F.relu(dr["margin_fake"] * 0.2 + 0.8 + pred_fake).mean()
    hinge_fake.backward()
    opt_d.step()
    g.zero_grad()
    loss_g = -d(fake).mean()
    loss_g.backward()
    opt_g.step()
    with torch.no_grad():
        for p, avg in zip(g.parameters(), g_ema):
            avg.mul_(0.999).add_(0.001 * p.data)
    return {"D/real": hinge_real, "D/rec": rec, "D/fake": hinge_fake, "G/adv": loss_g,
            "D/pred_real": pred.mean()}
