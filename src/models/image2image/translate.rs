//! Translating images with a trained CycleGAN or pix2pix generator, as the reference's
//! test script does: the generator is built from the same options as in training, its
//! checkpoint (a reference `.pth` such as `latest_net_G_A.pth`, or safetensors) is loaded
//! unchanged, and each image is resized to the load size only when it differs, cropped to
//! the crop size (centre), never flipped, and written as `<stem>.png`.

use super::args::{channels, positive};
use super::options::{GeneratorOptions, NetG};
use super::NormKind;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::{image, load_any};
use crate::nn::{Layer, Module, ModuleExt};
use std::path::{Path, PathBuf};

/// `gantry translate cyclegan|pix2pix`: the reference test script's options.
#[derive(clap::Args, Clone, Debug)]
pub struct TranslateArgs {
    /// The generator's weights: ours (.safetensors) or the reference repo's own .pth
    /// (e.g. latest_net_G_A.pth), loaded as they are.
    #[arg(long)]
    pub weights: PathBuf,
    /// An image or a folder of images (.png, .jpg, .jpeg).
    #[arg(long)]
    pub input: PathBuf,
    /// Where <stem>.png files go.
    #[arg(long)]
    pub output: PathBuf,
    /// Generator architecture [default: read from the checkpoint; else resnet_9blocks
    /// (CycleGAN), unet_256 (pix2pix)].
    #[arg(long = "netG", value_enum)]
    pub net_g: Option<NetG>,
    /// Generator filters in the last conv layer [default: read from the checkpoint; else 64].
    #[arg(long, value_parser = positive)]
    pub ngf: Option<usize>,
    /// Normalisation layers [default: read from the checkpoint; else instance (CycleGAN),
    /// batch (pix2pix)].
    #[arg(long, value_enum)]
    pub norm: Option<NormKind>,
    /// Build the generator without dropout (CycleGAN never has it).
    #[arg(long)]
    pub no_dropout: bool,
    /// Eval mode, as the reference's --eval: running statistics, no dropout.
    #[arg(long)]
    pub eval: bool,
    /// Images are resized to this size, then centre-cropped to --crop-size.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub load_size: u32,
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub crop_size: u32,
    /// Channels of the input images, 1 or 3 [default: read from the checkpoint; else 3].
    #[arg(long, value_parser = channels)]
    pub input_nc: Option<usize>,
    /// Channels of the output images, 1 or 3 [default: read from the checkpoint; else 3].
    #[arg(long, value_parser = channels)]
    pub output_nc: Option<usize>,
}

impl TranslateArgs {
    /// The options over a model's generator defaults.
    pub fn options(&self, defaults: GeneratorOptions) -> TranslateOptions {
        let generator = GeneratorOptions {
            net_g: self.net_g.unwrap_or(defaults.net_g),
            ngf: self.ngf.unwrap_or(64),
            norm: self.norm.unwrap_or(defaults.norm),
            dropout: defaults.dropout && !self.no_dropout,
            input_nc: self.input_nc.unwrap_or(3),
            output_nc: self.output_nc.unwrap_or(3),
        };
        let given = [
            self.net_g.is_some(),
            self.ngf.is_some(),
            self.norm.is_some(),
            self.input_nc.is_some(),
            self.output_nc.is_some(),
        ];
        TranslateOptions {
            generator,
            given,
            weights: self.weights.clone(),
            input: self.input.clone(),
            output: self.output.clone(),
            eval: self.eval,
            load_size: self.load_size,
            crop_size: self.crop_size,
        }
    }
}

/// Everything `gantry translate` needs.
#[derive(Clone, Debug)]
pub struct TranslateOptions {
    pub generator: GeneratorOptions,
    /// Which of --netG, --ngf, --norm, --input-nc, --output-nc were given; the others are
    /// read from the checkpoint when it shows them.
    pub given: [bool; 5],
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
    if o.crop_size > o.load_size {
        return Err(Error::Invalid {
            op: "translate",
            msg: format!("--crop-size {} is larger than --load-size {}", o.crop_size, o.load_size),
        });
    }
    let tensors = load_any(&o.weights, None)?;
    let inferred = super::infer::infer(&tensors);
    let mut g = o.generator.clone();
    if let Some(i) = inferred {
        let [net_g, ngf, norm, input_nc, output_nc] = o.given;
        g.net_g = if net_g { g.net_g } else { i.net_g };
        g.ngf = if ngf { g.ngf } else { i.ngf };
        g.norm = if norm { g.norm } else { i.norm };
        g.input_nc = if input_nc { g.input_nc } else { i.input_nc };
        g.output_nc = if output_nc { g.output_nc } else { i.output_nc };
        if o.given.contains(&false) {
            eprintln!("{} holds a generator {}", o.weights.display(), g.flags());
        }
    }
    g.check_side(o.crop_size as usize, "--crop-size")?;
    let net = g.build(d)?;
    net.load_state_dict(&tensors).map_err(|e| {
        let hint = match inferred {
            Some(i) => {
                let fits = GeneratorOptions {
                    net_g: i.net_g,
                    ngf: i.ngf,
                    norm: i.norm,
                    input_nc: i.input_nc,
                    output_nc: i.output_nc,
                    ..g.clone()
                };
                format!(" The file looks like {}.", fits.flags())
            }
            None => String::new(),
        };
        Error::File {
            path: o.weights.display().to_string(),
            msg: format!("does not fit the generator {}: {e}.{hint}", g.flags()),
        }
    })?;
    net.set_training(!o.eval);
    std::fs::create_dir_all(&o.output)
        .map_err(|e| Error::File { path: o.output.display().to_string(), msg: e.to_string() })?;
    let mut written = Vec::new();
    let files = image::image_files(&o.input)?;
    for (file, name) in files.iter().zip(output_names(&files)) {
        let img = image::resize_to(image::read_rgb(file)?, o.load_size, o.load_size);
        let off = (o.load_size - o.crop_size) / 2;
        let img = ::image::imageops::crop_imm(&img, off, off, o.crop_size, o.crop_size).to_image();
        let x = image::to_tensor(d, &img, g.input_nc)?;
        let y = crate::autograd::no_grad(|| net.forward(&x))?;
        let out = o.output.join(name);
        image::save_png(&out, &y)?;
        written.push(out);
    }
    Ok(written)
}

fn stem(p: &Path) -> String {
    p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into())
}

/// The output name of each input: `<stem>.png`, or where two inputs share a stem
/// (`0001.jpg` and `0001.png`) `<stem>_<extension>.png` for each of them, so that no
/// translation overwrites another.
pub fn output_names(files: &[PathBuf]) -> Vec<String> {
    let stems: Vec<String> = files.iter().map(|f| stem(f)).collect();
    files
        .iter()
        .zip(&stems)
        .map(|(f, s)| {
            if stems.iter().filter(|t| *t == s).count() > 1 {
                let ext = f.extension().map_or(String::new(), |e| e.to_string_lossy().into_owned());
                format!("{s}_{ext}.png")
            } else {
                format!("{s}.png")
            }
        })
        .collect()
}
