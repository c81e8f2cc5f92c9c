//! Tensor ops, one module per kernel family with the same stem as its shader. Each module
//! holds the forward launchers and, beside each, its gradient rule in tensor ops.

mod binary;
pub mod conv2d;
pub mod conv2d_cpu;
mod fill;
mod gather;
pub mod matmul;
pub mod matmul_cpu;
pub mod norm;
pub mod pad;
mod pool;
mod random;
mod reduce;
mod select;
mod shape;
mod unary;
