//! Kernels and their gradients against PyTorch goldens, one file per kernel family.

mod augment;
mod conv;
mod elementwise;
mod errors;
mod matmul;
mod norm;
mod norm_act;
mod pad;
mod pool;
mod random;
mod reduce;
mod shape;
