//! FastGAN's blocks (models.py), with its state-dict names: every convolution bias-free
//! and under spectral norm, BatchNorm after it, GLU halving the channels on the way up,
//! LeakyReLU(0.2) on the way down.

use crate::error::Result;
use crate::gpu::Device;
use crate::nn::{
    spectral_conv, Activation, ConvTranspose2d, Layer, Module, NoiseInjection, NoiseQueue, Norm, Resample,
    Role, Sequential, SpectralNorm,
};
use crate::ops::conv2d::ConvTranspose2d as ConvTOpts;
use crate::tensor::Tensor;

/// InitLayer(nz, c): z as [n, nz, 1, 1] → ConvT 4×4 (nz → 2c) → BN → GLU, giving [n, c, 4, 4].
pub fn init_layer(d: &Device, nz: usize, c: usize) -> Result<Sequential> {
    let convt = ConvTranspose2d::new(d, nz, 2 * c, 4, ConvTOpts::default(), false)?;
    Ok(Sequential::new().push(SpectralNorm::new(convt)?).push(Norm::batch(d, 2 * c)?).push(Activation::Glu))
}

/// UpBlock(i, o): nearest ×2 → conv 3×3 (i → 2o) → BN → GLU. Also SimpleDecoder's up-block.
pub fn up_block(d: &Device, i: usize, o: usize) -> Result<Sequential> {
    Ok(Sequential::new()
        .push(Resample::UpsampleNearest(2))
        .push(spectral_conv(d, i, 2 * o, 3, 1, 1)?)
        .push(Norm::batch(d, 2 * o)?)
        .push(Activation::Glu))
}

/// UpBlockComp(i, o): nearest ×2 → conv 3×3 (i → 2o) → noise → BN → GLU → conv 3×3
/// (o → 2o) → noise → BN → GLU; the noise maps come from `noise`.
pub fn up_block_comp(d: &Device, i: usize, o: usize, noise: &NoiseQueue) -> Result<Sequential> {
    Ok(Sequential::new()
        .push(Resample::UpsampleNearest(2))
        .push(spectral_conv(d, i, 2 * o, 3, 1, 1)?)
        .push(NoiseInjection::new(d, noise)?)
        .push(Norm::batch(d, 2 * o)?)
        .push(Activation::Glu)
        .push(spectral_conv(d, o, 2 * o, 3, 1, 1)?)
        .push(NoiseInjection::new(d, noise)?)
        .push(Norm::batch(d, 2 * o)?)
        .push(Activation::Glu))
}

/// A block whose layers sit under `main` (DownBlock, SimpleDecoder).
pub struct Main {
    pub main: Sequential,
}

impl Module for Main {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        crate::nn::module::visit_child(&self.main, "main", f);
    }
    fn set_training(&self, on: bool) {
        self.main.set_training(on);
    }
}

impl Layer for Main {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.main.forward(x)
    }
}

/// DownBlock(i, o): conv 4×4 s2 p1 → BN → LeakyReLU(0.2); halves the side.
pub fn down_block(d: &Device, i: usize, o: usize) -> Result<Main> {
    let main = Sequential::new()
        .push(spectral_conv(d, i, o, 4, 2, 1)?)
        .push(Norm::batch(d, o)?)
        .push(Activation::LeakyRelu(0.2));
    Ok(Main { main })
}

/// DownBlockComp(i, o): the mean of two paths that both halve the side,
/// main = conv 4×4 s2 → BN → LReLU → conv 3×3 → BN → LReLU and
/// direct = avg-pool 2 → conv 1×1 → BN → LReLU.
pub struct DownBlockComp {
    pub main: Sequential,
    pub direct: Sequential,
}

impl DownBlockComp {
    pub fn new(d: &Device, i: usize, o: usize) -> Result<DownBlockComp> {
        let main = Sequential::new()
            .push(spectral_conv(d, i, o, 4, 2, 1)?)
            .push(Norm::batch(d, o)?)
            .push(Activation::LeakyRelu(0.2))
            .push(spectral_conv(d, o, o, 3, 1, 1)?)
            .push(Norm::batch(d, o)?)
            .push(Activation::LeakyRelu(0.2));
        let direct = Sequential::new()
            .push(Resample::AvgPool(2))
            .push(spectral_conv(d, i, o, 1, 1, 0)?)
            .push(Norm::batch(d, o)?)
            .push(Activation::LeakyRelu(0.2));
        Ok(DownBlockComp { main, direct })
    }
}

impl Module for DownBlockComp {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        crate::nn::module::visit_child(&self.main, "main", f);
        crate::nn::module::visit_child(&self.direct, "direct", f);
    }
    fn set_training(&self, on: bool) {
        self.main.set_training(on);
        self.direct.set_training(on);
    }
}

impl Layer for DownBlockComp {
    /// Shapes: [n, i, h, w] → [n, o, h/2, w/2].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.main.forward(x)?.add(&self.direct.forward(x)?)?.mul_scalar(0.5)
    }
}

/// SimpleDecoder(c_in): adaptive pool to 8 → four up-blocks (c_in → 4b → 2b → 2b → b at
/// 16, 32, 64, 128 px) → conv 3×3 to RGB → tanh, with base width b (32 in the reference).
pub fn simple_decoder(d: &Device, c_in: usize, base: usize) -> Result<Main> {
    let main = Sequential::new()
        .push(Resample::AdaptiveAvgPool(8))
        .push(up_block(d, c_in, 4 * base)?)
        .push(up_block(d, 4 * base, 2 * base)?)
        .push(up_block(d, 2 * base, 2 * base)?)
        .push(up_block(d, 2 * base, base)?)
        .push(spectral_conv(d, base, 3, 3, 1, 1)?)
        .push(Activation::Tanh);
    Ok(Main { main })
}
