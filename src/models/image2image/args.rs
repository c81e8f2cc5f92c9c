//! The command-line options CycleGAN and pix2pix share, named as the reference's
//! (kebab-case). Options whose default is smaller on the built-in synthetic set are
//! optional here and resolved by `Sizes`.

use super::options::{DiscriminatorOptions, GeneratorOptions, NetD, NetG};
use crate::data::{Preprocess, PreprocessMode};
use std::path::PathBuf;

/// The name a `ValueEnum` choice has on the command line.
pub fn value_name<T: clap::ValueEnum>(v: &T) -> String {
    v.to_possible_value().map(|p| p.get_name().to_string()).unwrap_or_default()
}

/// A whole number of at least 1.
pub fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// An image's channel count: 1 (grey) or 3 (RGB).
pub fn channels(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n @ (1 | 3)) => Ok(n),
        Ok(n) => Err(format!("{n} channels: images have 1 (grey) or 3 (RGB)")),
        Err(e) => Err(e.to_string()),
    }
}

/// Dataset and preprocessing options.
#[derive(clap::Args, Clone, Debug)]
pub struct DataArgs {
    /// The dataset folder. Without it, a built-in synthetic set is written under the run
    /// folder and trained on, with small sizes (see each option's default).
    #[arg(long)]
    pub dataroot: Option<PathBuf>,
    /// Images per step.
    #[arg(long, default_value_t = 1, value_parser = positive)]
    pub batch_size: usize,
    /// How images are scaled and cropped at load time.
    #[arg(long, value_enum, default_value = "resize_and_crop")]
    pub preprocess: PreprocessMode,
    /// Scale images to this size [default: 286; built-in set 36 (CycleGAN), 136 (pix2pix)].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub load_size: Option<u32>,
    /// Then crop to this size [default: 256; built-in set 32 (CycleGAN), 128 (pix2pix)].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub crop_size: Option<u32>,
    /// Do not flip images horizontally at random.
    #[arg(long)]
    pub no_flip: bool,
    /// Channels of the input images (1 or 3).
    #[arg(long, default_value_t = 3, value_parser = channels)]
    pub input_nc: usize,
    /// Channels of the output images (1 or 3).
    #[arg(long, default_value_t = 3, value_parser = channels)]
    pub output_nc: usize,
    /// Skip unreadable images with a warning instead of stopping.
    #[arg(long)]
    pub skip_bad_images: bool,
}

impl DataArgs {
    /// The preprocessing these options describe; `builtin` = (load, crop) sizes used
    /// when no --dataroot is given.
    pub fn preprocess(&self, builtin: (u32, u32)) -> Preprocess {
        let small = self.dataroot.is_none();
        Preprocess {
            mode: self.preprocess,
            load_size: self.load_size.unwrap_or(if small { builtin.0 } else { 286 }),
            crop_size: self.crop_size.unwrap_or(if small { builtin.1 } else { 256 }),
            flip: !self.no_flip,
            channels: self.input_nc,
            output_channels: self.output_nc,
            skip_bad_images: self.skip_bad_images,
        }
    }
}

/// Network shapes shared by both models.
#[derive(clap::Args, Clone, Debug)]
pub struct NetArgs {
    /// Generator architecture [default: resnet_9blocks (CycleGAN), unet_256 (pix2pix);
    /// built-in set resnet_6blocks, unet_128].
    #[arg(long = "netG", value_enum)]
    pub net_g: Option<NetG>,
    /// Generator filters in the last conv layer [default: 64; built-in set 16 (CycleGAN), 8 (pix2pix)].
    #[arg(long, value_parser = positive)]
    pub ngf: Option<usize>,
    /// Discriminator filters in the first conv layer [default: 64; built-in set 16].
    #[arg(long, value_parser = positive)]
    pub ndf: Option<usize>,
    /// Discriminator architecture.
    #[arg(long = "netD", value_enum, default_value = "basic")]
    pub net_d: NetD,
    /// Layers of the discriminator with --netD n_layers (1 to 6: each halves the image).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=6))]
    pub n_layers_d: u16,
}

impl NetArgs {
    /// The discriminator options, with `small_ndf` on the built-in set.
    pub fn discriminator(&self, builtin: bool) -> DiscriminatorOptions {
        DiscriminatorOptions {
            net_d: self.net_d,
            ndf: self.ndf.unwrap_or(if builtin { 16 } else { 64 }),
            n_layers: usize::from(self.n_layers_d),
        }
    }
}

/// What `train_opt.txt` records of the options CycleGAN and pix2pix share, in the
/// reference's names; each model appends its own.
pub fn recorded_common(
    root: &std::path::Path,
    g: &super::GeneratorOptions,
    disc: &DiscriminatorOptions,
    p: &Preprocess,
    batch_size: usize,
) -> Vec<(String, String)> {
    [
        ("dataroot", root.display().to_string()),
        ("netG", value_name(&g.net_g)),
        ("ngf", g.ngf.to_string()),
        ("netD", value_name(&disc.net_d)),
        ("ndf", disc.ndf.to_string()),
        ("n_layers_D", disc.n_layers.to_string()),
        ("norm", value_name(&g.norm)),
        ("input_nc", g.input_nc.to_string()),
        ("output_nc", g.output_nc.to_string()),
        ("preprocess", value_name(&p.mode)),
        ("load_size", p.load_size.to_string()),
        ("crop_size", p.crop_size.to_string()),
        ("no_flip", (!p.flip).to_string()),
        ("batch_size", batch_size.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// What CycleGAN and pix2pix check before any work: that cropped images fit the
/// generator and the discriminator, and that there are epochs to train.
pub fn check_before_training(
    g: &GeneratorOptions,
    disc: &DiscriminatorOptions,
    pre: &Preprocess,
    (n_epochs, n_epochs_decay): (usize, usize),
) -> crate::error::Result<()> {
    if !matches!(pre.mode, PreprocessMode::ScaleWidth | PreprocessMode::None) {
        g.check_side(pre.crop_size as usize, "--crop-size")?;
        disc.check_side(pre.crop_size as usize, "--crop-size")?;
    }
    if n_epochs + n_epochs_decay == 0 {
        return Err(crate::error::Error::Invalid {
            op: "options",
            msg: "--n-epochs and --n-epochs-decay are both 0: there is nothing to train".into(),
        });
    }
    Ok(())
}
