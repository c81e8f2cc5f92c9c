//! DiffAugment's per-sample ops (Zhao et al. 2020) on N×C×H×W images. Translate and cutout
//! are kernels (shaders/augment.wgsl) whose backward rules call the same kernels, so they
//! differentiate to any order; the colour ops are built from differentiable primitives.
//! Every op takes its parameters per sample, drawn on the host (see `nn::diffaug`), so a
//! parity test can hand it PyTorch's draws.

use crate::error::{Error, Result};
use crate::gpu::{shaders::AUGMENT, Storage};
use crate::tensor::Tensor;
use std::ops::Range;

/// The rectangle that cutout zeroes in one sample: half-open row (H) and column (W) ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rect {
    pub rows: Range<usize>,
    pub cols: Range<usize>,
}

/// (N, C, H, W) of an image batch, or a rank error naming `op`.
fn dims(op: &'static str, x: &Tensor) -> Result<[usize; 4]> {
    match *x.shape() {
        [n, c, h, w] => Ok([n, c, h, w]),
        _ => Err(Error::Rank { op, expected: "4 dimensions (N, C, H, W)".into(), shape: x.shape().to_vec() }),
    }
}

/// One parameter per sample, or an error naming `op` and both counts.
fn per_sample(op: &'static str, what: &str, got: usize, x: &Tensor) -> Result<[usize; 4]> {
    let d = dims(op, x)?;
    if got != d[0] {
        return Err(Error::Invalid {
            op,
            msg: format!(
                "got {got} {what} for a batch of {} samples (shape {:?}); give one per sample",
                d[0],
                x.shape()
            ),
        });
    }
    Ok(d)
}

/// Runs `entry` over every element of `x` with the per-sample parameters `prm`.
fn launch(x: &Tensor, entry: &'static str, prm: &[f32]) -> Result<Storage> {
    let [n, c, h, w] = dims(entry, x)?;
    let d = x.device();
    let out = d.alloc(x.numel())?;
    if x.numel() > 0 {
        let prm = Tensor::from_slice(d, prm, &[prm.len()])?;
        let (sx, sp) = (x.storage(), prm.storage());
        let params = [n as u32, c as u32, h as u32, w as u32];
        d.dispatch_linear(&AUGMENT, entry, &[], &[&sx, &sp], &[&out], &params, x.numel());
    }
    Ok(out)
}

/// Translation without checks. Shape: [N, C, H, W] -> [N, C, H, W].
fn translate_t(x: &Tensor, shifts: Vec<(i32, i32)>) -> Result<Tensor> {
    let prm: Vec<f32> = shifts.iter().flat_map(|&(tx, ty)| [tx as f32, ty as f32]).collect();
    let out = launch(x, "translate", &prm)?;
    Ok(Tensor::from_op(x.shape().to_vec(), out, "translate", &[x], move |_, _, g| {
        // A zero-filled shift by t moves each value once or drops it, so its adjoint is the
        // zero-filled shift by −t: dx[i] = dy[i − t] where i − t lies inside.
        let back = shifts.iter().map(|&(tx, ty)| (-tx, -ty)).collect();
        Ok(vec![Some(translate_t(g, back)?)])
    }))
}

/// Cutout without checks. Shape: [N, C, H, W] -> [N, C, H, W].
fn cutout_t(x: &Tensor, rects: Vec<Rect>) -> Result<Tensor> {
    let prm: Vec<f32> = rects
        .iter()
        .flat_map(|r| [r.rows.start, r.rows.end, r.cols.start, r.cols.end].map(|v| v as f32))
        .collect();
    let out = launch(x, "cutout", &prm)?;
    // Multiplying by a 0/1 mask is self-adjoint: the gradient gets the same rectangles.
    Ok(Tensor::from_op(x.shape().to_vec(), out, "cutout", &[x], move |_, _, g| {
        Ok(vec![Some(cutout_t(g, rects.clone())?)])
    }))
}

/// `values` as an [N, 1, 1, 1] tensor that broadcasts over C, H and W.
fn column(x: &Tensor, values: impl Iterator<Item = f32>) -> Result<Tensor> {
    let v: Vec<f32> = values.collect();
    Tensor::from_slice(x.device(), &v, &[v.len(), 1, 1, 1])
}

impl Tensor {
    /// out[n, c, i, j] = self[n, c, i + tx_n, j + ty_n] where that pixel is inside the
    /// image, else 0: tx moves along H, ty along W, one (tx, ty) per sample. |tx| ≤ H and
    /// |ty| ≤ W (a larger shift would only zero the image, so it is taken as a mistake).
    /// Shape: [N, C, H, W] -> [N, C, H, W].
    pub fn translate(&self, shifts: &[(i32, i32)]) -> Result<Tensor> {
        const OP: &str = "translate";
        let [_, _, h, w] = per_sample(OP, "shifts", shifts.len(), self)?;
        let fits = |t: i32, size: usize| t.unsigned_abs() as usize <= size;
        if let Some((n, s)) = shifts.iter().enumerate().find(|(_, &(tx, ty))| !fits(tx, h) || !fits(ty, w)) {
            return Err(Error::Invalid {
                op: OP,
                msg: format!(
                    "shift {s:?} of sample {n} is out of range for H = {h}, W = {w} (|tx| <= H, |ty| <= W)"
                ),
            });
        }
        translate_t(self, shifts.to_vec())
    }

    /// Zeroes `rects[n]` (rows × columns, every channel) of sample n. Each range must lie
    /// inside the image; an empty range zeroes nothing. Shape: [N, C, H, W] -> [N, C, H, W].
    pub fn cutout(&self, rects: &[Rect]) -> Result<Tensor> {
        const OP: &str = "cutout";
        let [_, _, h, w] = per_sample(OP, "rectangles", rects.len(), self)?;
        let inside = |r: &Range<usize>, size: usize| r.start <= r.end && r.end <= size;
        if let Some((n, r)) =
            rects.iter().enumerate().find(|(_, r)| !inside(&r.rows, h) || !inside(&r.cols, w))
        {
            return Err(Error::Invalid {
                op: OP,
                msg: format!("rectangle {r:?} of sample {n} does not lie inside H = {h}, W = {w}"),
            });
        }
        cutout_t(self, rects.to_vec())
    }

    /// self + (r_n − 0.5), from one U(0, 1) draw r_n per sample. Shape: [N, C, H, W].
    pub fn brightness(&self, r: &[f32]) -> Result<Tensor> {
        per_sample("brightness", "draws", r.len(), self)?;
        self.add(&column(self, r.iter().map(|&v| v - 0.5))?)
    }

    /// (self − m)·(2·r_n) + m with m the mean over channels: scales each pixel's distance
    /// from its grey value by a factor in [0, 2). Shape: [N, C, H, W].
    pub fn saturation(&self, r: &[f32]) -> Result<Tensor> {
        per_sample("saturation", "draws", r.len(), self)?;
        let m = self.mean(&[1], true)?; // [N, 1, H, W]
        self.sub(&m)?.mul(&column(self, r.iter().map(|&v| 2.0 * v))?)?.add(&m)
    }

    /// (self − m)·(r_n + 0.5) + m with m the mean of sample n over C, H and W: scales the
    /// distance from the image's mean by a factor in [0.5, 1.5). Shape: [N, C, H, W].
    pub fn contrast(&self, r: &[f32]) -> Result<Tensor> {
        per_sample("contrast", "draws", r.len(), self)?;
        let m = self.mean(&[1, 2, 3], true)?; // [N, 1, 1, 1]
        self.sub(&m)?.mul(&column(self, r.iter().map(|&v| v + 0.5))?)?.add(&m)
    }
}
