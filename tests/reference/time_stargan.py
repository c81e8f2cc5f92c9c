"""Times StarGAN v1 training iterations in PyTorch on the CPU, for comparison with
`cargo run --release --example stargan_iteration -- 64 64 6 4`: the reference's networks and
solver iteration (CelebA labels), an iteration stepping only D and one stepping D then G.

Run from tests/reference: python time_stargan.py [size] [conv_dim] [repeat_num] [batch] [iterations] [threads]
"""

import sys

import torch

from stargan_torch import Discriminator, Generator, Run
from timing import median, ms

defaults = ["64", "64", "6", "4", "3", "2"]
size, dim, repeat, batch, iters, threads = (int(a) for a in sys.argv[1:] + defaults[len(sys.argv) - 1:])
torch.set_num_threads(threads)
torch.manual_seed(1)
run = Run(Generator(dim, 5, repeat), Discriminator(size, dim, 5, repeat), 5, 8, n_critic=2,
          num_iters=10 ** 6, num_iters_decay=1, lr_update_step=1000)
x = torch.rand(batch, 3, size, size) * 2 - 1
labels = (torch.rand(batch, 5) > 0.5).float()


def iteration(i):
    return ms(run.step, i, x, labels, "CelebA", torch.randperm(batch), torch.rand(batch))


for i in range(2):
    iteration(i)
d_only, d_and_g = [], []
for i in range(2, 2 + 2 * iters):
    (d_and_g if (i + 1) % 2 == 0 else d_only).append(iteration(i))
d_ms, dg_ms = median(d_only), median(d_and_g)
print(f"pytorch {torch.__version__} cpu ({threads} threads): stargan {size}x{size} batch {batch} conv dims {dim} "
      f"repeat {repeat}: D step {d_ms:.0f} ms, D+G step {dg_ms:.0f} ms, {(4 * d_ms + dg_ms) / 5:.0f} ms per iteration "
      f"at n_critic 5 (median of {iters})")
