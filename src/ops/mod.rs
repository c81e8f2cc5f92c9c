//! Tensor ops, one module per kernel family with the same stem as its shader. Each module
//! holds the forward launchers and, beside each, its gradient rule in tensor ops. The
//! `gen_*` modules write the committed, generated shaders of the CPU kernels.

pub mod augment;
mod binary;
pub mod conv2d;
mod conv2d_cpu;
mod conv2d_gpu;
pub mod conv2d_pack;
mod fill;
mod gather;
mod gen_conv2d_cpu;
mod gen_matmul_cpu;
pub mod gen_shaders;
mod glu;
pub mod matmul;
mod matmul_cpu;
mod matmul_gpu;
pub mod norm;
pub mod pad;
mod pool;
mod random;
mod reduce;
mod select;
mod shape;
pub mod spectral;
mod unary;
mod upsample;
