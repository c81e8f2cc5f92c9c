//! Matrix products, 2-D and batched (shaders/matmul.wgsl). The kernels read both operands
//! through strides, so a transposed operand costs no copy: the primitive is
//! C = op(A)·op(B) with op = identity or transpose, and its gradients are products of the
//! same kind, summed over a broadcast batch.

use crate::autograd::needs_grad;
use crate::error::{Error, Result};
use crate::gpu::{
    shaders::{MATMUL, MATMUL_CPU, MATMUL_GPU},
    KernelPath, Storage,
};
use crate::ops::matmul_cpu::{entry_name, AMode, BMode, TILE_COLS, TILE_ROWS};
use crate::ops::matmul_gpu::TILE;
use crate::tensor::Tensor;

/// Which kernel runs a product; the naive one is the test reference for the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulKernel {
    Naive,
    /// The device's fast kernel (`Device::kernel_path`): `Cpu` on CPU adapters where it
    /// applies (see [`cpu_mode`]), `Tiled` on GPUs, else `Blocked`.
    Auto,
    /// Register-blocked without workgroup memory, for any adapter.
    Blocked,
    /// Workgroup-memory tiles for GPUs (`ops::matmul_gpu`); runs on any adapter.
    Tiled,
    /// For CPU adapters with 8-lane subgroups (`ops::matmul_cpu`); an error elsewhere, or
    /// when an operand's contiguous side is not a multiple of 4.
    Cpu,
}

/// Whether the CPU kernel can run C = A'·B' here, and how it reads them: each operand as
/// vec4s along its contiguous side (k or m for A', n or k for B'), which must be a
/// multiple of 4 long.
fn cpu_mode(
    device: &crate::gpu::Device,
    (ta, tb): (bool, bool),
    (m, n, k): (usize, usize, usize),
) -> Option<(AMode, BMode)> {
    if !device.cpu_subgroup8() {
        return None;
    }
    let a = match ta {
        false if k.is_multiple_of(4) => AMode::Rows,
        true if m.is_multiple_of(4) => AMode::Cols,
        _ => return None,
    };
    let b = match tb {
        false if n.is_multiple_of(4) => BMode::N,
        true if k.is_multiple_of(4) => BMode::K,
        _ => return None,
    };
    Some((a, b))
}

/// An operand as the product sees it: batch, rows, columns, and the strides to read
/// element (batch, row, column) from its storage.
struct View {
    batch: Option<usize>,
    rows: usize,
    cols: usize,
    strides: [usize; 3],
}

fn view(t: &Tensor, transposed: bool, side: &str) -> Result<View> {
    let (batch, r, c) = match *t.shape() {
        [r, c] => (None, r, c),
        [b, r, c] => (Some(b), r, c),
        _ => {
            return Err(Error::Rank {
                op: "matmul",
                expected: format!("a 2-D or 3-D {side} operand"),
                shape: t.shape().to_vec(),
            })
        }
    };
    let batch_stride = if batch.is_some() { r * c } else { 0 };
    Ok(if transposed {
        View { batch, rows: c, cols: r, strides: [batch_stride, 1, c] }
    } else {
        View { batch, rows: r, cols: c, strides: [batch_stride, c, 1] }
    })
}

fn launch(a: &Tensor, b: &Tensor, ta: bool, tb: bool, kernel: MatmulKernel) -> Result<(Vec<usize>, Storage)> {
    a.same_device("matmul", &[b])?;
    let (va, vb) = (view(a, ta, "left")?, view(b, tb, "right")?);
    let mismatch = || Error::ShapeMismatch { op: "matmul", lhs: a.shape().to_vec(), rhs: b.shape().to_vec() };
    if va.cols != vb.rows {
        return Err(mismatch());
    }
    let batch = match (va.batch, vb.batch) {
        (Some(x), Some(y)) if x != y => return Err(mismatch()),
        (Some(x), _) | (None, Some(x)) => Some(x),
        (None, None) => None,
    };
    let (m, k, n) = (va.rows, va.cols, vb.cols);
    let shape = match batch {
        Some(bs) => vec![bs, m, n],
        None => vec![m, n],
    };
    let bs = batch.unwrap_or(1);
    let out = a.device().alloc(bs * m * n)?;
    if bs * m * n > 0 {
        let [ab, ar, ac] = va.strides;
        let [bb, br, bc] = vb.strides;
        let params = [m, n, k, bs, ab, ar, ac, bb, br, bc, 0, 0].map(|v| v as u32);
        let device = a.device();
        let path = device.kernel_path();
        let kernel = match (kernel, path) {
            (MatmulKernel::Auto, KernelPath::Tiled) => MatmulKernel::Tiled,
            (k, _) => k,
        };
        let cpu = match kernel {
            // Fewer than 16 rows (a Linear layer on a small batch) would leave most of the
            // CPU kernel's 32-row tile computing clamped duplicates; the blocked kernel's
            // tile is 8 rows.
            MatmulKernel::Auto if m >= 16 && path == KernelPath::Cpu => cpu_mode(device, (ta, tb), (m, n, k)),
            MatmulKernel::Cpu => {
                Some(cpu_mode(device, (ta, tb), (m, n, k)).ok_or_else(|| Error::Invalid {
                    op: "matmul",
                    msg: format!(
                        "the CPU kernel needs a CPU adapter with 8-lane subgroups and each operand's \
                     contiguous side % 4 == 0 (adapter {}, m {m}, n {n}, k {k}, A transposed: {ta}, \
                     B transposed: {tb})",
                        device.summary().name
                    ),
                })?)
            }
            _ => None,
        };
        // Each kernel's tile of C per workgroup (columns, rows); see the shaders.
        let (family, entry, tile) = match (kernel, cpu) {
            (_, Some((am, bm))) => (&MATMUL_CPU, entry_name(am, bm), (TILE_COLS, TILE_ROWS)),
            (MatmulKernel::Naive, _) => (&MATMUL, "matmul_naive", (16, 16)),
            (MatmulKernel::Tiled, _) => (&MATMUL_GPU, "matmul_tiled", (TILE, TILE)),
            _ => (&MATMUL, "matmul_blocked", (256, 8)),
        };
        let groups = [n.div_ceil(tile.0) as u32, m.div_ceil(tile.1) as u32, bs as u32];
        let (sa, sb) = (a.storage(), b.storage());
        device.dispatch(family, entry, &[], &[&sa, &sb], &[&out], &params, groups);
    }
    Ok((shape, out))
}

/// C = op(A)·op(B). With A' = op(A), B' = op(B): dA' = G·B'ᵀ and dB' = A'ᵀ·G, and a
/// transposed operand's gradient is the transpose of that, which is again such a product.
fn matmul_t(a: &Tensor, b: &Tensor, ta: bool, tb: bool, kernel: MatmulKernel) -> Result<Tensor> {
    let (shape, out) = launch(a, b, ta, tb, kernel)?;
    Ok(Tensor::from_op(shape, out, "matmul", &[a, b], move |inp, _, g| {
        let (a, b) = (&inp[0], &inp[1]);
        // Each side only where asked for (a detached vector in spectral norm's σ = u·Wv).
        let ga = needs_grad(0)
            .then(|| if ta { matmul_t(b, g, tb, true, kernel) } else { matmul_t(g, b, false, !tb, kernel) })
            .transpose()?;
        let gb = needs_grad(1)
            .then(|| if tb { matmul_t(g, a, true, ta, kernel) } else { matmul_t(a, g, !ta, false, kernel) })
            .transpose()?;
        Ok(vec![ga.map(|t| t.sum_to(a.shape())).transpose()?, gb.map(|t| t.sum_to(b.shape())).transpose()?])
    }))
}

impl Tensor {
    /// The matrix product: [m, k]·[k, n], or batched [b, m, k]·[b, k, n] where either side
    /// may be a single matrix shared by the batch.
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        self.matmul_with(other, MatmulKernel::Auto)
    }

    /// x·Wᵀ + b for x [.., in], weight [out, in] and bias [out], as `nn.Linear` (the
    /// transposed weight is read through strides, not copied).
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        let y = matmul_t(self, weight, false, true, MatmulKernel::Auto)?;
        match bias {
            Some(b) => y.add(b),
            None => Ok(y),
        }
    }

    /// [`Tensor::matmul`] with a chosen kernel (for tests and benchmarks).
    pub fn matmul_with(&self, other: &Tensor, kernel: MatmulKernel) -> Result<Tensor> {
        matmul_t(self, other, false, false, kernel)
    }

    /// op(self)·op(other) with op = transpose where asked, read through strides, with a
    /// chosen kernel (for tests and benchmarks).
    pub fn matmul_transposed_with(
        &self,
        other: &Tensor,
        transpose_self: bool,
        transpose_other: bool,
        kernel: MatmulKernel,
    ) -> Result<Tensor> {
        matmul_t(self, other, transpose_self, transpose_other, kernel)
    }
}
