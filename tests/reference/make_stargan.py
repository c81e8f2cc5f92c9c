"""Writes the StarGAN v1 fixtures: small networks laid out as yunjey/stargan's model.py
lays them out (so state-dict names match), trained the way its solver.py trains them,
with the random draws (the per-sample alpha of the gradient penalty and the label
permutation) recorded so that gantry's step can be handed the same ones.

Run from the repository root: python tests/reference/make_stargan.py
Writes tests/fixtures/stargan/:
  10-G.ckpt, 10-D.ckpt  legacy torch.save state dicts (the released checkpoints' format;
                        saved as PyTorch 0.3 saved them: no num_batches_tracked)
  nets.safetensors      forwards of G and D, D at a second image size, create_labels,
                        translation with 10-G.ckpt, full-size parameter counts
  gp.safetensors        the gradient penalty and its gradients w.r.t. D's weights
  images.safetensors    the image batches every training run reads (x0, x1, ...)
  train_celeba.safetensors, train_rafd.safetensors, train_both.safetensors
                        training iterations: labels, draws, every loss and
                        every state-dict entry after (keys it{i}.loss.{name}, after.{net}.{entry});
                        ten iterations for one dataset, three for Both
  lr.safetensors        the learning rate of every step under the reference's schedule
"""

import collections
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

from stargan_torch import Discriminator, Generator, Run, gradient_penalty, lr_schedule, state

DIR = os.path.join(os.path.dirname(__file__), "..", "fixtures", "stargan")
os.makedirs(DIR, exist_ok=True)
torch.manual_seed(0)


def randomize_norms(net):
    """Scale, shift and running statistics away from their initial 1, 0, 0, 1."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.InstanceNorm2d):
                m.weight.normal_(1, 0.2)
                m.bias.normal_(0, 0.2)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)


def save_legacy(net, path):
    """A state dict as PyTorch 0.3 wrote it (the released StarGAN checkpoints): no
    num_batches_tracked and no version metadata, in the legacy (non-zip) format."""
    sd = collections.OrderedDict((k, v) for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked"))
    torch.save(sd, path, _use_new_zipfile_serialization=False)


def load_legacy(net, path):
    net.load_state_dict(torch.load(path, weights_only=True))
    return net


def write(name, tensors):
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(DIR, name))


# ---- networks: 10-G.ckpt and 10-D.ckpt are also every training fixture's start ----
C, G_DIM, D_DIM, G_REP, D_REP, SIZE = 5, 4, 4, 2, 3, 16
G0, D0 = Generator(G_DIM, C, G_REP), Discriminator(SIZE, D_DIM, C, D_REP)
randomize_norms(G0)
save_legacy(G0, os.path.join(DIR, "10-G.ckpt"))
save_legacy(D0, os.path.join(DIR, "10-D.ckpt"))
fresh_g = lambda: load_legacy(Generator(G_DIM, C, G_REP), os.path.join(DIR, "10-G.ckpt"))
fresh_d = lambda: load_legacy(Discriminator(SIZE, D_DIM, C, D_REP), os.path.join(DIR, "10-D.ckpt"))

NETS = {}
g = fresh_g()
x, c = torch.rand(2, 3, 16, 12) * 2 - 1, (torch.rand(2, C) > 0.5).float()
with torch.no_grad():
    y = g(x, c)  # train mode, as the reference always runs: the running statistics move
buffers = {k: v for k, v in state(g, "g.after.").items() if "running" in k or "num_batches" in k}
NETS.update({"g.x": x, "g.c": c, "g.y": y, **buffers})
d = fresh_d()
x = torch.rand(2, 3, 16, 16) * 2 - 1
with torch.no_grad():
    src, cls = d(x)
NETS.update({"d16.x": x, "d16.src": src, "d16.cls": cls})
d32 = Discriminator(32, D_DIM, C, D_REP)  # conv2 kernel 32 / 2^3 = 4
x = torch.rand(1, 3, 32, 32) * 2 - 1
with torch.no_grad():
    src, cls = d32(x)
NETS.update({"d32.x": x, "d32.src": src, "d32.cls": cls, **state(d32, "d32.w.")})

# create_labels, as the solver makes the sample rows: hair colours one-hot, the rest flipped.
ATTRS = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
c_org = torch.tensor([[1, 0, 0, 1, 0], [0, 0, 1, 0, 1], [0, 1, 0, 1, 1]], dtype=torch.float32)
hair = [i for i, a in enumerate(ATTRS) if a in ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")]
NETS["labels.celeba.org"] = c_org
for i in range(len(ATTRS)):
    t = c_org.clone()
    if i in hair:
        t[:, hair] = 0
        t[:, i] = 1
    else:
        t[:, i] = (t[:, i] == 0).float()
    NETS[f"labels.celeba.trg{i}"] = t
for i in range(4):
    NETS[f"labels.rafd.trg{i}"] = F.one_hot(torch.full((3,), i), 4).float()

# Translation with the legacy checkpoint, in train mode as the reference's test().
g = fresh_g()
x, c = torch.rand(3, 3, 16, 16) * 2 - 1, (torch.rand(3, C) > 0.5).float()
with torch.no_grad():
    NETS.update({"translate.x": x, "translate.c": c, "translate.y": g(x, c)})

for name, net in [("G", Generator(64, 5, 6)), ("D", Discriminator(128, 64, 5, 6)), ("G_both", Generator(64, 5 + 8 + 2, 6)),
                  ("D_both", Discriminator(128, 64, 5 + 8, 6))]:
    NETS[f"count.{name}"] = torch.tensor([sum(p.numel() for p in net.parameters())], dtype=torch.int64)
    print(name, int(NETS[f"count.{name}"]))
write("nets.safetensors", NETS)


# ---- the gradient penalty, as the solver's gradient_penalty(out_src, x_hat) ----
d = fresh_d()
real, fake, alpha = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2)
x_hat = (alpha.view(2, 1, 1, 1) * real + (1 - alpha.view(2, 1, 1, 1)) * fake).requires_grad_(True)
gp = gradient_penalty(d(x_hat)[0], x_hat)
GP = {"real": real, "fake": fake, "alpha": alpha, "gp": gp.detach().reshape(1)}
params = list(d.named_parameters())
for (n, p), gw in zip(params, torch.autograd.grad(gp, [p for _, p in params], allow_unused=True)):
    GP[f"grad.{n}"] = gw if gw is not None else torch.zeros_like(p)  # conv2 is off the path
write("gp.safetensors", GP)


# ---- training iterations, as Solver.train and Solver.train_multi ----
def draws(n):
    return torch.randperm(n), torch.rand(n)


def labels(dataset, n, classes):
    if dataset == "CelebA":
        return (torch.rand(n, classes) > 0.5).float()
    return torch.randint(0, classes, (n,))


# Single-dataset runs: ten iterations, n_critic 3 (G steps after iterations 2, 5 and 8),
# and a schedule short enough to decay: after iterations 5, 7 and 9 the rate drops by
# lr0 / 6 each time.
# Every run reads its images from one bank, images.safetensors (x0, x1, ...).
ITERS, BATCH = 10, 2
IMAGES = [torch.rand(BATCH, 3, SIZE, SIZE) * 2 - 1 for _ in range(ITERS)]
write("images.safetensors", {f"x{k}": x for k, x in enumerate(IMAGES)})
for dataset, name in [("CelebA", "celeba"), ("RaFD", "rafd")]:
    run = Run(fresh_g(), fresh_d(), C, 8, n_critic=3, num_iters=ITERS, num_iters_decay=6, lr_update_step=2)
    for i in range(ITERS):
        x = IMAGES[i]
        label = labels(dataset, BATCH, C)
        perm, alpha = draws(BATCH)
        run.out.update({f"it{i}.label": label, f"it{i}.perm": perm, f"it{i}.alpha": alpha})
        run.set_lr(i)
        run.step(i, x, label, dataset, perm, alpha)
    write(f"train_{name}.safetensors", run.finish())

# Both: CelebA (5 attributes) and RaFD (3 classes) alternating within each iteration, with
# the mask vector; three iterations, n_critic 2 (G steps in both passes of iteration 1).
C2 = 3
g_both, d_both = Generator(G_DIM, C + C2 + 2, G_REP), Discriminator(SIZE, D_DIM, C + C2, D_REP)
randomize_norms(g_both)
out = {**state(g_both, "init.G."), **state(d_both, "init.D.")}
run = Run(g_both, d_both, C, C2, n_critic=2, num_iters=3, num_iters_decay=3, lr_update_step=2)
run.out = out
for i in range(3):
    run.set_lr(i)
    for k, (dataset, classes) in enumerate([("CelebA", C), ("RaFD", C2)]):
        x = IMAGES[2 * i + k]  # the CelebA pass reads x{2i}, the RaFD pass x{2i+1}
        label = labels(dataset, BATCH, classes)
        perm, alpha = draws(BATCH)
        run.out.update({f"it{i}.{dataset}.label": label, f"it{i}.{dataset}.perm": perm, f"it{i}.{dataset}.alpha": alpha})
        run.step(i, x, label, dataset, perm, alpha, prefix=f"{dataset}/", both=True)
write("train_both.safetensors", run.finish())

# ---- the schedule alone: the reference defaults (sampled around every update) and a
# short run where each update is large ----
LR = {}
full = lr_schedule(1e-4, 200000, 100000, 1000)
steps = sorted({0, 1, 99999, 100000, 100998, 100999, 101000, 150500, 199998, 199999} | set(range(999, 200000, 1000)))
LR["default.steps"] = torch.tensor(steps, dtype=torch.int64)
LR["default.lr"] = torch.tensor([full[s] for s in steps], dtype=torch.float64).view(torch.int64)
LR["short.lr"] = torch.tensor(lr_schedule(3e-4, 40, 25, 3), dtype=torch.float64).view(torch.int64)
write("lr.safetensors", LR)
print("wrote", sorted(os.listdir(DIR)))

# ---- `gantry translate stargan --target`: a 16x16 PNG read as the test transform reads it
# (at this size CenterCrop(16) and Resize(16) change nothing), translated by 10-G.ckpt in
# train mode as the reference's test() does. ----
import numpy as np
from PIL import Image

pixels = torch.randint(0, 256, (SIZE, SIZE, 3), generator=torch.Generator().manual_seed(5), dtype=torch.uint8)
png = os.path.join(DIR, "translate_in.png")
Image.fromarray(pixels.numpy()).save(png)
x = torch.from_numpy(np.asarray(Image.open(png).convert("RGB")).copy()).permute(2, 0, 1).float()
x = ((x / 255 - 0.5) / 0.5)[None]
c = torch.tensor([[0.0, 1.0, 0.0, 1.0, 0.0]])
with torch.no_grad():
    write("translate_cli.safetensors", {"c": c, "y": fresh_g()(x, c)})
print("wrote translate_in.png and translate_cli.safetensors")
