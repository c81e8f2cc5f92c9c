//! The gated linear unit (shaders/glu.wgsl): the first half of an axis times the sigmoid of
//! the second, as FastGAN's blocks use it, forward and gradient each in one pass. Under
//! `create_graph` the gradient is built from tensor ops, which are differentiable.

use crate::autograd::is_grad_enabled;
use crate::error::{Error, Result};
use crate::gpu::shaders::GLU;
use crate::tensor::Tensor;

/// Runs `entry` with one invocation per element of y (`n`), writing `out_len` values.
fn launch(
    entry: &'static str,
    x: &Tensor,
    g: &Tensor,
    (out_len, n): (usize, usize),
    block: usize,
) -> Result<crate::gpu::Storage> {
    let out = x.device().alloc(out_len)?;
    if n > 0 {
        let params = [n as u32, block as u32, 0, 0];
        let (xs, gs) = (x.storage(), g.storage());
        x.device().dispatch_linear(&GLU, entry, &[], &[&xs, &gs], &[&out], &params, n);
    }
    Ok(out)
}

impl Tensor {
    /// Gated linear unit along `axis`: first half · sigmoid(second half).
    pub fn glu(&self, axis: isize) -> Result<Tensor> {
        let ax = crate::tensor::shape::axis("glu", axis, self.shape())?;
        let size = self.shape()[ax];
        if !size.is_multiple_of(2) {
            return Err(Error::Invalid {
                op: "glu",
                msg: format!("axis {ax} of {:?} has odd length", self.shape()),
            });
        }
        let half = size / 2;
        let mut shape = self.shape().to_vec();
        shape[ax] = half;
        let block = half * self.shape()[ax + 1..].iter().product::<usize>();
        let n = shape.iter().product();
        let out = launch("glu_forward", self, self, (n, n), block)?;
        Ok(Tensor::from_op(shape, out, "glu", &[self], move |inp, _, g| {
            let x = &inp[0];
            if !is_grad_enabled() {
                let gx = launch("glu_backward", x, g, (x.numel(), g.numel()), block)?;
                return Ok(vec![Some(Tensor::from_storage(
                    x.device(),
                    x.shape().to_vec(),
                    std::rc::Rc::new(gx),
                ))]);
            }
            let (a, s) = (x.narrow(ax as isize, 0, half)?, x.narrow(ax as isize, half, half)?.sigmoid()?);
            let ga = g.mul(&s)?;
            let gb = g.mul(&a)?.mul(&s.mul(&s.affine(-1.0, 1.0)?)?)?;
            Ok(vec![Some(Tensor::concat(&[ga, gb], ax as isize)?)])
        }))
    }

    /// The gated linear unit as tensor ops (narrow, sigmoid, multiply): the twin the fused
    /// kernels are tested against.
    pub fn glu_composite(&self, axis: isize) -> Result<Tensor> {
        let ax = crate::tensor::shape::axis("glu", axis, self.shape())?;
        let half = self.shape()[ax] / 2;
        self.narrow(axis, 0, half)?.mul(&self.narrow(axis, half, half)?.sigmoid()?)
    }
}
