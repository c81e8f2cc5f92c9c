"""Times FastGAN training iterations in PyTorch on the CPU, for comparison with
`gantry bench --model fastgan --size 256 --width 64 --batch 8`: the reference's networks
and train.py's iteration with the L1 reconstruction fallback (gantry's default without the
LPIPS weights), fresh random draws each iteration.

Run from tests/reference: python time_fastgan.py [im_size] [ngf=ndf] [batch] [dec_nf] [iterations] [threads]
"""

import sys

import torch

import fastgan_torch as fg
from timing import median, ms

defaults = ["256", "64", "8", "32", "3", "2"]
size, width, batch, dec, iters, threads = (int(a) for a in sys.argv[1:] + defaults[len(sys.argv) - 1:])
torch.set_num_threads(threads)
torch.manual_seed(1)
g, d = fg.Generator(width, 256, size), fg.Discriminator(width, size, dec)
g.apply(fg.weights_init)
d.apply(fg.weights_init)
g_ema = [p.detach().clone() for p in g.parameters()]
opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
real = torch.rand(batch, 3, size, size) * 2 - 1
gen = torch.Generator().manual_seed(2)


def iteration():
    dr = {"z": torch.randn(batch, 256), "maps": [],
          "aug_real": fg.draw_augment(batch, size, size, gen),
          "aug_fake": [fg.draw_augment(batch, size, size, gen), fg.draw_augment(batch, 128, 128, gen)],
          "part": int(torch.randint(0, 4, (1,))), "margin_real": torch.rand(batch * 50),
          "margin_fake": torch.rand(batch * 50)}
    return ms(fg.train_iteration, g, d, g_ema, opt_g, opt_d, real, dr)


iteration()
times = [iteration() for _ in range(iters)]
print(f"pytorch {torch.__version__} cpu ({threads} threads): fastgan {size}x{size} batch {batch} ngf=ndf {width} "
      f"decoders {dec}: {median(times):.0f} ms per iteration (median of {iters})")
