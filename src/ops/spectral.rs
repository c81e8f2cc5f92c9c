//! Spectral normalisation's kernels (shaders/spectral.wgsl): a power-iteration step, σ and
//! W / σ in three dispatches, reading the weight in place as the matrix M whose rows are its
//! output axis, and the gradient g / σ − (Σ g·W / σ²) u vᵀ in two more. The tensor-op
//! version took about 19 dispatches a forward (two matrix-vector products as matmuls, two
//! norms, σ as a third product and a dot, the division) plus a transposed copy of a
//! transposed convolution's weight.

use crate::autograd::is_grad_enabled;
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

/// sn_divide's elements per workgroup (its CHUNK).
const CHUNK: usize = 4096;

fn vector(like: &Tensor, storage: Storage, len: usize) -> Tensor {
    Tensor::from_storage(like.device(), vec![len], Rc::new(storage))
}

/// What a spectral-norm forward gives: W / σ (recorded for autograd), and u and v, new
/// when updating, else as given.
pub struct Normalised {
    pub weight: Tensor,
    pub u: Tensor,
    pub v: Tensor,
}

/// W / σ with σ = uᵀ M v, after one power-iteration step when `update` (v =
/// normalize(Mᵀu), u = normalize(M v), each as x / max(‖x‖, eps)), else with u and v as
/// given: three dispatches updating, two not. The gradient flows to `w` alone, with u and v
/// held constant (PyTorch's rule).
pub fn spectral_normalise(
    w: &Tensor,
    u: &Tensor,
    v: &Tensor,
    m: SpectralMatrix,
    eps: f32,
    update: bool,
) -> Result<Normalised> {
    if u.numel() != m.rows || v.numel() != m.cols {
        return Err(Error::Invalid {
            op: "spectral_norm",
            msg: format!("u has {} values and v {} for a {}×{} matrix", u.numel(), v.numel(), m.rows, m.cols),
        });
    }
    let d = w.device();
    let params = m.params(eps, update);
    let wd = w.detach();
    let t = if update {
        let t = d.alloc(m.cols)?;
        launch("sn_mtu", [&wd, u, u, u], [&t, &d.alloc(1)?], &params, linear_groups(m.cols, 256));
        vector(&wd, t, m.cols)
    } else {
        v.clone()
    };
    let (s, v_out) = (d.alloc(m.rows)?, d.alloc(m.cols)?);
    launch("sn_mv", [&wd, &t, &t, &t], [&s, &v_out], &params, linear_groups(m.rows, 1));
    let s = vector(&wd, s, m.rows);
    // u' and then σ in one buffer: u' is its first `rows` values.
    let (y, u_sigma) = (d.alloc(w.numel())?, Rc::new(d.alloc(m.rows + 1)?));
    let chunks = w.numel().div_ceil(CHUNK);
    let outputs = [&y, u_sigma.as_ref()];
    let inputs = [&wd, &s, u, u].map(|t| t.storage());
    let wg = [("WG", f64::from(d.tree_width()))];
    d.dispatch(
        &SPECTRAL,
        "sn_divide",
        &wg,
        &[&inputs[0], &inputs[1], &inputs[2], &inputs[3]],
        &outputs,
        &params,
        linear_groups(chunks, 1),
    );
    let (u_new, v_new) = (Tensor::from_storage(d, vec![m.rows], u_sigma.clone()), vector(&wd, v_out, m.cols));
    let weight = divided(w, y, u_new.clone(), v_new.clone(), u_sigma, m)?;
    if update {
        Ok(Normalised { weight, u: u_new, v: v_new })
    } else {
        Ok(Normalised { weight, u: u.clone(), v: v.clone() })
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

/// Records y = W / σ: u' and σ are `u_sigma`'s values (u' first, σ last), v' the v used.
/// The gradient is g / σ − (Σ g·W / σ²) u' v'ᵀ, in two dispatches: partial sums of g·W,
/// then a workgroup per row of M (tensor ops under create_graph).
fn divided(
    w: &Tensor,
    y: Storage,
    u: Tensor,
    v: Tensor,
    u_sigma: Rc<Storage>,
    m: SpectralMatrix,
) -> Result<Tensor> {
    let d = w.device();
    let u_sigma = Tensor::from_storage(d, vec![m.rows + 1], u_sigma);
    Ok(Tensor::from_op(w.shape().to_vec(), y, "spectral_norm", &[w], move |inp, _, g| {
        let w = &inp[0];
        if is_grad_enabled() {
            let sigma = u_sigma.narrow(0, m.rows, 1)?;
            let k = g.mul(w)?.sum_all()?.div(&sigma.mul(&sigma)?)?;
            let gw = g.div(&sigma)?.sub(&outer_as_weight(w, &u, &v, m)?.mul(&k)?)?;
            return Ok(vec![Some(gw)]);
        }
        let d = w.device();
        // Σ g·W in up to 32 partial sums, so that both cores (or every GPU core) share it.
        let n = w.numel();
        let parts = n.div_ceil(CHUNK).clamp(1, 32);
        let chunk = n.div_ceil(parts);
        let mut params = m.params(0.0, false);
        params[6..].copy_from_slice(&[chunk as u32, parts as u32]);
        let dots = d.alloc(parts)?;
        launch("sn_grad_dot", [g, w, w, w], [&dots, &d.alloc(1)?], &params, [parts as u32, 1, 1]);
        let dots = vector(w, dots, parts);
        let gw = d.alloc(n)?;
        launch("sn_grad", [g, &u_sigma, &v, &dots], [&gw, &d.alloc(1)?], &params, linear_groups(m.rows, 1));
        Ok(vec![Some(Tensor::from_storage(d, w.shape().to_vec(), Rc::new(gw)))])
    }))
}
