//! Convolution and linear layers, with PyTorch's default initialisation and names
//! (`weight`, `bias`).

use super::init::pytorch_default;
use super::module::{Layer, Module, Role};
use crate::error::Result;
use crate::gpu::Device;
use crate::ops::conv2d::{Conv2d as ConvOpts, ConvTranspose2d as ConvTOpts};
use crate::tensor::Tensor;

/// A layer whose weight can be supplied from outside (spectral norm computes it).
pub trait Weighted: Layer {
    fn weight(&self) -> &Tensor;
    /// The forward pass with `weight` in place of the layer's own.
    fn forward_with(&self, x: &Tensor, weight: &Tensor) -> Result<Tensor>;
    /// Which weight axis holds the output channels (0, or 1 for transposed convolutions).
    fn output_axis(&self) -> usize {
        0
    }
    /// Visits the tensors other than `weight` (the bias).
    fn visit_rest(&self, f: &mut dyn FnMut(&str, &Tensor, Role));
}

fn visit_weight_and_rest(l: &dyn Weighted, f: &mut dyn FnMut(&str, &Tensor, Role)) {
    f("weight", l.weight(), Role::Parameter);
    l.visit_rest(f);
}

/// `nn.Conv2d`: weight [out, in / groups, k, k], optional bias [out].
pub struct Conv2d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub opts: ConvOpts,
}

impl Conv2d {
    /// A layer with PyTorch's default initialisation.
    pub fn new(
        d: &Device,
        c_in: usize,
        c_out: usize,
        k: usize,
        opts: ConvOpts,
        bias: bool,
    ) -> Result<Conv2d> {
        let weight = Tensor::zeros(d, &[c_out, c_in / opts.groups.max(1), k, k])?.requires_grad_();
        let bias = if bias { Some(Tensor::zeros(d, &[c_out])?.requires_grad_()) } else { None };
        pytorch_default(&weight, bias.as_ref())?;
        Ok(Conv2d { weight, bias, opts })
    }
}

impl Module for Conv2d {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_weight_and_rest(self, f);
    }
}

impl Layer for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(x, &self.weight)
    }
}

impl Weighted for Conv2d {
    fn weight(&self) -> &Tensor {
        &self.weight
    }
    fn forward_with(&self, x: &Tensor, weight: &Tensor) -> Result<Tensor> {
        x.conv2d(weight, self.bias.as_ref(), self.opts)
    }
    fn visit_rest(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        if let Some(b) = &self.bias {
            f("bias", b, Role::Parameter);
        }
    }
}

/// `nn.ConvTranspose2d`: weight [in, out / groups, k, k], optional bias [out].
pub struct ConvTranspose2d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub opts: ConvTOpts,
}

impl ConvTranspose2d {
    pub fn new(
        d: &Device,
        c_in: usize,
        c_out: usize,
        k: usize,
        opts: ConvTOpts,
        bias: bool,
    ) -> Result<ConvTranspose2d> {
        let weight = Tensor::zeros(d, &[c_in, c_out / opts.conv.groups.max(1), k, k])?.requires_grad_();
        let bias = if bias { Some(Tensor::zeros(d, &[c_out])?.requires_grad_()) } else { None };
        pytorch_default(&weight, bias.as_ref())?;
        Ok(ConvTranspose2d { weight, bias, opts })
    }
}

impl Module for ConvTranspose2d {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_weight_and_rest(self, f);
    }
}

impl Layer for ConvTranspose2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(x, &self.weight)
    }
}

impl Weighted for ConvTranspose2d {
    fn weight(&self) -> &Tensor {
        &self.weight
    }
    fn forward_with(&self, x: &Tensor, weight: &Tensor) -> Result<Tensor> {
        x.conv_transpose2d(weight, self.bias.as_ref(), self.opts)
    }
    fn output_axis(&self) -> usize {
        1
    }
    fn visit_rest(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        if let Some(b) = &self.bias {
            f("bias", b, Role::Parameter);
        }
    }
}

/// `nn.Linear`: y = x·Wᵀ + b with weight [out, in].
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

impl Linear {
    pub fn new(d: &Device, c_in: usize, c_out: usize, bias: bool) -> Result<Linear> {
        let weight = Tensor::zeros(d, &[c_out, c_in])?.requires_grad_();
        let bias = if bias { Some(Tensor::zeros(d, &[c_out])?.requires_grad_()) } else { None };
        pytorch_default(&weight, bias.as_ref())?;
        Ok(Linear { weight, bias })
    }
}

impl Module for Linear {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_weight_and_rest(self, f);
    }
}

impl Layer for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(x, &self.weight)
    }
}

impl Weighted for Linear {
    fn weight(&self) -> &Tensor {
        &self.weight
    }
    fn forward_with(&self, x: &Tensor, weight: &Tensor) -> Result<Tensor> {
        x.linear(weight, self.bias.as_ref())
    }
    fn visit_rest(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        if let Some(b) = &self.bias {
            f("bias", b, Role::Parameter);
        }
    }
}
