//! torch.optim's saved state, read into ours.

use super::OptimizerState;
use crate::error::Result;
use crate::gpu::Device;
use crate::io::Entry;
use crate::tensor::Tensor;

/// A torch.optim state dict as our Adam reads it. The step count is a tensor since
/// PyTorch 1.12 and a plain number before; the learning rate is a number.
pub fn from_torch(opt: &Entry, d: &Device) -> Result<OptimizerState> {
    let mut out: OptimizerState = Vec::new();
    for (name, t) in opt.tensors() {
        out.push((name, t.to_tensor(d)?));
    }
    let number = |e: &Entry| match e {
        Entry::Other(text) => text.parse::<f32>().ok(),
        Entry::Tensor(t) => t.to_f32().first().copied(),
        _ => None,
    };
    if let Some(Entry::Dict(states)) = opt.get("state") {
        for (i, s) in states {
            if let Some(step) = s.get("step").and_then(number) {
                out.retain(|(n, _)| *n != format!("state.{i}.step"));
                out.push((format!("state.{i}.step"), Tensor::scalar(d, step)?));
            }
        }
    }
    if let Some(Entry::List(groups)) = opt.get("param_groups") {
        for (g, group) in groups.iter().enumerate() {
            if let Some(lr) = group.get("lr").and_then(number) {
                out.push((format!("param_groups.{g}.lr"), Tensor::scalar(d, lr)?));
            }
        }
    }
    Ok(out)
}
