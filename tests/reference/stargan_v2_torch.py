"""StarGAN v2 in PyTorch, laid out as clovaai/stargan-v2's core/model.py lays it out (so
state-dict names match) and trained as its core/solver.py trains, with every random draw
passed in (z, z2, the reference images; the data pipeline's crops happen before the step).
make_stargan_v2.py writes the fixtures with it.

Differences from the reference, all for small tests: the generator's max_conv_dim is a
parameter for every network (the reference passes it only as a default of 512), and the
mapping network's hidden width is a parameter (the reference hard-codes 512; its
--hidden_dim is never read). The FAN masks are passed in, not computed."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class ResBlk(nn.Module):
    def __init__(self, dim_in, dim_out, normalize=False, downsample=False):
        super().__init__()
        self.normalize, self.downsample = normalize, downsample
        self.learned_sc = dim_in != dim_out
        self.conv1 = nn.Conv2d(dim_in, dim_in, 3, 1, 1)
        self.conv2 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        if normalize:
            self.norm1 = nn.InstanceNorm2d(dim_in, affine=True)
            self.norm2 = nn.InstanceNorm2d(dim_in, affine=True)
        if self.learned_sc:
            self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False)

    def forward(self, x):
        sc = self.conv1x1(x) if self.learned_sc else x
        if self.downsample:
            sc = F.avg_pool2d(sc, 2)
        h = self.norm1(x) if self.normalize else x
        h = self.conv1(F.leaky_relu(h, 0.2))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        if self.normalize:
            h = self.norm2(h)
        h = self.conv2(F.leaky_relu(h, 0.2))
        return (sc + h) / math.sqrt(2)


class AdaIN(nn.Module):
    def __init__(self, style_dim, num_features):
        super().__init__()
        self.norm = nn.InstanceNorm2d(num_features, affine=False)
        self.fc = nn.Linear(style_dim, num_features * 2)

    def forward(self, x, s):
        h = self.fc(s).view(s.size(0), -1, 1, 1)
        gamma, beta = torch.chunk(h, 2, dim=1)
        return (1 + gamma) * self.norm(x) + beta


class AdainResBlk(nn.Module):
    def __init__(self, dim_in, dim_out, style_dim, w_hpf=0, upsample=False):
        super().__init__()
        self.w_hpf, self.upsample = w_hpf, upsample
        self.learned_sc = dim_in != dim_out
        self.conv1 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(dim_out, dim_out, 3, 1, 1)
        self.norm1 = AdaIN(style_dim, dim_in)
        self.norm2 = AdaIN(style_dim, dim_out)
        if self.learned_sc:
            self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False)

    def forward(self, x, s):
        h = F.leaky_relu(self.norm1(x, s), 0.2)
        if self.upsample:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.conv2(F.leaky_relu(self.norm2(self.conv1(h), s), 0.2))
        if self.w_hpf == 0:
            sc = F.interpolate(x, scale_factor=2, mode="nearest") if self.upsample else x
            if self.learned_sc:
                sc = self.conv1x1(sc)
            h = (h + sc) / math.sqrt(2)
        return h


class HighPass(nn.Module):
    def __init__(self, w_hpf):
        super().__init__()
        self.register_buffer("filter", torch.tensor([[-1, -1, -1], [-1, 8.0, -1], [-1, -1, -1]]) / w_hpf)

    def forward(self, x):
        k = self.filter.unsqueeze(0).unsqueeze(1).repeat(x.size(1), 1, 1, 1)
        return F.conv2d(x, k, padding=1, groups=x.size(1))


class Generator(nn.Module):
    def __init__(self, img_size=256, style_dim=64, max_conv_dim=512, w_hpf=1):
        super().__init__()
        dim_in = min(2**14 // img_size, max_conv_dim)
        first = dim_in
        self.from_rgb = nn.Conv2d(3, dim_in, 3, 1, 1)
        self.encode, self.decode = nn.ModuleList(), nn.ModuleList()
        self.to_rgb = nn.Sequential(nn.InstanceNorm2d(first, affine=True), nn.LeakyReLU(0.2), nn.Conv2d(first, 3, 1, 1, 0))
        repeat = int(math.log2(img_size)) - 4 + (1 if w_hpf > 0 else 0)
        dim_out = dim_in
        for _ in range(repeat):
            dim_out = min(dim_in * 2, max_conv_dim)
            self.encode.append(ResBlk(dim_in, dim_out, normalize=True, downsample=True))
            self.decode.insert(0, AdainResBlk(dim_out, dim_in, style_dim, w_hpf=w_hpf, upsample=True))
            dim_in = dim_out
        for _ in range(2):
            self.encode.append(ResBlk(dim_out, dim_out, normalize=True))
            self.decode.insert(0, AdainResBlk(dim_out, dim_out, style_dim, w_hpf=w_hpf))
        if w_hpf > 0:
            self.hpf = HighPass(w_hpf)

    def forward(self, x, s, masks=None):
        x = self.from_rgb(x)
        cache = {}
        for block in self.encode:
            if masks is not None and x.size(2) in [32, 64, 128]:
                cache[x.size(2)] = x
            x = block(x)
        for block in self.decode:
            x = block(x, s)
            if masks is not None and x.size(2) in [32, 64, 128]:
                mask = masks[0] if x.size(2) in [32] else masks[1]
                mask = F.interpolate(mask, size=x.size(2), mode="bilinear")
                x = x + self.hpf(mask * cache[x.size(2)])
        return self.to_rgb(x)


class MappingNetwork(nn.Module):
    def __init__(self, latent_dim=16, style_dim=64, num_domains=2, hidden=512):
        super().__init__()
        layers = [nn.Linear(latent_dim, hidden), nn.ReLU()]
        for _ in range(3):
            layers += [nn.Linear(hidden, hidden), nn.ReLU()]
        self.shared = nn.Sequential(*layers)
        self.unshared = nn.ModuleList()
        for _ in range(num_domains):
            self.unshared.append(nn.Sequential(
                nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, style_dim)))

    def forward(self, z, y):
        h = self.shared(z)
        out = torch.stack([head(h) for head in self.unshared], dim=1)
        return out[torch.arange(y.size(0)), y]


def trunk(img_size, max_conv_dim):
    dim_in = min(2**14 // img_size, max_conv_dim)
    blocks = [nn.Conv2d(3, dim_in, 3, 1, 1)]
    dim_out = dim_in
    for _ in range(int(math.log2(img_size)) - 2):
        dim_out = min(dim_in * 2, max_conv_dim)
        blocks.append(ResBlk(dim_in, dim_out, downsample=True))
        dim_in = dim_out
    blocks += [nn.LeakyReLU(0.2), nn.Conv2d(dim_out, dim_out, 4, 1, 0), nn.LeakyReLU(0.2)]
    return blocks, dim_out


class StyleEncoder(nn.Module):
    def __init__(self, img_size=256, style_dim=64, num_domains=2, max_conv_dim=512):
        super().__init__()
        blocks, dim_out = trunk(img_size, max_conv_dim)
        self.shared = nn.Sequential(*blocks)
        self.unshared = nn.ModuleList([nn.Linear(dim_out, style_dim) for _ in range(num_domains)])

    def forward(self, x, y):
        h = self.shared(x).view(x.size(0), -1)
        out = torch.stack([head(h) for head in self.unshared], dim=1)
        return out[torch.arange(y.size(0)), y]


class Discriminator(nn.Module):
    def __init__(self, img_size=256, num_domains=2, max_conv_dim=512):
        super().__init__()
        blocks, dim_out = trunk(img_size, max_conv_dim)
        self.main = nn.Sequential(*blocks, nn.Conv2d(dim_out, num_domains, 1, 1, 0))

    def forward(self, x, y):
        out = self.main(x).view(x.size(0), -1)
        return out[torch.arange(y.size(0)), y]


def he_init(module):
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        if module.bias is not None:
            nn.init.constant_(module.bias, 0)


# ---- losses and the training iteration (core/solver.py) ----

def adv_loss(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, fill_value=target))


def r1_reg(d_out, x_in):
    g = torch.autograd.grad(outputs=d_out.sum(), inputs=x_in, create_graph=True, retain_graph=True, only_inputs=True)[0]
    return 0.5 * g.pow(2).view(x_in.size(0), -1).sum(1).mean(0)


def compute_d_loss(nets, args, x_real, y_org, y_trg, z_trg=None, x_ref=None, masks=None):
    x_real.requires_grad_()
    out = nets["discriminator"](x_real, y_org)
    loss_real = adv_loss(out, 1)
    loss_reg = r1_reg(out, x_real)
    with torch.no_grad():
        s_trg = nets["mapping_network"](z_trg, y_trg) if z_trg is not None else nets["style_encoder"](x_ref, y_trg)
        x_fake = nets["generator"](x_real, s_trg, masks=masks)
    loss_fake = adv_loss(nets["discriminator"](x_fake, y_trg), 0)
    loss = loss_real + loss_fake + args["lambda_reg"] * loss_reg
    return loss, dict(real=loss_real.item(), fake=loss_fake.item(), reg=loss_reg.item())


def compute_g_loss(nets, args, x_real, y_org, y_trg, z_trgs=None, x_refs=None, masks=None, fan=None):
    if z_trgs is not None:
        s_trg = nets["mapping_network"](z_trgs[0], y_trg)
    else:
        s_trg = nets["style_encoder"](x_refs[0], y_trg)
    x_fake = nets["generator"](x_real, s_trg, masks=masks)
    loss_adv = adv_loss(nets["discriminator"](x_fake, y_trg), 1)
    loss_sty = torch.mean(torch.abs(nets["style_encoder"](x_fake, y_trg) - s_trg))
    if z_trgs is not None:
        s_trg2 = nets["mapping_network"](z_trgs[1], y_trg)
    else:
        s_trg2 = nets["style_encoder"](x_refs[1], y_trg)
    x_fake2 = nets["generator"](x_real, s_trg2, masks=masks).detach()
    loss_ds = torch.mean(torch.abs(x_fake - x_fake2))
    masks = fan(x_fake) if fan is not None else None
    s_org = nets["style_encoder"](x_real, y_org)
    x_rec = nets["generator"](x_fake, s_org, masks=masks)
    loss_cyc = torch.mean(torch.abs(x_rec - x_real))
    loss = loss_adv + args["lambda_sty"] * loss_sty - args["lambda_ds"] * loss_ds + args["lambda_cyc"] * loss_cyc
    return loss, dict(adv=loss_adv.item(), sty=loss_sty.item(), ds=loss_ds.item(), cyc=loss_cyc.item())


def moving_average(model, model_test, beta=0.999):
    for p, p_test in zip(model.parameters(), model_test.parameters()):
        p_test.data = torch.lerp(p.data, p_test.data, beta)


def train_iteration(nets, nets_ema, optims, args, inp, initial_lambda_ds, fan=None):
    """One iteration of Solver.train; returns the logged losses with the reference's names."""
    x_real, y_org, y_trg = inp["x_real"], inp["y_org"], inp["y_trg"]
    masks = fan(x_real) if fan is not None else None

    def reset():
        for o in optims.values():
            o.zero_grad()

    d_loss, d_lat = compute_d_loss(nets, args, x_real, y_org, y_trg, z_trg=inp["z_trg"], masks=masks)
    reset(); d_loss.backward(); optims["discriminator"].step()
    d_loss, d_ref = compute_d_loss(nets, args, x_real, y_org, y_trg, x_ref=inp["x_ref"], masks=masks)
    reset(); d_loss.backward(); optims["discriminator"].step()
    g_loss, g_lat = compute_g_loss(nets, args, x_real, y_org, y_trg, z_trgs=[inp["z_trg"], inp["z_trg2"]], masks=masks, fan=fan)
    reset(); g_loss.backward()
    optims["generator"].step(); optims["mapping_network"].step(); optims["style_encoder"].step()
    g_loss, g_ref = compute_g_loss(nets, args, x_real, y_org, y_trg, x_refs=[inp["x_ref"], inp["x_ref2"]], masks=masks, fan=fan)
    reset(); g_loss.backward(); optims["generator"].step()
    for name in ["generator", "mapping_network", "style_encoder"]:
        moving_average(nets[name], nets_ema[name], beta=0.999)
    if args["lambda_ds"] > 0:
        args["lambda_ds"] -= initial_lambda_ds / args["ds_iter"]
    logged = {}
    for losses, prefix in zip([d_lat, d_ref, g_lat, g_ref], ["D/latent_", "D/ref_", "G/latent_", "G/ref_"]):
        for k, v in losses.items():
            logged[prefix + k] = v
    logged["G/lambda_ds"] = args["lambda_ds"]
    return logged
