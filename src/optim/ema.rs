//! Exponential moving average of weights (StarGAN v2, FastGAN).

use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// θ_ema ← β·θ_ema + (1 − β)·θ for each pair, in place on the EMA copies. Pass parameters
/// only: the references do not average buffers such as BatchNorm's running statistics.
pub fn ema_update(ema: &[Tensor], params: &[Tensor], beta: f32) -> Result<()> {
    if ema.len() != params.len() {
        return Err(Error::Invalid {
            op: "ema_update",
            msg: format!("{} EMA tensors for {} parameters", ema.len(), params.len()),
        });
    }
    no_grad(|| {
        for (e, p) in ema.iter().zip(params) {
            // lerp(θ, θ_ema, β) = θ + β (θ_ema − θ), as StarGAN v2 writes it.
            let next = p.add(&e.sub(p)?.mul_scalar(beta)?)?;
            e.assign(&next)?;
        }
        Ok(())
    })
}
