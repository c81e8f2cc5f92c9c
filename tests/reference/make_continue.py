"""Writes the fixture for continuing a CycleGAN run from the reference repo's own network
files: a run folder holding only latest_net_{G_A,G_B,D_A,D_B}.pth (torch.save of each
state dict, as the reference's save_networks writes them), a one-image unaligned dataset,
and what three training iterations of the reference give from there: every loss of every
iteration and every weight after the third.

Run from the repository root: python tests/reference/make_continue.py
Writes tests/fixtures/continue/{run/latest_net_*.pth, data/trainA/0.png, data/trainB/0.png,
expected.safetensors}. The data pipeline is the reference's with --preprocess none
--no_flip (32-pixel images need no rounding to a multiple of 4): ToTensor, Normalize(0.5).
Optimizers are fresh (the reference's --continue_train loads networks only); the
learning rate stays 2e-4 over epochs 1-3 (--n_epochs 3 --n_epochs_decay 0); the pool
(size 50) is still filling, so it returns each fake as it is.
"""

import os
import sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from cyclegan_torch import NLayerD, ResnetG  # noqa: E402

torch.manual_seed(3)
DIR = os.path.join(os.path.dirname(__file__), "..", "fixtures", "continue")
for sub in ("run", "data/trainA", "data/trainB"):
    os.makedirs(os.path.join(DIR, sub), exist_ok=True)

nets = {"G_A": ResnetG(3, 3, 4, "instance", False, 6, "reflect"), "G_B": ResnetG(3, 3, 4, "instance", False, 6, "reflect"),
        "D_A": NLayerD(3, 4, 3, "instance"), "D_B": NLayerD(3, 4, 3, "instance")}
for net in nets.values():
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.normal_(m.bias, 0.0, 0.02)
for name, net in nets.items():
    torch.save(net.state_dict(), os.path.join(DIR, "run", f"latest_net_{name}.pth"))

rng = np.random.default_rng(5)
def image(path):
    # Smooth colour fields with noise: a photo-like input, not white noise.
    y, x = np.mgrid[0:32, 0:32]
    base = np.stack([x * 6, y * 6, (x + y) * 3], -1) + rng.integers(0, 60, (32, 32, 3))
    Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(path)
    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    return ((torch.from_numpy(a.transpose(2, 0, 1).copy()) - 0.5) / 0.5)[None]
A = image(os.path.join(DIR, "data", "trainA", "0.png"))
B = image(os.path.join(DIR, "data", "trainB", "0.png"))

G_A, G_B, D_A, D_B = nets["G_A"], nets["G_B"], nets["D_A"], nets["D_B"]
opt_G = torch.optim.Adam(list(G_A.parameters()) + list(G_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
opt_D = torch.optim.Adam(list(D_A.parameters()) + list(D_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
mse, l1 = nn.MSELoss(), nn.L1Loss()
gan = lambda pred, real: mse(pred, torch.full_like(pred, 1.0 if real else 0.0))
OUT = {}
for it in range(3):
    fake_B = G_A(A); rec_A = G_B(fake_B); fake_A = G_B(B); rec_B = G_A(fake_A)
    for p in list(D_A.parameters()) + list(D_B.parameters()):
        p.requires_grad_(False)
    opt_G.zero_grad()
    idt_A = l1(G_A(B), B) * 10 * 0.5
    idt_B = l1(G_B(A), A) * 10 * 0.5
    loss_G_A = gan(D_A(fake_B), True)
    loss_G_B = gan(D_B(fake_A), True)
    cyc_A = l1(rec_A, A) * 10
    cyc_B = l1(rec_B, B) * 10
    (loss_G_A + loss_G_B + cyc_A + cyc_B + idt_A + idt_B).backward()
    opt_G.step()
    for p in list(D_A.parameters()) + list(D_B.parameters()):
        p.requires_grad_(True)
    opt_D.zero_grad()
    loss_D_A = (gan(D_A(B), True) + gan(D_A(fake_B.detach()), False)) * 0.5
    loss_D_A.backward()
    loss_D_B = (gan(D_B(A), True) + gan(D_B(fake_A.detach()), False)) * 0.5
    loss_D_B.backward()
    opt_D.step()
    for name, v in [("D_A", loss_D_A), ("G_A", loss_G_A), ("cycle_A", cyc_A), ("idt_A", idt_A),
                    ("D_B", loss_D_B), ("G_B", loss_G_B), ("cycle_B", cyc_B), ("idt_B", idt_B)]:
        OUT[f"step{it + 1}.{name}"] = v.detach().reshape(1)
for k, net in nets.items():
    for n, p in net.state_dict().items():
        OUT[f"after.{k}.{n}"] = p.detach()
save_file({k: v.contiguous().clone() for k, v in OUT.items()}, os.path.join(DIR, "expected.safetensors"))
print("wrote", len(OUT), "expected tensors")
