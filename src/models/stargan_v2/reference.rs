//! StarGAN v2's checkpoint files, read unchanged: `{step:06d}_nets.ckpt` (generator,
//! mapping_network, style_encoder, discriminator, and fan with w_hpf > 0),
//! `{step:06d}_nets_ema.ckpt` (the EMA generator, mapping_network and style_encoder) and
//! `{step:06d}_optims.ckpt` (one torch.optim state per network), each a dict of state
//! dicts in torch's zip or legacy format; DataParallel's `module.` prefixes are accepted.
//! The same nesting flattened into one safetensors file (`generator.from_rgb.weight`, …)
//! reads the same way.

use super::{Nets, StarGanV2};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::{Entry, NamedTensors};
use crate::nn::{Module, ModuleExt};
use std::path::{Path, PathBuf};

fn file_error(path: &Path, msg: impl Into<String>) -> Error {
    Error::File { path: path.display().to_string(), msg: msg.into() }
}

/// The reference's three files of step `step` in `dir`: nets, nets_ema, optims.
pub fn files(dir: &Path, step: usize) -> [PathBuf; 3] {
    ["nets", "nets_ema", "optims"].map(|kind| dir.join(format!("{step:06}_{kind}.ckpt")))
}

/// A file of state dicts by network name.
pub struct NetworkFile {
    pub path: PathBuf,
    pub nets: Vec<(String, NamedTensors)>,
    root: Entry,
}

/// The EMA networks a gantry run saves, one file each (`<label>_net_generator_ema.safetensors`
/// …), found from the run folder (label `latest`) or from any one of them.
fn own_files(path: &Path) -> Option<Vec<(String, PathBuf)>> {
    let (dir, label) = if path.is_dir() {
        (path.to_path_buf(), "latest".to_string())
    } else {
        let name = path.file_name()?.to_string_lossy().into_owned();
        let label = ["generator", "mapping_network", "style_encoder"]
            .iter()
            .find_map(|net| name.strip_suffix(&format!("_net_{net}_ema.safetensors")))?;
        (path.parent()?.to_path_buf(), label.to_string())
    };
    Some(
        ["generator", "mapping_network", "style_encoder"]
            .iter()
            .map(|net| (net.to_string(), dir.join(format!("{label}_net_{net}_ema.safetensors"))))
            .collect(),
    )
}

impl NetworkFile {
    /// Reads a reference checkpoint (or the same nesting flattened into safetensors), or the
    /// EMA networks of a gantry run (its folder, or one of its `*_net_*_ema` files).
    pub fn read(path: &Path) -> Result<NetworkFile> {
        if let Some(files) = own_files(path) {
            let mut nets = Vec::new();
            for (net, file) in files {
                if !file.is_file() {
                    return Err(file_error(&file, format!("does not exist: a gantry run's EMA networks are <label>_net_{{generator,mapping_network,style_encoder}}_ema.safetensors, read from {}", path.display())));
                }
                nets.push((net, crate::io::load_safetensors(&file)?));
            }
            return Ok(NetworkFile { path: path.to_path_buf(), nets, root: Entry::Dict(Vec::new()) });
        }
        let bytes = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
        let root = Entry::from_bytes(&bytes).map_err(|e| file_error(path, e))?;
        let mut nets: Vec<(String, NamedTensors)> = Vec::new();
        for (name, t) in root.tensors() {
            let Some((net, rest)) = name.split_once('.') else { continue };
            let rest = rest.strip_prefix("module.").unwrap_or(rest).to_string();
            match nets.iter_mut().find(|(n, _)| n == net) {
                Some((_, sd)) => sd.push((rest, t)),
                None => nets.push((net.to_string(), vec![(rest, t)])),
            }
        }
        if nets.is_empty() {
            return Err(file_error(
                path,
                "holds no networks: a StarGAN v2 checkpoint is a dict of state dicts (generator, mapping_network, …)",
            ));
        }
        Ok(NetworkFile { path: path.to_path_buf(), nets, root })
    }

    pub fn get(&self, name: &str) -> Option<&NamedTensors> {
        self.nets.iter().find(|(n, _)| n == name).map(|(_, sd)| sd)
    }

    fn names(&self) -> String {
        self.nets.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Loads the file's `name` into `net`, naming the file and network in any error.
    pub fn load(&self, name: &str, net: &dyn Module) -> Result<()> {
        let sd = self
            .get(name)
            .ok_or_else(|| file_error(&self.path, format!("has no '{name}' (it holds {})", self.names())))?;
        net.load_state_dict(sd).map_err(|e| file_error(&self.path, format!("'{name}': {e}")))
    }

    /// The raw entry of a network (an optimizer's state dict).
    fn entry(&self, name: &str) -> Option<&Entry> {
        self.root.get(name)
    }
}

/// G, F and E of a `_nets_ema.ckpt` (or of any file holding them by those names).
pub fn load_nets(nets: &Nets, path: &Path) -> Result<()> {
    let file = NetworkFile::read(path)?;
    for (name, net) in nets.named() {
        file.load(name, net)?;
    }
    Ok(())
}

/// How a run continued from the reference's files.
#[derive(Debug, PartialEq, Eq)]
pub enum Resumed {
    /// All three files: networks, EMA networks and optimizers.
    Everything,
    /// `_nets_ema.ckpt` alone (all the authors released): G, F and E and their averages
    /// start from the EMA weights, D from He init, the optimizers fresh.
    FromEma,
}

/// Loads the reference's checkpoint of step `step` from `dir` into `model`, as its
/// `--resume_iter` does; with only the EMA file, starts a fine-tuning run from it.
pub fn resume(model: &mut StarGanV2, dir: &Path, step: usize, d: &Device) -> Result<Resumed> {
    let [nets, ema, optims] = files(dir, step);
    if !ema.is_file() {
        return Err(file_error(
            &ema,
            format!("does not exist: --resume-iter {step} reads {step:06}_nets_ema.ckpt (and, to continue exactly, {step:06}_nets.ckpt and {step:06}_optims.ckpt) from {}", dir.display()),
        ));
    }
    load_nets(&model.ema, &ema)?;
    if !nets.is_file() || !optims.is_file() {
        // The live G, F and E start from the averages.
        crate::autograd::no_grad(|| {
            for ((_, live), (_, avg)) in model.nets.named().into_iter().zip(model.ema.named()) {
                for (p, a) in live.parameters().iter().zip(avg.parameters()) {
                    p.assign(&a)?;
                }
            }
            Ok(())
        })?;
        return Ok(Resumed::FromEma);
    }
    let file = NetworkFile::read(&nets)?;
    file.load("generator", &model.nets.generator)?;
    file.load("mapping_network", &model.nets.mapping_network)?;
    file.load("style_encoder", &model.nets.style_encoder)?;
    file.load("discriminator", &model.d)?;
    let opt_file = NetworkFile::read(&optims)?;
    for (name, opt) in model.optimizers_by_reference_name() {
        let entry = opt_file
            .entry(name)
            .ok_or_else(|| file_error(&optims, format!("has no '{name}' optimizer state")))?;
        let state = crate::optim::from_torch(entry, d)?;
        opt.load_state_dict(&state).map_err(|e| file_error(&optims, format!("'{name}': {e}")))?;
    }
    // The reference keeps λ_ds in memory only; an uninterrupted run would stand here.
    for _ in 0..step {
        if model.lambda_ds > 0.0 {
            model.lambda_ds -= model.options.lambda_ds / model.options.ds_iter as f64;
        }
    }
    Ok(Resumed::Everything)
}
