"""Times StarGAN v2 training iterations in PyTorch on the CPU, for comparison with
`gantry bench --model stargan-v2 --size 128 --width 512 --batch 2`: the reference's networks
(He init, EMA copies, w_hpf 0) and core/solver.py's iteration on random images, fresh codes
each iteration.

Run from tests/reference: python time_stargan_v2.py [img_size] [max_conv_dim] [batch] [iterations] [hidden_dim] [threads]
"""

import copy
import sys

import torch

import stargan_v2_torch as sg
from timing import median, ms

defaults = ["128", "512", "2", "3", "512", "2"]
size, maxc, batch, iters, hidden, threads = (int(a) for a in sys.argv[1:] + defaults[len(sys.argv) - 1:])
torch.set_num_threads(threads)
torch.manual_seed(1)
nets = dict(
    generator=sg.Generator(size, 64, maxc, 0),
    mapping_network=sg.MappingNetwork(16, 64, 2, hidden),
    style_encoder=sg.StyleEncoder(size, 64, 2, maxc),
    discriminator=sg.Discriminator(size, 2, maxc),
)
ema = {k: copy.deepcopy(nets[k]) for k in ["generator", "mapping_network", "style_encoder"]}
for net in nets.values():
    net.apply(sg.he_init)
optims = {k: torch.optim.Adam(n.parameters(), lr=1e-6 if k == "mapping_network" else 1e-4, betas=(0.0, 0.99),
                              weight_decay=1e-4) for k, n in nets.items()}
args = dict(lambda_reg=1.0, lambda_sty=1.0, lambda_ds=1.0, lambda_cyc=1.0, ds_iter=100000)
image = lambda: torch.rand(batch, 3, size, size) * 2 - 1
labels = torch.arange(batch) % 2
inp = dict(x_real=image(), x_ref=image(), x_ref2=image(), y_org=labels, y_trg=1 - labels)


def iteration():
    inp.update(z_trg=torch.randn(batch, 16), z_trg2=torch.randn(batch, 16), x_real=inp["x_real"].detach())
    return ms(sg.train_iteration, nets, ema, optims, args, inp, 1.0)


iteration()
times = [iteration() for _ in range(iters)]
print(f"pytorch {torch.__version__} cpu ({threads} threads): stargan-v2 {size}x{size} batch {batch} max_conv_dim {maxc} "
      f"hidden {hidden}: {median(times):.0f} ms per iteration (median of {iters})")
