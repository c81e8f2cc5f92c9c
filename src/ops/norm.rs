//! Instance and batch normalisation (shaders/norm.wgsl) with PyTorch's running-statistics
//! rules. The forward is one fused kernel per call, which can also apply the activation
//! that follows the norm (ReLU, LeakyReLU) and AdaIN's per-image scale and shift, so that
//! norm → activation is one pass over memory each way. The backward is a fused kernel when
//! no graph of the gradient is being recorded, and otherwise the same analytic formula
//! written in tensor ops, with the statistics recomputed from x, so that a gradient penalty
//! on a normalising discriminator can differentiate it again.

use crate::autograd::{is_grad_enabled, needs_grad, no_grad};
use crate::error::{Error, Result};
use crate::gpu::{linear_groups, shaders::NORM, Storage};
use crate::tensor::Tensor;
use std::rc::Rc;

/// Running statistics of a norm layer (buffers, updated in place in train mode).
pub struct RunningStats<'a> {
    pub mean: &'a Tensor,
    pub var: &'a Tensor,
    /// PyTorch's momentum: new = (1 - momentum)·old + momentum·batch value. Default 0.1.
    pub momentum: f32,
}

/// Which elements share a statistic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NormKind {
    /// One statistic per (n, c) plane.
    Instance,
    /// One statistic per channel, over (n, h, w).
    Batch,
}
use NormKind as Kind;

/// The activation a norm applies after its affine step, in the same pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NormAct {
    None,
    /// z for z > 0, slope·z otherwise: ReLU at slope 0, LeakyReLU above.
    LeakyRelu(f32),
}

impl NormAct {
    pub const RELU: NormAct = NormAct::LeakyRelu(0.0);

    /// The activation as its own op (the eval path and the tensor-op twin).
    pub fn apply(self, z: &Tensor) -> Result<Tensor> {
        match self {
            NormAct::None => Ok(z.clone()),
            NormAct::LeakyRelu(0.0) => z.relu(),
            NormAct::LeakyRelu(s) => z.leaky_relu(s),
        }
    }
}

#[derive(Clone, Copy)]
struct Layout {
    kind: Kind,
    n: usize,
    c: usize,
    hw: usize,
    eps: f32,
    /// The affine parameters are [n, c], one pair per statistic (AdaIN), not [c].
    per_statistic: bool,
    act: NormAct,
}

impl Layout {
    fn stats(&self) -> usize {
        match self.kind {
            Kind::Instance => self.n * self.c,
            Kind::Batch => self.c,
        }
    }
    /// Elements per statistic.
    fn count(&self) -> usize {
        match self.kind {
            Kind::Instance => self.hw,
            Kind::Batch => self.n * self.hw,
        }
    }
    /// The axes a statistic reduces over.
    fn axes(&self) -> &'static [isize] {
        match self.kind {
            Kind::Instance => &[2, 3],
            Kind::Batch => &[0, 2, 3],
        }
    }
    /// The shape the affine parameters broadcast from, and the axes their gradients sum.
    fn affine_view(&self) -> ([usize; 4], &'static [isize]) {
        if self.per_statistic {
            ([self.n, self.c, 1, 1], &[2, 3])
        } else {
            ([1, self.c, 1, 1], &[0, 2, 3])
        }
    }
    fn params(&self, has_weight: bool, has_bias: bool) -> [u32; 12] {
        let (count, stride) = match self.kind {
            Kind::Instance => (1, 0),
            Kind::Batch => (self.n, self.c),
        };
        let (activate, slope) = match self.act {
            NormAct::None => (0, 0.0f32),
            NormAct::LeakyRelu(s) => (1, s),
        };
        [
            count as u32,
            stride as u32,
            self.hw as u32,
            self.c as u32,
            self.eps.to_bits(),
            has_weight as u32,
            has_bias as u32,
            self.per_statistic as u32,
            activate,
            slope.to_bits(),
            0,
            0,
        ]
    }
}

fn check(
    op: &'static str,
    x: &Tensor,
    params: &[Option<&Tensor>],
    per_statistic: bool,
) -> Result<[usize; 4]> {
    let shape = <[usize; 4]>::try_from(x.shape()).map_err(|_| Error::Rank {
        op,
        expected: "a 4-D input [n, c, h, w]".into(),
        shape: x.shape().to_vec(),
    })?;
    let expected = if per_statistic { &shape[..2] } else { &shape[1..2] };
    for p in params.iter().flatten() {
        if p.shape() != expected {
            return Err(Error::ShapeMismatch { op, lhs: x.shape().to_vec(), rhs: p.shape().to_vec() });
        }
    }
    Ok(shape)
}

/// (x - mean)·rsqrt(var + eps)·weight + bias, with mean, var and (reshaped to `view`) the
/// affine parameters broadcastable to x.
fn apply(
    x: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    (weight, bias): (Option<&Tensor>, Option<&Tensor>),
    view: &[usize],
    eps: f32,
) -> Result<Tensor> {
    let mut y = x.sub(mean)?.mul(&var.add_scalar(eps)?.rsqrt()?)?;
    if let Some(w) = weight {
        y = y.mul(&w.reshape(view)?)?;
    }
    if let Some(b) = bias {
        y = y.add(&b.reshape(view)?)?;
    }
    Ok(y)
}

/// One dispatch of a norm kernel: a workgroup per statistic.
fn launch(
    entry: &'static str,
    inputs: [&Tensor; 4],
    layout: &Layout,
    flags: (bool, bool),
) -> Result<(Storage, Storage)> {
    let device = inputs[0].device();
    let out = device.alloc(inputs[0].numel())?;
    let stats = device.alloc(4 * layout.stats())?;
    if inputs[0].numel() > 0 {
        let s = inputs.map(|t| t.storage());
        let groups = linear_groups(layout.stats(), 1);
        let params = layout.params(flags.0, flags.1);
        let wg = [("WG", f64::from(device.tree_width()))];
        device.dispatch(&NORM, entry, &wg, &[&s[0], &s[1], &s[2], &s[3]], &[&out, &stats], &params, groups);
    }
    Ok((out, stats))
}

/// The normalised (and activated) output of the fused forward, and its per-statistic
/// (mean, rstd, weight, bias).
fn forward(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    layout: Layout,
) -> Result<(Tensor, Tensor)> {
    let (out, stats) = launch(
        "norm_forward",
        [x, weight.unwrap_or(x), bias.unwrap_or(x), x],
        &layout,
        (weight.is_some(), bias.is_some()),
    )?;
    let stats = Tensor::from_storage(x.device(), vec![layout.stats(), 4], Rc::new(stats));
    let mut inputs = vec![x];
    inputs.extend(weight);
    inputs.extend(bias);
    let saved = stats.clone();
    let (has_w, has_b) = (weight.is_some(), bias.is_some());
    let y = Tensor::from_op(x.shape().to_vec(), out, "norm", &inputs, move |inp, y, g| {
        let w = has_w.then(|| &inp[1]);
        // The affine gradients only where asked for (never without the parameters).
        let want = (has_w && needs_grad(1), has_b && needs_grad(1 + usize::from(has_w)));
        let (gx, gw, gb) = if is_grad_enabled() {
            // The activation's derivative is a constant mask (its own is zero almost
            // everywhere), read off the output: y > 0 exactly where z > 0.
            let gz = match layout.act {
                NormAct::None => g.clone(),
                NormAct::LeakyRelu(s) => g.mul(&y.leaky_mask(s)?)?,
            };
            composite_backward(&inp[0], w, &gz, &layout, want)?
        } else {
            fused_backward(&inp[0], g, &saved, &layout, want)?
        };
        let mut grads = vec![Some(gx)];
        if has_w {
            grads.push(gw);
        }
        if has_b {
            grads.push(gb);
        }
        Ok(grads)
    });
    Ok((y, stats))
}

/// Per-channel sums [c] of per-statistic values [stats].
fn per_channel(values: &Tensor, layout: &Layout) -> Result<Tensor> {
    match layout.kind {
        Kind::Instance => values.reshape(&[layout.n, layout.c])?.sum(&[0], false),
        Kind::Batch => Ok(values.clone()),
    }
}

/// The gradients from the backward kernel, which reads the weight, bias and activation's
/// mask from the forward's statistics.
fn fused_backward(
    x: &Tensor,
    g: &Tensor,
    stats: &Tensor,
    layout: &Layout,
    (want_w, want_b): (bool, bool),
) -> Result<Grads> {
    let (gx, sums) = launch("norm_backward", [x, g, stats, x], layout, (false, false))?;
    let gx = Tensor::from_storage(x.device(), x.shape().to_vec(), Rc::new(gx));
    // Two sums per statistic, in the first two of the four slots `launch` sizes for.
    let sums = Tensor::from_storage(x.device(), vec![layout.stats(), 4], Rc::new(sums));
    let column = |i: usize| {
        let per_stat = sums.narrow(1, i, 1)?.reshape(&[layout.stats()])?;
        if layout.per_statistic {
            per_stat.reshape(&[layout.n, layout.c])
        } else {
            per_channel(&per_stat, layout)
        }
    };
    let gb = want_b.then(|| column(0)).transpose()?;
    let gw = want_w.then(|| column(1)).transpose()?;
    Ok((gx, gw, gb))
}

/// The input's gradient, and the weight's and bias's where asked for.
type Grads = (Tensor, Option<Tensor>, Option<Tensor>);

/// The same gradients in tensor ops, from the gradient g at the affine step's output:
/// dx = rstd/n·(n·dxhat - Σdxhat - xhat·Σ(dxhat·xhat)).
fn composite_backward(
    x: &Tensor,
    w: Option<&Tensor>,
    g: &Tensor,
    layout: &Layout,
    (want_w, want_b): (bool, bool),
) -> Result<Grads> {
    let axes = layout.axes();
    let n = layout.count() as f32;
    let mean = x.mean(axes, true)?;
    let rstd = x.var(axes, false, true)?.add_scalar(layout.eps)?.rsqrt()?;
    let xhat = x.sub(&mean)?.mul(&rstd)?;
    let (view, param_axes) = layout.affine_view();
    let dxhat = match w {
        Some(w) => g.mul(&w.reshape(&view)?)?,
        None => g.clone(),
    };
    let inner = dxhat
        .mul_scalar(n)?
        .sub(&dxhat.sum(axes, true)?)?
        .sub(&xhat.mul(&dxhat.mul(&xhat)?.sum(axes, true)?)?)?;
    let gx = inner.mul(&rstd.mul_scalar(1.0 / n)?)?;
    // [n, c] per statistic, [c] per channel: the parameters' own shapes.
    let param = |t: Tensor| t.sum(param_axes, false);
    let gw = want_w.then(|| param(g.mul(&xhat)?)).transpose()?;
    let gb = want_b.then(|| param(g.clone())).transpose()?;
    Ok((gx, gw, gb))
}

/// Updates running statistics from the per-statistic (mean, rstd) of the batch.
fn update(running: &RunningStats, stats: &Tensor, layout: &Layout) -> Result<()> {
    no_grad(|| {
        let k = layout.stats();
        let mean = stats.narrow(1, 0, 1)?.reshape(&[k])?;
        let biased = stats.narrow(1, 1, 1)?.reshape(&[k])?.powf(-2.0)?.add_scalar(-layout.eps)?;
        let count = layout.count() as f32;
        let unbiased = biased.mul_scalar(count / (count - 1.0).max(1.0))?;
        let scale = match layout.kind {
            Kind::Instance => 1.0 / layout.n as f32,
            Kind::Batch => 1.0,
        };
        let (mean, var) = (
            per_channel(&mean, layout)?.mul_scalar(scale)?,
            per_channel(&unbiased, layout)?.mul_scalar(scale)?,
        );
        let m = running.momentum;
        running.mean.assign(&running.mean.mul_scalar(1.0 - m)?.add(&mean.mul_scalar(m)?)?)?;
        running.var.assign(&running.var.mul_scalar(1.0 - m)?.add(&var.mul_scalar(m)?)?)
    })
}

/// What one norm call computes besides its statistics.
struct Spec<'a> {
    op: &'static str,
    kind: Kind,
    weight: Option<&'a Tensor>,
    bias: Option<&'a Tensor>,
    running: Option<RunningStats<'a>>,
    training: bool,
    eps: f32,
    per_statistic: bool,
    act: NormAct,
}

fn normalise(x: &Tensor, spec: Spec) -> Result<Tensor> {
    let Spec { op, kind, weight, bias, running, training, eps, per_statistic, act } = spec;
    let [n, c, h, w] = check(op, x, &[weight, bias], per_statistic)?;
    check(op, x, &[running.as_ref().map(|r| r.mean), running.as_ref().map(|r| r.var)], false)?;
    let layout = Layout { kind, n, c, hw: h * w, eps, per_statistic, act };
    if let (Some(stats), false) = (&running, training) {
        let (mean, var) = (stats.mean.reshape(&[1, c, 1, 1])?, stats.var.reshape(&[1, c, 1, 1])?);
        return act.apply(&apply(x, &mean, &var, (weight, bias), &layout.affine_view().0, eps)?);
    }
    let (y, stats) = forward(x, weight, bias, layout)?;
    if let Some(r) = &running {
        update(r, &stats, &layout)?;
    }
    Ok(y)
}

impl Tensor {
    /// `InstanceNorm2d`: each (n, c) plane normalised by its own mean and biased variance.
    /// With running statistics, train mode also updates them (the batch average of each
    /// instance's mean and unbiased variance) and eval mode normalises with them instead.
    pub fn instance_norm(
        &self,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        running: Option<RunningStats>,
        training: bool,
        eps: f32,
    ) -> Result<Tensor> {
        self.norm_act(NormKind::Instance, weight, bias, running, training, eps, NormAct::None)
    }

    /// `BatchNorm2d`: each channel normalised over (n, h, w). Train mode uses the batch's
    /// mean and biased variance and updates the running statistics with the unbiased one;
    /// eval mode uses the running statistics when there are any.
    pub fn batch_norm(
        &self,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        running: Option<RunningStats>,
        training: bool,
        eps: f32,
    ) -> Result<Tensor> {
        self.norm_act(NormKind::Batch, weight, bias, running, training, eps, NormAct::None)
    }

    /// `instance_norm` or `batch_norm` followed by `act`, both in the norm's pass (and its
    /// backward in one pass too): what `Sequential` runs for a norm layer followed by a
    /// ReLU or LeakyReLU.
    #[allow(clippy::too_many_arguments)]
    pub fn norm_act(
        &self,
        kind: NormKind,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        running: Option<RunningStats>,
        training: bool,
        eps: f32,
        act: NormAct,
    ) -> Result<Tensor> {
        let op = match kind {
            Kind::Instance => "instance_norm",
            Kind::Batch => "batch_norm",
        };
        let spec = Spec { op, kind, weight, bias, running, training, eps, per_statistic: false, act };
        normalise(self, spec)
    }

    /// AdaIN's modulation then `act` in one pass: each (n, c) plane normalised by its own
    /// statistics (none kept), times scale[n, c], plus shift[n, c].
    pub fn modulated_instance_norm(
        &self,
        scale: &Tensor,
        shift: &Tensor,
        eps: f32,
        act: NormAct,
    ) -> Result<Tensor> {
        let spec = Spec {
            op: "modulated_instance_norm",
            kind: Kind::Instance,
            weight: Some(scale),
            bias: Some(shift),
            running: None,
            training: true,
            eps,
            per_statistic: true,
            act,
        };
        normalise(self, spec)
    }
}
