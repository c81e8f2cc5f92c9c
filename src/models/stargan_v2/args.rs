//! The model options every StarGAN v2 command shares (the reference's names in
//! kebab-case), and reading them back from a checkpoint's shapes so that synthesis needs
//! only the file.

use super::reference::NetworkFile;
use super::StarGanV2Options;
use crate::error::{Error, Result};
use crate::io::NamedTensors;
use crate::models::image2image::args::positive;
use std::path::PathBuf;

/// The networks' shape and the mask network.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ModelArgs {
    /// Image side, a power of two from 32 [default: 256; built-in set 32; read from the
    /// checkpoint when synthesising].
    #[arg(long, value_parser = positive)]
    pub img_size: Option<usize>,
    /// Domains: subfolders of the training folder [default: 2; built-in set 3].
    #[arg(long, value_parser = positive)]
    pub num_domains: Option<usize>,
    /// Latent code length [default: 16].
    #[arg(long, value_parser = positive)]
    pub latent_dim: Option<usize>,
    /// The mapping network's width [default: 512; the reference's option is unread and
    /// 512 is fixed there].
    #[arg(long, value_parser = positive)]
    pub hidden_dim: Option<usize>,
    /// Style code length [default: 64].
    #[arg(long, value_parser = positive)]
    pub style_dim: Option<usize>,
    /// The high-pass filter's weight: 1 for faces (CelebA-HQ, with FAN masks from
    /// --wing-path), 0 for AFHQ [default: 1; built-in set 0].
    #[arg(long)]
    pub w_hpf: Option<f32>,
    /// The widest conv layer [default: 512, the reference's fixed value; smaller values
    /// make small experiments possible].
    #[arg(long, value_parser = positive)]
    pub max_conv_dim: Option<usize>,
    /// The reference's pretrained FAN (wing.ckpt), needed with --w-hpf above 0.
    #[arg(long)]
    pub wing_path: Option<PathBuf>,
}

impl ModelArgs {
    /// Options from the flags, `base` for those not given.
    pub fn apply(&self, base: StarGanV2Options) -> StarGanV2Options {
        StarGanV2Options {
            img_size: self.img_size.unwrap_or(base.img_size),
            num_domains: self.num_domains.unwrap_or(base.num_domains),
            latent_dim: self.latent_dim.unwrap_or(base.latent_dim),
            hidden_dim: self.hidden_dim.unwrap_or(base.hidden_dim),
            style_dim: self.style_dim.unwrap_or(base.style_dim),
            w_hpf: self.w_hpf.unwrap_or(base.w_hpf),
            max_conv_dim: self.max_conv_dim.unwrap_or(base.max_conv_dim),
            ..base
        }
    }

    /// The options a checkpoint's networks were built with, checked against any flag
    /// given: a flag that disagrees with the file is an error naming both.
    pub fn from_file(&self, file: &NetworkFile) -> Result<StarGanV2Options> {
        let found = infer(file)?;
        let given = [
            ("img-size", self.img_size, found.img_size),
            ("num-domains", self.num_domains, found.num_domains),
            ("latent-dim", self.latent_dim, found.latent_dim),
            ("hidden-dim", self.hidden_dim, found.hidden_dim),
            ("style-dim", self.style_dim, found.style_dim),
            ("max-conv-dim", self.max_conv_dim, found.max_conv_dim),
        ];
        for (flag, want, have) in given {
            if let Some(w) = want.filter(|&w| w != have) {
                return Err(Error::File {
                    path: file.path.display().to_string(),
                    msg: format!("holds networks with {flag} {have}, but --{flag} {w} was given"),
                });
            }
        }
        if let Some(w) =
            self.w_hpf.filter(|&w| (w > 0.0) != (found.w_hpf > 0.0) || (w > 0.0 && w != found.w_hpf))
        {
            return Err(Error::File {
                path: file.path.display().to_string(),
                msg: format!("holds a generator with w_hpf {}, but --w-hpf {w} was given", found.w_hpf),
            });
        }
        Ok(found)
    }
}

fn shape<'a>(sd: &'a NamedTensors, key: &str) -> Option<&'a [usize]> {
    sd.iter().find(|(n, _)| n == key).map(|(_, t)| t.shape.as_slice())
}

/// Reads the options from the shapes of a file's generator, mapping network and style
/// encoder.
pub fn infer(file: &NetworkFile) -> Result<StarGanV2Options> {
    let bad = |msg: String| Error::File { path: file.path.display().to_string(), msg };
    let net = |name: &str| {
        file.get(name).ok_or_else(|| bad(format!("has no '{name}': it is not a StarGAN v2 _nets_ema.ckpt")))
    };
    let (g, f, e) = (net("generator")?, net("mapping_network")?, net("style_encoder")?);
    let missing = |what: &str| bad(format!("has no {what}: it is not a StarGAN v2 network file"));
    let first = shape(f, "shared.0.weight").ok_or_else(|| missing("mapping_network.shared.0.weight"))?;
    let (hidden_dim, latent_dim) = (first[0], first[1]);
    let num_domains =
        f.iter().filter(|(n, _)| n.starts_with("unshared.") && n.ends_with(".0.weight")).count();
    let style_dim =
        shape(f, "unshared.0.6.weight").ok_or_else(|| missing("mapping_network.unshared.0.6.weight"))?[0];
    // E: a 3×3 conv, log2(S) − 2 residual blocks, then LReLU, the 4×4 conv, LReLU.
    let blocks = e.iter().filter(|(n, _)| n.starts_with("shared.") && n.ends_with(".conv1.weight")).count();
    let img_size = 1usize << (blocks + 2);
    let max_conv_dim = e
        .iter()
        .chain(g.iter())
        .filter(|(n, t)| n.ends_with("weight") && t.shape.len() == 4)
        .map(|(_, t)| t.shape[0])
        .max()
        .unwrap_or(1);
    let w_hpf = match g.iter().find(|(n, _)| n == "hpf.filter") {
        // The filter's centre is 8 / w_hpf.
        Some((_, t)) => {
            8.0 / t
                .to_f32()
                .get(4)
                .copied()
                .filter(|v| *v != 0.0)
                .ok_or_else(|| missing("a usable hpf.filter"))?
        }
        None => 0.0,
    };
    Ok(StarGanV2Options {
        img_size,
        num_domains,
        latent_dim,
        hidden_dim,
        style_dim,
        max_conv_dim,
        w_hpf,
        ..StarGanV2Options::default()
    })
}
