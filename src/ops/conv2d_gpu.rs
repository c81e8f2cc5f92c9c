//! The GPU convolution kernels (shaders/conv2d_gpu.wgsl after shaders/tile_gpu.wgsl): the
//! forward, the input gradient and the split-K weight gradient as implicit GEMMs in 64 x 64
//! workgroup tiles, one group of channels per workgroup. `ops::conv2d` launches them for
//! `ConvKernel::Tiled`, which `Auto` is on GPUs; these are their workgroup grids.

/// Channels and columns per workgroup (`TILE` in tile_gpu.wgsl).
pub const TILE: usize = 64;

/// Workgroups a GPU wants busy at once for the weight gradient's split-K: a few per
/// compute unit on a large card.
pub const WEIGHT_GRAD_WORKGROUPS: usize = 512;

/// The shortest stretch of output pixels one weight-gradient split sums: shorter ones
/// would spend more on their partial results than on the product.
pub const MIN_SPLIT_PIXELS: usize = 256;

/// Forward: (output pixels, output channels of a group, images x groups).
pub fn forward_grid(n: usize, groups: usize, cout_g: usize, pixels: usize) -> [u32; 3] {
    [pixels.div_ceil(TILE) as u32, cout_g.div_ceil(TILE) as u32, (n * groups) as u32]
}

/// Input gradient: (pixels of one stride parity class, input channels of a group,
/// images x groups x classes).
pub fn input_grad_grid(
    n: usize,
    groups: usize,
    cin_g: usize,
    class_pixels: usize,
    classes: usize,
) -> [u32; 3] {
    [class_pixels.div_ceil(TILE) as u32, cin_g.div_ceil(TILE) as u32, (n * groups * classes) as u32]
}
