"""Times one pix2pix training iteration in PyTorch on the CPU, for comparison with
`gantry bench --model pix2pix --size 256 --width 16`: the reference's defaults (unet_256 with
dropout and batch norm, a 70x70 PatchGAN on the concatenated pair, vanilla GAN loss, L1 x 100),
the same iteration order.

Run from tests/reference: python time_pix2pix.py [size] [ngf] [iterations] [threads]
"""

import sys

import torch
import torch.nn as nn

from cyclegan_torch import NLayerD, UnetG
from timing import median_ms

size, ngf, iters, threads = (int(a) for a in (sys.argv[1:] + ["256", "16", "5", "2"][len(sys.argv) - 1:]))
torch.set_num_threads(threads)
torch.manual_seed(1)
G = UnetG(3, 3, 8, ngf, "batch", True)
D = NLayerD(6, 64, 3, "batch")
opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
bce, l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()
gan = lambda p, real: bce(p, torch.full_like(p, 1.0 if real else 0.0))
A, B = torch.rand(1, 3, size, size) * 2 - 1, torch.rand(1, 3, size, size) * 2 - 1


def iteration():
    fake_B = G(A)
    opt_D.zero_grad()
    ((gan(D(torch.cat([A, fake_B.detach()], 1)), False) + gan(D(torch.cat([A, B], 1)), True)) * 0.5).backward()
    opt_D.step()
    for p in D.parameters():
        p.requires_grad_(False)
    opt_G.zero_grad()
    loss = gan(D(torch.cat([A, fake_B], 1)), True) + l1(fake_B, B) * 100
    loss.backward()
    opt_G.step()
    for p in D.parameters():
        p.requires_grad_(True)
    return loss.item()


median = median_ms(iteration, iters)
print(f"pytorch {torch.__version__} cpu ({threads} threads): pix2pix {size}x{size} ngf {ngf} ndf 64 unet_256: {median:.0f} ms per iteration (median of {iters})")
