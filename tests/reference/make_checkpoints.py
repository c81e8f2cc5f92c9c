"""Writes PyTorch checkpoints for gantry's .pth reader tests, with torch.save itself.

Run from the repository root: python tests/reference/make_checkpoints.py
Writes tests/fixtures/pth/*.pth and expected.safetensors, which holds every tensor the
reader should find, named "<file>/<dotted name>" (floats as f32, integers as i64).
Files named legacy_* are in torch.save's legacy (pre-1.6, non-zip) format.
"""

import collections
import os
import pickle
import struct
import sys
import types
import zipfile

import torch
from safetensors.torch import save_file
from torch.serialization import INT_SIZE, LONG_SIZE, SHORT_SIZE

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


def write(name, obj, **save_args):
    torch.save(obj, os.path.join(DIR, name), **save_args)
    expect(name, obj)


def expect(name, obj):
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

# ---- the legacy format: what torch.save wrote before PyTorch 1.6 ----
torch.manual_seed(1)  # its own seed, so the files above keep their draws
LEGACY = {"_use_new_zipfile_serialization": False}
write("legacy_cyclegan.pth", small_net().state_dict(), **LEGACY)
write("legacy_stargan2.ckpt", {
    "generator": {"module." + k: v for k, v in small_net().state_dict().items()},
    "mapping_network": torch.nn.Linear(4, 3).state_dict(),
    "style_encoder": torch.nn.Linear(2, 2).state_dict(),
}, **LEGACY)
b = torch.randn(5, 4)
write("legacy_views.pth", {"base": b, "t": b.t(), "row": b[3], "cols": b[:, 1:3], "strided": b[1::2, ::3],
                           "flat": b.view(20)[7:18:5]}, **LEGACY)
write("legacy_dtypes.pth", {
    "f64": torch.randn(2, 3, dtype=torch.float64),
    "f16": torch.randn(4).half(),
    "bf16": torch.randn(3, 2).bfloat16(),
    "i64": torch.tensor([-(2 ** 40), 7]),
    "i32": torch.arange(-2, 3, dtype=torch.int32),
    "i16": torch.tensor([-300, 300], dtype=torch.int16),
    "i8": torch.tensor([-128, 127], dtype=torch.int8),
    "u8": torch.arange(0, 250, 60, dtype=torch.uint8),
    "flag": torch.tensor([False, True]),
    "scalar": torch.tensor(-1.25),
}, **LEGACY)
# torch.save passes pickle_protocol through; from protocol 4 on, pickles are framed.
write("legacy_protocol4.pth", torch.nn.Linear(3, 2).state_dict(), pickle_protocol=4, **LEGACY)

# Python 2 pickled an OrderedDict as a call with its items, OrderedDict([[key, value], ...]);
# a pickle module whose Pickler does the same stands in for Python 2 here.
class Python2StylePickler(pickle.Pickler):
    def reducer_override(self, obj):
        if type(obj) is collections.OrderedDict:
            return collections.OrderedDict, ([[k, v] for k, v in obj.items()],)
        return NotImplemented


python2_style = types.ModuleType("python2_style_pickle")
python2_style.Pickler, python2_style.dump = Python2StylePickler, pickle.dump
write("legacy_python2_style.pth", torch.nn.Linear(2, 3).state_dict(), pickle_module=python2_style, **LEGACY)

# Before PyTorch 1.0 a storage could itself be a view (offset, length) of a larger one, and
# files recorded it as the sixth item of the persistent id. Today's torch.save no longer
# writes such views, so this file is put together by hand as _legacy_save did, and its
# expected tensors are what torch.load makes of it.
LEGACY_HEADER = b"".join(pickle.dumps(x, protocol=2) for x in [0x1950A86A20F9469CFC6C, 1001, {
    "protocol_version": 1001, "little_endian": sys.byteorder == "little",
    "type_sizes": {"short": SHORT_SIZE, "int": INT_SIZE, "long": LONG_SIZE}}])


class StorageView:
    def __init__(self, view):
        self.view = view


class ViewTensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, self.args


def write_storage_views(name, root, views):
    """root: a float tensor, the one stored storage; views: {name: ((offset, length), offset, size, stride)}."""
    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, StorageView):
                window = (f"view{obj.view[0]}", *obj.view) if obj.view else None
                return ("storage", torch.FloatStorage, "root", "cpu", root.numel(), window)
            return None

    obj = collections.OrderedDict(
        (k, ViewTensor(StorageView(view), offset, size, stride)) for k, (view, offset, size, stride) in views.items())
    with open(os.path.join(DIR, name), "wb") as f:
        f.write(LEGACY_HEADER)
        Pickler(f, protocol=2).dump(obj)
        f.write(pickle.dumps(["root"], protocol=2))
        f.write(struct.pack("<q", root.numel()) + root.numpy().astype("<f4").tobytes())


root = torch.randn(12)
write_storage_views("legacy_storage_views.pth", root, {
    "whole": (None, 0, (3, 4), (4, 1)),
    "head": ((2, 6), 1, (2, 2), (1, 2)),  # elements 3..6 of the root, transposed
    "tail": ((8, 4), 0, (4,), (1,)),
})
expect("legacy_storage_views.pth", torch.load(os.path.join(DIR, "legacy_storage_views.pth")))
# A view that runs past its storage's 12 elements: torch.load cannot read it either.
write_storage_views("legacy_bad_view.pth", root, {"past": ((10, 4), 0, (4,), (1,))})

# The os.system pickle again, this time as the object of a legacy file.
with open(os.path.join(DIR, "legacy_evil.pth"), "wb") as f:
    f.write(LEGACY_HEADER + evil + pickle.dumps([], protocol=2))

save_file(EXPECTED, os.path.join(DIR, "expected.safetensors"))
print(f"wrote {len(os.listdir(DIR))} files, {len(EXPECTED)} expected tensors")
