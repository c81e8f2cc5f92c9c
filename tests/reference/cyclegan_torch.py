"""CycleGAN/pix2pix networks in PyTorch, laid out as the reference repo lays them out
(junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py) so that state-dict names match.
Imported by make_cyclegan_nets.py (fixtures) and time_cyclegan.py (CPU timings)."""

import torch
import torch.nn as nn


def norm_layer(kind):
    return {
        "instance": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False),
        "batch": lambda c: nn.BatchNorm2d(c),
        "none": lambda c: nn.Identity(),
    }[kind]


class Block(nn.Module):
    def __init__(self, dim, padding, norm, dropout, bias):
        super().__init__()
        layers = []
        for second in (False, True):
            p = 0
            if padding == "reflect":
                layers.append(nn.ReflectionPad2d(1))
            elif padding == "replicate":
                layers.append(nn.ReplicationPad2d(1))
            else:
                p = 1
            layers += [nn.Conv2d(dim, dim, 3, padding=p, bias=bias), norm_layer(norm)(dim)]
            if not second:
                layers.append(nn.ReLU(True))
                if dropout:
                    layers.append(nn.Dropout(0.5))
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetG(nn.Module):
    def __init__(self, inc, outc, ngf, norm, dropout, blocks, padding):
        super().__init__()
        bias = norm == "instance"
        n = norm_layer(norm)
        m = [nn.ReflectionPad2d(3), nn.Conv2d(inc, ngf, 7, bias=bias), n(ngf), nn.ReLU(True)]
        for i in range(2):
            k = 2 ** i
            m += [nn.Conv2d(ngf * k, ngf * k * 2, 3, 2, 1, bias=bias), n(ngf * k * 2), nn.ReLU(True)]
        m += [Block(ngf * 4, padding, norm, dropout, bias) for _ in range(blocks)]
        for i in range(2):
            k = 4 // 2 ** i
            m += [nn.ConvTranspose2d(ngf * k, ngf * k // 2, 3, 2, 1, output_padding=1, bias=bias), n(ngf * k // 2), nn.ReLU(True)]
        m += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, outc, 7), nn.Tanh()]
        self.model = nn.Sequential(*m)

    def forward(self, x):
        return self.model(x)


class UBlock(nn.Module):
    def __init__(self, outer, inner, input_nc=None, child=None, outermost=False, innermost=False, norm="batch", dropout=False):
        super().__init__()
        self.outermost = outermost
        bias = norm == "instance"
        n = norm_layer(norm)
        down = nn.Conv2d(input_nc or outer, inner, 4, 2, 1, bias=bias)
        if outermost:
            m = [down, child, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif innermost:
            m = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias), n(outer)]
        else:
            m = [nn.LeakyReLU(0.2, True), down, n(inner), child, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=bias), n(outer)]
            if dropout:
                m.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*m)

    def forward(self, x):
        # In place, as the reference: the LeakyReLU overwrites x, so the skip is LReLU(x).
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class UnetG(nn.Module):
    def __init__(self, inc, outc, downs, ngf, norm, dropout):
        super().__init__()
        b = UBlock(ngf * 8, ngf * 8, norm=norm, innermost=True)
        for _ in range(downs - 5):
            b = UBlock(ngf * 8, ngf * 8, child=b, norm=norm, dropout=dropout)
        b = UBlock(ngf * 4, ngf * 8, child=b, norm=norm)
        b = UBlock(ngf * 2, ngf * 4, child=b, norm=norm)
        b = UBlock(ngf, ngf * 2, child=b, norm=norm)
        self.model = UBlock(outc, ngf, input_nc=inc, child=b, outermost=True, norm=norm)

    def forward(self, x):
        return self.model(x)


class NLayerD(nn.Module):
    def __init__(self, inc, ndf, n_layers, norm):
        super().__init__()
        bias = norm == "instance"
        n = norm_layer(norm)
        s = [nn.Conv2d(inc, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for k in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** k, 8)
            s += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2 if k < n_layers else 1, 1, bias=bias), n(ndf * mult), nn.LeakyReLU(0.2, True)]
        s += [nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        self.model = nn.Sequential(*s)

    def forward(self, x):
        return self.model(x)


class PixelD(nn.Module):
    def __init__(self, inc, ndf, norm):
        super().__init__()
        bias = norm == "instance"
        self.net = nn.Sequential(nn.Conv2d(inc, ndf, 1), nn.LeakyReLU(0.2, True), nn.Conv2d(ndf, ndf * 2, 1, bias=bias),
                                 norm_layer(norm)(ndf * 2), nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * 2, 1, 1, bias=bias))

    def forward(self, x):
        return self.net(x)
