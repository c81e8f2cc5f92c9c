//! StarGAN v1's losses and learning-rate schedule, as its solver computes them.

use crate::autograd::grad_with;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The domain-classification loss L_cls on logits (N, k) against targets (N, k): for
/// multi-label attributes (CelebA) binary cross-entropy on logits **summed** over every
/// element and divided by N; for one class per image (RaFD, given one-hot) the mean over
/// the batch of the softmax cross-entropy.
pub fn classification_loss(logits: &Tensor, target: &Tensor, multi_label: bool) -> Result<Tensor> {
    if logits.shape() != target.shape() || logits.rank() != 2 {
        return Err(Error::ShapeMismatch {
            op: "stargan classification loss",
            lhs: logits.shape().to_vec(),
            rhs: target.shape().to_vec(),
        });
    }
    let n = logits.shape()[0] as f32;
    if multi_label {
        // max(x, 0) − x·t + log(1 + e^−|x|): BCE on logits without overflow.
        let softplus = logits.abs()?.neg()?.exp()?.add_scalar(1.0)?.log()?;
        return logits.relu()?.sub(&logits.mul(target)?)?.add(&softplus)?.sum_all()?.mul_scalar(1.0 / n);
    }
    // logsumexp_k(x) − x[class], with the row maximum taken out (a constant: the result and
    // its gradient, the softmax, do not depend on it).
    let max = logits.max(&[1], true)?.detach(); // (N, 1)
    let lse = logits.sub(&max)?.exp()?.sum(&[1], true)?.log()?.add(&max)?; // (N, 1)
    let picked = logits.mul(target)?.sum(&[1], true)?; // (N, 1)
    lse.sub(&picked)?.mean_all()
}

/// The solver's `gradient_penalty(y, x)`: mean over the batch of (‖∂y/∂x_i‖₂ − 1)², the
/// gradient taken with ones as `grad_outputs` (so of ΣD_src(x̂)) and kept on the tape, so
/// that the penalty trains D through a second-order gradient. No epsilon.
pub fn gradient_penalty(y: &Tensor, x: &Tensor) -> Result<Tensor> {
    let n = x.shape()[0];
    let g = grad_with(std::slice::from_ref(y), vec![Tensor::ones_like(y)?], std::slice::from_ref(x), true)?
        .remove(0)
        .reshape(&[n, x.numel() / n])?; // (N, C·H·W)
    let norms = g.mul(&g)?.sum(&[1], false)?.sqrt()?; // (N,)
    norms.add_scalar(-1.0)?.powf(2.0)?.mean_all()
}

/// The learning rate the reference uses at iteration `step` (0-based): `lr0` until the
/// last `num_iters_decay` iterations, then after every `lr_update_step`-th iteration a
/// subtraction of lr0 / num_iters_decay. That is the reference's exact arithmetic, a Python
/// float decremented in place, so it is computed here in f64 by the same subtractions.
/// With the defaults (1e-4, 200k, 100k, 1000) the rate ends at 9.99e-5: the reference's
/// "linear decay" removes only 1e-7 in all.
pub fn reference_lr(
    lr0: f64,
    step: usize,
    num_iters: usize,
    num_iters_decay: usize,
    lr_update_step: usize,
) -> f64 {
    // Updates happen after iterations i with (i + 1) a multiple of lr_update_step and
    // (i + 1) > num_iters − num_iters_decay; those before `step` have i + 1 <= step.
    let start = num_iters.saturating_sub(num_iters_decay);
    let u = lr_update_step.max(1);
    let updates = if step > start { step / u - start / u } else { 0 };
    let mut lr = lr0;
    for _ in 0..updates {
        lr -= lr0 / num_iters_decay as f64;
    }
    lr
}
