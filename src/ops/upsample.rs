//! Nearest-neighbour upsampling by a whole factor s (shaders/upsample.wgsl) and its adjoint,
//! the sum over each s x s block, each times a constant: a pair closed under
//! differentiation, so gradients of any order work. The pair serves whole-factor nearest
//! resizing (one pass each way, where `resize_nearest` takes two index selections forward
//! and two index additions back) and s x s average pooling (the block sum times 1/s²,
//! whose gradient is an upsampling times 1/s², where the mean over a reshaped view's
//! axes 1 and 3 spread it back with a 4-axis strided copy).

use crate::error::Result;
use crate::gpu::shaders::UPSAMPLE;
use crate::tensor::Tensor;

const UP: &str = "upsample_nearest";
const DOWN: &str = "upsample_nearest_adjoint";

/// Runs `entry` (UP or DOWN) from `x` times `mult`; the gradient is the other entry with
/// the same `mult`.
fn launch(x: &Tensor, entry: &'static str, scale: usize, mult: f32) -> Result<Tensor> {
    let [n, c, h, w] = <[usize; 4]>::try_from(x.shape()).expect("checked by the caller");
    // The smaller side, which the invocations walk, and the output's shape.
    let (small, shape) = if entry == UP {
        ([n * c, h, w], vec![n, c, h * scale, w * scale])
    } else {
        ([n * c, h / scale, w / scale], vec![n, c, h / scale, w / scale])
    };
    let d = x.device();
    let out = d.alloc(shape.iter().product())?;
    let count = small.iter().product();
    if count > 0 {
        let params =
            [small[0] as u32, small[1] as u32, small[2] as u32, scale as u32, mult.to_bits(), 0, 0, 0];
        let sx = x.storage();
        d.dispatch_linear(&UPSAMPLE, entry, &[], &[&sx], &[&out], &params, count);
    }
    let other = if entry == UP { DOWN } else { UP };
    Ok(Tensor::from_op(shape, out, entry, &[x], move |_, _, g| {
        Ok(vec![Some(launch(g, other, scale, mult)?)])
    }))
}

/// [n, c, h, w] -> [n, c, h·s, w·s], each value repeated over an s x s block.
pub(crate) fn upsample(x: &Tensor, scale: usize) -> Result<Tensor> {
    launch(x, UP, scale, 1.0)
}

/// [n, c, h·s, w·s] -> [n, c, h, w], the mean of each s x s block.
pub(crate) fn block_mean(x: &Tensor, scale: usize) -> Result<Tensor> {
    launch(x, DOWN, scale, 1.0 / (scale * scale) as f32)
}
