//! SGD as `torch.optim.SGD`: momentum, dampening, Nesterov, L2 weight decay.

use super::{find, launch, OptimizerState, ParamGroup};
use crate::error::{Error, Result};
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

    /// The momentum buffers and learning rates by torch's names
    /// (`state.{i}.momentum_buffer`, `param_groups.{g}.lr`).
    pub fn state_dict(&self) -> Result<OptimizerState> {
        let mut out = Vec::new();
        let mut i = 0;
        for (gi, (group, bufs)) in self.groups.iter().zip(&self.buffers).enumerate() {
            if let Some(p) = group.params.first() {
                out.push((format!("param_groups.{gi}.lr"), Tensor::scalar(p.device(), group.lr)?));
            }
            for buf in bufs {
                if let Some(b) = buf {
                    out.push((format!("state.{i}.momentum_buffer"), b.clone()));
                }
                i += 1;
            }
        }
        Ok(out)
    }

    /// Restores what `state_dict` saved; shapes must match the parameters.
    pub fn load_state_dict(&mut self, state: &OptimizerState) -> Result<()> {
        let mut i = 0;
        for (gi, (group, bufs)) in self.groups.iter_mut().zip(&mut self.buffers).enumerate() {
            if let Ok(lr) = find(state, &format!("param_groups.{gi}.lr")) {
                group.lr = lr.item()?;
            }
            for (p, buf) in group.params.iter().zip(bufs.iter_mut()) {
                let name = format!("state.{i}.momentum_buffer");
                *buf = match find(state, &name) {
                    Ok(b) if b.shape() != p.shape() => {
                        return Err(Error::Invalid {
                            op: "load_state_dict",
                            msg: format!(
                                "{name} has shape {:?} but its parameter {:?}",
                                b.shape(),
                                p.shape()
                            ),
                        })
                    }
                    Ok(b) => Some(b.detach().copy()?),
                    Err(_) => None,
                };
                i += 1;
            }
        }
        Ok(())
    }
}
