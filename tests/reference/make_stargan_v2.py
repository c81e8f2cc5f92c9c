"""Writes the StarGAN v2 fixtures with stargan_v2_torch.py: small networks (32 px, widths
capped at 16, style 8, latent 4, F 16 wide) so that lavapipe runs them in seconds.

Run from the repository root: python tests/reference/make_stargan_v2.py
Writes tests/fixtures/stargan_v2/:
  nets.safetensors    G (w_hpf 0 at 32 px; w_hpf 1 at 64 px with supplied masks), F, E, D
                      with three domains and per-sample picks; R1's value and its
                      second-order gradients in D; full-size parameter counts
  train.safetensors   three training iterations (two D steps, two G steps, EMA, λ_ds decay)
                      from fixed weights with every draw supplied; then a fourth after a
                      resume from the reference's checkpoint files (keys it3.*, after4.*)
  000003_nets.ckpt, 000003_nets_ema.ckpt (torch's legacy format, as the released files),
  000003_optims.ckpt  the reference's checkpoints after the third iteration
  translate.safetensors  reference- and latent-guided translations with the EMA networks
                      of 000003_nets_ema.ckpt
"""

import copy
import os

import torch
from safetensors.torch import save_file

import stargan_v2_torch as sg

DIR = os.path.join(os.path.dirname(__file__), "..", "fixtures", "stargan_v2")
os.makedirs(DIR, exist_ok=True)
torch.manual_seed(0)
IMG, MAXC, STYLE, LATENT, HIDDEN = 32, 16, 8, 4, 16
NAMES = ["generator", "mapping_network", "style_encoder", "discriminator"]


def write(name, tensors):
    save_file({k: v.detach().contiguous().float() for k, v in tensors.items()}, os.path.join(DIR, name))


def state(prefix, net):
    return {f"{prefix}.{k}": v.clone() for k, v in net.state_dict().items()}


def randomize_norms(net):
    """IN affine parameters away from 1 and 0, so that they matter."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.InstanceNorm2d) and m.affine:
                m.weight.copy_(1 + 0.2 * torch.randn_like(m.weight))
                m.bias.copy_(0.2 * torch.randn_like(m.bias))


def build(domains, w_hpf=0, img=IMG, maxc=MAXC):
    return dict(
        generator=sg.Generator(img, STYLE, maxc, w_hpf),
        mapping_network=sg.MappingNetwork(LATENT, STYLE, domains, HIDDEN),
        style_encoder=sg.StyleEncoder(img, STYLE, domains, maxc),
        discriminator=sg.Discriminator(img, domains, maxc),
    )


def nets():
    out = {}
    n = build(3)
    for net in n.values():
        randomize_norms(net)
    for name, net in n.items():
        out.update(state(f"{name}", net))
    x, y = torch.rand(3, 3, IMG, IMG) * 2 - 1, torch.tensor([2, 0, 1])
    s, z = torch.randn(3, STYLE), torch.randn(3, LATENT)
    out.update({"x": x, "y": y.float(), "s": s, "z": z})
    with torch.no_grad():
        out["out.generator"] = n["generator"](x, s)
        out["out.mapping_network"] = n["mapping_network"](z, y)
        out["out.style_encoder"] = n["style_encoder"](x, y)
        out["out.discriminator"] = n["discriminator"](x, y)
    # w_hpf 1 at 64 px: both masks are used (the first at 32 px, the second at 64).
    g = sg.Generator(64, STYLE, 8, 1)
    randomize_norms(g)
    out.update(state("hpf.generator", g))
    x64, masks = torch.rand(2, 3, 64, 64) * 2 - 1, [torch.rand(2, 1, 64, 64), torch.rand(2, 1, 64, 64)]
    s2 = torch.randn(2, STYLE)
    out.update({"hpf.x": x64, "hpf.s": s2, "hpf.mask0": masks[0], "hpf.mask1": masks[1]})
    with torch.no_grad():
        out["hpf.out"] = g(x64, s2, masks=masks)
    # R1 on D with its second-order gradients in D's parameters.
    d = n["discriminator"]
    xr = x.clone().requires_grad_()
    r1 = sg.r1_reg(d(xr, y), xr)
    out["r1.value"] = r1.detach().reshape(1)
    # The last conv's bias does not change ∂D/∂x: its gradient is None, stored as zeros.
    grads = torch.autograd.grad(r1, list(d.parameters()), allow_unused=True)
    for (name, p), gr in zip(d.named_parameters(), grads):
        out[f"r1.grad.{name}"] = gr if gr is not None else torch.zeros_like(p)
    # Full-size parameter counts (256 px, 2 domains, the reference's widths).
    # Stored as [thousands, units]: float32 cannot hold 43,467,395 exactly.
    count = lambda net: torch.tensor(list(divmod(sum(p.numel() for p in net.parameters()), 1000)), dtype=torch.float64)
    out["count.generator_hpf1"] = count(sg.Generator(256, 64, 512, 1))
    out["count.generator_hpf0"] = count(sg.Generator(256, 64, 512, 0))
    out["count.mapping_network"] = count(sg.MappingNetwork(16, 64, 2, 512))
    out["count.style_encoder"] = count(sg.StyleEncoder(256, 64, 2, 512))
    out["count.discriminator"] = count(sg.Discriminator(256, 2, 512))
    write("nets.safetensors", out)


ARGS = dict(lambda_reg=1.0, lambda_sty=1.0, lambda_ds=2.0, lambda_cyc=1.0, ds_iter=4)
# The reference's lr; F's rate and the weight decay raised so that each shows in three
# iterations. (With betas (0, 0.99) Adam moves nearly every parameter by ±lr per step, so
# larger rates make the run chaotic: at lr 3e-4 PyTorch's own float32 run drifts 0.1 %
# from its float64 run in three iterations.)
LR, F_LR, WD, BETAS = 1e-4, 1e-5, 1e-2, (0.0, 0.99)


def to_dtype(value, dtype):
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, dict):
        return {k: to_dtype(v, dtype) for k, v in value.items()}
    if isinstance(value, list):
        return [to_dtype(v, dtype) for v in value]
    return value


def optims_for(nets):
    return {k: torch.optim.Adam(nets[k].parameters(), lr=F_LR if k == "mapping_network" else LR,
                                betas=BETAS, weight_decay=WD) for k in NAMES}


def train():
    """In float64, as the FastGAN training golden: Adam's first steps turn f32 rounding
    noise in tiny gradients into parameter steps of up to lr, so float64 is the value both
    sides approximate. Inputs are values float32 holds exactly."""
    torch.set_default_dtype(torch.float64)
    out, n = {}, 2
    nets = build(2)
    # The reference's quirk: the EMA copies are taken before He init, keep PyTorch's
    # default initialisation and are never He-initialised.
    ema = {k: copy.deepcopy(nets[k]) for k in NAMES[:3]}
    for k in NAMES:
        nets[k].apply(sg.he_init)
    with torch.no_grad():
        for net in list(nets.values()) + list(ema.values()):
            for t in net.state_dict().values():
                t.copy_(t.float().double())
    for k, net in nets.items():
        out.update(state(f"init.{k}", net))
    for k, net in ema.items():
        out.update(state(f"init.{k}_ema", net))
    optims = optims_for(nets)
    args = dict(ARGS)
    gen = torch.Generator().manual_seed(1)

    def draw(i):
        f32 = lambda t: t.float().double()
        inp = dict(
            x_real=f32(torch.rand(n, 3, IMG, IMG, generator=gen) * 2 - 1),
            x_ref=f32(torch.rand(n, 3, IMG, IMG, generator=gen) * 2 - 1),
            x_ref2=f32(torch.rand(n, 3, IMG, IMG, generator=gen) * 2 - 1),
            z_trg=f32(torch.randn(n, LATENT, generator=gen)),
            z_trg2=f32(torch.randn(n, LATENT, generator=gen)),
            y_org=torch.tensor([i % 2, 1]), y_trg=torch.tensor([1, (i + 1) % 2]),
        )
        for k, v in inp.items():
            out[f"it{i}.{k}"] = v.double() if not v.is_floating_point() else v.clone()
        return inp

    def iteration(i, key):
        logged = sg.train_iteration(nets, ema, optims, args, draw(i), ARGS["lambda_ds"])
        for name, v in logged.items():
            out[f"it{i}.loss.{name}"] = torch.tensor([float(v)])
        for k, net in nets.items():
            out.update(state(f"{key}.{k}", net))
        for k, net in ema.items():
            out.update(state(f"{key}.{k}_ema", net))

    for i in range(3):
        iteration(i, "after")
    # The reference's three files after iteration 3, float32 as a real run writes them.
    torch.save(to_dtype({k: nets[k].state_dict() for k in NAMES}, torch.float32), os.path.join(DIR, "000003_nets.ckpt"))
    torch.save(to_dtype({k: ema[k].state_dict() for k in NAMES[:3]}, torch.float32),
               os.path.join(DIR, "000003_nets_ema.ckpt"), _use_new_zipfile_serialization=False)
    torch.save(to_dtype({k: o.state_dict() for k, o in optims.items()}, torch.float32),
               os.path.join(DIR, "000003_optims.ckpt"))
    # Resume (--resume_iter 3): everything from the files. The reference would start λ_ds
    # again from its initial value (it saves none); gantry continues the decay as an
    # uninterrupted run has it, so the golden does too.
    for k in NAMES:
        nets[k].load_state_dict(to_dtype(torch.load(os.path.join(DIR, "000003_nets.ckpt"))[k], torch.float64))
    for k in NAMES[:3]:
        ema[k].load_state_dict(to_dtype(torch.load(os.path.join(DIR, "000003_nets_ema.ckpt"))[k], torch.float64))
    optims = optims_for(nets)
    saved = torch.load(os.path.join(DIR, "000003_optims.ckpt"))
    for k in NAMES:
        optims[k].load_state_dict(to_dtype(saved[k], torch.float64))
    iteration(3, "after4")
    write("train.safetensors", out)
    torch.set_default_dtype(torch.float32)


def translate():
    out = {}
    ema = build(2)
    saved = torch.load(os.path.join(DIR, "000003_nets_ema.ckpt"))
    for k in NAMES[:3]:
        ema[k].load_state_dict(saved[k])
    src, ref = torch.rand(2, 3, IMG, IMG) * 2 - 1, torch.rand(2, 3, IMG, IMG) * 2 - 1
    z = torch.randn(2, LATENT)
    y = torch.tensor([1, 0])
    out.update({"src": src, "ref": ref, "z": z, "y": y.float()})
    with torch.no_grad():
        s_ref = ema["style_encoder"](ref, y)
        out["reference"] = ema["generator"](src, s_ref)
        s_lat = ema["mapping_network"](z, y)
        out["latent"] = ema["generator"](src, s_lat)
        # Truncation toward a given average style (the reference averages F over 10,000
        # codes; the average is supplied here).
        z_many = torch.randn(64, LATENT)
        out["z_many"] = z_many
        s_avg = ema["mapping_network"](z_many, torch.full((64,), 1, dtype=torch.long)).mean(0, keepdim=True)
        out["s_avg1"] = s_avg
        out["psi0.7"] = ema["generator"](src, torch.lerp(s_avg.repeat(2, 1), ema["mapping_network"](z, torch.tensor([1, 1])), 0.7))
    write("translate.safetensors", out)


if __name__ == "__main__":
    nets()
    train()
    translate()
    print("wrote", sorted(os.listdir(DIR)))
