//! Matrix products, 2-D and batched (shaders/matmul.wgsl). Gradients are products again:
//! dA = dC·Bᵀ and dB = Aᵀ·dC, summed over a broadcast batch.

use crate::error::{Error, Result};
use crate::gpu::{shaders::MATMUL, Storage};
use crate::tensor::Tensor;

/// Which kernel runs a product; the naive one is the test reference for the blocked one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulKernel {
    Naive,
    Blocked,
}

/// The batch, rows and columns of a matrix operand: rank 2 is one matrix, rank 3 a batch.
fn dims(t: &Tensor, side: &str) -> Result<(Option<usize>, usize, usize)> {
    match *t.shape() {
        [r, c] => Ok((None, r, c)),
        [b, r, c] => Ok((Some(b), r, c)),
        _ => Err(Error::Rank {
            op: "matmul",
            expected: format!("a 2-D or 3-D {side} operand"),
            shape: t.shape().to_vec(),
        }),
    }
}

fn launch(a: &Tensor, b: &Tensor, kernel: MatmulKernel) -> Result<(Vec<usize>, Storage)> {
    a.same_device("matmul", &[b])?;
    let (ba, m, k) = dims(a, "left")?;
    let (bb, k2, n) = dims(b, "right")?;
    let mismatch = || Error::ShapeMismatch { op: "matmul", lhs: a.shape().to_vec(), rhs: b.shape().to_vec() };
    if k != k2 {
        return Err(mismatch());
    }
    let batch = match (ba, bb) {
        (Some(x), Some(y)) if x != y => return Err(mismatch()),
        (Some(x), _) | (None, Some(x)) => Some(x),
        (None, None) => None,
    };
    let shape = match batch {
        Some(bs) => vec![bs, m, n],
        None => vec![m, n],
    };
    let bs = batch.unwrap_or(1);
    let out = a.device().alloc(bs * m * n)?;
    if bs * m * n > 0 {
        let a_batch = if ba.is_some() { m * k } else { 0 };
        let b_batch = if bb.is_some() { k * n } else { 0 };
        let params = [m, n, k, bs, a_batch, k, 1, b_batch, n, 1, 0, 0].map(|v| v as u32);
        // Each kernel's tile of C per workgroup (columns, rows); see shaders/matmul.wgsl.
        let (entry, tile) = match kernel {
            MatmulKernel::Naive => ("matmul_naive", (16, 16)),
            MatmulKernel::Blocked => ("matmul_blocked", (256, 8)),
        };
        let groups = [n.div_ceil(tile.0) as u32, m.div_ceil(tile.1) as u32, bs as u32];
        let (sa, sb) = (a.storage(), b.storage());
        a.device().dispatch(&MATMUL, entry, &[], &[&sa, &sb], &[&out], &params, groups);
    }
    Ok((shape, out))
}

impl Tensor {
    /// The matrix product: [m, k]·[k, n], or batched [b, m, k]·[b, k, n] where either side
    /// may be a single matrix shared by the batch.
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        self.matmul_with(other, MatmulKernel::Blocked)
    }

    /// [`Tensor::matmul`] with a chosen kernel (for tests and benchmarks).
    pub fn matmul_with(&self, other: &Tensor, kernel: MatmulKernel) -> Result<Tensor> {
        let (shape, out) = launch(self, other, kernel)?;
        Ok(Tensor::from_op(shape, out, "matmul", &[self, other], move |inp, _, g| {
            let (a, b) = (&inp[0], &inp[1]);
            let ga = g.matmul_with(&b.transpose(-1, -2)?, kernel)?.sum_to(a.shape())?;
            let gb = a.transpose(-1, -2)?.matmul_with(g, kernel)?.sum_to(b.shape())?;
            Ok(vec![Some(ga), Some(gb)])
        }))
    }
}
