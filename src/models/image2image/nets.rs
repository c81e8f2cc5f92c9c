//! The networks of CycleGAN and pix2pix (junyanz/pytorch-CycleGAN-and-pix2pix), with the
//! reference's state-dict names, so its `.pth` checkpoints load as they are:
//! ResnetGenerator (`model.N`, blocks `model.N.conv_block.M`), UnetGenerator (nested
//! `model.model.1.model.3…`), NLayerDiscriminator (`model.N`), PixelDiscriminator (`net.N`).

use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::nn::{Activation, Conv2d, ConvTranspose2d, Dropout, Layer, Module, Norm, Pad, Role, Sequential};
use crate::ops::conv2d::{Conv2d as ConvOpts, ConvTranspose2d as ConvTOpts};
use crate::ops::pad::PadMode;
use crate::tensor::Tensor;

/// `--norm`: instance (no affine, no running statistics), batch, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NormKind {
    /// InstanceNorm2d without affine weights or running statistics.
    Instance,
    /// BatchNorm2d with affine weights and running statistics.
    Batch,
    /// No normalisation.
    None,
}

impl NormKind {
    /// The reference's bias rule: convolutions followed by a norm have a bias only with
    /// instance norm (and, as a quirk, not with `none` either).
    fn conv_bias(self) -> bool {
        self == NormKind::Instance
    }

    /// The norm layer, or None for `none` (the reference's Identity takes no index slot
    /// of its own there, so callers push nothing).
    fn layer(self, d: &Device, c: usize) -> Result<Option<Norm>> {
        Ok(match self {
            NormKind::Instance => Some(Norm::instance(d, c, false, false)?),
            NormKind::Batch => Some(Norm::batch(d, c)?),
            NormKind::None => None,
        })
    }
}

fn push_norm(seq: Sequential, norm: NormKind, d: &Device, c: usize) -> Result<Sequential> {
    // nn.Identity still occupies an index in the reference's Sequential.
    Ok(match norm.layer(d, c)? {
        Some(n) => seq.push(n),
        None => seq.push(Activation::Identity),
    })
}

/// `ResnetBlock`: x + [pad, conv3x3, norm, ReLU, (dropout), pad, conv3x3, norm](x).
pub struct ResnetBlock {
    pub conv_block: Sequential,
}

impl ResnetBlock {
    pub fn new(
        d: &Device,
        dim: usize,
        padding: PadMode,
        norm: NormKind,
        dropout: bool,
    ) -> Result<ResnetBlock> {
        let bias = norm.conv_bias();
        let (pad_layer, conv_pad) = match padding {
            PadMode::Zeros => (None, 1),
            mode => (Some(mode), 0),
        };
        let mut seq = Sequential::new();
        for second in [false, true] {
            if let Some(mode) = pad_layer {
                seq = seq.push(Pad { padding: (1, 1, 1, 1), mode });
            }
            seq = seq.push(Conv2d::new(d, dim, dim, 3, ConvOpts::default().padding(conv_pad), bias)?);
            seq = push_norm(seq, norm, d, dim)?;
            if !second {
                seq = seq.push(Activation::Relu);
                if dropout {
                    seq = seq.push(Dropout::new(0.5));
                }
            }
        }
        Ok(ResnetBlock { conv_block: seq })
    }
}

impl Module for ResnetBlock {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        crate::nn::module::visit_child(&self.conv_block, "conv_block", f);
    }
    fn set_training(&self, on: bool) {
        self.conv_block.set_training(on);
    }
    fn ignores_legacy_key(&self, name: &str) -> bool {
        name.strip_prefix("conv_block.").is_some_and(|rest| self.conv_block.ignores_legacy_key(rest))
    }
}

impl Layer for ResnetBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.add(&self.conv_block.forward(x)?)
    }
}

/// Options shared by the generators and discriminators.
#[derive(Clone, Copy, Debug)]
pub struct NetConfig {
    pub input_nc: usize,
    pub output_nc: usize,
    pub width: usize,
    pub norm: NormKind,
    pub dropout: bool,
}

/// A network whose tensors sit under one child named `model` (or `net`).
pub struct Net {
    pub root: Box<dyn Layer>,
    name: &'static str,
}

impl Net {
    fn new(root: impl Layer + 'static, name: &'static str) -> Net {
        Net { root: Box::new(root), name }
    }
}

impl Module for Net {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        crate::nn::module::visit_child(self.root.as_ref(), self.name, f);
    }
    fn set_training(&self, on: bool) {
        self.root.set_training(on);
    }
    fn ignores_legacy_key(&self, name: &str) -> bool {
        name.strip_prefix(self.name)
            .and_then(|r| r.strip_prefix('.'))
            .is_some_and(|r| self.root.ignores_legacy_key(r))
    }
}

impl Layer for Net {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.root.forward(x)
    }
}

/// `ResnetGenerator` (`resnet_9blocks`, `resnet_6blocks`): ngf = `c.width`.
pub fn resnet_generator(d: &Device, c: NetConfig, blocks: usize, padding: PadMode) -> Result<Net> {
    let (ngf, bias) = (c.width, c.norm.conv_bias());
    let mut seq = Sequential::new()
        .push(Pad { padding: (3, 3, 3, 3), mode: PadMode::Reflect })
        .push(Conv2d::new(d, c.input_nc, ngf, 7, ConvOpts::default(), bias)?);
    seq = push_norm(seq, c.norm, d, ngf)?.push(Activation::Relu);
    for i in 0..2 {
        let m = 1 << i;
        seq = seq.push(Conv2d::new(
            d,
            ngf * m,
            ngf * m * 2,
            3,
            ConvOpts::default().stride(2).padding(1),
            bias,
        )?);
        seq = push_norm(seq, c.norm, d, ngf * m * 2)?.push(Activation::Relu);
    }
    for _ in 0..blocks {
        seq = seq.push(ResnetBlock::new(d, ngf * 4, padding, c.norm, c.dropout)?);
    }
    for i in 0..2 {
        let m = 4 >> i;
        let up = ConvTOpts::default().stride(2).padding(1).output_padding(1);
        seq = seq.push(ConvTranspose2d::new(d, ngf * m, ngf * m / 2, 3, up, bias)?);
        seq = push_norm(seq, c.norm, d, ngf * m / 2)?.push(Activation::Relu);
    }
    seq = seq
        .push(Pad { padding: (3, 3, 3, 3), mode: PadMode::Reflect })
        .push(Conv2d::new(d, ngf, c.output_nc, 7, ConvOpts::default(), true)?)
        .push(Activation::Tanh);
    Ok(Net::new(seq, "model"))
}

/// `NLayerDiscriminator` (`basic` is 3 layers, the 70x70 PatchGAN): ndf = `c.width`.
pub fn nlayer_discriminator(d: &Device, c: NetConfig, n_layers: usize) -> Result<Net> {
    let (ndf, bias) = (c.width, c.norm.conv_bias());
    let down = ConvOpts::default().stride(2).padding(1);
    let mut seq = Sequential::new()
        .push(Conv2d::new(d, c.input_nc, ndf, 4, down, true)?)
        .push(Activation::LeakyRelu(0.2));
    let mut mult = 1;
    for n in 1..=n_layers {
        let prev = mult;
        mult = (1 << n).min(8);
        let opts = if n < n_layers { down } else { ConvOpts::default().padding(1) };
        seq = seq.push(Conv2d::new(d, ndf * prev, ndf * mult, 4, opts, bias)?);
        seq = push_norm(seq, c.norm, d, ndf * mult)?.push(Activation::LeakyRelu(0.2));
    }
    seq = seq.push(Conv2d::new(d, ndf * mult, 1, 4, ConvOpts::default().padding(1), true)?);
    Ok(Net::new(seq, "model"))
}

/// `PixelDiscriminator` (1x1 PatchGAN): ndf = `c.width`.
pub fn pixel_discriminator(d: &Device, c: NetConfig) -> Result<Net> {
    let (ndf, bias) = (c.width, c.norm.conv_bias());
    let one = ConvOpts::default();
    let mut seq = Sequential::new()
        .push(Conv2d::new(d, c.input_nc, ndf, 1, one, true)?)
        .push(Activation::LeakyRelu(0.2));
    seq = seq.push(Conv2d::new(d, ndf, ndf * 2, 1, one, bias)?);
    seq = push_norm(seq, c.norm, d, ndf * 2)?.push(Activation::LeakyRelu(0.2));
    seq = seq.push(Conv2d::new(d, ndf * 2, 1, 1, one, bias)?);
    Ok(Net::new(seq, "net"))
}

/// `UnetSkipConnectionBlock`: [LReLU, down conv, norm, child, ReLU, up conv, norm,
/// (dropout)], returning cat(LReLU(x), block(x)) — the skip is the *activated* input,
/// because the reference's in-place LeakyReLU overwrites x before the concatenation.
pub struct UnetBlock {
    pub model: Sequential,
    outermost: bool,
}

impl Module for UnetBlock {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        crate::nn::module::visit_child(&self.model, "model", f);
    }
    fn set_training(&self, on: bool) {
        self.model.set_training(on);
    }
    fn ignores_legacy_key(&self, name: &str) -> bool {
        name.strip_prefix("model.").is_some_and(|r| self.model.ignores_legacy_key(r))
    }
}

impl Layer for UnetBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if self.outermost {
            return self.model.forward(x);
        }
        // The first layer is the LeakyReLU that the reference applies in place.
        let activated = self.model.layers[0].forward(x)?;
        let inner = self.model.layers[1..].iter().try_fold(activated.clone(), |h, l| l.forward(&h))?;
        Tensor::concat(&[activated, inner], 1)
    }
}

fn unet_block(
    d: &Device,
    outer: usize,
    inner: usize,
    input: Option<usize>,
    child: Option<UnetBlock>,
    norm: NormKind,
    dropout: bool,
) -> Result<UnetBlock> {
    let bias = norm.conv_bias();
    let k4 = ConvOpts::default().stride(2).padding(1);
    let up = ConvTOpts::default().stride(2).padding(1);
    let outermost = input.is_some();
    let down_conv = Conv2d::new(d, input.unwrap_or(outer), inner, 4, k4, bias)?;
    let mut seq = Sequential::new();
    match child {
        None => {
            // innermost: LReLU, down conv, ReLU, up conv, norm
            seq = seq.push(Activation::LeakyRelu(0.2)).push(down_conv).push(Activation::Relu);
            seq = seq.push(ConvTranspose2d::new(d, inner, outer, 4, up, bias)?);
            seq = push_norm(seq, norm, d, outer)?;
        }
        Some(child) if outermost => {
            seq = seq.push(down_conv).push(child).push(Activation::Relu);
            seq = seq.push(ConvTranspose2d::new(d, inner * 2, outer, 4, up, true)?).push(Activation::Tanh);
        }
        Some(child) => {
            seq = seq.push(Activation::LeakyRelu(0.2)).push(down_conv);
            seq = push_norm(seq, norm, d, inner)?.push(child).push(Activation::Relu);
            seq = seq.push(ConvTranspose2d::new(d, inner * 2, outer, 4, up, bias)?);
            seq = push_norm(seq, norm, d, outer)?;
            if dropout {
                seq = seq.push(Dropout::new(0.5));
            }
        }
    }
    Ok(UnetBlock { model: seq, outermost })
}

/// `UnetGenerator` with `num_downs` downsamplings (`unet_256`: 8, `unet_128`: 7).
pub fn unet_generator(d: &Device, c: NetConfig, num_downs: usize) -> Result<Net> {
    if num_downs < 5 {
        return Err(Error::Invalid {
            op: "unet_generator",
            msg: format!("num_downs must be at least 5, got {num_downs}"),
        });
    }
    let ngf = c.width;
    let mut block = unet_block(d, ngf * 8, ngf * 8, None, None, c.norm, false)?;
    for _ in 0..num_downs - 5 {
        block = unet_block(d, ngf * 8, ngf * 8, None, Some(block), c.norm, c.dropout)?;
    }
    block = unet_block(d, ngf * 4, ngf * 8, None, Some(block), c.norm, false)?;
    block = unet_block(d, ngf * 2, ngf * 4, None, Some(block), c.norm, false)?;
    block = unet_block(d, ngf, ngf * 2, None, Some(block), c.norm, false)?;
    block = unet_block(d, c.output_nc, ngf, Some(c.input_nc), Some(block), c.norm, false)?;
    // The reference's UnetGenerator holds the outermost block as `model`; that block's
    // own Sequential is `model` again, hence `model.model.N`.
    Ok(Net::new(block, "model"))
}
