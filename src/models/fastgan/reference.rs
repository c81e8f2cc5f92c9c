//! FastGAN's checkpoint files, read unchanged: `models/{it}.pth` ({'g': the EMA weights
//! loaded into G, 'd'}) and `models/all_{it}.pth` ({'g', 'd', 'g_ema' as a list of tensors in
//! parameter order, 'opt_g', 'opt_d'}), keys with or without DataParallel's `module.`;
//! and our own generator files (a flat state dict, e.g. `latest_net_G_ema.safetensors`).

use super::nets::Generator;
use super::FastGan;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::Entry;
use crate::io::{HostTensor, NamedTensors};
use crate::nn::ModuleExt;
use crate::optim::Adam;
use crate::tensor::Tensor;
use std::path::Path;

fn file_error(path: &Path, msg: impl Into<String>) -> Error {
    Error::File { path: path.display().to_string(), msg: msg.into() }
}

/// A checkpoint's parts; all but `g` may be absent.
pub struct Checkpoint {
    /// The generator's state dict (in `{it}.pth` already the EMA weights).
    pub g: NamedTensors,
    pub d: Option<NamedTensors>,
    pub g_ema: Option<Vec<HostTensor>>,
    pub opt_g: Option<Entry>,
    pub opt_d: Option<Entry>,
}

/// Reads a reference checkpoint or a flat generator state dict (safetensors or .pth).
pub fn read(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
    if crate::io::sniff(&bytes).map_err(|e| file_error(path, e))? == crate::io::Format::Safetensors {
        let g = crate::io::parse_safetensors(&bytes).map_err(|e| file_error(path, e))?;
        return Ok(Checkpoint { g, d: None, g_ema: None, opt_g: None, opt_d: None });
    }
    let root = Entry::from_bytes(&bytes).map_err(|e| file_error(path, e))?;
    let Some(g) = root.get("g") else {
        // A bare state dict, e.g. torch.save(netG.state_dict()).
        return Ok(Checkpoint { g: root.tensors(), d: None, g_ema: None, opt_g: None, opt_d: None });
    };
    let g_ema = match root.get("g_ema") {
        Some(Entry::List(items)) => Some(
            items
                .iter()
                .map(|e| match e {
                    Entry::Tensor(t) => Ok(t.clone()),
                    _ => Err(file_error(path, "'g_ema' holds something other than tensors")),
                })
                .collect::<Result<Vec<_>>>()?,
        ),
        Some(_) => return Err(file_error(path, "'g_ema' is not a list of tensors")),
        None => None,
    };
    Ok(Checkpoint {
        g: g.tensors(),
        d: root.get("d").map(Entry::tensors),
        g_ema,
        opt_g: root.get("opt_g").cloned(),
        opt_d: root.get("opt_d").cloned(),
    })
}

/// The generator's shape, read from its state dict: (im_size, ngf, nz).
pub fn generator_shape(path: &Path, g: &NamedTensors) -> Result<(usize, usize, usize)> {
    let first = g
        .iter()
        .find(|(n, _)| n == "init.init.0.weight_orig")
        .ok_or_else(|| file_error(path, "is not a FastGAN generator: it has no init.init.0.weight_orig"))?;
    let &[nz, two_c4, _, _] = &first.1.shape[..] else {
        return Err(file_error(path, format!("init.init.0.weight_orig has shape {:?}", first.1.shape)));
    };
    let has = |prefix: &str| g.iter().any(|(n, _)| n.starts_with(prefix));
    let im_size = if has("feat_1024.") {
        1024
    } else if has("feat_512.") {
        512
    } else {
        256
    };
    Ok((im_size, two_c4 / 32, nz))
}

/// The generator a checkpoint samples with: from `all_{it}.pth` the EMA parameters with
/// G's buffers; otherwise the file's generator (in `{it}.pth` that is the EMA one).
pub fn load_generator(d: &Device, path: &Path) -> Result<Generator> {
    let ckpt = read(path)?;
    let (im_size, ngf, nz) = generator_shape(path, &ckpt.g)?;
    let g = Generator::new(d, ngf, nz, im_size)?;
    g.load_state_dict(&ckpt.g).map_err(|e| file_error(path, e.to_string()))?;
    if let Some(ema) = &ckpt.g_ema {
        assign_list(&g.parameters(), ema, d).map_err(|e| file_error(path, format!("'g_ema': {e}")))?;
    }
    Ok(g)
}

/// Copies a list of tensors into `params`, one each, in order.
fn assign_list(params: &[Tensor], values: &[HostTensor], d: &Device) -> Result<()> {
    if params.len() != values.len() {
        return Err(Error::Invalid {
            op: "load",
            msg: format!("{} tensors for a generator of {} parameters", values.len(), params.len()),
        });
    }
    crate::autograd::no_grad(|| {
        for (k, (p, v)) in params.iter().zip(values).enumerate() {
            if p.shape() != v.shape {
                return Err(Error::Invalid {
                    op: "load",
                    msg: format!("tensor {k} has shape {:?}, parameter {k} {:?}", v.shape, p.shape()),
                });
            }
            p.assign(&v.to_tensor(d)?)?;
        }
        Ok(())
    })
}

fn load_optimizer(opt: &mut Adam, entry: &Entry, d: &Device, what: &str, path: &Path) -> Result<()> {
    let state = crate::optim::from_torch(entry, d)?;
    opt.load_state_dict(&state).map_err(|e| file_error(path, format!("{what}: {e}")))
}

/// The iteration a reference checkpoint was saved at, read from its name as train.py
/// reads it (`all_5000.pth` → 5000).
pub fn iteration_from_name(path: &Path) -> Result<usize> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let last = name.rsplit('_').next().unwrap_or("");
    last.split('.').next().and_then(|s| s.parse().ok()).ok_or_else(|| {
        file_error(
            path,
            "the iteration cannot be read from the name: FastGAN names these all_<iteration>.pth",
        )
    })
}

/// Loads a reference checkpoint into `model` to continue its run: networks, EMA and both
/// optimizers from `all_{it}.pth`; from a file without them (`{it}.pth`), the networks with
/// the EMA starting from G and fresh optimizers, said on stderr. Returns the iteration.
pub fn resume(model: &mut FastGan, path: &Path, d: &Device) -> Result<usize> {
    let it = iteration_from_name(path)?;
    let ckpt = read(path)?;
    let named = |e: Result<()>, what: &str| e.map_err(|e| file_error(path, format!("{what}: {e}")));
    named(model.g.load_state_dict(&ckpt.g), "'g'")?;
    let disc =
        ckpt.d.as_ref().ok_or_else(|| file_error(path, "has no discriminator ('d') to continue from"))?;
    named(model.d.load_state_dict(disc), "'d'")?;
    match (&ckpt.g_ema, &ckpt.opt_g, &ckpt.opt_d) {
        (Some(ema), Some(opt_g), Some(opt_d)) => {
            named(assign_list(&model.g_ema.parameters(), ema, d), "'g_ema'")?;
            load_optimizer(&mut model.opt_g, opt_g, d, "'opt_g'", path)?;
            load_optimizer(&mut model.opt_d, opt_d, d, "'opt_d'", path)?;
        }
        _ => {
            let own: Vec<Tensor> = model.g.parameters();
            crate::autograd::no_grad(|| {
                model.g_ema.parameters().iter().zip(&own).try_for_each(|(e, p)| e.assign(p))
            })?;
            eprintln!(
                "{} holds no EMA or optimizer state (the reference's all_<it>.pth does): continuing from its networks with fresh optimizers, the EMA starting from G",
                path.display()
            );
        }
    }
    Ok(it)
}
