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
        let d = self.device();
        let idx =
            Tensor::from_slice(d, &indices.iter().map(|&i| i as f32).collect::<Vec<_>>(), &[indices.len()])?;
        let slots = Tensor::from_slice(d, &by_slot(indices, size), &[size + 1 + indices.len()])?;
        self.index_select_t(ax, Indices { idx, slots, size })
    }

    fn index_select_t(&self, ax: usize, ix: Indices) -> Result<Tensor> {
        let (outer, size, inner) = split(self.shape(), ax);
        let count = ix.idx.numel();
        let mut shape = self.shape().to_vec();
        shape[ax] = count;
        let n = outer * count * inner;
        let out = self.device().alloc(n)?;
        if n > 0 {
            let params = [outer as u32, size as u32, count as u32, inner as u32];
            let (sx, si) = (self.storage(), ix.idx.storage());
            self.device().dispatch_linear(&GATHER, "index_select", &[], &[&sx, &si], &[&out], &params, n);
        }
        Ok(Tensor::from_op(shape, out, "index_select", &[self], move |_, _, g| {
            Ok(vec![Some(g.index_add_t(ax, ix.clone())?)])
        }))
    }

    /// Sums the entries of `self` along `ax` into `ix.size` slots by the indices.
    fn index_add_t(&self, ax: usize, ix: Indices) -> Result<Tensor> {
        let (outer, count, inner) = split(self.shape(), ax);
        let size = ix.size;
        let mut shape = self.shape().to_vec();
        shape[ax] = size;
        let n = outer * size * inner;
        let out = self.device().alloc(n)?;
        if n > 0 {
            let params = [outer as u32, size as u32, count as u32, inner as u32];
            let (sx, si) = (self.storage(), ix.slots.storage());
            self.device().dispatch_linear(&GATHER, "index_add", &[], &[&sx, &si], &[&out], &params, n);
        }
        Ok(Tensor::from_op(shape, out, "index_add", &[self], move |_, _, g| {
            Ok(vec![Some(g.index_select_t(ax, ix.clone())?)])
        }))
    }
}

/// Indices on the device, as index_select reads them and grouped by slot as index_add
/// reads them.
#[derive(Clone)]
struct Indices {
    idx: Tensor,
    slots: Tensor,
    size: usize,
}

/// The indices grouped by slot (CSR): `size + 1` offsets, then the positions l of each
/// slot in ascending order.
fn by_slot(indices: &[usize], size: usize) -> Vec<f32> {
    let mut starts = vec![0usize; size + 1];
    for &i in indices {
        starts[i + 1] += 1;
    }
    for s in 0..size {
        starts[s + 1] += starts[s];
    }
    let mut next = starts.clone();
    let mut order = vec![0usize; indices.len()];
    for (l, &i) in indices.iter().enumerate() {
        order[next[i]] = l;
        next[i] += 1;
    }
    starts.iter().chain(&order).map(|&v| v as f32).collect()
}
