//! Spectral normalisation as `torch.nn.utils.spectral_norm` (the old API the references
//! use): the wrapped layer's weight becomes the parameter `weight_orig`, with buffers
//! `weight_u` and `weight_v`; each forward in train mode runs one power iteration
//! (eps 1e-12) and divides by σ = uᵀ·W·v. Eval mode runs no iteration.

use super::layers::Weighted;
use super::module::{Layer, Module, Role};
use crate::autograd::no_grad;
use crate::error::Result;
use crate::ops::spectral::{spectral_normalise, SpectralMatrix};
use crate::tensor::Tensor;
use std::cell::Cell;

pub struct SpectralNorm<L: Weighted> {
    pub inner: L,
    pub weight_orig: Tensor,
    pub u: Tensor,
    pub v: Tensor,
    pub eps: f32,
    training: Cell<bool>,
}

/// x / max(‖x‖, eps) for a vector (the floor as a clamp: no constant to upload).
fn normalize(x: &Tensor, eps: f32) -> Result<Tensor> {
    let norm = x.mul(x)?.sum_all()?.sqrt()?.clamp(eps, f32::MAX)?;
    x.div(&norm)
}

impl<L: Weighted> SpectralNorm<L> {
    /// Wraps `inner`: its weight becomes `weight_orig`; u and v start as normalised
    /// normal vectors, as in PyTorch.
    pub fn new(inner: L) -> Result<Self> {
        let w = inner.weight().clone();
        let rows = w.shape()[inner.output_axis()];
        let cols = w.numel() / rows;
        let d = w.device().clone();
        let u = normalize(&Tensor::randn(&d, &[rows])?, 1e-12)?;
        let v = normalize(&Tensor::randn(&d, &[cols])?, 1e-12)?;
        Ok(SpectralNorm { inner, weight_orig: w, u, v, eps: 1e-12, training: Cell::new(true) })
    }

    /// The weight as a matrix [output channels, everything else].
    fn matrix(&self) -> Result<Tensor> {
        let w = &self.weight_orig;
        let axis = self.inner.output_axis();
        let rows = w.shape()[axis];
        let moved = if axis == 0 { w.clone() } else { w.transpose(0, axis as isize)? };
        moved.reshape(&[rows, w.numel() / rows])
    }

    /// weight_orig / σ, after a power iteration in train mode: three dispatches
    /// (`ops::spectral`) reading the weight in place.
    pub fn weight(&self) -> Result<Tensor> {
        let m = SpectralMatrix::of(&self.weight_orig, self.inner.output_axis())?;
        let training = self.training.get();
        let out = spectral_normalise(&self.weight_orig, &self.u, &self.v, m, self.eps, training)?;
        if training {
            self.u.assign(&out.u)?;
            self.v.assign(&out.v)?;
        }
        Ok(out.weight)
    }

    /// `weight` as tensor ops (products, norms, a division): the twin the kernels are
    /// tested against. It updates u and v the same way.
    pub fn weight_composite(&self) -> Result<Tensor> {
        let m = self.matrix()?;
        if self.training.get() {
            no_grad(|| -> Result<()> {
                let md = m.detach();
                // Wᵀu as uᵀW: a row vector times the matrix, without transposing W.
                let v = normalize(
                    &self.u.reshape(&[1, self.u.numel()])?.matmul(&md)?.reshape(&[self.v.numel()])?,
                    self.eps,
                )?;
                let u = normalize(
                    &md.matmul(&v.reshape(&[v.numel(), 1])?)?.reshape(&[self.u.numel()])?,
                    self.eps,
                )?;
                self.v.assign(&v)?;
                self.u.assign(&u)
            })?;
        }
        // `detach` keeps the current storage: a later forward's `assign` swaps in new
        // vectors and leaves these as this forward's backward needs them (PyTorch clones).
        let (u, v) = (self.u.detach(), self.v.detach());
        let wv = m.matmul(&v.reshape(&[v.numel(), 1])?)?.reshape(&[u.numel()])?;
        let sigma = u.mul(&wv)?.sum_all()?;
        self.weight_orig.div(&sigma)
    }
}

impl<L: Weighted> Module for SpectralNorm<L> {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        self.inner.visit_rest(f);
        f("weight_orig", &self.weight_orig, Role::Parameter);
        f("weight_u", &self.u, Role::Buffer);
        f("weight_v", &self.v, Role::Buffer);
    }
    fn set_training(&self, on: bool) {
        self.training.set(on);
        self.inner.set_training(on);
    }
}

impl<L: Weighted> Layer for SpectralNorm<L> {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.inner.forward_with(x, &self.weight()?)
    }
}

/// A bias-free `Conv2d(c_in, c_out, k, stride, padding)` under spectral norm, FastGAN's
/// `conv2d(..., bias=False)`.
pub fn spectral_conv(
    d: &crate::gpu::Device,
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    padding: usize,
) -> Result<SpectralNorm<super::Conv2d>> {
    let opts = crate::ops::conv2d::Conv2d::default().stride(stride).padding(padding);
    SpectralNorm::new(super::Conv2d::new(d, c_in, c_out, k, opts, false)?)
}
