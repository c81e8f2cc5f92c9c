//! The GPU matrix product (shaders/matmul_gpu.wgsl after shaders/tile_gpu.wgsl): each
//! workgroup of 16 x 16 invocations computes a 64 x 64 block of C from 64 x 16 and 16 x 64
//! slices of A and B staged in workgroup memory, each invocation a 4 x 4 block in
//! registers. `ops::matmul` launches it for `MatmulKernel::Tiled`, which `Auto` is on GPUs.

/// Rows and columns of C per workgroup (`TILE` in tile_gpu.wgsl).
pub const TILE: usize = 64;
