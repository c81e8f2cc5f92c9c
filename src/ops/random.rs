//! Seeded random tensors from a counter-based generator on the GPU (shaders/random.wgsl).
//! Each call draws a fresh stream from the device's generator; `Device::manual_seed`
//! restarts the sequence, so the same seed gives the same tensors on every device.

use crate::error::Result;
use crate::gpu::{shaders::RANDOM, Device};
use crate::tensor::{shape::check_rank, Tensor};
use std::rc::Rc;

fn random(device: &Device, shape: &[usize], entry: &'static str, a: f32, b: f32) -> Result<Tensor> {
    check_rank(entry, shape)?;
    let n: usize = shape.iter().product();
    let out = device.alloc(n)?;
    let (seed, stream) = device.next_rng_stream();
    if n > 0 {
        let params = [
            n as u32,
            seed as u32,
            (seed >> 32) as u32,
            stream as u32,
            (stream >> 32) as u32,
            a.to_bits(),
            b.to_bits(),
            0,
        ];
        device.dispatch_linear(&RANDOM, entry, &[], &[], &[&out], &params, n.div_ceil(4));
    }
    Ok(Tensor::from_storage(device, shape.to_vec(), Rc::new(out)))
}

impl Tensor {
    /// Uniform values in [0, 1).
    pub fn rand(device: &Device, shape: &[usize]) -> Result<Tensor> {
        random(device, shape, "rand_uniform", 0.0, 1.0)
    }

    /// Uniform values in [low, high).
    pub fn uniform(device: &Device, shape: &[usize], low: f32, high: f32) -> Result<Tensor> {
        random(device, shape, "rand_uniform", low, high)
    }

    /// Standard normal values.
    pub fn randn(device: &Device, shape: &[usize]) -> Result<Tensor> {
        random(device, shape, "rand_normal", 0.0, 1.0)
    }

    /// Normal values with the given mean and standard deviation.
    pub fn normal(device: &Device, shape: &[usize], mean: f32, std: f32) -> Result<Tensor> {
        random(device, shape, "rand_normal", mean, std)
    }
}
