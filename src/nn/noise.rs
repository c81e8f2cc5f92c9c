//! StyleGAN-style noise injection as FastGAN uses it: x + w·n, with one learned scalar w
//! (initially 0) and a fresh map n ~ N(0, 1) of shape [N, 1, H, W] on every forward,
//! shared by all channels.

use super::module::{Layer, Module, Role};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::tensor::Tensor;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Where the noise maps come from: the device's seeded generator, or maps a caller
/// supplied (a parity test hands over PyTorch's), taken in forward order. Shared by every
/// injection layer of a network.
#[derive(Clone, Default)]
pub struct NoiseQueue(Rc<RefCell<VecDeque<Tensor>>>);

impl NoiseQueue {
    /// Supplies the maps of the next forward passes, first layer first.
    pub fn supply(&self, maps: impl IntoIterator<Item = Tensor>) {
        self.0.borrow_mut().extend(maps);
    }

    /// Drops maps left over (a forward that failed part-way).
    pub fn clear(&self) {
        self.0.borrow_mut().clear();
    }

    /// The next map for a [n, 1, h, w] input: a supplied one, or a fresh draw.
    fn next(&self, d: &Device, shape: [usize; 4]) -> Result<Tensor> {
        match self.0.borrow_mut().pop_front() {
            None => Tensor::randn(d, &shape),
            Some(t) if t.shape() == shape => Ok(t),
            Some(t) => Err(Error::Invalid {
                op: "noise_injection",
                msg: format!("a supplied noise map has shape {:?}, the layer needs {shape:?}", t.shape()),
            }),
        }
    }
}

/// `NoiseInjection`: the parameter is `weight` [1].
pub struct NoiseInjection {
    pub weight: Tensor,
    queue: NoiseQueue,
}

impl NoiseInjection {
    pub fn new(d: &Device, queue: &NoiseQueue) -> Result<NoiseInjection> {
        Ok(NoiseInjection { weight: Tensor::zeros(d, &[1])?.requires_grad_(), queue: queue.clone() })
    }
}

impl Module for NoiseInjection {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        f("weight", &self.weight, Role::Parameter);
    }
}

impl Layer for NoiseInjection {
    /// Shapes: [n, c, h, w] → [n, c, h, w].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let &[n, _, h, w] = x.shape() else {
            return Err(Error::Rank {
                op: "noise_injection",
                expected: "a 4-D input [n, c, h, w]".into(),
                shape: x.shape().to_vec(),
            });
        };
        let noise = self.queue.next(x.device(), [n, 1, h, w])?;
        x.add(&noise.mul(&self.weight.reshape(&[1, 1, 1, 1])?)?)
    }
}
