//! Creating tensors from host data and from constants.

use super::{shape::check_rank, Tensor};
use crate::error::{Error, Result};
use crate::gpu::Device;
use std::rc::Rc;

impl Tensor {
    /// A tensor holding `data` in row-major order.
    pub fn from_slice(device: &Device, data: &[f32], shape: &[usize]) -> Result<Tensor> {
        check_rank("from_slice", shape)?;
        let numel: usize = shape.iter().product();
        if data.len() != numel {
            return Err(Error::DataLength {
                op: "from_slice",
                len: data.len(),
                shape: shape.to_vec(),
                numel,
            });
        }
        let storage = device.alloc(numel)?;
        device.upload(&storage, data);
        Ok(Tensor::from_storage(device, shape.to_vec(), Rc::new(storage)))
    }

    /// A rank-0 tensor holding `value`.
    pub fn scalar(device: &Device, value: f32) -> Result<Tensor> {
        Tensor::full(device, &[], value)
    }

    /// A tensor of zeros.
    pub fn zeros(device: &Device, shape: &[usize]) -> Result<Tensor> {
        Tensor::full(device, shape, 0.0)
    }

    /// A tensor of ones.
    pub fn ones(device: &Device, shape: &[usize]) -> Result<Tensor> {
        Tensor::full(device, shape, 1.0)
    }

    /// Zeros of `like`'s shape, on its device.
    pub fn zeros_like(like: &Tensor) -> Result<Tensor> {
        Tensor::full(like.device(), like.shape(), 0.0)
    }

    /// Ones of `like`'s shape, on its device.
    pub fn ones_like(like: &Tensor) -> Result<Tensor> {
        Tensor::full(like.device(), like.shape(), 1.0)
    }
}
