//! Spectral normalisation's kernels (shaders/spectral.wgsl): a power-iteration step with σ
//! in three dispatches, reading the weight in place as the matrix M whose rows are its
//! output axis, and W / σ with its gradient g / σ − (Σ g·W / σ²) u vᵀ in two more. The
//! tensor-op version took about 19 dispatches a forward (two matrix-vector products as
//! matmuls, two norms, σ as a third product and a dot) plus a transposed copy of a
//! transposed convolution's weight.

use crate::autograd::{is_grad_enabled, no_grad};
use crate::error::{Error, Result};
use crate::gpu::{linear_groups, shaders::SPECTRAL, Storage};
use crate::tensor::Tensor;
use std::rc::Rc;

/// The weight read as M [rows, cols]: rows are its axis `axis` (0 or 1).
#[derive(Clone, Copy, Debug)]
pub struct SpectralMatrix {
    pub rows: usize,
    pub cols: usize,
    /// With axis 1: elements after axis 1 (a transposed convolution's taps).
    taps: usize,
    axis1: bool,
}

impl SpectralMatrix {
    /// The matrix of `weight` with rows along `axis` (0, or 1 for transposed convolutions).
    pub fn of(weight: &Tensor, axis: usize) -> Result<SpectralMatrix> {
        let shape = weight.shape();
        if axis > 1 || shape.len() <= axis || weight.numel() == 0 {
            return Err(Error::Invalid {
                op: "spectral_norm",
                msg: format!("cannot normalise a weight of shape {shape:?} along axis {axis}"),
            });
        }
        let rows = shape[axis];
        let taps = shape[axis + 1..].iter().product();
        Ok(SpectralMatrix { rows, cols: weight.numel() / rows, taps, axis1: axis == 1 })
    }

    fn params(&self, eps: f32, update: bool) -> [u32; 8] {
        let [rows, cols, taps] = [self.rows, self.cols, self.taps].map(|v| v as u32);
        [rows, cols, taps, u32::from(self.axis1), eps.to_bits(), u32::from(update), 0, 0]
    }
}

/// One dispatch: four read-only bindings (repeats allowed) and two outputs.
fn launch(
    entry: &'static str,
    inputs: [&Tensor; 4],
    outputs: [&Storage; 2],
    params: &[u32],
    groups: [u32; 3],
) {
    let s = inputs.map(|t| t.storage());
    let wg = [("WG", f64::from(inputs[0].device().tree_width()))];
    inputs[0].device().dispatch(
        &SPECTRAL,
        entry,
        &wg,
        &[&s[0], &s[1], &s[2], &s[3]],
        &outputs,
        params,
        groups,
    );
}

fn vector(like: &Tensor, storage: Storage, len: usize) -> Tensor {
    Tensor::from_storage(like.device(), vec![len], Rc::new(storage))
}

/// The power iteration's results: u and v (new when updating, else as given) and σ [1].
pub struct Iterated {
    pub u: Tensor,
    pub v: Tensor,
    pub sigma: Tensor,
}

/// σ = uᵀ M v for the weight `w`, after one power-iteration step when `update` (v =
/// normalize(Mᵀu), u = normalize(M v), each as x / max(‖x‖, eps)), else with u and v as
/// given. Records no history.
pub fn power_iteration(
    w: &Tensor,
    u: &Tensor,
    v: &Tensor,
    m: SpectralMatrix,
    eps: f32,
    update: bool,
) -> Result<Iterated> {
    if u.numel() != m.rows || v.numel() != m.cols {
        return Err(Error::Invalid {
            op: "spectral_norm",
            msg: format!("u has {} values and v {} for a {}×{} matrix", u.numel(), v.numel(), m.rows, m.cols),
        });
    }
    let d = w.device();
    let params = m.params(eps, update);
    let w = w.detach();
    let t = if update {
        let t = d.alloc(m.cols)?;
        launch("sn_mtu", [&w, u, u, u], [&t, &d.alloc(1)?], &params, linear_groups(m.cols, 256));
        vector(&w, t, m.cols)
    } else {
        v.clone()
    };
    let (s, v_out) = (d.alloc(m.rows)?, d.alloc(m.cols)?);
    launch("sn_mv", [&w, &t, &t, &t], [&s, &v_out], &params, linear_groups(m.rows, 1));
    let s = vector(&w, s, m.rows);
    let (u_out, sigma) = (d.alloc(if update { m.rows } else { 1 })?, d.alloc(1)?);
    launch("sn_sigma", [&w, &s, u, u], [&u_out, &sigma], &params, [1, 1, 1]);
    let sigma = vector(&w, sigma, 1);
    if update {
        Ok(Iterated { u: vector(&w, u_out, m.rows), v: vector(&w, v_out, m.cols), sigma })
    } else {
        Ok(Iterated { u: u.clone(), v: v.clone(), sigma })
    }
}

/// u vᵀ laid out as the weight (tensor ops, for the differentiable gradient).
fn outer_as_weight(w: &Tensor, u: &Tensor, v: &Tensor, m: SpectralMatrix) -> Result<Tensor> {
    let outer = u.reshape(&[m.rows, 1])?.matmul(&v.reshape(&[1, m.cols])?)?;
    if !m.axis1 {
        return outer.reshape(w.shape());
    }
    outer.reshape(&[m.rows, m.cols / m.taps, m.taps])?.transpose(0, 1)?.reshape(w.shape())
}

/// W / σ, where σ = uᵀ W v came from `power_iteration` with u and v held constant: its
/// gradient is g / σ − (Σ g·W / σ²) u vᵀ, in two dispatches (tensor ops under
/// create_graph).
pub fn divide_by_sigma(w: &Tensor, it: &Iterated, m: SpectralMatrix) -> Result<Tensor> {
    let y = no_grad(|| w.detach().div(&it.sigma))?;
    let storage = y.storage().clone();
    let (u, v, sigma) = (it.u.clone(), it.v.clone(), it.sigma.clone());
    Ok(Tensor::from_op(w.shape().to_vec(), storage, "spectral_norm", &[w], move |inp, _, g| {
        let w = &inp[0];
        if is_grad_enabled() {
            let k = g.mul(w)?.sum_all()?.div(&sigma.mul(&sigma)?)?;
            let gw = g.div(&sigma)?.sub(&outer_as_weight(w, &u, &v, m)?.mul(&k)?)?;
            return Ok(vec![Some(gw)]);
        }
        let d = w.device();
        let params = m.params(0.0, false);
        let scale = d.alloc(2)?;
        launch("sn_grad_scale", [g, w, &sigma, &sigma], [&scale, &d.alloc(1)?], &params, [1, 1, 1]);
        let scale = vector(w, scale, 2);
        let gw = d.alloc(w.numel())?;
        launch("sn_grad", [g, &u, &v, &scale], [&gw, &d.alloc(1)?], &params, linear_groups(w.numel(), 256));
        Ok(vec![Some(Tensor::from_storage(d, w.shape().to_vec(), Rc::new(gw)))])
    }))
}
