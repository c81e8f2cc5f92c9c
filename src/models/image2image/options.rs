//! The generator and discriminator choices of the reference (`--netG`, `--netD`, `--ngf`,
//! `--ndf`, `--norm`, dropout, channel counts) and its `init_weights('normal', 0.02)`.

use super::args::value_name;
use super::nets::{
    nlayer_discriminator, pixel_discriminator, resnet_generator, unet_generator, Net, NetConfig, NormKind,
};
use crate::error::Result;
use crate::gpu::Device;
use crate::nn::init;
use crate::ops::pad::PadMode;

/// `--netG`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NetG {
    /// ResNet generator with 9 residual blocks (for 256-pixel images).
    #[value(name = "resnet_9blocks")]
    Resnet9,
    /// ResNet generator with 6 residual blocks (for 128-pixel images).
    #[value(name = "resnet_6blocks")]
    Resnet6,
    /// U-Net with 8 downsamplings (256-pixel images).
    #[value(name = "unet_256")]
    Unet256,
    /// U-Net with 7 downsamplings (128-pixel images).
    #[value(name = "unet_128")]
    Unet128,
}

/// `--netD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NetD {
    /// The 70×70 PatchGAN (3 layers).
    Basic,
    /// A PatchGAN with `--n-layers-d` layers.
    #[value(name = "n_layers")]
    NLayers,
    /// A 1×1 PixelGAN.
    Pixel,
}

/// The generator options the reference's train and test scripts share.
#[derive(Clone, Debug)]
pub struct GeneratorOptions {
    pub net_g: NetG,
    pub ngf: usize,
    pub norm: NormKind,
    pub dropout: bool,
    pub input_nc: usize,
    pub output_nc: usize,
}

impl GeneratorOptions {
    /// CycleGAN's defaults: resnet_9blocks, instance norm, no dropout.
    pub fn cyclegan() -> GeneratorOptions {
        GeneratorOptions {
            net_g: NetG::Resnet9,
            ngf: 64,
            norm: NormKind::Instance,
            dropout: false,
            input_nc: 3,
            output_nc: 3,
        }
    }

    /// pix2pix's defaults: unet_256, batch norm, dropout.
    pub fn pix2pix() -> GeneratorOptions {
        GeneratorOptions { net_g: NetG::Unet256, norm: NormKind::Batch, dropout: true, ..Self::cyclegan() }
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
        match self.net_g {
            NetG::Resnet9 => resnet_generator(d, c, 9, PadMode::Reflect),
            NetG::Resnet6 => resnet_generator(d, c, 6, PadMode::Reflect),
            NetG::Unet256 => unet_generator(d, c, 8),
            NetG::Unet128 => unet_generator(d, c, 7),
        }
    }

    /// The flags that rebuild this generator, for error messages.
    pub fn flags(&self) -> String {
        format!(
            "--netG {} --ngf {} --norm {} --input-nc {} --output-nc {}{}",
            value_name(&self.net_g),
            self.ngf,
            value_name(&self.norm),
            self.input_nc,
            self.output_nc,
            if self.dropout { "" } else { " --no-dropout" }
        )
    }
}

/// The discriminator options (`--netD`, `--ndf`, `--n-layers-d`).
#[derive(Clone, Copy, Debug)]
pub struct DiscriminatorOptions {
    pub net_d: NetD,
    pub ndf: usize,
    pub n_layers: usize,
}

impl DiscriminatorOptions {
    /// Builds a discriminator of images with `input_nc` channels.
    pub fn build(&self, d: &Device, input_nc: usize, norm: NormKind) -> Result<Net> {
        let c = NetConfig { input_nc, output_nc: 1, width: self.ndf, norm, dropout: false };
        match self.net_d {
            NetD::Basic => nlayer_discriminator(d, c, 3),
            NetD::NLayers => nlayer_discriminator(d, c, self.n_layers),
            NetD::Pixel => pixel_discriminator(d, c),
        }
    }
}

/// The reference's `init_weights('normal', 0.02)`: conv weights N(0, 0.02), norm weights
/// N(1, 0.02), biases 0.
pub fn init_normal(net: &dyn crate::nn::Module) -> Result<()> {
    use crate::nn::ModuleExt;
    for (name, t) in net.state_dict() {
        if name.ends_with("running_mean")
            || name.ends_with("running_var")
            || name.ends_with("num_batches_tracked")
        {
            continue;
        }
        match (name.ends_with("bias"), t.rank()) {
            (true, _) => init::constant(&t, 0.0)?,
            (false, 1) => init::normal(&t, 1.0, 0.02)?,
            (false, _) => init::normal(&t, 0.0, 0.02)?,
        }
    }
    Ok(())
}

/// The error for an image side a network cannot take.
fn bad_side(option: &str, side: usize, net: &str, why: String) -> crate::error::Error {
    crate::error::Error::Invalid { op: "options", msg: format!("{option} {side}: {net} {why}") }
}

impl GeneratorOptions {
    /// Checks that `side`-pixel square images pass through this generator (`option` names
    /// where the side came from): a ResNet halves them twice and doubles them back, and
    /// its reflection padding needs at least 2 pixels at the smallest scale; a U-Net halves
    /// them 7 or 8 times and joins each scale to its mirror.
    pub fn check_side(&self, side: usize, option: &str) -> Result<()> {
        let name = crate::models::image2image::args::value_name(&self.net_g);
        let (factor, min) = match self.net_g {
            NetG::Resnet9 | NetG::Resnet6 => (4, 8),
            NetG::Unet256 => (256, 256),
            NetG::Unet128 => (128, 128),
        };
        if side < min || !side.is_multiple_of(factor) {
            let why = format!("needs a multiple of {factor}, at least {min} (it halves the image {} times and doubles it back)", factor.trailing_zeros());
            return Err(bad_side(option, side, &name, why));
        }
        Ok(())
    }
}

impl DiscriminatorOptions {
    /// Checks that `side`-pixel images leave a PatchGAN at least one score: its stride-2
    /// layers halve them, and its two last 4x4 convolutions take one pixel each.
    pub fn check_side(&self, side: usize, option: &str) -> Result<()> {
        let layers = match self.net_d {
            NetD::Basic => 3,
            NetD::NLayers => self.n_layers,
            NetD::Pixel => return Ok(()),
        };
        let smallest = (0..layers).fold(side, |s, _| s / 2);
        if smallest < 3 {
            let why = format!(
                "with {layers} layers needs at least {} pixels (its stride-2 layers halve the image {layers} times and its last two convolutions take a pixel each)",
                3usize << layers
            );
            return Err(bad_side(option, side, "the PatchGAN discriminator", why));
        }
        Ok(())
    }
}
