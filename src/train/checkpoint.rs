//! Checkpoints named as the reference names them (`latest_net_G_A`, `<epoch>_net_D_B`, …),
//! as safetensors, plus `latest_state.safetensors` (optimizer moments, step counts, the
//! epoch) and `train_opt.txt`. Every file is written atomically.

use super::TrainOptions;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::{load_safetensors, save_safetensors};
use crate::models::contract::GanModel;
use crate::nn::ModuleExt;
use crate::tensor::Tensor;
use std::path::Path;

/// Saves the latest networks and state, and an epoch-numbered copy of the networks.
pub fn save(
    dir: &Path,
    model: &mut dyn GanModel,
    device: &Device,
    epoch: usize,
    numbered: bool,
) -> Result<()> {
    for (name, net) in model.networks() {
        let sd = net.state_dict();
        save_safetensors(dir.join(format!("latest_net_{name}.safetensors")), &sd)?;
        if numbered {
            save_safetensors(dir.join(format!("{epoch}_net_{name}.safetensors")), &sd)?;
        }
    }
    let mut state = Vec::new();
    for (prefix, opt) in model.optimizers() {
        state.extend(opt.state_dict()?.into_iter().map(|(n, t)| (format!("{prefix}.{n}"), t)));
    }
    state.push(("epoch".into(), Tensor::scalar(device, epoch as f32)?));
    save_safetensors(dir.join("latest_state.safetensors"), &state)
}

/// Loads the latest networks and state; returns the last finished epoch.
pub fn load(dir: &Path, model: &mut dyn GanModel, device: &Device) -> Result<usize> {
    for (name, net) in model.networks() {
        net.load_state_dict(&load_safetensors(dir.join(format!("latest_net_{name}.safetensors")))?)?;
    }
    let state = load_safetensors(dir.join("latest_state.safetensors"))?;
    let pick = |prefix: &str| -> Result<Vec<(String, Tensor)>> {
        state
            .iter()
            .filter_map(|(n, t)| {
                n.strip_prefix(prefix).map(|rest| Ok((rest.to_string(), t.to_tensor(device)?)))
            })
            .collect()
    };
    for (prefix, opt) in model.optimizers() {
        opt.load_state_dict(&pick(&format!("{prefix}."))?)?;
    }
    let epoch = state.iter().find(|(n, _)| n == "epoch").ok_or_else(|| Error::File {
        path: dir.join("latest_state.safetensors").display().to_string(),
        msg: "has no epoch counter".into(),
    })?;
    Ok(epoch.1.to_f32()[0] as usize)
}

/// Writes the options used, one per line, beside the checkpoints.
pub fn save_options(dir: &Path, o: &TrainOptions) -> Result<()> {
    crate::io::write_atomic(&dir.join("train_opt.txt"), format!("{o:#?}\n").as_bytes())
}
