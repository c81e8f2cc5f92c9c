//! Everything that opens the GPU device, in one test binary so the device is opened once
//! and wgpu is linked once. Files mirror `src/`: `ops/` for kernels, `nn`, `optim`, `io`,
//! `data`, `models/` for each model's parity against PyTorch, `train/` for the trainer.

mod autograd;
mod bench;
pub mod cli;
mod common;
pub mod data;
mod io;
mod kernel_paths;
mod models;
mod nn;
mod ops;
mod optim;
pub mod train;
