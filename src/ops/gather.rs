//! Picking entries along an axis by index (shaders/gather.wgsl): `index_select` and its
//! adjoint `index_add`, written as a gather so repeated indices need no atomics.

use crate::error::{Error, Result};
use crate::gpu::shaders::GATHER;
use crate::tensor::shape::axis;
use crate::tensor::Tensor;

/// [outer, size, inner] around axis `ax` of `shape`.
fn split(shape: &[usize], ax: usize) -> (usize, usize, usize) {
    (shape[..ax].iter().product(), shape[ax], shape[ax + 1..].iter().product())
}

impl Tensor {
    /// The entries `indices` along `axis`, in that order (repeats allowed), like
    /// `torch.index_select`. Used to pick per-domain heads.
    pub fn index_select(&self, axis_i: isize, indices: &[usize]) -> Result<Tensor> {
        let ax = axis("index_select", axis_i, self.shape())?;
        let size = self.shape()[ax];
        if let Some(bad) = indices.iter().find(|&&i| i >= size) {
            return Err(Error::Invalid {
                op: "index_select",
                msg: format!("index {bad} is out of range for axis {ax} of {:?}", self.shape()),
            });
        }
        let as_f32: Vec<f32> = indices.iter().map(|&i| i as f32).collect();
        let idx = Tensor::from_slice(self.device(), &as_f32, &[indices.len()])?;
        self.index_select_t(ax, &idx)
    }

    fn index_select_t(&self, ax: usize, idx: &Tensor) -> Result<Tensor> {
        let (outer, size, inner) = split(self.shape(), ax);
        let count = idx.numel();
        let mut shape = self.shape().to_vec();
        shape[ax] = count;
        let n = outer * count * inner;
        let out = self.device().alloc(n)?;
        if n > 0 {
            let params = [outer as u32, size as u32, count as u32, inner as u32];
            let (sx, si) = (self.storage(), idx.storage());
            self.device().dispatch_linear(&GATHER, "index_select", &[], &[&sx, &si], &[&out], &params, n);
        }
        let idx = idx.clone();
        Ok(Tensor::from_op(shape, out, "index_select", &[self], move |_, _, g| {
            Ok(vec![Some(g.index_add_t(ax, &idx, size)?)])
        }))
    }

    /// Sums the entries of `self` along `ax` into `size` slots by `idx`.
    fn index_add_t(&self, ax: usize, idx: &Tensor, size: usize) -> Result<Tensor> {
        let (outer, count, inner) = split(self.shape(), ax);
        let mut shape = self.shape().to_vec();
        shape[ax] = size;
        let n = outer * size * inner;
        let out = self.device().alloc(n)?;
        if n > 0 {
            let params = [outer as u32, size as u32, count as u32, inner as u32];
            let (sx, si) = (self.storage(), idx.storage());
            self.device().dispatch_linear(&GATHER, "index_add", &[], &[&sx, &si], &[&out], &params, n);
        }
        let idx = idx.clone();
        Ok(Tensor::from_op(shape, out, "index_add", &[self], move |_, _, g| {
            Ok(vec![Some(g.index_select_t(ax, &idx)?)])
        }))
    }
}
