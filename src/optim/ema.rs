//! Exponential moving average of weights (StarGAN v2, FastGAN), one fused update per
//! tensor (`ema_step` in shaders/optim.wgsl).

use super::launch;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// θ_ema ← β·θ_ema + (1 − β)·θ for each pair, in place on the EMA copies, computed as
/// lerp(θ, θ_ema, β) = θ + β (θ_ema − θ), as StarGAN v2 writes it. Pass parameters only:
/// the references do not average buffers such as BatchNorm's running statistics.
pub fn ema_update(ema: &[Tensor], params: &[Tensor], beta: f32) -> Result<()> {
    if ema.len() != params.len() {
        return Err(Error::Invalid {
            op: "ema_update",
            msg: format!("{} EMA tensors for {} parameters", ema.len(), params.len()),
        });
    }
    let Some(first) = ema.first() else { return Ok(()) };
    // The kernel's two state bindings are not read.
    let unused = Tensor::zeros(first.device(), &[1])?;
    let mut args = [0u32; 12];
    for (e, p) in ema.iter().zip(params) {
        // An EMA tensor that shares its storage (after an assignment) gets its own first.
        e.make_unique()?;
        args[0] = e.numel() as u32;
        args[2] = beta.to_bits();
        launch("ema_step", e, &p.detach(), &unused, &unused, &args)?;
    }
    Ok(())
}
