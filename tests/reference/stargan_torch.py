"""StarGAN v1 in PyTorch, as yunjey/stargan's model.py and solver.py define it: the
networks (state-dict names as the reference's), the gradient penalty, the learning-rate
schedule, the classification loss and one solver iteration. make_stargan.py writes the
fixtures with them; time_stargan.py times an iteration."""

import torch
import torch.nn as nn
import torch.nn.functional as F

def norm(c):
    # The reference's instance norm: learned scale and shift, and running statistics that
    # train mode updates but never uses.
    return nn.InstanceNorm2d(c, affine=True, track_running_stats=True)


class ResidualBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False), norm(dim), nn.ReLU(),
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False), norm(dim))

    def forward(self, x):
        return x + self.main(x)


class Generator(nn.Module):
    def __init__(self, conv_dim, c_dim, repeat_num):
        super().__init__()
        layers = [nn.Conv2d(3 + c_dim, conv_dim, 7, 1, 3, bias=False), norm(conv_dim), nn.ReLU()]
        dim = conv_dim
        for _ in range(2):
            layers += [nn.Conv2d(dim, dim * 2, 4, 2, 1, bias=False), norm(dim * 2), nn.ReLU()]
            dim *= 2
        layers += [ResidualBlock(dim) for _ in range(repeat_num)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(dim, dim // 2, 4, 2, 1, bias=False), norm(dim // 2), nn.ReLU()]
            dim //= 2
        layers += [nn.Conv2d(dim, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, x, c):
        planes = c[:, :, None, None].expand(-1, -1, x.size(2), x.size(3))
        return self.main(torch.cat([x, planes], 1))


class Discriminator(nn.Module):
    def __init__(self, image_size, conv_dim, c_dim, repeat_num):
        super().__init__()
        layers, dim = [nn.Conv2d(3, conv_dim, 4, 2, 1), nn.LeakyReLU(0.01)], conv_dim
        for _ in range(1, repeat_num):
            layers += [nn.Conv2d(dim, dim * 2, 4, 2, 1), nn.LeakyReLU(0.01)]
            dim *= 2
        self.main = nn.Sequential(*layers)
        self.conv1 = nn.Conv2d(dim, 1, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(dim, c_dim, image_size // 2 ** repeat_num, bias=False)

    def forward(self, x):
        h = self.main(x)
        cls = self.conv2(h)
        return self.conv1(h), cls.view(cls.size(0), cls.size(1))





def state(net, prefix):
    out = {}
    for k, v in net.state_dict().items():
        out[f"{prefix}{k}"] = v.detach().clone() if v.is_floating_point() else v.to(torch.int64).clone()
    return out


def gradient_penalty(y, x):
    g, = torch.autograd.grad(y, x, grad_outputs=torch.ones_like(y), retain_graph=True, create_graph=True)
    g = g.view(g.size(0), -1)
    return torch.mean((torch.sqrt(torch.sum(g ** 2, dim=1)) - 1) ** 2)


def lr_schedule(lr0, num_iters, num_iters_decay, lr_update_step):
    """The learning rate in force at each iteration, decayed as the solver decays it (a
    Python float, subtracted after the iteration that reaches each update step)."""
    lr, out = lr0, []
    for i in range(num_iters):
        out.append(lr)
        if (i + 1) % lr_update_step == 0 and (i + 1) > (num_iters - num_iters_decay):
            lr -= lr0 / float(num_iters_decay)
    return out


def classification_loss(logit, target, dataset):
    if dataset == "CelebA":
        return F.binary_cross_entropy_with_logits(logit, target, reduction="sum") / logit.size(0)
    return F.cross_entropy(logit, target)


class Run:
    """The solver's state and hyperparameters for one fixture."""

    def __init__(self, g, d, c_dim, c2_dim, n_critic, num_iters, num_iters_decay, lr_update_step):
        self.G, self.D, self.c_dim, self.c2_dim, self.n_critic = g, d, c_dim, c2_dim, n_critic
        self.g_opt = torch.optim.Adam(g.parameters(), 1e-4, [0.5, 0.999])
        self.d_opt = torch.optim.Adam(d.parameters(), 1e-4, [0.5, 0.999])
        self.lrs = lr_schedule(1e-4, num_iters, num_iters_decay, lr_update_step)
        self.out = {}

    def set_lr(self, i):
        for opt in (self.g_opt, self.d_opt):
            for group in opt.param_groups:
                group["lr"] = self.lrs[i]

    def step(self, i, x_real, label_org, dataset, rand_idx, alpha, prefix="", both=False):
        """One dataset's pass of iteration i: the D step, then the G step when it is due."""
        label_trg = label_org[rand_idx]
        n = x_real.size(0)
        if dataset == "CelebA":
            c_org, c_trg = label_org.clone(), label_trg.clone()
            if both:
                pad = [torch.zeros(n, self.c2_dim), F.one_hot(torch.zeros(n, dtype=torch.long), 2).float()]
                c_org, c_trg = torch.cat([c_org] + pad, 1), torch.cat([c_trg] + pad, 1)
        else:
            c_org, c_trg = F.one_hot(label_org, self.c2_dim if both else self.c_dim).float(), F.one_hot(label_trg, self.c2_dim if both else self.c_dim).float()
            if both:
                mask = F.one_hot(torch.ones(n, dtype=torch.long), 2).float()
                c_org = torch.cat([torch.zeros(n, self.c_dim), c_org, mask], 1)
                c_trg = torch.cat([torch.zeros(n, self.c_dim), c_trg, mask], 1)

        def own_logits(cls):
            if not both:
                return cls
            return cls[:, :self.c_dim] if dataset == "CelebA" else cls[:, self.c_dim:]

        out_src, out_cls = self.D(x_real)
        d_loss_real = -torch.mean(out_src)
        d_loss_cls = classification_loss(own_logits(out_cls), label_org, dataset)
        x_fake = self.G(x_real, c_trg)
        out_src, _ = self.D(x_fake.detach())
        d_loss_fake = torch.mean(out_src)
        a = alpha.view(n, 1, 1, 1)
        x_hat = (a * x_real.data + (1 - a) * x_fake.data).requires_grad_(True)
        out_src, _ = self.D(x_hat)
        d_loss_gp = gradient_penalty(out_src, x_hat)
        d_loss = d_loss_real + d_loss_fake + 1.0 * d_loss_cls + 10.0 * d_loss_gp
        self.g_opt.zero_grad()
        self.d_opt.zero_grad()
        d_loss.backward()
        self.d_opt.step()
        losses = {"D/loss_real": d_loss_real, "D/loss_fake": d_loss_fake, "D/loss_cls": d_loss_cls, "D/loss_gp": d_loss_gp}

        if (i + 1) % self.n_critic == 0:
            x_fake = self.G(x_real, c_trg)
            out_src, out_cls = self.D(x_fake)
            g_loss_fake = -torch.mean(out_src)
            g_loss_cls = classification_loss(own_logits(out_cls), label_trg, dataset)
            x_reconst = self.G(x_fake, c_org)
            g_loss_rec = torch.mean(torch.abs(x_real - x_reconst))
            g_loss = g_loss_fake + 10.0 * g_loss_rec + 1.0 * g_loss_cls
            self.g_opt.zero_grad()
            self.d_opt.zero_grad()
            g_loss.backward()
            self.g_opt.step()
            losses.update({"G/loss_fake": g_loss_fake, "G/loss_rec": g_loss_rec, "G/loss_cls": g_loss_cls})
        for k, v in losses.items():
            self.out[f"it{i}.loss.{prefix}{k}"] = v.detach().reshape(1)

    def finish(self):
        self.out.update(state(self.G, "after.G."))
        self.out.update(state(self.D, "after.D."))
        return self.out
