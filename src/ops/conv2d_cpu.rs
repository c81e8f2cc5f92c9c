//! Convolution kernels for CPU adapters with 8-lane subgroups: their tiles, entry points
//! and weight packing. The kernels, `shaders/conv2d_cpu.wgsl` and
//! `shaders/conv2d_cpu_weight_grad.wgsl`, are fully unrolled WGSL written by
//! `gen_conv2d_cpu` (`cargo run --example gen_shaders`). The scheme is `matmul_cpu`'s (read that first): each subgroup computes a tile of
//! 32 (or 8) channels × 64 pixels as an implicit GEMM, the weights of 8 reduction channels
//! are loaded one per lane and shared with `subgroupBroadcast`, and each lane gathers the
//! activations of its own 8 pixels. The weights are first repacked (`ops::conv2d_pack`) so
//! that a lane reads 4 of the tile's channels with one vec4 load: one copy per weight and
//! layout between optimizer steps that saves three quarters of the weight loads.
//!
//! - `conv2d_cpu`: the forward convolution; rows are output channels, the reduction runs
//!   over (input channel, tap).
//! - `conv2d_cpu_input_grad`: its adjoint in x (also the transposed convolution); rows are
//!   input channels. Pixels are split into stride classes (iy % sh, ix % sw), as in
//!   `conv2d_input_grad_blocked`: within a class every pixel is reached by the same taps,
//!   so a stride-2 kernel visits a quarter of them and skips nothing per lane.
//! - `conv2d_cpu_weight_grad`: its adjoint in w; rows are output channels, columns
//!   (input channel, tap), and the reduction runs over pixels, 8 of one output row at a
//!   time, split into chunks of output rows (split-K) whose partial sums are added after.
//!
//! Bindings as `shaders/conv2d_params.wgsl` (in0, in1, out, and the same Params), except that in1
//! holds the packed weight as vec4s in the `CONV2D_CPU` family (forward and input gradient)
//! and the output gradient in `CONV2D_CPU_WEIGHT_GRAD`.

/// Channels per tile (rows of the implicit GEMM): 32, or 8 for layers with few channels
/// (an RGB input or a one-channel critic output), where a 32-row tile would mostly compute
/// clamped duplicates.
pub(crate) const TILE_ROWS: [usize; 2] = [32, 8];
/// Pixels per tile: 8 lanes × 8 pixels, lane l owning pixels l, l + 8, ...
pub(crate) const TILE_PIXELS: usize = 64;
/// The reduction advances 8 channels at a time, one per lane.
pub(crate) const CHANNEL_STEP: usize = 8;

/// The entry points for a tile of `rows` channels: forward, input and weight gradient.
pub(crate) fn entries(rows: usize) -> [&'static str; 3] {
    match rows {
        32 => ["conv2d_cpu", "conv2d_cpu_input_grad", "conv2d_cpu_weight_grad"],
        8 => ["conv2d_cpu_r8", "conv2d_cpu_input_grad_r8", "conv2d_cpu_weight_grad_r8"],
        _ => unreachable!("no {rows}-row conv tile"),
    }
}

/// The tile height for `rows` channels.
pub(crate) fn tile_rows(rows: usize) -> usize {
    if rows < 24 {
        8
    } else {
        32
    }
}
