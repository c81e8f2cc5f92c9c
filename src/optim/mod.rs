//! Optimizers (fused update kernels in shaders/optim.wgsl), learning-rate schedules and the
//! exponential moving average of weights.
//!
//! Optimizers update parameters in place, like PyTorch's: a parameter tensor keeps its
//! identity and storage, so models holding it see the new values.

mod adam;
mod ema;
mod schedule;
mod sgd;
mod torch;

pub use adam::{Adam, AdamConfig};
pub use ema::ema_update;
pub use schedule::{cosine, cyclegan_linear, linear_decay, step_lr};
pub use sgd::{Sgd, SgdConfig};
pub use torch::from_torch;

use crate::error::{Error, Result};
use crate::gpu::shaders::OPTIM;
use crate::tensor::Tensor;

/// Parameters that share one learning rate (and, for Adam and SGD, the other settings).
pub struct ParamGroup {
    pub params: Vec<Tensor>,
    pub lr: f32,
}

/// One fused update dispatch over a parameter, its gradient and two state tensors.
fn launch(
    entry: &'static str,
    param: &Tensor,
    grad: &Tensor,
    s1: &Tensor,
    s2: &Tensor,
    params: &[u32],
) -> Result<()> {
    if grad.shape() != param.shape() {
        return Err(Error::ShapeMismatch {
            op: entry,
            lhs: param.shape().to_vec(),
            rhs: grad.shape().to_vec(),
        });
    }
    let n = param.numel();
    if n == 0 {
        return Ok(());
    }
    let (g, p, a, b) = (grad.storage(), param.storage(), s1.storage(), s2.storage());
    // Adam four elements per invocation where they divide evenly.
    let (entry, invocations) = match entry {
        "adam_step" if n.is_multiple_of(4) => ("adam_step4", n / 4),
        _ => (entry, n),
    };
    param.device().dispatch_linear(&OPTIM, entry, &[], &[&g], &[&p, &a, &b], params, invocations);
    // The parameter changed in place: what was derived from it (packed conv weights) is stale.
    p.touch();
    Ok(())
}

/// State tensors by name, for saving and restoring an optimizer.
pub type OptimizerState = Vec<(String, Tensor)>;

fn find<'a>(state: &'a OptimizerState, name: &str) -> Result<&'a Tensor> {
    state.iter().find(|(n, _)| n == name).map(|(_, t)| t).ok_or_else(|| Error::Invalid {
        op: "load_state",
        msg: format!("the optimizer state has no entry {name:?}"),
    })
}
