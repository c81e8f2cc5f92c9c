//! Nearest-neighbour upsampling by a whole factor (shaders/upsample.wgsl) and its adjoint,
//! the sum over each block: a pair closed under differentiation, so gradients of any order
//! work. One pass each way, with one index division per small element, where the general
//! `resize_nearest` takes two index selections forward and two index additions back.

use crate::error::Result;
use crate::gpu::shaders::UPSAMPLE;
use crate::tensor::Tensor;

/// Runs `entry` from `x` to a tensor of `shape`; `small` is the [planes, h, w] of the
/// smaller side, which the invocations walk.
fn launch(
    x: &Tensor,
    entry: &'static str,
    shape: Vec<usize>,
    small: [usize; 3],
    scale: usize,
) -> Result<Tensor> {
    let d = x.device();
    let out = d.alloc(shape.iter().product())?;
    let n = small.iter().product();
    if n > 0 {
        let params = [small[0], small[1], small[2], scale].map(|v| v as u32);
        let sx = x.storage();
        d.dispatch_linear(&UPSAMPLE, entry, &[], &[&sx], &[&out], &params, n);
    }
    let rule = move |_: &[Tensor], _: &Tensor, g: &Tensor| -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(if entry == "upsample_nearest" { block_sum(g, scale)? } else { upsample(g, scale)? })])
    };
    Ok(Tensor::from_op(shape, out, entry, &[x], rule))
}

/// [n, c, h, w] -> [n, c, h·s, w·s], each value repeated over an s x s block.
pub(crate) fn upsample(x: &Tensor, scale: usize) -> Result<Tensor> {
    let [n, c, h, w] = <[usize; 4]>::try_from(x.shape()).expect("checked by the caller");
    launch(x, "upsample_nearest", vec![n, c, h * scale, w * scale], [n * c, h, w], scale)
}

/// [n, c, h·s, w·s] -> [n, c, h, w], each s x s block summed.
fn block_sum(g: &Tensor, scale: usize) -> Result<Tensor> {
    let [n, c, hs, ws] = <[usize; 4]>::try_from(g.shape()).expect("a 4-D gradient");
    let (h, w) = (hs / scale, ws / scale);
    launch(g, "upsample_nearest_adjoint", vec![n, c, h, w], [n * c, h, w], scale)
}
