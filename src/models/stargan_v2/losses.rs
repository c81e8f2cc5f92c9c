//! StarGAN v2's losses (core/solver.py): the non-saturating adversarial loss on logits and
//! the zero-centred R1 penalty on real images.

use crate::autograd::grad;
use crate::error::Result;
use crate::models::losses::bce_with_logits;
use crate::tensor::Tensor;

/// BCE-with-logits of every logit against 1 (real) or 0 (fake), averaged.
pub fn adv_loss(logits: &Tensor, real: bool) -> Result<Tensor> {
    bce_with_logits(logits, if real { 1.0 } else { 0.0 })
}

/// R1 = ½ · mean over the batch of Σ (∂ΣD(x)/∂x)² for D's logits `d_out` on `x` (which
/// must require gradients). The gradient stays on the tape, so R1 trains D through a
/// second-order gradient.
pub fn r1_reg(d_out: &Tensor, x: &Tensor) -> Result<Tensor> {
    let n = x.shape()[0];
    let g = grad(&[d_out.sum_all()?], std::slice::from_ref(x), true)?.remove(0);
    g.mul(&g)?.reshape(&[n, x.numel() / n])?.sum(&[1], false)?.mean_all()?.mul_scalar(0.5)
}
