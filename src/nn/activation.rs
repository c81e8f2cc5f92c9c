//! Parameterless layers, so that `Sequential` indices match PyTorch's.

use super::module::{Layer, Module, Role};
use crate::error::Result;
use crate::tensor::Tensor;
use std::cell::Cell;

/// An elementwise activation.
#[derive(Clone, Copy, Debug)]
pub enum Activation {
    /// `nn.Identity`: takes an index in a Sequential and does nothing.
    Identity,
    Relu,
    LeakyRelu(f32),
    Tanh,
    Sigmoid,
    /// x·sigmoid(x) (FastGAN's SLE).
    Swish,
    /// Gated linear unit over channels: the first half times sigmoid of the second.
    Glu,
}

impl Module for Activation {
    fn visit(&self, _: &mut dyn FnMut(&str, &Tensor, Role)) {}
}

impl Layer for Activation {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match *self {
            Activation::Identity => Ok(x.clone()),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(s) => x.leaky_relu(s),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Swish => x.mul(&x.sigmoid()?),
            Activation::Glu => x.glu(1),
        }
    }

    fn as_norm_act(&self) -> Option<crate::ops::norm::NormAct> {
        match *self {
            Activation::Relu => Some(crate::ops::norm::NormAct::RELU),
            Activation::LeakyRelu(s) => Some(crate::ops::norm::NormAct::LeakyRelu(s)),
            _ => None,
        }
    }
}

/// `nn.Dropout(p)`: active in train mode only.
pub struct Dropout {
    pub p: f32,
    training: Cell<bool>,
}

impl Dropout {
    pub fn new(p: f32) -> Dropout {
        Dropout { p, training: Cell::new(true) }
    }
}

impl Module for Dropout {
    fn visit(&self, _: &mut dyn FnMut(&str, &Tensor, Role)) {}
    fn set_training(&self, on: bool) {
        self.training.set(on);
    }
}

impl Layer for Dropout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.dropout(self.p, self.training.get())
    }
}

/// `nn.ReflectionPad2d` / `nn.ReplicationPad2d` / zero padding, as a layer.
pub struct Pad {
    pub padding: crate::ops::pad::Padding,
    pub mode: crate::ops::pad::PadMode,
}

impl Module for Pad {
    fn visit(&self, _: &mut dyn FnMut(&str, &Tensor, Role)) {}
}

impl Layer for Pad {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.pad2d(self.padding, self.mode)
    }
}

/// Parameterless resampling of the last two axes, as a layer.
#[derive(Clone, Copy, Debug)]
pub enum Resample {
    /// `nn.Upsample(scale_factor = s, mode = 'nearest')`.
    UpsampleNearest(usize),
    /// `nn.AvgPool2d(k, k)`.
    AvgPool(usize),
    /// `nn.AdaptiveAvgPool2d(side)`.
    AdaptiveAvgPool(usize),
}

impl Module for Resample {
    fn visit(&self, _: &mut dyn FnMut(&str, &Tensor, Role)) {}
}

impl Layer for Resample {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match *self {
            Resample::UpsampleNearest(s) => x.upsample_nearest(s),
            Resample::AvgPool(k) => x.avg_pool2d(k, k),
            Resample::AdaptiveAvgPool(side) => x.adaptive_avg_pool2d(side, side),
        }
    }
}

/// `nn.MaxPool2d(kernel, stride)` for windows that tile the input (kernel == stride), as in
/// VGG's features.
#[derive(Clone, Copy, Debug)]
pub struct MaxPool2d {
    pub kernel: usize,
    pub stride: usize,
}

impl Module for MaxPool2d {
    fn visit(&self, _: &mut dyn FnMut(&str, &Tensor, Role)) {}
}

impl Layer for MaxPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.max_pool2d(self.kernel, self.stride)
    }
}
