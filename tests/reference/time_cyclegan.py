"""Times one CycleGAN training iteration in PyTorch on the CPU, for comparison with
`gantry bench --model cyclegan --size 64 --width 16`: resnet_9blocks generators and
70x70 PatchGAN discriminators, identity loss on, the same iteration order.

Run: python tests/reference/time_cyclegan.py [size] [ngf] [iterations] [threads]
"""

import sys

import torch
import torch.nn as nn

from cyclegan_torch import NLayerD, ResnetG
from timing import median_ms

size, ngf, iters, threads = (int(a) for a in (sys.argv[1:] + ["64", "16", "5", "2"][len(sys.argv) - 1:]))
torch.set_num_threads(threads)
torch.manual_seed(1)
G_A, G_B = ResnetG(3, 3, ngf, "instance", False, 9, "reflect"), ResnetG(3, 3, ngf, "instance", False, 9, "reflect")
D_A, D_B = NLayerD(3, 64, 3, "instance"), NLayerD(3, 64, 3, "instance")
opt_G = torch.optim.Adam(list(G_A.parameters()) + list(G_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
opt_D = torch.optim.Adam(list(D_A.parameters()) + list(D_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
mse, l1 = nn.MSELoss(), nn.L1Loss()
gan = lambda p, real: mse(p, torch.full_like(p, 1.0 if real else 0.0))
A, B = torch.rand(1, 3, size, size) * 2 - 1, torch.rand(1, 3, size, size) * 2 - 1


def iteration():
    fake_B = G_A(A); rec_A = G_B(fake_B); fake_A = G_B(B); rec_B = G_A(fake_A)
    for p in list(D_A.parameters()) + list(D_B.parameters()):
        p.requires_grad_(False)
    opt_G.zero_grad()
    loss = (gan(D_A(fake_B), True) + gan(D_B(fake_A), True) + l1(rec_A, A) * 10 + l1(rec_B, B) * 10
            + l1(G_A(B), B) * 5 + l1(G_B(A), A) * 5)
    loss.backward()
    opt_G.step()
    for p in list(D_A.parameters()) + list(D_B.parameters()):
        p.requires_grad_(True)
    opt_D.zero_grad()
    ((gan(D_A(B), True) + gan(D_A(fake_B.detach()), False)) * 0.5).backward()
    ((gan(D_B(A), True) + gan(D_B(fake_A.detach()), False)) * 0.5).backward()
    opt_D.step()
    return loss.item()


median = median_ms(iteration, iters)
print(f"pytorch {torch.__version__} cpu ({threads} threads): cyclegan {size}x{size} ngf {ngf} ndf 64 resnet_9blocks: {median:.0f} ms per iteration (median of {iters})")
