"""Writes PyTorch checkpoints for gantry's .pth reader tests, with torch.save itself.

Run from the repository root: python tests/reference/make_checkpoints.py
Writes tests/fixtures/pth/*.pth and expected.safetensors, which holds every tensor the
reader should find, named "<file>/<dotted name>" (floats as f32, integers as i64).
"""

import io
import os
import pickle
import zipfile

import torch
from safetensors.torch import save_file

torch.manual_seed(0)
DIR = os.path.join(os.path.dirname(__file__), "..", "fixtures", "pth")
os.makedirs(DIR, exist_ok=True)
EXPECTED = {}


def flatten(obj, prefix=""):
    if torch.is_tensor(obj):
        yield prefix, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            k = str(k)
            k = k[len("module."):] if k.startswith("module.") else k
            yield from flatten(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from flatten(v, f"{prefix}.{i}" if prefix else str(i))


def write(name, obj):
    torch.save(obj, os.path.join(DIR, name))
    for key, t in flatten(obj):
        t = t.detach()
        t = t.to(torch.int64) if not t.is_floating_point() else t.to(torch.float32)
        EXPECTED[f"{name}/{key}"] = t.clone().contiguous()


def small_net():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.ConvTranspose2d(4, 2, 4))
    net(torch.randn(2, 3, 8, 8))  # moves the BatchNorm running statistics and its counter
    return net

write("conv_bn.pth", small_net().state_dict())

a = torch.randn(4, 6)
write("views.pth", {"base": a, "t": a.t(), "row": a[1], "cols": a[:, 2:4], "strided": a[::2, ::3]})

write("dtypes.pth", {
    "f64": torch.randn(3, 2, dtype=torch.float64),
    "f16": torch.randn(5).half(),
    "bf16": torch.randn(2, 3).bfloat16(),
    "i32": torch.arange(-3, 3, dtype=torch.int32),
    "u8": torch.arange(0, 250, 50, dtype=torch.uint8),
    "flag": torch.tensor([True, False, True]),
    "scalar": torch.tensor(2.5),
})

write("stargan2_nets.ckpt", {
    "generator": small_net().state_dict(),
    "mapping_network": torch.nn.Linear(4, 3).state_dict(),
    "style_encoder": torch.nn.Linear(2, 2).state_dict(),
})

g, d = small_net(), torch.nn.Linear(3, 1)
opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
g(torch.randn(1, 3, 8, 8)).mean().backward()
opt.step()
write("fastgan_all.pth", {"g": g.state_dict(), "d": d.state_dict(), "g_ema": [p.detach().clone() for p in g.parameters()], "opt_g": opt.state_dict()})

write("dataparallel.pth", {"module." + k: v for k, v in torch.nn.Linear(3, 2).state_dict().items()})

# A pickle that names os.system: the reader must refuse it without running anything.
evil = b"\x80\x02cos\nsystem\nq\x00X\x07\x00\x00\x00echo hiq\x01\x85q\x02Rq\x03."
with zipfile.ZipFile(os.path.join(DIR, "evil.pth"), "w", zipfile.ZIP_STORED) as z:
    fixed = (2026, 1, 1, 0, 0, 0)  # a fixed timestamp keeps the file identical on every run
    z.writestr(zipfile.ZipInfo("evil/data.pkl", fixed), evil)
    z.writestr(zipfile.ZipInfo("evil/version", fixed), "3\n")

# ---- layers: state dicts as .pth, with the outputs and gradients they must give ----
GOLD = {}
nn = torch.nn
net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.LeakyReLU(0.2),
                    nn.ConvTranspose2d(4, 2, 4, 2, 1), nn.InstanceNorm2d(2, affine=True), nn.Tanh())
with torch.no_grad():
    net(torch.randn(2, 3, 5, 6))  # moves BatchNorm's running statistics away from 0 and 1
    net[4].weight.normal_(1.0, 0.3)
    net[4].bias.normal_(0.0, 0.3)
torch.save(net.state_dict(), os.path.join(DIR, "layers_net.pth"))
x = torch.randn(2, 3, 5, 6)
w = torch.randn(2, 2, 10, 12)
out = net.train()(x)
GOLD["net.x"], GOLD["net.w"], GOLD["net.train_out"] = x, w, out.detach()
for name, g in zip([n for n, _ in net.named_parameters()], torch.autograd.grad((out * w).sum(), list(net.parameters()))):
    GOLD[f"net.grad.{name}"] = g
for name, b in net.named_buffers():
    GOLD[f"net.after.{name}"] = b.to(torch.float32)
GOLD["net.eval_out"] = net.eval()(x).detach()

SN = nn.utils.spectral_norm
snet = nn.Sequential(SN(nn.Conv2d(3, 4, 3)), nn.LeakyReLU(0.1), SN(nn.ConvTranspose2d(4, 2, 4, 2, 1)))
lin = SN(nn.Linear(5, 3))
torch.save({"net": snet.state_dict(), "lin": lin.state_dict()}, os.path.join(DIR, "spectral.pth"))
x = torch.randn(2, 3, 6, 7)
out = snet.train()(x)
w = torch.randn(out.shape)
GOLD["sn.x"], GOLD["sn.w"], GOLD["sn.train_out"] = x, w, out.detach()
for name, g in zip([n for n, _ in snet.named_parameters()], torch.autograd.grad((out * w).sum(), list(snet.parameters()))):
    GOLD[f"sn.grad.{name}"] = g
for name, b in snet.named_buffers():
    GOLD[f"sn.after.{name}"] = b
GOLD["sn.eval_out"] = snet.eval()(x).detach()
xl = torch.randn(4, 5)
GOLD["lin.x"], GOLD["lin.train_out"] = xl, lin.train()(xl).detach()
GOLD["lin.after.weight_u"], GOLD["lin.after.weight_v"] = lin.weight_u, lin.weight_v
plain = nn.Linear(5, 3)
torch.save(plain.state_dict(), os.path.join(DIR, "linear.pth"))
xl = torch.randn(2, 4, 5)
out = plain(xl)
w = torch.randn(out.shape)
GOLD["linear.x"], GOLD["linear.w"], GOLD["linear.out"] = xl, w, out.detach()
gw, gb = torch.autograd.grad((out * w).sum(), [plain.weight, plain.bias])
GOLD["linear.grad.weight"], GOLD["linear.grad.bias"] = gw, gb
save_file({k: v.detach().contiguous().clone() for k, v in GOLD.items()}, os.path.join(DIR, "layers_expected.safetensors"))

save_file(EXPECTED, os.path.join(DIR, "expected.safetensors"))
print(f"wrote {len(os.listdir(DIR))} files, {len(EXPECTED)} expected tensors")
