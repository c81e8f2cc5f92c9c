//! Instance and batch normalisation with PyTorch's running-statistics rules, written with
//! reductions and elementwise ops so that gradients of any order follow (a gradient penalty
//! on a normalising discriminator needs the second order).

use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Running statistics of a norm layer (buffers, updated in place in train mode).
pub struct RunningStats<'a> {
    pub mean: &'a Tensor,
    pub var: &'a Tensor,
    /// PyTorch's momentum: new = (1 - momentum)·old + momentum·batch value. Default 0.1.
    pub momentum: f32,
}

fn check(op: &'static str, x: &Tensor, params: &[Option<&Tensor>]) -> Result<usize> {
    if x.rank() != 4 {
        return Err(Error::Rank {
            op,
            expected: "a 4-D input [n, c, h, w]".into(),
            shape: x.shape().to_vec(),
        });
    }
    let c = x.shape()[1];
    for p in params.iter().flatten() {
        if p.shape() != [c] {
            return Err(Error::ShapeMismatch { op, lhs: x.shape().to_vec(), rhs: p.shape().to_vec() });
        }
    }
    Ok(c)
}

/// (x - mean)·rsqrt(var + eps)·weight + bias, with mean and var broadcastable to x.
fn apply(
    x: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f32,
) -> Result<Tensor> {
    let c = x.shape()[1];
    let mut y = x.sub(mean)?.mul(&var.add_scalar(eps)?.rsqrt()?)?;
    if let Some(w) = weight {
        y = y.mul(&w.reshape(&[1, c, 1, 1])?)?;
    }
    if let Some(b) = bias {
        y = y.add(&b.reshape(&[1, c, 1, 1])?)?;
    }
    Ok(y)
}

/// Updates running statistics from per-channel batch values [c].
fn update(stats: &RunningStats, mean: &Tensor, unbiased_var: &Tensor) -> Result<()> {
    no_grad(|| {
        let m = stats.momentum;
        stats.mean.assign(&stats.mean.mul_scalar(1.0 - m)?.add(&mean.detach().mul_scalar(m)?)?)?;
        stats.var.assign(&stats.var.mul_scalar(1.0 - m)?.add(&unbiased_var.detach().mul_scalar(m)?)?)
    })
}

fn running_view(stats: &RunningStats, c: usize) -> Result<(Tensor, Tensor)> {
    Ok((stats.mean.reshape(&[1, c, 1, 1])?, stats.var.reshape(&[1, c, 1, 1])?))
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
        let c = check(
            "instance_norm",
            self,
            &[weight, bias, running.as_ref().map(|r| r.mean), running.as_ref().map(|r| r.var)],
        )?;
        if let (Some(stats), false) = (&running, training) {
            let (mean, var) = running_view(stats, c)?;
            return apply(self, &mean, &var, weight, bias, eps);
        }
        let mean = self.mean(&[2, 3], true)?;
        let var = self.var(&[2, 3], false, true)?;
        if let Some(stats) = &running {
            let unbiased = no_grad(|| self.var(&[2, 3], true, false))?;
            update(
                stats,
                &mean.reshape(&self.shape()[..2])?.mean(&[0], false)?,
                &unbiased.mean(&[0], false)?,
            )?;
        }
        apply(self, &mean, &var, weight, bias, eps)
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
        let c = check(
            "batch_norm",
            self,
            &[weight, bias, running.as_ref().map(|r| r.mean), running.as_ref().map(|r| r.var)],
        )?;
        if let (Some(stats), false) = (&running, training) {
            let (mean, var) = running_view(stats, c)?;
            return apply(self, &mean, &var, weight, bias, eps);
        }
        let mean = self.mean(&[0, 2, 3], true)?;
        let var = self.var(&[0, 2, 3], false, true)?;
        if let Some(stats) = &running {
            let unbiased = no_grad(|| self.var(&[0, 2, 3], true, false))?;
            update(stats, &mean.reshape(&[c])?, &unbiased)?;
        }
        apply(self, &mean, &var, weight, bias, eps)
    }
}
