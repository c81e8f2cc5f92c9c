//! Shape ops (shaders/shape.wgsl). `reshape` shares storage; permute, narrow, concat and
//! expand are strided copies of a region, each with its adjoint as gradient.

use crate::error::{Error, Result};
use crate::gpu::{shaders::SHAPE, Storage};
use crate::tensor::shape::{axis, broadcast, broadcast_strides4, check_rank, collapse, pad4, strides};
use crate::tensor::Tensor;

/// Strides padded on the left to rank 4 (padded axes have size 1, so their stride is moot).
fn strides4(s: &[usize]) -> [u32; 4] {
    let mut out = [0u32; 4];
    for (i, &v) in s.iter().enumerate() {
        out[4 - s.len() + i] = v as u32;
    }
    out
}

/// Copies the `region` read at (src_offset, src_strides) to (dst_offset, dst_strides),
/// multiplying every value by `scale` (1 for a plain copy).
fn copy_region(
    t: &Tensor,
    src: &Storage,
    dst: &Storage,
    region: &[usize],
    src_at: (usize, [u32; 4]),
    dst_at: (usize, [u32; 4]),
    scale: f32,
) {
    let n: usize = region.iter().product();
    if n == 0 {
        return;
    }
    let mut params = vec![n as u32, src_at.0 as u32, dst_at.0 as u32, scale.to_bits()];
    // Collapsed to three axes or fewer, the copy needs no index division (`copy_grid`).
    if let Some((dims, ss, ds)) = collapse(pad4(region), src_at.1, dst_at.1) {
        params.extend(dims);
        params.extend(ss);
        params.extend(ds);
        let groups = [dims[3].div_ceil(256), dims[2], dims[1]];
        t.device().dispatch(&SHAPE, "copy_grid", &[], &[src], &[dst], &params, groups);
        return;
    }
    params.extend(pad4(region));
    params.extend(src_at.1);
    params.extend(dst_at.1);
    t.device().dispatch_linear(&SHAPE, "copy_strided", &[], &[src], &[dst], &params, n);
}

impl Tensor {
    /// The same values with a new shape of equal size (no copy).
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        check_rank("reshape", shape)?;
        if shape.iter().product::<usize>() != self.numel() {
            return Err(Error::ShapeMismatch {
                op: "reshape",
                lhs: self.shape().to_vec(),
                rhs: shape.to_vec(),
            });
        }
        let storage = self.storage().clone();
        Ok(Tensor::from_op(shape.to_vec(), storage, "reshape", &[self], |inp, _, g| {
            Ok(vec![Some(g.reshape(inp[0].shape())?)])
        }))
    }

    /// A copy with its own storage (the identity for gradients).
    pub fn copy(&self) -> Result<Tensor> {
        let out = self.device().alloc(self.numel())?;
        let s = strides4(&strides(self.shape()));
        copy_region(self, &self.storage(), &out, self.shape(), (0, s), (0, s), 1.0);
        Ok(Tensor::from_op(self.shape().to_vec(), out, "copy", &[self], |_, _, g| Ok(vec![Some(g.clone())])))
    }

    /// Inserts an axis of size 1 at `at`.
    pub fn unsqueeze(&self, at: usize) -> Result<Tensor> {
        if at > self.rank() {
            return Err(Error::Axis { op: "unsqueeze", axis: at as isize, shape: self.shape().to_vec() });
        }
        let mut shape = self.shape().to_vec();
        shape.insert(at, 1);
        self.reshape(&shape)
    }

    /// Reorders the axes: output axis i is input axis `perm[i]`.
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let mut seen = perm.to_vec();
        seen.sort_unstable();
        if seen != (0..self.rank()).collect::<Vec<_>>() {
            return Err(Error::Invalid {
                op: "permute",
                msg: format!("{perm:?} is not a permutation of the axes of {:?}", self.shape()),
            });
        }
        let in_strides = strides(self.shape());
        let shape: Vec<usize> = perm.iter().map(|&p| self.shape()[p]).collect();
        let src_strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
        let out = self.device().alloc(self.numel())?;
        copy_region(
            self,
            &self.storage(),
            &out,
            &shape,
            (0, strides4(&src_strides)),
            (0, strides4(&strides(&shape))),
            1.0,
        );
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        Ok(Tensor::from_op(shape, out, "permute", &[self], move |_, _, g| {
            Ok(vec![Some(g.permute(&inverse)?)])
        }))
    }

    /// Swaps two axes (negative axes count from the end).
    pub fn transpose(&self, a: isize, b: isize) -> Result<Tensor> {
        let (a, b) = (axis("transpose", a, self.shape())?, axis("transpose", b, self.shape())?);
        let mut perm: Vec<usize> = (0..self.rank()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// The slice `start..start + len` along `axis`.
    pub fn narrow(&self, axis_i: isize, start: usize, len: usize) -> Result<Tensor> {
        let ax = axis("narrow", axis_i, self.shape())?;
        let dim = self.shape()[ax];
        if start + len > dim {
            return Err(Error::Invalid {
                op: "narrow",
                msg: format!("{start}..{} is outside axis {ax} of {:?}", start + len, self.shape()),
            });
        }
        let mut shape = self.shape().to_vec();
        shape[ax] = len;
        let in_strides = strides(self.shape());
        let out = self.device().alloc(shape.iter().product())?;
        copy_region(
            self,
            &self.storage(),
            &out,
            &shape,
            (start * in_strides[ax], strides4(&in_strides)),
            (0, strides4(&strides(&shape))),
            1.0,
        );
        Ok(Tensor::from_op(shape, out, "narrow", &[self], move |_, _, g| {
            Ok(vec![Some(g.pad_axis(ax, start, dim - start - len)?)])
        }))
    }

    /// The elements `start..end` along `axis`, like Python's `x[..., start:end, ...]`.
    pub fn slice(&self, axis_i: isize, start: usize, end: usize) -> Result<Tensor> {
        if end < start {
            return Err(Error::Invalid { op: "slice", msg: format!("end {end} is before start {start}") });
        }
        self.narrow(axis_i, start, end - start)
    }

    /// Zeros before and after along `axis`: the adjoint of `narrow`, in one pass
    /// (`embed_axis`). Its own gradient is the narrow back.
    fn pad_axis(&self, ax: usize, before: usize, after: usize) -> Result<Tensor> {
        let len = self.shape()[ax];
        let dim = before + len + after;
        let mut shape = self.shape().to_vec();
        shape[ax] = dim;
        let outer: usize = shape[..ax].iter().product();
        let inner: usize = shape[ax + 1..].iter().product();
        let n = outer * dim * inner;
        let out = self.device().alloc(n)?;
        if n > 0 {
            let params = [n, before, 0, 0, outer, dim, inner, len].map(|v| v as u32);
            let mut params = params.to_vec();
            params.resize(16, 0);
            let src = self.storage();
            self.device().dispatch_linear(&SHAPE, "embed_axis", &[], &[&src], &[&out], &params, n);
        }
        Ok(Tensor::from_op(shape, out, "pad_axis", &[self], move |_, _, g| {
            Ok(vec![Some(g.narrow(ax as isize, before, len)?)])
        }))
    }

    /// Joins tensors along `axis`; every other axis must agree.
    pub fn concat(tensors: &[Tensor], axis_i: isize) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| Error::Invalid { op: "concat", msg: "no tensors to join".into() })?;
        let ax = axis("concat", axis_i, first.shape())?;
        let mut shape = first.shape().to_vec();
        shape[ax] = 0;
        for t in tensors {
            first.same_device("concat", &[t])?;
            let same_rest = t.rank() == first.rank()
                && t.shape().iter().zip(first.shape()).enumerate().all(|(i, (a, b))| i == ax || a == b);
            if !same_rest {
                return Err(Error::ShapeMismatch {
                    op: "concat",
                    lhs: first.shape().to_vec(),
                    rhs: t.shape().to_vec(),
                });
            }
            shape[ax] += t.shape()[ax];
        }
        let out_strides = strides(&shape);
        let out = first.device().alloc(shape.iter().product())?;
        let mut offset = 0;
        let mut sizes = Vec::with_capacity(tensors.len());
        for t in tensors {
            copy_region(
                t,
                &t.storage(),
                &out,
                t.shape(),
                (0, strides4(&strides(t.shape()))),
                (offset * out_strides[ax], strides4(&out_strides)),
                1.0,
            );
            offset += t.shape()[ax];
            sizes.push(t.shape()[ax]);
        }
        let inputs: Vec<&Tensor> = tensors.iter().collect();
        Ok(Tensor::from_op(shape, out, "concat", &inputs, move |_, _, g| {
            let mut start = 0;
            let mut grads = Vec::with_capacity(sizes.len());
            for &len in &sizes {
                grads.push(Some(g.narrow(ax as isize, start, len)?));
                start += len;
            }
            Ok(grads)
        }))
    }

    /// Repeats size-1 axes (and adds leading axes) to reach `shape`, NumPy-style.
    pub fn expand(&self, shape: &[usize]) -> Result<Tensor> {
        self.expand_scaled(shape, 1.0)
    }

    /// `expand` times `scale` in one pass: a mean's gradient spread over its inputs.
    pub(crate) fn expand_scaled(&self, shape: &[usize], scale: f32) -> Result<Tensor> {
        check_rank("expand", shape)?;
        if broadcast("expand", self.shape(), shape)? != shape {
            return Err(Error::ShapeMismatch {
                op: "expand",
                lhs: self.shape().to_vec(),
                rhs: shape.to_vec(),
            });
        }
        if self.shape() == shape && scale == 1.0 {
            return Ok(self.clone());
        }
        let out = self.device().alloc(shape.iter().product())?;
        copy_region(
            self,
            &self.storage(),
            &out,
            shape,
            (0, broadcast_strides4(self.shape(), shape)),
            (0, strides4(&strides(shape))),
            scale,
        );
        Ok(Tensor::from_op(shape.to_vec(), out, "expand", &[self], move |inp, _, g| {
            let summed = g.sum_to(inp[0].shape())?;
            Ok(vec![Some(if scale == 1.0 { summed } else { summed.mul_scalar(scale)? })])
        }))
    }
}
