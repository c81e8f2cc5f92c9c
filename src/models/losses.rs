//! GAN objectives and reconstruction losses, as the references define them.

use crate::error::Result;
use crate::tensor::Tensor;

/// `--gan_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GanMode {
    /// Least squares: mean((pred − target)²), targets 1 (real) and 0 (fake).
    Lsgan,
    /// BCEWithLogits against 1 or 0.
    Vanilla,
    /// Wasserstein: −mean(pred) for real, +mean(pred) for fake.
    Wgangp,
}

/// The GAN loss of discriminator outputs `pred` against the real or fake target.
pub fn gan_loss(pred: &Tensor, mode: GanMode, target_real: bool) -> Result<Tensor> {
    let target = if target_real { 1.0 } else { 0.0 };
    match mode {
        GanMode::Lsgan => pred.add_scalar(-target)?.powf(2.0)?.mean_all(),
        GanMode::Vanilla => bce_with_logits(pred, target),
        GanMode::Wgangp => {
            let m = pred.mean_all()?;
            if target_real {
                m.neg()
            } else {
                Ok(m)
            }
        }
    }
}

/// mean(max(x, 0) − x·t + log(1 + e^−|x|)): BCE on logits without overflow.
pub fn bce_with_logits(x: &Tensor, target: f32) -> Result<Tensor> {
    let softplus = x.abs()?.neg()?.exp()?.add_scalar(1.0)?.log()?;
    x.relu()?.sub(&x.mul_scalar(target)?)?.add(&softplus)?.mean_all()
}

/// mean|a − b|.
pub fn l1(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    a.sub(b)?.abs()?.mean_all()
}

/// The reference's `cal_gradient_penalty` ('mixed'): on x̂ = α·real + (1 − α)·fake, with
/// one α per sample in [0, 1), λ·mean_i((‖∂ΣD(x̂)/∂x̂_i + 1e-16‖₂ − 1)²). The result is on
/// the tape, so it trains the discriminator (second order through D).
pub fn gradient_penalty(
    d: &dyn crate::nn::Layer,
    real: &Tensor,
    fake: &Tensor,
    alpha: &Tensor,
    lambda: f32,
) -> Result<Tensor> {
    let n = real.shape()[0];
    let a = alpha.reshape(&[n, 1, 1, 1])?;
    let mixed =
        real.detach().mul(&a)?.add(&fake.detach().mul(&a.affine(-1.0, 1.0)?)?)?.detach().requires_grad_();
    let out = d.forward(&mixed)?.sum_all()?;
    let g = crate::autograd::grad(&[out], &[mixed], true)?.remove(0);
    let per_sample = g.add_scalar(1e-16)?.reshape(&[n, real.numel() / n])?;
    let norms = per_sample.mul(&per_sample)?.sum(&[1], false)?.sqrt()?;
    norms.add_scalar(-1.0)?.powf(2.0)?.mean_all()?.mul_scalar(lambda)
}

/// Reads named one-element losses back in one transfer: a single sync per iteration
/// instead of one per loss.
pub fn read_losses(losses: &[(&'static str, &Tensor)]) -> Result<Vec<(&'static str, f32)>> {
    let flat: Vec<Tensor> = losses.iter().map(|(_, t)| t.detach().reshape(&[1])).collect::<Result<_>>()?;
    let values = Tensor::concat(&flat, 0)?.to_vec()?;
    Ok(losses.iter().map(|(n, _)| *n).zip(values).collect())
}
