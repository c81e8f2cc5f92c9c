//! The suite's cases, batch 1, f32, sized by `scale` (spatial sizes and channel widths).

use super::resnet::ResnetG;
use crate::autograd::{grad, no_grad};
use crate::error::Result;
use crate::gpu::Device;
use crate::ops::conv2d::{Conv2d, ConvTranspose2d};
use crate::ops::pad::PadMode;
use crate::tensor::Tensor;

type Forward = Box<dyn Fn(&[Tensor]) -> Result<Tensor>>;

/// One benchmark: its inputs and weights, and the forward computation over them.
pub struct Case {
    pub name: &'static str,
    pub shape: String,
    /// Forward floating-point operations.
    pub flops: f64,
    leaves: Vec<Tensor>,
    forward: Forward,
}

impl Case {
    fn new(name: &'static str, shape: String, flops: f64, leaves: Vec<Tensor>, forward: Forward) -> Case {
        let leaves = leaves.into_iter().map(Tensor::requires_grad_).collect();
        Case { name, shape, flops, leaves, forward }
    }

    /// The forward pass alone, recording no history.
    pub fn forward(&self) -> Result<()> {
        no_grad(|| (self.forward)(&self.leaves)).map(drop)
    }

    /// The forward pass and the gradients of its mean w.r.t. the input and every weight.
    pub fn forward_backward(&self) -> Result<()> {
        let loss = (self.forward)(&self.leaves)?.mean_all()?;
        grad(&[loss], &self.leaves, false).map(drop)
    }
}

/// Forward FLOPs of a convolution producing `out` elements from `c_in_g · kh · kw` taps.
fn conv_flops(out: usize, c_in_g: usize, k: usize) -> f64 {
    2.0 * out as f64 * (c_in_g * k * k) as f64
}

fn randn(d: &Device, shape: &[usize], std: f32) -> Result<Tensor> {
    Tensor::normal(d, shape, 0.0, std)
}

/// Every case of the suite at the given scale.
pub fn cases(d: &Device, scale: usize) -> Result<Vec<Case>> {
    let s = scale.max(1);
    let (c64, c128, c3, hw) = (64 * s, 128 * s, 3, 64 * s);
    let mut out = Vec::new();

    let x = randn(d, &[1, c64, hw, hw], 1.0)?;
    out.push(Case::new(
        "conv3x3",
        format!("x [1, {c64}, {hw}, {hw}], w [{c64}, {c64}, 3, 3], pad 1, bias"),
        conv_flops(c64 * hw * hw, c64, 3),
        vec![x.clone(), randn(d, &[c64, c64, 3, 3], 0.05)?, randn(d, &[c64], 0.1)?],
        Box::new(|t| t[0].conv2d(&t[1], Some(&t[2]), Conv2d::default().padding(1))),
    ));

    out.push(Case::new(
        "conv7x7_reflect",
        format!("x [1, {c3}, {hw}, {hw}], reflect pad 3, w [{c64}, {c3}, 7, 7], bias"),
        conv_flops(c64 * hw * hw, c3, 7),
        vec![randn(d, &[1, c3, hw, hw], 1.0)?, randn(d, &[c64, c3, 7, 7], 0.05)?, randn(d, &[c64], 0.1)?],
        Box::new(|t| {
            t[0].pad2d((3, 3, 3, 3), PadMode::Reflect)?.conv2d(&t[1], Some(&t[2]), Conv2d::default())
        }),
    ));

    out.push(Case::new(
        "conv3x3_s2",
        format!("x [1, {c64}, {hw}, {hw}], w [{c128}, {c64}, 3, 3], stride 2, pad 1, bias"),
        conv_flops(c128 * (hw / 2) * (hw / 2), c64, 3),
        vec![x.clone(), randn(d, &[c128, c64, 3, 3], 0.05)?, randn(d, &[c128], 0.1)?],
        Box::new(|t| t[0].conv2d(&t[1], Some(&t[2]), Conv2d::default().stride(2).padding(1))),
    ));

    let h2 = hw / 2;
    out.push(Case::new(
        "convT3x3_s2",
        format!(
            "x [1, {c128}, {h2}, {h2}], w [{c128}, {c64}, 3, 3], stride 2, pad 1, output_padding 1, bias"
        ),
        conv_flops(c128 * h2 * h2, c64, 3),
        vec![randn(d, &[1, c128, h2, h2], 1.0)?, randn(d, &[c128, c64, 3, 3], 0.05)?, randn(d, &[c64], 0.1)?],
        Box::new(|t| {
            t[0].conv_transpose2d(
                &t[1],
                Some(&t[2]),
                ConvTranspose2d::default().stride(2).padding(1).output_padding(1),
            )
        }),
    ));

    out.push(Case::new(
        "instance_norm",
        format!("x [1, {c64}, {hw}, {hw}], affine"),
        0.0,
        vec![x, randn(d, &[c64], 1.0)?, randn(d, &[c64], 1.0)?],
        Box::new(|t| t[0].instance_norm(Some(&t[1]), Some(&t[2]), None, true, 1e-5)),
    ));

    let n = 512 * s;
    out.push(Case::new(
        "matmul",
        format!("[{n}, {n}] x [{n}, {n}]"),
        2.0 * (n as f64).powi(3),
        vec![randn(d, &[n, n], 1.0)?, randn(d, &[n, n], 1.0)?],
        Box::new(|t| t[0].matmul(&t[1])),
    ));

    let gen = ResnetG::new(d, 32 * s, 6)?;
    let flops = gen.flops(hw);
    let shape = format!("x [1, 3, {hw}, {hw}], ngf {}, 6 blocks, biased convs, affine instance norm", 32 * s);
    let mut leaves = vec![randn(d, &[1, 3, hw, hw], 1.0)?];
    leaves.extend(gen.parameters());
    out.push(Case::new("resnet_g", shape, flops, leaves, Box::new(move |t| gen.forward(&t[0], &t[1..]))));
    Ok(out)
}
