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
    z.writestr("evil/data.pkl", evil)
    z.writestr("evil/version", "3\n")

save_file(EXPECTED, os.path.join(DIR, "expected.safetensors"))
print(f"wrote {len(os.listdir(DIR))} files, {len(EXPECTED)} expected tensors")
