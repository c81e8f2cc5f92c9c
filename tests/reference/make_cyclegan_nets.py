"""Writes CycleGAN/pix2pix network fixtures: small networks built as the reference repo
builds them (junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py), saved with
torch.save, with the outputs they give on fixed inputs.

Run from the repository root: python tests/reference/make_cyclegan_nets.py
Writes tests/fixtures/cyclegan/<name>.pth and expected.safetensors (<name>.x, <name>.y).
The module layout below mirrors the reference's so that state-dict names match it.
"""

import os

import torch
import torch.nn as nn
from safetensors.torch import save_file

torch.manual_seed(0)
DIR = os.path.join(os.path.dirname(__file__), "..", "fixtures", "cyclegan")
os.makedirs(DIR, exist_ok=True)


from cyclegan_torch import NLayerD, PixelD, ResnetG, UnetG  # noqa: E402


def randomize_bn(net):
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.normal_(1, 0.1)
                m.bias.normal_(0, 0.1)


EXPECTED = {}
CASES = {
    "resnet_instance": (ResnetG(3, 3, 8, "instance", False, 6, "reflect"), [1, 3, 32, 32], True),
    "resnet_batch_dropout_eval": (ResnetG(3, 3, 8, "batch", True, 3, "replicate"), [2, 3, 20, 24], False),
    "resnet_none_zero": (ResnetG(1, 3, 4, "none", False, 2, "zero"), [1, 1, 16, 20], True),
    "unet128_batch_train": (UnetG(3, 3, 7, 4, "batch", False), [2, 3, 128, 128], True),
    "unet128_dropout_eval": (UnetG(3, 2, 7, 4, "batch", True), [1, 3, 128, 128], False),
    "unet256_instance": (UnetG(3, 3, 8, 2, "instance", False), [1, 3, 256, 256], True),
    "nlayer_basic_instance": (NLayerD(3, 8, 3, "instance"), [1, 3, 32, 32], True),
    "nlayer2_batch": (NLayerD(6, 8, 2, "batch"), [2, 6, 32, 32], True),
    "pixel_batch": (PixelD(3, 8, "batch"), [2, 3, 8, 8], True),
    "resnet6_gray": (ResnetG(1, 3, 4, "instance", False, 6, "reflect"), [1, 1, 16, 16], True),
}
for name, (net, shape, train) in CASES.items():
    randomize_bn(net)
    torch.save(net.state_dict(), os.path.join(DIR, f"{name}.pth"))
    x = torch.randn(shape)
    net.train(train)
    with torch.no_grad():
        EXPECTED[f"{name}.y"] = net(x.clone())
    EXPECTED[f"{name}.x"] = x

# Parameter counts of the full-size reference networks (checked against §2 of the notes).
counts = {
    "resnet_9blocks": ResnetG(3, 3, 64, "instance", False, 9, "reflect"),
    "unet_256": UnetG(3, 3, 8, 64, "batch", True),
    "basic_d_instance": NLayerD(3, 64, 3, "instance"),
    "basic_d_batch6": NLayerD(6, 64, 3, "batch"),
}
for name, net in counts.items():
    EXPECTED[f"count.{name}"] = torch.tensor([sum(p.numel() for p in net.parameters())], dtype=torch.int64)
    print(name, int(EXPECTED[f"count.{name}"]))
# ---- translation: PNG in, PNG out, as the reference's test script converts them ----
import numpy as np
from PIL import Image

def reference_translate(net, src, dst, mode):
    img = Image.open(src).convert(mode)
    a = np.asarray(img, dtype=np.float32) / 255.0
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    x = (torch.from_numpy(a.copy())[None] - 0.5) / 0.5
    with torch.no_grad():
        y = net(x)[0].numpy()
    if y.shape[0] == 1:
        y = np.tile(y, (3, 1, 1))
    Image.fromarray(((y.transpose(1, 2, 0) + 1) / 2.0 * 255.0).astype(np.uint8)).save(dst)

rng = np.random.default_rng(0)
os.makedirs(os.path.join(DIR, "translate_in"), exist_ok=True)
Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(os.path.join(DIR, "translate_in", "rgb.png"))
Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(os.path.join(DIR, "translate_in", "gray_source.png"))
reference_translate(CASES["resnet_instance"][0].train(True), os.path.join(DIR, "translate_in", "rgb.png"), os.path.join(DIR, "translate_rgb_expected.png"), "RGB")
reference_translate(CASES["resnet6_gray"][0].train(True), os.path.join(DIR, "translate_in", "gray_source.png"), os.path.join(DIR, "translate_gray_expected.png"), "L")

# ---- three CycleGAN iterations, in the reference's order (G step with both D frozen,
# then the D step on pooled fakes; the pool is still filling, so it returns each fake) ----
TRAIN = {}
nets = {"G_A": ResnetG(3, 3, 4, "instance", False, 6, "reflect"), "G_B": ResnetG(3, 3, 4, "instance", False, 6, "reflect"),
        "D_A": NLayerD(3, 4, 3, "instance"), "D_B": NLayerD(3, 4, 3, "instance")}
for net in nets.values():
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
torch.save({k: v.state_dict() for k, v in nets.items()}, os.path.join(DIR, "cyclegan_init.pth"))
G_A, G_B, D_A, D_B = nets["G_A"], nets["G_B"], nets["D_A"], nets["D_B"]
opt_G = torch.optim.Adam(list(G_A.parameters()) + list(G_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
opt_D = torch.optim.Adam(list(D_A.parameters()) + list(D_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
mse, l1 = nn.MSELoss(), nn.L1Loss()
gan = lambda pred, real: mse(pred, torch.full_like(pred, 1.0 if real else 0.0))
for it in range(3):
    A, B = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    TRAIN[f"it{it}.A"], TRAIN[f"it{it}.B"] = A, B
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
        TRAIN[f"it{it}.loss.{name}"] = v.detach().reshape(1)
for k, net in nets.items():
    for n, p in net.state_dict().items():
        TRAIN[f"after.{k}.{n}"] = p.detach()
save_file({k: v.contiguous().clone() for k, v in TRAIN.items()}, os.path.join(DIR, "cyclegan_train.safetensors"))

# ---- three pix2pix iterations: D step first, then G with D frozen; dropout off ----
TRAIN = {}
G, D = UnetG(3, 3, 7, 2, "batch", False), NLayerD(6, 4, 3, "batch")
for net in (G, D):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
torch.save({"G": G.state_dict(), "D": D.state_dict()}, os.path.join(DIR, "pix2pix_init.pth"))
opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
bce = nn.BCEWithLogitsLoss()
gan = lambda pred, real: bce(pred, torch.full_like(pred, 1.0 if real else 0.0))
for it in range(3):
    A, B = torch.rand(1, 3, 128, 128) * 2 - 1, torch.rand(1, 3, 128, 128) * 2 - 1
    TRAIN[f"it{it}.A"], TRAIN[f"it{it}.B"] = A, B
    fake_B = G(A)
    for p in D.parameters():
        p.requires_grad_(True)
    opt_D.zero_grad()
    fake_AB = torch.cat((A, fake_B), 1)
    d_fake = gan(D(fake_AB.detach()), False)
    d_real = gan(D(torch.cat((A, B), 1)), True)
    ((d_fake + d_real) * 0.5).backward()
    opt_D.step()
    for p in D.parameters():
        p.requires_grad_(False)
    opt_G.zero_grad()
    g_gan = gan(D(fake_AB), True)
    g_l1 = l1(fake_B, B) * 100
    (g_gan + g_l1).backward()
    opt_G.step()
    for name, v in [("G_GAN", g_gan), ("G_L1", g_l1), ("D_real", d_real), ("D_fake", d_fake)]:
        TRAIN[f"it{it}.loss.{name}"] = v.detach().reshape(1)
for k, net in (("G", G), ("D", D)):
    for n, p in net.state_dict().items():
        TRAIN[f"after.{k}.{n}"] = p.detach().to(torch.float32)
save_file({k: v.contiguous().clone() for k, v in TRAIN.items()}, os.path.join(DIR, "pix2pix_train.safetensors"))

# ---- the reference's cal_gradient_penalty ('mixed', constant 1, lambda 10) ----
GP = {}
Dgp = NLayerD(3, 4, 1, "instance")
torch.save(Dgp.state_dict(), os.path.join(DIR, "gp_d.pth"))
real, fake, alpha = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16), torch.rand(2)
a = alpha.view(2, 1, 1, 1).expand_as(real)
mixed = (a * real + (1 - a) * fake).requires_grad_(True)
g, = torch.autograd.grad(Dgp(mixed), mixed, grad_outputs=torch.ones_like(Dgp(mixed)), create_graph=True)
penalty = (((g.view(2, -1) + 1e-16).norm(2, dim=1) - 1.0) ** 2).mean() * 10.0
GP.update({"real": real, "fake": fake, "alpha": alpha, "penalty": penalty.detach().reshape(1)})
for n, gw in zip([n for n, _ in Dgp.named_parameters()], torch.autograd.grad(penalty, list(Dgp.parameters()), allow_unused=True)):
    GP[f"grad.{n}"] = gw if gw is not None else torch.zeros(1)
save_file({k: v.contiguous().clone() for k, v in GP.items()}, os.path.join(DIR, "gp.safetensors"))

save_file({k: v.contiguous() for k, v in EXPECTED.items()}, os.path.join(DIR, "expected.safetensors"))
print("wrote", len(CASES), "networks")
