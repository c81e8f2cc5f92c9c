"""Writes the FastGAN fixtures with fastgan_torch.py: small networks (ngf = ndf = 4, nz 16,
decoders of base width 4) so that lavapipe runs them in seconds, every random draw saved.

Run from the repository root: python tests/reference/make_fastgan.py
Writes tests/fixtures/fastgan/:
  nets.safetensors   G at 256 and 512 px in train and eval mode (outputs, and the spectral
                     norm vectors and BatchNorm statistics after the train-mode forward), D at
                     256 px (logits and the three reconstructions), SLE alone with gradients,
                     full-width parameter counts
  train.safetensors  three training iterations on one real batch: initial weights, every
                     draw, every loss, every state-dict entry and EMA parameter after; then a
                     fourth iteration after the resume from all_2.pth (keys it3.*, after4.*)
  2.pth, all_2.pth   the reference's checkpoint formats after the third iteration (keys
                     with DataParallel's `module.` prefix, as the reference saves them)
  sample.safetensors images sampled from 2.pth (every 4th pixel) for given codes and noise, in the
                     reference's default mode (batch statistics) and in eval mode
"""

import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

import fastgan_torch as fg
from fastgan_torch import Discriminator, Generator, SEBlock

DIR = os.path.join(os.path.dirname(__file__), "..", "fixtures", "fastgan")
os.makedirs(DIR, exist_ok=True)
torch.manual_seed(0)
NGF, NDF, NZ, DEC = 4, 4, 16, 4


def write(name, tensors):
    save_file({k: v.detach().contiguous().float() for k, v in tensors.items()}, os.path.join(DIR, name))


def state(prefix, net):
    return {f"{prefix}.{k}": v.clone().float() for k, v in net.state_dict().items()}


def randomize(net):
    """Noise-injection weights away from 0, so that the maps matter."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, fg.NoiseInjection):
                m.weight.fill_(float(torch.randn(1)) * 0.2)


# Big inputs and noise maps are drawn coarse (at most 32 px) and enlarged by nearest
# resizing, which the tests repeat, so that the fixtures stay small; outputs are stored
# at every 4th pixel (every 8th at 512 px) for the same reason.
def fine(t, side):
    return F.interpolate(t, size=side)


def coarse_maps(n, im_size, gen=None):
    sides = [8, 8, 32, 32, 128, 128] + ([512, 512] if im_size > 256 else [])
    return [torch.randn(n, 1, min(s, 32), min(s, 32), generator=gen) for s in sides]


def fine_maps(coarse, im_size):
    sides = [8, 8, 32, 32, 128, 128] + ([512, 512] if im_size > 256 else [])
    return [fine(m, s) for m, s in zip(coarse, sides)]


def every(t, k):
    return t[:, :, ::k, ::k]


def generator_case(out, im_size, n):
    g = Generator(NGF, NZ, im_size)
    g.apply(fg.weights_init)
    randomize(g)
    out.update(state(f"g{im_size}.init", g))
    z, coarse = torch.randn(n, NZ), coarse_maps(n, im_size)
    out[f"g{im_size}.z"] = z
    for k, m in enumerate(coarse):
        out[f"g{im_size}.map{k}"] = m
    stride = im_size // 64
    for mode in ("train", "eval"):
        if mode == "eval":
            g.eval()
        fg.NOISE[:] = fine_maps(coarse, im_size)
        with torch.set_grad_enabled(mode == "train"):
            big, small = g(z)
        out[f"g{im_size}.{mode}.big"], out[f"g{im_size}.{mode}.small"] = every(big, stride), every(small, 2)
        if mode == "train":
            out.update(state(f"g{im_size}.after", g))


def nets():
    out = {}
    generator_case(out, 256, 2)
    generator_case(out, 512, 1)
    d = Discriminator(NDF, 256, DEC)
    d.apply(fg.weights_init)
    out.update(state("d256.init", d))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    logits, recs = d(fine(x, 256), part=1)
    out["d256.x"], out["d256.logits"] = x, logits
    for k, r in enumerate(recs):
        out[f"d256.rec{k}"] = every(r, 2)
    out.update(state("d256.after", d))
    se = SEBlock(6, 5)
    out.update(state("sle.init", se))
    small = torch.randn(2, 6, 9, 7, requires_grad=True)
    big = torch.randn(2, 5, 12, 10, requires_grad=True)
    y = se(small, big)
    w = torch.randn_like(y)
    (y * w).sum().backward()
    out.update({"sle.small": small, "sle.big": big, "sle.out": y, "sle.w": w,
                "sle.grad_small": small.grad, "sle.grad_big": big.grad})
    out.update(state("sle.after", se))
    for size in (256, 512, 1024):
        count = lambda net: torch.tensor([sum(p.numel() for p in net.parameters())], dtype=torch.float64)
        out[f"count.G{size}"] = count(Generator(64, 256, size))
        out[f"count.D{size}"] = count(Discriminator(64, size))
    write("nets.safetensors", out)


def draws(n, gen):
    aug = lambda s: fg.draw_augment(n, s, s, gen)
    return {"z": torch.randn(n, NZ, generator=gen),
            "maps": coarse_maps(n, 256, gen),
            "aug_real": aug(256), "aug_fake": [aug(256), aug(128)],
            "part": int(torch.randint(0, 4, (1,), generator=gen)),
            "margin_real": torch.rand(n * 50, generator=gen),
            "margin_fake": torch.rand(n * 50, generator=gen)}


def save_draws(out, i, dr):
    out[f"it{i}.z"] = dr["z"]
    for k, m in enumerate(dr["maps"]):
        out[f"it{i}.map{k}"] = m
    for name, a in [("aug_real", dr["aug_real"]), ("aug_fake0", dr["aug_fake"][0]),
                    ("aug_fake1", dr["aug_fake"][1])]:
        for k, v in a.items():
            out[f"it{i}.{name}.{k}"] = v
    out[f"it{i}.part"] = torch.tensor([float(dr["part"])])
    out[f"it{i}.margin_real"], out[f"it{i}.margin_fake"] = dr["margin_real"], dr["margin_fake"]


def prefixed(sd):
    return {"module." + k: v for k, v in sd.items()}


def to_f32(value):
    """A checkpoint as a float32 run would save it."""
    if isinstance(value, torch.Tensor):
        return value.float() if value.is_floating_point() else value
    if isinstance(value, dict):
        return {k: to_f32(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_f32(v) for v in value]
    return value


def to_f64(value):
    if isinstance(value, torch.Tensor):
        return value.double() if value.is_floating_point() else value
    if isinstance(value, dict):
        return {k: to_f64(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_f64(v) for v in value]
    return value


def train():
    """The iterations run in float64: in float32 Adam's first steps turn rounding noise in
    the generator's tiny gradients into parameter differences of up to 2·lr (PyTorch's own
    float32 run differs from its float64 run by 3.9e-4 in G's first weight), so float64 is
    the value both implementations approximate."""
    torch.set_default_dtype(torch.float64)
    out, n = {}, 2
    g, d = Generator(NGF, NZ, 256), Discriminator(NDF, 256, DEC)
    g.apply(fg.weights_init)
    d.apply(fg.weights_init)
    randomize(g)
    # Every input float32 can hold, so both sides start from the same values.
    with torch.no_grad():
        for t in list(g.state_dict().values()) + list(d.state_dict().values()):
            if t.is_floating_point():
                t.copy_(t.float().double())
    out.update(state("init.G", g))
    out.update(state("init.D", d))
    g_ema = [p.detach().clone() for p in g.parameters()]
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = (torch.rand(n, 3, 32, 32) * 2 - 1).float().double()
    out["real"] = real
    gen = torch.Generator().manual_seed(1)

    def iteration(i, key):
        dr = to_f64(to_f32(draws(n, gen)))
        save_draws(out, i, dr)
        losses = fg.train_iteration(g, d, g_ema, opt_g, opt_d, fine(real, 256),
                                    dict(dr, maps=fine_maps(dr["maps"], 256)))
        for name, v in losses.items():
            out[f"it{i}.loss.{name}"] = v.detach().reshape(1)
        for net, m in [("G", g), ("D", d)]:
            out.update(state(f"{key}.{net}", m))
        for (name, _), p in zip(g.named_parameters(), g_ema):
            out[f"{key}.G_ema.{name}"] = p.clone()

    for i in range(3):
        iteration(i, "after")
    # The reference's checkpoints after iteration 2: {it}.pth with the EMA weights in G
    # (buffers of the live G), all_{it}.pth with everything a resume needs.
    live = [p.detach().clone() for p in g.parameters()]
    with torch.no_grad():
        for p, e in zip(g.parameters(), g_ema):
            p.copy_(e)
    torch.save(to_f32({"g": prefixed(g.state_dict()), "d": prefixed(d.state_dict())}), os.path.join(DIR, "2.pth"))
    ema_state = {k: v.clone() for k, v in g.state_dict().items()}
    with torch.no_grad():
        for p, l in zip(g.parameters(), live):
            p.copy_(l)
    torch.save(to_f32({"g": prefixed(g.state_dict()), "d": prefixed(d.state_dict()), "g_ema": g_ema,
                       "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict()}), os.path.join(DIR, "all_2.pth"))
    iteration(3, "after4")
    write("train.safetensors", out)
    torch.set_default_dtype(torch.float32)
    return {k: v.float() if v.is_floating_point() else v for k, v in ema_state.items()}


def sample(ema_state):
    out = {}
    g = Generator(NGF, NZ, 256)
    g.load_state_dict(ema_state)
    z, coarse = torch.randn(3, NZ), coarse_maps(3, 256)
    out["z"] = z
    for k, m in enumerate(coarse):
        out[f"map{k}"] = m
    for mode in ("train", "eval"):
        g.load_state_dict(ema_state)
        g.train(mode == "train")
        fg.NOISE[:] = fine_maps(coarse, 256)
        with torch.no_grad():
            out[f"{mode}.big"] = every(g(z)[0], 4)
    write("sample.safetensors", out)


if __name__ == "__main__":
    nets()
    sample(train())
    print("wrote", sorted(os.listdir(DIR)))
