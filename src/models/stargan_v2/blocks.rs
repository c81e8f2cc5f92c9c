//! StarGAN v2's building blocks (core/model.py): the pre-activation residual block of the
//! encoder, style encoder and discriminator; AdaIN and the AdaIN residual block of the
//! decoder; the fixed high-pass filter of the mask path. Names are the reference's.

use crate::error::Result;
use crate::gpu::Device;
use crate::nn::module::visit_child;
use crate::nn::{Conv2d, Layer, Linear, Module, Norm, Role};
use crate::ops::conv2d::Conv2d as ConvOpts;
use crate::ops::norm::NormAct;
use crate::tensor::Tensor;

/// The slope of every LeakyReLU in StarGAN v2.
pub const SLOPE: f32 = 0.2;

fn conv(d: &Device, c_in: usize, c_out: usize, k: usize, bias: bool) -> Result<Conv2d> {
    Conv2d::new(d, c_in, c_out, k, ConvOpts::default().padding(k / 2), bias)
}

/// ResBlk: (shortcut(x) + residual(x)) / √2, where
/// shortcut = [1×1 conv if the width changes] → [avg-pool 2], and
/// residual = [IN] → LReLU → conv3×3 → [avg-pool 2] → [IN] → LReLU → conv3×3.
pub struct ResBlk {
    pub conv1: Conv2d,
    pub conv2: Conv2d,
    pub norm1: Option<Norm>,
    pub norm2: Option<Norm>,
    pub conv1x1: Option<Conv2d>,
    pub downsample: bool,
}

impl ResBlk {
    pub fn new(
        d: &Device,
        dim_in: usize,
        dim_out: usize,
        normalize: bool,
        downsample: bool,
    ) -> Result<ResBlk> {
        let norm = || -> Result<Option<Norm>> {
            Ok(if normalize { Some(Norm::instance(d, dim_in, true, false)?) } else { None })
        };
        Ok(ResBlk {
            conv1: conv(d, dim_in, dim_in, 3, true)?,
            conv2: conv(d, dim_in, dim_out, 3, true)?,
            norm1: norm()?,
            norm2: norm()?,
            conv1x1: if dim_in != dim_out { Some(conv(d, dim_in, dim_out, 1, false)?) } else { None },
            downsample,
        })
    }

    fn shortcut(&self, x: &Tensor) -> Result<Tensor> {
        let x = match &self.conv1x1 {
            Some(c) => c.forward(x)?,
            None => x.clone(),
        };
        if self.downsample {
            return x.avg_pool2d(2, 2);
        }
        Ok(x)
    }

    fn residual(&self, x: &Tensor) -> Result<Tensor> {
        // norm → LeakyReLU in one kernel where there is a norm.
        let act = |norm: &Option<Norm>, h: &Tensor| match norm {
            Some(n) => n.forward_act(h, NormAct::LeakyRelu(SLOPE)),
            None => h.leaky_relu(SLOPE),
        };
        let mut h = self.conv1.forward(&act(&self.norm1, x)?)?;
        if self.downsample {
            h = h.avg_pool2d(2, 2)?;
        }
        self.conv2.forward(&act(&self.norm2, &h)?)
    }
}

impl Module for ResBlk {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.conv1, "conv1", f);
        visit_child(&self.conv2, "conv2", f);
        if let Some(n) = &self.norm1 {
            visit_child(n, "norm1", f);
        }
        if let Some(n) = &self.norm2 {
            visit_child(n, "norm2", f);
        }
        if let Some(c) = &self.conv1x1 {
            visit_child(c, "conv1x1", f);
        }
    }
}

impl Layer for ResBlk {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.shortcut(x)?.add(&self.residual(x)?)?.mul_scalar(std::f32::consts::FRAC_1_SQRT_2)
    }
}

/// AdaIN: (1 + γ)·IN(x) + β with [γ, β] = fc(s) split over channels (IN without affine
/// parameters or running statistics).
pub struct AdaIn {
    pub fc: Linear,
    pub channels: usize,
}

impl AdaIn {
    pub fn new(d: &Device, style_dim: usize, channels: usize) -> Result<AdaIn> {
        Ok(AdaIn { fc: Linear::new(d, style_dim, 2 * channels, true)?, channels })
    }

    /// Shapes: x [n, C, h, w], s [n, style_dim] → [n, C, h, w].
    pub fn forward(&self, x: &Tensor, s: &Tensor) -> Result<Tensor> {
        self.forward_act(x, s, NormAct::None)
    }

    /// AdaIN then `act`, as one pass of the norm kernel with [n, C] scale and shift.
    pub fn forward_act(&self, x: &Tensor, s: &Tensor, act: NormAct) -> Result<Tensor> {
        let (n, c) = (s.shape()[0], self.channels);
        let h = self.fc.forward(s)?.reshape(&[n, 2 * c])?;
        let (gamma, beta) = (h.narrow(1, 0, c)?, h.narrow(1, c, c)?);
        x.modulated_instance_norm(&gamma.add_scalar(1.0)?, &beta, 1e-5, act)
    }
}

impl Module for AdaIn {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.fc, "fc", f);
    }
}

/// AdainResBlk: residual = AdaIN → LReLU → [nearest ×2] → conv3×3 → AdaIN → LReLU →
/// conv3×3; shortcut = [nearest ×2] → [1×1 conv]. With w_hpf = 0 the output is
/// (residual + shortcut)/√2; with w_hpf > 0 the residual alone (its 1×1 conv then exists
/// but is unused, as in the reference).
pub struct AdainResBlk {
    pub conv1: Conv2d,
    pub conv2: Conv2d,
    pub norm1: AdaIn,
    pub norm2: AdaIn,
    pub conv1x1: Option<Conv2d>,
    pub upsample: bool,
    pub w_hpf: f32,
}

impl AdainResBlk {
    pub fn new(
        d: &Device,
        dim_in: usize,
        dim_out: usize,
        style_dim: usize,
        w_hpf: f32,
        upsample: bool,
    ) -> Result<AdainResBlk> {
        Ok(AdainResBlk {
            conv1: conv(d, dim_in, dim_out, 3, true)?,
            conv2: conv(d, dim_out, dim_out, 3, true)?,
            norm1: AdaIn::new(d, style_dim, dim_in)?,
            norm2: AdaIn::new(d, style_dim, dim_out)?,
            conv1x1: if dim_in != dim_out { Some(conv(d, dim_in, dim_out, 1, false)?) } else { None },
            upsample,
            w_hpf,
        })
    }

    fn shortcut(&self, x: &Tensor) -> Result<Tensor> {
        let x = if self.upsample { x.upsample_nearest(2)? } else { x.clone() };
        match &self.conv1x1 {
            Some(c) => c.forward(&x),
            None => Ok(x),
        }
    }

    fn residual(&self, x: &Tensor, s: &Tensor) -> Result<Tensor> {
        let mut h = self.norm1.forward_act(x, s, NormAct::LeakyRelu(SLOPE))?;
        if self.upsample {
            h = h.upsample_nearest(2)?;
        }
        h = self.conv1.forward(&h)?;
        h = self.norm2.forward_act(&h, s, NormAct::LeakyRelu(SLOPE))?;
        self.conv2.forward(&h)
    }

    /// Shapes: x [n, dim_in, h, w], s [n, style_dim] → [n, dim_out, h', w'].
    pub fn forward(&self, x: &Tensor, s: &Tensor) -> Result<Tensor> {
        let out = self.residual(x, s)?;
        if self.w_hpf == 0.0 {
            return out.add(&self.shortcut(x)?)?.mul_scalar(std::f32::consts::FRAC_1_SQRT_2);
        }
        Ok(out)
    }
}

impl Module for AdainResBlk {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.conv1, "conv1", f);
        visit_child(&self.conv2, "conv2", f);
        visit_child(&self.norm1, "norm1", f);
        visit_child(&self.norm2, "norm2", f);
        if let Some(c) = &self.conv1x1 {
            visit_child(c, "conv1x1", f);
        }
    }
}

/// HighPass: the fixed depthwise 3×3 filter [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]] / w_hpf with
/// zero padding 1 on every channel; its kernel is the buffer `filter`.
pub struct HighPass {
    pub filter: Tensor,
}

impl HighPass {
    pub fn new(d: &Device, w_hpf: f32) -> Result<HighPass> {
        let mut k = [-1.0f32 / w_hpf; 9];
        k[4] = 8.0 / w_hpf;
        Ok(HighPass { filter: Tensor::from_slice(d, &k, &[3, 3])? })
    }
}

impl Module for HighPass {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        f("filter", &self.filter, Role::Buffer);
    }
}

impl Layer for HighPass {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = x.shape()[1];
        let w = self.filter.reshape(&[1, 1, 3, 3])?.expand(&[c, 1, 3, 3])?;
        x.conv2d(&w, None, ConvOpts::default().padding(1).groups(c))
    }
}
