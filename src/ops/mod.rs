//! Tensor ops, one module per kernel family with the same stem as its shader. Each module
//! holds the forward launchers and, beside each, its gradient rule in tensor ops.

mod binary;
mod fill;
mod gather;
pub mod matmul;
mod random;
mod reduce;
mod select;
mod shape;
mod unary;
