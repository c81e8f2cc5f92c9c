//! `InstanceNorm2d` and `BatchNorm2d` layers with PyTorch's parameters, buffers and modes.

use super::module::{Layer, Module, Role};
use crate::error::Result;
use crate::gpu::Device;
use crate::ops::norm::{NormAct, NormKind, RunningStats};
use crate::tensor::Tensor;
use std::cell::Cell;

/// Options shared by the norm layers; PyTorch's defaults differ per layer (see `new`).
#[derive(Clone, Copy, Debug)]
pub struct NormConfig {
    pub eps: f32,
    pub momentum: f32,
    pub affine: bool,
    pub track_running_stats: bool,
}

/// The tensors and mode of a norm layer.
pub struct Norm {
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
    pub running_mean: Option<Tensor>,
    pub running_var: Option<Tensor>,
    /// PyTorch's `num_batches_tracked` (an integer there; a count here).
    pub num_batches_tracked: Option<Tensor>,
    pub config: NormConfig,
    training: Cell<bool>,
    batch: bool,
}

impl Norm {
    fn new(d: &Device, c: usize, config: NormConfig, batch: bool) -> Result<Norm> {
        let param = |v: f32| -> Result<Option<Tensor>> {
            Ok(if config.affine { Some(Tensor::full(d, &[c], v)?.requires_grad_()) } else { None })
        };
        let buffer = |shape: &[usize], v: f32| -> Result<Option<Tensor>> {
            Ok(if config.track_running_stats { Some(Tensor::full(d, shape, v)?) } else { None })
        };
        Ok(Norm {
            weight: param(1.0)?,
            bias: param(0.0)?,
            running_mean: buffer(&[c], 0.0)?,
            running_var: buffer(&[c], 1.0)?,
            num_batches_tracked: buffer(&[], 0.0)?,
            config,
            training: Cell::new(true),
            batch,
        })
    }

    /// `nn.InstanceNorm2d(c, affine, track_running_stats)`: eps 1e-5, momentum 0.1.
    pub fn instance(d: &Device, c: usize, affine: bool, track_running_stats: bool) -> Result<Norm> {
        Norm::new(d, c, NormConfig { eps: 1e-5, momentum: 0.1, affine, track_running_stats }, false)
    }

    /// `nn.BatchNorm2d(c)`: affine, tracking running statistics, eps 1e-5, momentum 0.1.
    pub fn batch(d: &Device, c: usize) -> Result<Norm> {
        Norm::new(
            d,
            c,
            NormConfig { eps: 1e-5, momentum: 0.1, affine: true, track_running_stats: true },
            true,
        )
    }
}

impl Module for Norm {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        let named = [
            ("weight", &self.weight, Role::Parameter),
            ("bias", &self.bias, Role::Parameter),
            ("running_mean", &self.running_mean, Role::Buffer),
            ("running_var", &self.running_var, Role::Buffer),
            ("num_batches_tracked", &self.num_batches_tracked, Role::Buffer),
        ];
        for (name, t, role) in named {
            if let Some(t) = t {
                f(name, t, role);
            }
        }
    }
    fn set_training(&self, on: bool) {
        self.training.set(on);
    }
    fn ignores_legacy_key(&self, name: &str) -> bool {
        if self.config.track_running_stats {
            // Missing from files saved before PyTorch 0.4.1 (the released StarGAN models).
            name == "num_batches_tracked"
        } else {
            !self.batch && matches!(name, "running_mean" | "running_var" | "num_batches_tracked")
        }
    }
}

impl Norm {
    /// The norm, then `act` in the same kernel.
    pub fn forward_act(&self, x: &Tensor, act: NormAct) -> Result<Tensor> {
        let training = self.training.get();
        let running = match (&self.running_mean, &self.running_var) {
            (Some(mean), Some(var)) => Some(RunningStats { mean, var, momentum: self.config.momentum }),
            _ => None,
        };
        // PyTorch counts batches in BatchNorm only; InstanceNorm leaves its counter at 0.
        if let (true, true, Some(count)) = (training, self.batch, &self.num_batches_tracked) {
            crate::autograd::no_grad(|| count.assign(&count.add_scalar(1.0)?))?;
        }
        let (w, b, eps) = (self.weight.as_ref(), self.bias.as_ref(), self.config.eps);
        let kind = if self.batch { NormKind::Batch } else { NormKind::Instance };
        x.norm_act(kind, w, b, running, training, eps, act)
    }
}

impl Layer for Norm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_act(x, NormAct::None)
    }

    fn forward_then(&self, x: &Tensor, act: NormAct) -> Option<Result<Tensor>> {
        Some(self.forward_act(x, act))
    }
}
