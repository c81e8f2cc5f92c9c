//! SGD as `torch.optim.SGD`: momentum, dampening, Nesterov, L2 weight decay.

use super::{launch, ParamGroup};
use crate::error::Result;
use crate::tensor::Tensor;

/// SGD's settings; PyTorch's defaults except the learning rate.
#[derive(Clone, Copy, Debug)]
pub struct SgdConfig {
    pub lr: f32,
    pub momentum: f32,
    pub dampening: f32,
    pub nesterov: bool,
    pub weight_decay: f32,
}

impl SgdConfig {
    pub fn new(lr: f32) -> Self {
        SgdConfig { lr, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 }
    }
    pub fn momentum(mut self, m: f32) -> Self {
        self.momentum = m;
        self
    }
    pub fn nesterov(mut self, on: bool) -> Self {
        self.nesterov = on;
        self
    }
    pub fn dampening(mut self, d: f32) -> Self {
        self.dampening = d;
        self
    }
    pub fn weight_decay(mut self, wd: f32) -> Self {
        self.weight_decay = wd;
        self
    }
}

/// SGD over one or more parameter groups.
pub struct Sgd {
    pub groups: Vec<ParamGroup>,
    pub config: SgdConfig,
    buffers: Vec<Vec<Option<Tensor>>>,
    /// Fills the update kernel's second state slot, which SGD does not use.
    spare: Option<Tensor>,
}

impl Sgd {
    pub fn new(params: Vec<Tensor>, config: SgdConfig) -> Sgd {
        let mut sgd = Sgd { groups: Vec::new(), config, buffers: Vec::new(), spare: None };
        sgd.add_group(params, config.lr);
        sgd
    }

    pub fn add_group(&mut self, params: Vec<Tensor>, lr: f32) {
        self.buffers.push(params.iter().map(|_| None).collect());
        self.groups.push(ParamGroup { params, lr });
    }

    pub fn zero_grad(&self) {
        self.groups.iter().flat_map(|g| &g.params).for_each(Tensor::zero_grad);
    }

    /// One update of every parameter that has a gradient.
    pub fn step(&mut self) -> Result<()> {
        let c = self.config;
        for (group, bufs) in self.groups.iter().zip(&mut self.buffers) {
            for (p, buf) in group.params.iter().zip(bufs.iter_mut()) {
                let Some(g) = p.grad() else { continue };
                p.make_unique()?;
                let first = buf.is_none();
                let b = match buf {
                    Some(b) => b.clone(),
                    None => buf.insert(Tensor::zeros_like(p)?).clone(),
                };
                let flags = u32::from(first) | (u32::from(c.nesterov) << 1);
                let params = [
                    p.numel() as u32,
                    group.lr.to_bits(),
                    c.momentum.to_bits(),
                    c.dampening.to_bits(),
                    0,
                    c.weight_decay.to_bits(),
                    0,
                    0,
                    flags,
                    0,
                    0,
                    0,
                ];
                let spare = match &self.spare {
                    Some(t) => t.clone(),
                    None => self.spare.insert(Tensor::zeros(p.device(), &[1])?).clone(),
                };
                launch("sgd_step", p, &g, &b, &spare, &params)?;
            }
        }
        Ok(())
    }
}
