//! gantry: a tensor engine with reverse-mode autograd whose every kernel is a WGSL compute
//! shader run through wgpu, so the same code runs on Vulkan, Metal and DX12 GPUs and on a
//! CPU through Mesa's lavapipe.
//!
//! Layers, bottom to top: [`gpu`] (device, buffer pool, pipeline cache, command batching),
//! [`tensor`] (the `Tensor` type, creation, host transfer), `ops` (one module per kernel
//! family, forward launcher beside its gradient rule) and [`autograd`] (the tape).

pub mod autograd;
pub mod bench;
pub mod cli;
pub mod data;
pub mod error;
pub mod gpu;
pub mod io;
pub mod models;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod tensor;
pub mod train;

pub use autograd::{grad, no_grad, NoGradGuard};
pub use error::{Error, Result};
pub use gpu::{Device, PoolStats};
pub use tensor::Tensor;
