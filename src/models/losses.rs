//! GAN objectives and reconstruction losses, as the references define them.

use crate::error::Result;
use crate::tensor::Tensor;

/// `--gan_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
