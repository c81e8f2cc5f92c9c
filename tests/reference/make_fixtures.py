"""Writes the golden fixtures that gantry's engine tests compare against.

Run from the repository root with a Python that has torch, numpy and safetensors:
    python tests/reference/make_fixtures.py
It writes tests/fixtures/ops.safetensors. Every case stores its inputs, a fixed upstream
weight `w` (so gradients are not all ones), the output, the gradients of sum(out * w) with
respect to each input, and for many ops the second-order gradients of
sum(grad * w2). Regenerate, never edit: the tests read only what this script writes.

Shapes are chosen to be awkward: odd sizes, broadcasting in every direction, element
counts that are not multiples of the 256-wide workgroups.
"""

import os

import torch
from safetensors.torch import save_file

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)  # compute in f64, store f32: the goldens carry no f32 error
OUT = {}


def put(name, t):
    OUT[name] = t.detach().to(torch.float32).clone().contiguous()


def leaf(name, t):
    """Rounds an input to f32 first, so gantry and PyTorch start from identical values."""
    t = t.to(torch.float32).to(torch.float64).requires_grad_(True)
    put(name, t)
    return t


def record(case, fn, inputs, second_order=True):
    """Stores out = fn(*inputs), d sum(out*w)/d inputs and, optionally, second order."""
    xs = [leaf(f"{case}.in{i}", x) for i, x in enumerate(inputs)]
    out = fn(*xs)
    put(f"{case}.out", out)
    w = leaf(f"{case}.w", torch.randn(out.shape)).detach()
    grads = torch.autograd.grad((out * w).sum(), xs, create_graph=second_order, allow_unused=True)
    for i, g in enumerate(grads):
        put(f"{case}.grad{i}", g if g is not None else torch.zeros_like(xs[i]))
    if second_order:
        w2 = [leaf(f"{case}.w2_{i}", torch.randn(x.shape)).detach() for i, x in enumerate(xs)]
        total = sum((g * v).sum() for g, v in zip(grads, w2) if g is not None and g.requires_grad)
        if torch.is_tensor(total) and total.requires_grad:
            gg = torch.autograd.grad(total, xs, allow_unused=True)
            for i, g in enumerate(gg):
                put(f"{case}.gg{i}", g if g is not None else torch.zeros_like(xs[i]))


def positive(shape):
    return torch.rand(shape) * 2.0 + 0.1


def away_from_zero(shape):
    x = torch.randn(shape)
    return torch.where(x.abs() < 0.3, torch.full_like(x, 0.5), x)


# ---- unary (x: [3, 5, 7, 11], 1155 elements) ----
U = [3, 5, 7, 11]
record("neg", lambda x: -x, [torch.randn(U)])
record("abs", torch.abs, [away_from_zero(U)])
record("exp", torch.exp, [torch.randn(U)])
record("log", torch.log, [positive(U)])
record("sqrt", torch.sqrt, [positive(U)])
record("rsqrt", torch.rsqrt, [positive(U)])
record("powf_2_5", lambda x: x.pow(2.5), [positive(U)])
record("powf_3", lambda x: x.pow(3.0), [torch.randn(U)])
record("powf_neg_1_5", lambda x: x.pow(-1.5), [positive(U)])
record("relu", torch.relu, [away_from_zero(U)])
record("leaky_relu", lambda x: torch.nn.functional.leaky_relu(x, 0.2), [away_from_zero(U)])
record("sigmoid", torch.sigmoid, [torch.randn(U) * 3])
record("tanh", torch.tanh, [torch.randn(U) * 2])
record("clamp", lambda x: x.clamp(-0.5, 0.7), [torch.randn(U)])
record("affine", lambda x: x * 1.5 - 0.25, [torch.randn(U)])

# ---- binary, each over four broadcast patterns ----
PAIRS = {
    "same": ([3, 5, 7, 11], [3, 5, 7, 11]),
    "both": ([3, 1, 7, 1], [5, 1, 11]),
    "left": ([7, 11], [3, 5, 7, 11]),
    "scalar": ([1], [4, 9]),
}
for pname, (sa, sb) in PAIRS.items():
    record(f"add_{pname}", torch.add, [torch.randn(sa), torch.randn(sb)])
    record(f"sub_{pname}", torch.sub, [torch.randn(sa), torch.randn(sb)])
    record(f"mul_{pname}", torch.mul, [torch.randn(sa), torch.randn(sb)])
    record(f"div_{pname}", torch.div, [torch.randn(sa), away_from_zero(sb)])
    record(f"maximum_{pname}", torch.maximum, [torch.randn(sa), torch.randn(sb)])
    record(f"minimum_{pname}", torch.minimum, [torch.randn(sa), torch.randn(sb)])

# comparisons are masks: forward only
a, b = torch.randn(3, 1, 7), torch.randn(5, 7)
b[0, :] = a[0, 0, :]  # some exact ties for eq/ge/le
put("cmp.a", a)
put("cmp.b", b)
for name, fn in [("gt", torch.gt), ("lt", torch.lt), ("ge", torch.ge), ("le", torch.le), ("eq", torch.eq)]:
    put(f"cmp.{name}", fn(a.to(torch.float32), b.to(torch.float32)).double())

# where with all three broadcast
cond = (torch.randn(3, 1, 7) > 0).double()
put("where.cond", cond)
record("where", lambda x, y: torch.where(cond.bool(), x, y), [torch.randn(5, 7), torch.randn(3, 5, 1)])

# ---- reductions ----
R = [3, 5, 7, 11]
record("sum_1", lambda x: x.sum(1), [torch.randn(R)])
record("sum_0_2", lambda x: x.sum((0, 2)), [torch.randn(R)])
record("sum_3_keep", lambda x: x.sum(3, keepdim=True), [torch.randn(R)])
record("sum_all", lambda x: x.sum(), [torch.randn(R)])
record("sum_123_keep", lambda x: x.sum((1, 2, 3), keepdim=True), [torch.randn(R)])
record("mean_2_3", lambda x: x.mean((2, 3)), [torch.randn(R)])
record("mean_all_big", lambda x: x.mean(), [torch.randn(4, 70, 33)])
record("sum_long_rows", lambda x: x.sum(1), [torch.randn(2, 3000)])
record("max_1", lambda x: x.amax(1), [torch.randn(R)])
record("max_3_keep", lambda x: x.amax(3, keepdim=True), [torch.randn(R)])
record("max_long_rows", lambda x: x.amax(1), [torch.randn(3, 1000)])
record("var_2_3", lambda x: x.var((2, 3)), [torch.randn(R)])
record("var_2_3_biased", lambda x: x.var((2, 3), unbiased=False), [torch.randn(R)])
record("var_0_keep", lambda x: x.var(0, keepdim=True), [torch.randn(R)])

# ---- matmul ----
record("mm", torch.matmul, [torch.randn(13, 17), torch.randn(17, 9)])
record("mm_odd", torch.matmul, [torch.randn(67, 45), torch.randn(45, 71)])
record("bmm", torch.matmul, [torch.randn(3, 13, 17), torch.randn(3, 17, 9)])
record("bmm_shared_right", torch.matmul, [torch.randn(3, 13, 17), torch.randn(17, 9)])
record("bmm_shared_left", torch.matmul, [torch.randn(13, 17), torch.randn(3, 17, 9)])

# ---- shape ----
record("permute", lambda x: x.permute(2, 0, 3, 1), [torch.randn(3, 5, 7, 11)])
record("transpose", lambda x: x.transpose(-1, -2), [torch.randn(5, 7, 11)])
record("narrow", lambda x: x.narrow(2, 2, 3), [torch.randn(3, 5, 7, 11)])
record("concat", lambda a, b, c: torch.cat([a, b, c], 1), [torch.randn(3, 2, 7), torch.randn(3, 5, 7), torch.randn(3, 1, 7)])
record("expand", lambda x: x.expand(2, 5, 4, 7), [torch.randn(5, 1, 7)])
record("reshape", lambda x: x.reshape(15, 77) * 1.0, [torch.randn(3, 5, 7, 11)])
INDICES = [2, 0, 2, 4]
record("index_select", lambda x: x.index_select(1, torch.tensor(INDICES)), [torch.randn(3, 5, 6)])

# ---- second order: WGAN-GP penalty of a small MLP critic ----
# f(x) = tanh(leaky_relu(x W1 + b1, 0.2) W2 + b2) W3 + b3; the penalty
# mean_i (||d sum f / d x_i||_2 - 1)^2 is differentiated w.r.t. every weight.
x = leaf("gp.x", torch.randn(4, 6))
ws = [leaf("gp.w1", torch.randn(6, 8) * 0.5), leaf("gp.b1", torch.randn(8) * 0.1),
      leaf("gp.w2", torch.randn(8, 5) * 0.5), leaf("gp.b2", torch.randn(5) * 0.1),
      leaf("gp.w3", torch.randn(5, 1) * 0.5), leaf("gp.b3", torch.randn(1) * 0.1)]
w1, b1, w2, b2, w3, b3 = ws
h = torch.nn.functional.leaky_relu(x @ w1 + b1, 0.2)
f = torch.tanh(h @ w2 + b2) @ w3 + b3
gx, = torch.autograd.grad(f.sum(), x, create_graph=True)
penalty = ((gx.norm(2, dim=1) - 1) ** 2).mean()
put("gp.gx", gx)
put("gp.penalty", penalty)
# b3 shifts f without changing its slope, so the penalty does not depend on it.
for name, g in zip(["w1", "b1", "w2", "b2", "w3"], torch.autograd.grad(penalty, ws[:5])):
    put(f"gp.grad_{name}", g)

# ---- convolution (appended after the cases above, so their random draws do not move) ----
F = torch.nn.functional
CONV = {
    # name: (x shape, w shape, bias?, options)
    "conv_k3": ([2, 3, 7, 9], [4, 3, 3, 3], True, dict(padding=1)),
    "conv_k4_s2": ([2, 3, 9, 8], [5, 3, 4, 4], True, dict(stride=2, padding=1)),
    "conv_k1": ([1, 6, 5, 7], [4, 6, 1, 1], False, dict()),
    "conv_k7": ([1, 3, 11, 10], [2, 3, 7, 7], True, dict(padding=3)),
    "conv_dilated": ([1, 2, 9, 9], [3, 2, 3, 3], False, dict(padding=2, dilation=2)),
    "conv_groups": ([2, 4, 6, 7], [6, 2, 3, 3], True, dict(stride=2, padding=1, groups=2)),
    "conv_depthwise": ([1, 3, 8, 8], [3, 1, 3, 3], False, dict(padding=1, groups=3)),
}
for name, (xs, wsh, bias, opts) in CONV.items():
    inputs = [torch.randn(xs), torch.randn(wsh) * 0.3] + ([torch.randn(wsh[0])] if bias else [])
    record(name, lambda x, w, b=None, o=opts: F.conv2d(x, w, b, **o), inputs)

CONVT = {
    "convT_k3_s2_op1": ([2, 4, 5, 6], [4, 3, 3, 3], True, dict(stride=2, padding=1, output_padding=1)),
    "convT_k4_s2_p1": ([1, 3, 4, 5], [3, 2, 4, 4], False, dict(stride=2, padding=1)),
    "convT_k4_1x1": ([2, 5, 1, 1], [5, 3, 4, 4], True, dict()),
    "convT_groups": ([1, 4, 3, 3], [4, 1, 3, 3], False, dict(stride=2, groups=2)),
}
for name, (xs, wsh, bias, opts) in CONVT.items():
    inputs = [torch.randn(xs), torch.randn(wsh) * 0.3] + ([torch.randn(wsh[1] * opts.get("groups", 1))] if bias else [])
    record(name, lambda x, w, b=None, o=opts: F.conv_transpose2d(x, w, b, **o), inputs)

# ---- second order through convolutions: a tiny PatchGAN-like critic's gradient penalty ----
x = leaf("cgp.x", torch.randn(2, 3, 8, 8))
cw = [leaf("cgp.w1", torch.randn(4, 3, 4, 4) * 0.2), leaf("cgp.b1", torch.randn(4) * 0.1),
      leaf("cgp.w2", torch.randn(8, 4, 4, 4) * 0.2), leaf("cgp.b2", torch.randn(8) * 0.1),
      leaf("cgp.w3", torch.randn(1, 8, 3, 3) * 0.2), leaf("cgp.b3", torch.randn(1) * 0.1)]
h = F.leaky_relu(F.conv2d(x, cw[0], cw[1], stride=2, padding=1), 0.2)
h = F.leaky_relu(F.conv2d(h, cw[2], cw[3], stride=2, padding=1), 0.2)
d = F.conv2d(h, cw[4], cw[5], padding=1)
gx, = torch.autograd.grad(d.sum(), x, create_graph=True)
penalty = ((gx.reshape(2, -1).norm(2, dim=1) - 1) ** 2).mean()
put("cgp.gx", gx)
put("cgp.penalty", penalty)
for name, g in zip(["w1", "b1", "w2", "b2", "w3"], torch.autograd.grad(penalty, cw[:5])):
    put(f"cgp.grad_{name}", g)

# ---- padding, norms, pooling, resampling (appended; earlier draws do not move) ----
P = [2, 3, 5, 6]
record("pad_zeros", lambda x: F.pad(x, (1, 2, 3, 0)), [torch.randn(P)])
record("pad_reflect", lambda x: F.pad(x, (3, 1, 2, 4), mode="reflect"), [torch.randn(P)])
record("pad_replicate", lambda x: F.pad(x, (2, 3, 1, 2), mode="replicate"), [torch.randn(P)])

N = [3, 4, 5, 7]
record("instance_norm", lambda x: F.instance_norm(x, eps=1e-5), [torch.randn(N) * 2 + 1])
record("instance_norm_affine", lambda x, w, b: F.instance_norm(x, weight=w, bias=b, eps=1e-5),
       [torch.randn(N), torch.randn(4), torch.randn(4)])
record("batch_norm_train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=1e-5),
       [torch.randn(N) * 3, torch.randn(4), torch.randn(4)])

# running statistics: one train step from (mean, var), then eval with the updated values
for kind in ["instance", "batch"]:
    x = torch.randn(N) * 2 + 0.5
    rm, rv = torch.randn(4) * 0.1, torch.rand(4) + 0.5
    put(f"{kind}_running.x", x)
    put(f"{kind}_running.mean0", rm)
    put(f"{kind}_running.var0", rv)
    rm1, rv1 = rm.clone(), rv.clone()
    xf = x.to(torch.float32).double()
    if kind == "instance":
        y = F.instance_norm(xf, rm1, rv1, use_input_stats=True, momentum=0.1, eps=1e-5)
    else:
        y = F.batch_norm(xf, rm1, rv1, training=True, momentum=0.1, eps=1e-5)
    put(f"{kind}_running.train_out", y)
    put(f"{kind}_running.mean1", rm1)
    put(f"{kind}_running.var1", rv1)
    if kind == "instance":
        y = F.instance_norm(xf, rm1, rv1, use_input_stats=False, eps=1e-5)
    else:
        y = F.batch_norm(xf, rm1, rv1, training=False, eps=1e-5)
    put(f"{kind}_running.eval_out", y)

record("avg_pool2d", lambda x: F.avg_pool2d(x, 2), [torch.randn(2, 3, 6, 8)])
record("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 4)), [torch.randn(2, 3, 7, 9)])
record("adaptive_avg_pool2d_1", lambda x: F.adaptive_avg_pool2d(x, 1), [torch.randn(2, 3, 5, 6)])
record("upsample_nearest", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), [torch.randn(2, 3, 4, 5)])
record("resize_nearest", lambda x: F.interpolate(x, size=(7, 4), mode="nearest"), [torch.randn(1, 2, 5, 6)])
record("upsample_bilinear", lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False), [torch.randn(2, 3, 4, 5)])
record("resize_bilinear", lambda x: F.interpolate(x, size=(7, 4), mode="bilinear", align_corners=False), [torch.randn(1, 2, 5, 6)])
record("glu", lambda x: F.glu(x, 1), [torch.randn(2, 6, 3, 4)])

# ---- optimizers, schedules, EMA (appended; earlier draws do not move) ----
# Each run: two parameters, five steps with fixed gradients; parameters after every step.
torch.set_default_dtype(torch.float32)  # optimizers run in f32, as gantry's do
OPTIMS = {
    "adam": lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.5, 0.999)),
    "adam_wd": lambda ps: torch.optim.Adam(ps, lr=0.003, weight_decay=0.1),
    "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
    "sgd_nesterov_wd": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "sgd_dampening": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.1),
}
for name, make in OPTIMS.items():
    ps = [torch.randn(5, 7).requires_grad_(), torch.randn(3).requires_grad_()]
    for i, p in enumerate(ps):
        put(f"{name}.p{i}", p)
    opt = make(ps)
    for step in range(5):
        for i, p in enumerate(ps):
            p.grad = torch.randn(p.shape)
            put(f"{name}.step{step}.g{i}", p.grad)
        opt.step()
        for i, p in enumerate(ps):
            put(f"{name}.step{step}.p{i}", p)

def lrs(make_sched, epochs=30):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=2e-4)
    sched = make_sched(opt)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return torch.tensor(out, dtype=torch.float64)

put("sched.linear", lrs(lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1.0 - max(0, e + 1 - 10) / float(15 + 1))))
put("sched.step", lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.1)))
put("sched.cosine", lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=20)))

p, e = torch.randn(4, 6), torch.randn(4, 6)
put("ema.p", p)
put("ema.e", e)
put("ema.out", torch.lerp(p, e, 0.999))

# ---- max pooling (appended last, so every earlier draw and value stays as it was) ----
# Windows tile the input (kernel == stride); odd sizes check PyTorch's floor, which drops
# the last row or column. f64 randn has no ties, where PyTorch and gantry route differently.
torch.set_default_dtype(torch.float64)
record("max_pool2d", lambda x: F.max_pool2d(x, 2), [torch.randn(2, 3, 6, 8)], second_order=False)
record("max_pool2d_odd", lambda x: F.max_pool2d(x, 2), [torch.randn(2, 3, 7, 9)], second_order=False)
record("max_pool2d_k3", lambda x: F.max_pool2d(x, 3), [torch.randn(1, 2, 10, 11)], second_order=False)

# ---- reductions over axes of size 1 (appended last, as above) ----
# gantry drops size-1 axes before reducing: a bias gradient's [1, c, 1, w] over (0, 2, 3)
# becomes one run, and [6, 1, 5] over (0, 2) merges across the size-1 axis between.
record("sum_size1_axes", lambda x: x.sum((0, 2, 3)), [torch.randn(1, 5, 1, 9)])
record("mean_only_size1_axes", lambda x: x.mean((0, 2)), [torch.randn(1, 4, 1, 3)])
record("max_across_a_size1_axis", lambda x: x.amax((0, 2)), [torch.randn(6, 1, 5)], second_order=False)

# ---- per-channel reductions over images and pixels (appended last, as above) ----
# gantry merges [n, c, h, w] over (0, 2, 3) to [n, c, h*w] over (0, 2) and sums in one pass.
record("sum_per_channel", lambda x: x.sum((0, 2, 3)), [torch.randn(2, 5, 8, 9)])
record("max_per_channel", lambda x: x.amax((0, 2, 3)), [torch.randn(3, 4, 5, 13)], second_order=False)

path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "ops.safetensors")
save_file(OUT, os.path.normpath(path))
print(f"wrote {len(OUT)} tensors to {os.path.normpath(path)}")
