//! A CycleGAN ResNet generator written with raw ops, for the benchmark only (the model code
//! proper lives with the models): reflect-pad 7x7 conv, two stride-2 downsamplings, residual
//! blocks, two transposed-conv upsamplings, reflect-pad 7x7 conv, tanh. Every conv has a
//! bias and every norm is an affine instance norm, as the reference figures were measured.

use crate::error::Result;
use crate::gpu::Device;
use crate::ops::conv2d::{Conv2d, ConvTranspose2d};
use crate::ops::norm::{NormAct, NormKind};
use crate::ops::pad::PadMode;
use crate::tensor::Tensor;

/// Layer kinds in order; each consumes its parameters from the flat list.
#[derive(Clone, Copy)]
enum Layer {
    /// reflect pad 3, conv 7x7, norm + relu unless last (then tanh)
    Stem {
        c_in: usize,
        c_out: usize,
    },
    Down {
        c_in: usize,
        c_out: usize,
    },
    Block {
        c: usize,
    },
    Up {
        c_in: usize,
        c_out: usize,
    },
    Head {
        c_in: usize,
        c_out: usize,
    },
}

pub struct ResnetG {
    layers: Vec<Layer>,
    params: Vec<Tensor>,
}

fn conv_params(d: &Device, c_out: usize, c_in: usize, k: usize, norm: bool) -> Result<Vec<Tensor>> {
    let mut p = vec![Tensor::normal(d, &[c_out, c_in, k, k], 0.0, 0.02)?, Tensor::zeros(d, &[c_out])?];
    if norm {
        p.push(Tensor::normal(d, &[c_out], 1.0, 0.02)?);
        p.push(Tensor::zeros(d, &[c_out])?);
    }
    Ok(p)
}

impl ResnetG {
    pub fn new(d: &Device, ngf: usize, blocks: usize) -> Result<ResnetG> {
        let mut layers = vec![Layer::Stem { c_in: 3, c_out: ngf }];
        layers.push(Layer::Down { c_in: ngf, c_out: 2 * ngf });
        layers.push(Layer::Down { c_in: 2 * ngf, c_out: 4 * ngf });
        layers.extend((0..blocks).map(|_| Layer::Block { c: 4 * ngf }));
        layers.push(Layer::Up { c_in: 4 * ngf, c_out: 2 * ngf });
        layers.push(Layer::Up { c_in: 2 * ngf, c_out: ngf });
        layers.push(Layer::Head { c_in: ngf, c_out: 3 });
        let mut params = Vec::new();
        for layer in &layers {
            match *layer {
                Layer::Stem { c_in, c_out } => params.extend(conv_params(d, c_out, c_in, 7, true)?),
                Layer::Down { c_in, c_out } => params.extend(conv_params(d, c_out, c_in, 3, true)?),
                Layer::Block { c } => {
                    params.extend(conv_params(d, c, c, 3, true)?);
                    params.extend(conv_params(d, c, c, 3, true)?);
                }
                // ConvTranspose2d weights are [c_in, c_out, k, k].
                Layer::Up { c_in, c_out } => {
                    params.extend(conv_params(d, c_in, c_out, 3, false)?.into_iter().take(1));
                    params.extend([
                        Tensor::zeros(d, &[c_out])?,
                        Tensor::normal(d, &[c_out], 1.0, 0.02)?,
                        Tensor::zeros(d, &[c_out])?,
                    ]);
                }
                Layer::Head { c_in, c_out } => params.extend(conv_params(d, c_out, c_in, 7, false)?),
            }
        }
        Ok(ResnetG { layers, params })
    }

    pub fn parameters(&self) -> Vec<Tensor> {
        self.params.clone()
    }

    /// Forward FLOPs of the convolutions for an hw x hw input.
    pub fn flops(&self, hw: usize) -> f64 {
        let mut size = hw;
        let mut total = 0.0;
        for layer in &self.layers {
            let (out_px, taps, c_out, convs) = match *layer {
                Layer::Stem { c_in, c_out } | Layer::Head { c_in, c_out } => {
                    (size * size, c_in * 49, c_out, 1)
                }
                Layer::Down { c_in, c_out } => {
                    size /= 2;
                    (size * size, c_in * 9, c_out, 1)
                }
                Layer::Block { c } => (size * size, c * 9, c, 2),
                Layer::Up { c_in, c_out } => {
                    size *= 2;
                    // Each input pixel meets every tap once: c_in·9 products per input pixel
                    // and output channel, counted here per output pixel.
                    (size * size / 4, c_in * 9, c_out, 1)
                }
            };
            total += 2.0 * (out_px * taps * c_out * convs) as f64;
        }
        total
    }

    /// The generator applied to x with `params` in the order of `parameters()`.
    pub fn forward(&self, x: &Tensor, params: &[Tensor]) -> Result<Tensor> {
        let mut p = params.iter();
        let mut next = || p.next().expect("ResnetG::forward got fewer parameters than it made");
        // Norm and ReLU in one kernel, as CycleGAN's Sequential runs them.
        let norm_relu = |y: Tensor, w: &Tensor, b: &Tensor| {
            y.norm_act(NormKind::Instance, Some(w), Some(b), None, true, 1e-5, NormAct::RELU)
        };
        let mut h = x.clone();
        for layer in &self.layers {
            h = match *layer {
                Layer::Stem { .. } => {
                    let (w, b, nw, nb) = (next(), next(), next(), next());
                    norm_relu(
                        h.pad2d((3, 3, 3, 3), PadMode::Reflect)?.conv2d(w, Some(b), Conv2d::default())?,
                        nw,
                        nb,
                    )?
                }
                Layer::Down { .. } => {
                    let (w, b, nw, nb) = (next(), next(), next(), next());
                    norm_relu(h.conv2d(w, Some(b), Conv2d::default().stride(2).padding(1))?, nw, nb)?
                }
                Layer::Block { .. } => {
                    let (w1, b1, n1w, n1b) = (next(), next(), next(), next());
                    let (w2, b2, n2w, n2b) = (next(), next(), next(), next());
                    let r =
                        h.pad2d((1, 1, 1, 1), PadMode::Reflect)?.conv2d(w1, Some(b1), Conv2d::default())?;
                    let r = norm_relu(r, n1w, n1b)?.pad2d((1, 1, 1, 1), PadMode::Reflect)?;
                    let r = r.conv2d(w2, Some(b2), Conv2d::default())?.instance_norm(
                        Some(n2w),
                        Some(n2b),
                        None,
                        true,
                        1e-5,
                    )?;
                    h.add(&r)?
                }
                Layer::Up { .. } => {
                    let (w, b, nw, nb) = (next(), next(), next(), next());
                    let opts = ConvTranspose2d::default().stride(2).padding(1).output_padding(1);
                    norm_relu(h.conv_transpose2d(w, Some(b), opts)?, nw, nb)?
                }
                Layer::Head { .. } => {
                    let (w, b) = (next(), next());
                    h.pad2d((3, 3, 3, 3), PadMode::Reflect)?.conv2d(w, Some(b), Conv2d::default())?.tanh()?
                }
            };
        }
        Ok(h)
    }
}
