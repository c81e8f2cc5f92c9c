//! Engine tests against PyTorch goldens: one test binary, so the GPU device is opened once
//! and wgpu is linked once.

mod autograd;
mod checkpoints;
mod common;
mod conv;
mod cyclegan_nets;
mod cyclegan_train;
mod elementwise;
mod errors;
mod layers;
mod matmul;
mod modules;
mod optim;
mod random;
mod reduce;
mod report;
mod resume;
mod shape;
mod training;
