//! Translating images with a trained CycleGAN or pix2pix generator, as the reference's
//! test script does: the generator is built from the same options as in training, its
//! checkpoint (a reference `.pth` such as `latest_net_G_A.pth`, or safetensors) is loaded
//! unchanged, and each image is resized to the load size only when it differs, cropped to
//! the crop size (centre), never flipped, and written as `<stem>.png`.

use super::cyclegan_nets::{resnet_generator, unet_generator, Net, NetConfig, NormKind};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::{image, load_any};
use crate::nn::{Layer, Module, ModuleExt};
use crate::ops::pad::PadMode;
use std::path::{Path, PathBuf};

/// Which reference model the weights come from; it sets the defaults below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    CycleGan,
    Pix2Pix,
}

/// The generator options the reference's test script takes.
#[derive(Clone, Debug)]
pub struct GeneratorOptions {
    pub net_g: String,
    pub ngf: usize,
    pub norm: NormKind,
    pub dropout: bool,
    pub input_nc: usize,
    pub output_nc: usize,
}

impl GeneratorOptions {
    /// The reference's per-model defaults: CycleGAN resnet_9blocks with instance norm and
    /// no dropout; pix2pix unet_256 with batch norm and dropout.
    pub fn defaults(kind: ModelKind) -> Self {
        let (net_g, norm, dropout) = match kind {
            ModelKind::CycleGan => ("resnet_9blocks", NormKind::Instance, false),
            ModelKind::Pix2Pix => ("unet_256", NormKind::Batch, true),
        };
        GeneratorOptions { net_g: net_g.into(), ngf: 64, norm, dropout, input_nc: 3, output_nc: 3 }
    }

    /// Builds the generator `--netG` names.
    pub fn build(&self, d: &Device) -> Result<Net> {
        let c = NetConfig {
            input_nc: self.input_nc,
            output_nc: self.output_nc,
            width: self.ngf,
            norm: self.norm,
            dropout: self.dropout,
        };
        match self.net_g.as_str() {
            "resnet_9blocks" => resnet_generator(d, c, 9, PadMode::Reflect),
            "resnet_6blocks" => resnet_generator(d, c, 6, PadMode::Reflect),
            "unet_256" => unet_generator(d, c, 8),
            "unet_128" => unet_generator(d, c, 7),
            other => Err(Error::Invalid {
                op: "netG",
                msg: format!("unknown generator {other:?}; choose resnet_9blocks, resnet_6blocks, unet_256 or unet_128"),
            }),
        }
    }
}

/// Everything `gantry translate` needs.
#[derive(Clone, Debug)]
pub struct TranslateOptions {
    pub generator: GeneratorOptions,
    pub weights: PathBuf,
    pub input: PathBuf,
    pub output: PathBuf,
    /// Put the generator in eval mode (`--eval`): running statistics, no dropout.
    pub eval: bool,
    pub load_size: u32,
    pub crop_size: u32,
}

/// Translates every image of `input` (a file or a folder) into `output`; returns the
/// files written.
pub fn translate(d: &Device, o: &TranslateOptions) -> Result<Vec<PathBuf>> {
    let net = o.generator.build(d)?;
    let tensors = load_any(&o.weights, None)?;
    net.load_state_dict(&tensors).map_err(|e| Error::File {
        path: o.weights.display().to_string(),
        msg: format!(
            "does not fit --netG {} --ngf {} --norm {:?}: {e}",
            o.generator.net_g, o.generator.ngf, o.generator.norm
        ),
    })?;
    net.set_training(!o.eval);
    if o.crop_size > o.load_size {
        return Err(Error::Invalid {
            op: "translate",
            msg: format!("crop size {} exceeds load size {}", o.crop_size, o.load_size),
        });
    }
    std::fs::create_dir_all(&o.output)
        .map_err(|e| Error::File { path: o.output.display().to_string(), msg: e.to_string() })?;
    let mut written = Vec::new();
    for file in image::image_files(&o.input)? {
        let img = image::resize_to(image::read_rgb(&file)?, o.load_size, o.load_size);
        let off = (o.load_size - o.crop_size) / 2;
        let img = ::image::imageops::crop_imm(&img, off, off, o.crop_size, o.crop_size).to_image();
        let x = image::to_tensor(d, &img, o.generator.input_nc)?;
        let y = crate::autograd::no_grad(|| net.forward(&x))?;
        let out = o.output.join(format!("{}.png", stem(&file)));
        image::save_png(&out, &y)?;
        written.push(out);
    }
    Ok(written)
}

fn stem(p: &Path) -> String {
    p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into())
}
