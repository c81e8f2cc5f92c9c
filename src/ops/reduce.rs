//! Reductions over chosen axes (shaders/reduce.wgsl): sum, mean, max, var, and `sum_to`,
//! which undoes broadcasting in gradients. A set of axes is reduced one run of adjacent
//! axes at a time, each run viewed as [outer, r, inner].

use crate::error::{Error, Result};
use crate::gpu::{shaders::REDUCE, Storage};
use crate::tensor::shape::axes;
use crate::tensor::Tensor;

#[derive(Clone, Copy, PartialEq)]
enum ReduceOp {
    Sum = 0,
    Max = 1,
}

/// Below this many outputs one workgroup per output beats one invocation per output.
const FEW_OUTPUTS: usize = 512;

/// The workgroup reductions' constants: the op, and the invocations per workgroup (`WG`
/// in shaders/reduce.wgsl, `Device::tree_width`).
fn workgroup_constants(device: &crate::gpu::Device, op: ReduceOp) -> [(&'static str, f64); 2] {
    [("OP", op as u32 as f64), ("WG", f64::from(device.tree_width()))]
}

/// Reduces one run of adjacent axes `[from, to)` of `shape`, keeping them as size 1.
fn launch_run(
    x: &Storage,
    shape: &[usize],
    from: usize,
    to: usize,
    op: ReduceOp,
    scale: f32,
    t: &Tensor,
) -> Result<Storage> {
    let outer: usize = shape[..from].iter().product();
    let r: usize = shape[from..to].iter().product();
    let inner: usize = shape[to..].iter().product();
    let device = t.device();
    let out = device.alloc(outer * inner)?;
    let params = [outer as u32, r as u32, inner as u32, scale.to_bits()];
    let constants = [("OP", op as u32 as f64)];
    let n_out = outer * inner;
    if n_out == 0 {
        return Ok(out);
    }
    if n_out < FEW_OUTPUTS && r >= 64 {
        let groups = crate::gpu::linear_groups(n_out, 1);
        let constants = workgroup_constants(device, op);
        device.dispatch(&REDUCE, "reduce_workgroup", &constants, &[x], &[&out], &params, groups);
    } else {
        device.dispatch_linear(&REDUCE, "reduce_thread", &constants, &[x], &[&out], &params, n_out);
    }
    Ok(out)
}

/// Runs of adjacent axes: [0, 2, 3] gives [(0, 1), (2, 4)].
fn runs(axes: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &a in axes {
        match out.last_mut() {
            Some(run) if run.1 == a => run.1 = a + 1,
            _ => out.push((a, a + 1)),
        }
    }
    out
}

/// The reduced shape: axes kept as 1 (`keepdim`) or removed.
fn reduced_shape(shape: &[usize], axes: &[usize], keepdim: bool) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keepdim) {
            (true, true) => Some(1),
            (true, false) => None,
            (false, _) => Some(d),
        })
        .collect()
}

/// The shape without its axes of size 1, neighbours that are both reduced or both kept
/// merged into one, and the reduced axes renumbered in it: reducing over a size-1 axis
/// moves nothing, and without them runs split by one merge ([1, c, h, w] over [0, 2, 3] is
/// one run over h·w, not a copy and then a run; [n, c, h, w] is [n, c, h·w] over 0 and 2).
fn squeezed(shape: &[usize], axes: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut merged: Vec<(usize, bool)> = Vec::new();
    for (i, &d) in shape.iter().enumerate().filter(|(_, &d)| d != 1) {
        let reduced = axes.contains(&i);
        match merged.last_mut() {
            Some(last) if last.1 == reduced => last.0 *= d,
            _ => merged.push((d, reduced)),
        }
    }
    let reduced = merged.iter().enumerate().filter(|(_, m)| m.1).map(|(i, _)| i).collect();
    (merged.into_iter().map(|m| m.0).collect(), reduced)
}

/// Reduces `axes` of `x` without recording history; `scale` multiplies the result.
fn reduce_raw(x: &Tensor, axes: &[usize], op: ReduceOp, scale: f32) -> Result<Storage> {
    let source = x.storage();
    let (mut shape, axes) = squeezed(x.shape(), axes);
    // Nothing left to reduce (a rank-0 tensor, or only axes of size 1): the result is a
    // scaled copy, a run of length 1.
    let all_runs = if axes.is_empty() {
        shape.push(1);
        vec![(shape.len() - 1, shape.len())]
    } else {
        runs(&axes)
    };
    // Axes 0 and 2 of three (a bias's gradient over [n, c, h·w]): one pass, when the kept
    // axis is short enough for a workgroup each and the runs long enough to share.
    if shape.len() == 3 && axes == [0, 2] && shape[1] < FEW_OUTPUTS && shape[2] >= 64 {
        let out = x.device().alloc(shape[1])?;
        let params = [shape[0] as u32, shape[1] as u32, shape[2] as u32, scale.to_bits()];
        let groups = crate::gpu::linear_groups(shape[1], 1);
        let constants = workgroup_constants(x.device(), op);
        x.device().dispatch(&REDUCE, "reduce_outer_inner", &constants, &[&source], &[&out], &params, groups);
        return Ok(out);
    }
    let mut current: Option<Storage> = None;
    for (i, &(from, to)) in all_runs.iter().enumerate() {
        let s = if i == 0 { scale } else { 1.0 };
        let next = launch_run(current.as_ref().unwrap_or(&source), &shape, from, to, op, s, x)?;
        current = Some(next);
        for d in &mut shape[from..to] {
            *d = 1;
        }
    }
    Ok(current.expect("at least one run is reduced"))
}

impl Tensor {
    fn reduce(
        &self,
        list: &[isize],
        keepdim: bool,
        op: ReduceOp,
        mean: bool,
        name: &'static str,
    ) -> Result<Tensor> {
        let axes = axes(name, list, self.shape())?;
        let count: usize = axes.iter().map(|&a| self.shape()[a]).product();
        if op == ReduceOp::Max && count == 0 {
            return Err(Error::Invalid {
                op: name,
                msg: format!("cannot take the max over an empty axis of {:?}", self.shape()),
            });
        }
        let scale = if mean { 1.0 / count as f32 } else { 1.0 };
        let storage = reduce_raw(self, &axes, op, scale)?;
        let shape = reduced_shape(self.shape(), &axes, keepdim);
        let kept = reduced_shape(self.shape(), &axes, true);
        Ok(Tensor::from_op(shape, storage, name, &[self], move |inp, y, g| {
            let x = &inp[0];
            let g = g.reshape(&kept)?;
            let gx = match op {
                ReduceOp::Sum => g.expand_scaled(x.shape(), scale)?,
                ReduceOp::Max => {
                    // The gradient goes to the maxima, shared evenly among ties.
                    let hit = x.eq(&y.reshape(&kept)?.detach())?;
                    let ties = hit.sum_keep(&axes)?;
                    hit.div(&ties)?.mul(&g)?
                }
            };
            Ok(vec![Some(gx)])
        }))
    }

    fn sum_keep(&self, axes: &[usize]) -> Result<Tensor> {
        let list: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        self.sum(&list, true)
    }

    /// Sum over `axes` (all axes when empty).
    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce(axes, keepdim, ReduceOp::Sum, false, "sum")
    }

    /// Sum of every element, as a rank-0 tensor.
    pub fn sum_all(&self) -> Result<Tensor> {
        self.sum(&[], false)
    }

    /// Mean over `axes` (all axes when empty).
    pub fn mean(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce(axes, keepdim, ReduceOp::Sum, true, "mean")
    }

    /// Mean of every element, as a rank-0 tensor.
    pub fn mean_all(&self) -> Result<Tensor> {
        self.mean(&[], false)
    }

    /// Maximum over `axes` (all axes when empty); ties share the gradient.
    pub fn max(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce(axes, keepdim, ReduceOp::Max, false, "max")
    }

    /// Variance over `axes`, dividing by n − 1 when `unbiased` (PyTorch's default) or n.
    pub fn var(&self, axes_list: &[isize], unbiased: bool, keepdim: bool) -> Result<Tensor> {
        let axes_n = axes("var", axes_list, self.shape())?;
        let count: usize = axes_n.iter().map(|&a| self.shape()[a]).product();
        let denom = count as f32 - if unbiased { 1.0 } else { 0.0 };
        let centred = self.sub(&self.mean(axes_list, true)?)?;
        centred.mul(&centred)?.sum(axes_list, keepdim)?.mul_scalar(1.0 / denom)
    }

    /// Sums a broadcast gradient back to `shape`: the leading extra axes and every axis
    /// where `shape` has size 1.
    pub fn sum_to(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let lead = self.rank().checked_sub(shape.len()).ok_or_else(|| Error::ShapeMismatch {
            op: "sum_to",
            lhs: self.shape().to_vec(),
            rhs: shape.to_vec(),
        })?;
        let mut axes = Vec::new();
        for (i, &d) in self.shape().iter().enumerate() {
            if i < lead || (shape[i - lead] == 1 && d != 1) {
                axes.push(i as isize);
            } else if shape[i - lead] != d {
                return Err(Error::ShapeMismatch {
                    op: "sum_to",
                    lhs: self.shape().to_vec(),
                    rhs: shape.to_vec(),
                });
            }
        }
        if axes.is_empty() {
            return self.reshape(shape);
        }
        self.sum(&axes, true)?.reshape(shape)
    }
}
