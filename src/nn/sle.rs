//! Skip-layer excitation (FastGAN's SEBlock, Liu et al. 2021): a small feature map gates
//! the channels of a big one far later in the network. The small map is pooled to 4×4,
//! a 4×4 convolution takes it to one value per big channel, then Swish, a 1×1
//! convolution and a sigmoid give the gates:
//!
//!   SLE(small, big) = big ⊙ σ(conv1×1(swish(conv4×4(pool₄(small)))))
//!
//! broadcast over the big map's height and width. Both convolutions are bias-free and
//! under spectral norm, as in FastGAN; the state-dict names are its `main.1.*`, `main.3.*`.

use super::activation::{Activation, Resample};
use super::module::{visit_child, Layer, Module, Role, Sequential};
use super::spectral::spectral_conv;
use crate::error::Result;
use crate::gpu::Device;
use crate::tensor::Tensor;

pub struct Sle {
    pub main: Sequential,
}

impl Sle {
    /// Gates for a big map of `c_big` channels from a small map of `c_small`.
    pub fn new(d: &Device, c_small: usize, c_big: usize) -> Result<Sle> {
        let main = Sequential::new()
            .push(Resample::AdaptiveAvgPool(4))
            .push(spectral_conv(d, c_small, c_big, 4, 1, 0)?)
            .push(Activation::Swish)
            .push(spectral_conv(d, c_big, c_big, 1, 1, 0)?)
            .push(Activation::Sigmoid);
        Ok(Sle { main })
    }

    /// The gates alone. Shapes: small [n, c_small, h, w] → [n, c_big, 1, 1].
    pub fn gates(&self, small: &Tensor) -> Result<Tensor> {
        self.main.forward(small)
    }

    /// Shapes: small [n, c_small, h, w], big [n, c_big, H, W] → [n, c_big, H, W].
    pub fn forward(&self, small: &Tensor, big: &Tensor) -> Result<Tensor> {
        big.mul(&self.gates(small)?)
    }
}

impl Module for Sle {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.main, "main", f);
    }
    fn set_training(&self, on: bool) {
        self.main.set_training(on);
    }
}
