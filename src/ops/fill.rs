//! Constant and range fills (shaders/fill.wgsl).

use crate::error::{Error, Result};
use crate::gpu::{shaders::FILL, Device};
use crate::tensor::{shape::check_rank, Tensor};
use std::rc::Rc;

impl Tensor {
    /// A tensor with every element `value`.
    pub fn full(device: &Device, shape: &[usize], value: f32) -> Result<Tensor> {
        check_rank("full", shape)?;
        let n: usize = shape.iter().product();
        let out = device.alloc(n)?;
        if n > 0 {
            let params = [n as u32, value.to_bits(), 0, 0];
            device.dispatch_linear(&FILL, "fill_const", &[], &[], &[&out], &params, n);
        }
        Ok(Tensor::from_storage(device, shape.to_vec(), Rc::new(out)))
    }

    /// The 1-D tensor `start, start + step, …` up to but excluding `end`, like `torch.arange`.
    pub fn arange(device: &Device, start: f32, end: f32, step: f32) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || ((end - start) / step) < 0.0 {
            return Err(Error::Invalid {
                op: "arange",
                msg: format!("cannot step from {start} to {end} by {step}"),
            });
        }
        let n = ((end - start) / step).ceil() as usize;
        let out = device.alloc(n)?;
        if n > 0 {
            let params = [n as u32, start.to_bits(), step.to_bits(), 0];
            device.dispatch_linear(&FILL, "fill_arange", &[], &[], &[&out], &params, n);
        }
        Ok(Tensor::from_storage(device, vec![n], Rc::new(out)))
    }
}
