//! Weight initialisers, on the device's seeded generator, with PyTorch's fan rules: for a
//! weight of shape [a, b, k...], fan_in = b·∏k and fan_out = a·∏k (so a ConvTranspose2d
//! weight [in, out/groups, k, k] has fan_in = out/groups·k·k, as in PyTorch).

use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// (fan_in, fan_out) of a weight.
pub fn fans(t: &Tensor) -> Result<(usize, usize)> {
    let s = t.shape();
    if s.len() < 2 {
        return Err(Error::Rank { op: "fans", expected: "at least 2 dimensions".into(), shape: s.to_vec() });
    }
    let receptive: usize = s[2..].iter().product();
    Ok((s[1] * receptive, s[0] * receptive))
}

fn fill(t: &Tensor, value: Tensor) -> Result<()> {
    no_grad(|| t.assign(&value))
}

/// Uniform values in [low, high).
pub fn uniform(t: &Tensor, low: f32, high: f32) -> Result<()> {
    fill(t, Tensor::uniform(t.device(), t.shape(), low, high)?)
}

/// Normal values N(mean, std²), e.g. the references' N(0, 0.02) and BatchNorm's N(1, 0.02).
pub fn normal(t: &Tensor, mean: f32, std: f32) -> Result<()> {
    fill(t, Tensor::normal(t.device(), t.shape(), mean, std)?)
}

/// A constant.
pub fn constant(t: &Tensor, value: f32) -> Result<()> {
    fill(t, Tensor::full(t.device(), t.shape(), value)?)
}

/// Xavier/Glorot normal: std = gain·√(2 / (fan_in + fan_out)).
pub fn xavier_normal(t: &Tensor, gain: f32) -> Result<()> {
    let (fi, fo) = fans(t)?;
    normal(t, 0.0, gain * (2.0 / (fi + fo) as f32).sqrt())
}

/// Kaiming/He normal in fan_in mode for a leaky ReLU of slope `a` (0: ReLU):
/// std = √(2 / (1 + a²)) / √fan_in.
pub fn kaiming_normal(t: &Tensor, a: f32) -> Result<()> {
    let (fi, _) = fans(t)?;
    normal(t, 0.0, (2.0 / (1.0 + a * a)).sqrt() / (fi as f32).sqrt())
}

/// PyTorch's default for conv and linear layers: kaiming_uniform with a = √5, i.e. weights
/// uniform in ±1/√fan_in, and the bias uniform in ±1/√fan_in of the weight.
pub fn pytorch_default(weight: &Tensor, bias: Option<&Tensor>) -> Result<()> {
    let (fi, _) = fans(weight)?;
    let bound = 1.0 / (fi.max(1) as f32).sqrt();
    uniform(weight, -bound, bound)?;
    if let Some(b) = bias {
        uniform(b, -bound, bound)?;
    }
    Ok(())
}

/// Orthogonal: the weight flattened to [rows, cols] has orthonormal rows (or columns),
/// from the QR decomposition of a normal matrix with R's diagonal made positive.
pub fn orthogonal(t: &Tensor, gain: f32) -> Result<()> {
    let rows = *t.shape().first().ok_or_else(|| Error::Rank {
        op: "orthogonal",
        expected: "at least 1 dimension".into(),
        shape: vec![],
    })?;
    let cols = t.numel() / rows.max(1);
    let (m, n) = (rows.max(cols), rows.min(cols));
    let a: Vec<f64> = Tensor::randn(t.device(), &[m * n])?.to_vec()?.into_iter().map(f64::from).collect();
    let q = thin_q(a, m, n);
    // q is m x n with orthonormal columns; transpose when the weight is wide.
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let v = if rows >= cols { q[r * n + c] } else { q[c * n + r] };
            out[r * cols + c] = gain * v as f32;
        }
    }
    fill(t, Tensor::from_slice(t.device(), &out, t.shape())?)
}

/// The Q of a thin QR (modified Gram-Schmidt) of an m x n matrix (m >= n), row-major,
/// with signs chosen so that R's diagonal is positive.
fn thin_q(mut a: Vec<f64>, m: usize, n: usize) -> Vec<f64> {
    for j in 0..n {
        for k in 0..j {
            let dot: f64 = (0..m).map(|i| a[i * n + j] * a[i * n + k]).sum();
            for i in 0..m {
                a[i * n + j] -= dot * a[i * n + k];
            }
        }
        let norm = (0..m).map(|i| a[i * n + j].powi(2)).sum::<f64>().sqrt().max(1e-12);
        for i in 0..m {
            a[i * n + j] /= norm;
        }
    }
    a
}
