//! Adam as `torch.optim.Adam`: L2 weight decay added to the gradient (not AdamW), bias
//! correction, eps outside the square root.

use super::{find, launch, OptimizerState, ParamGroup};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Adam's settings; PyTorch's defaults except the learning rate.
#[derive(Clone, Copy, Debug)]
pub struct AdamConfig {
    pub lr: f32,
    pub betas: (f32, f32),
    pub eps: f32,
    pub weight_decay: f32,
}

impl AdamConfig {
    pub fn new(lr: f32) -> Self {
        AdamConfig { lr, betas: (0.9, 0.999), eps: 1e-8, weight_decay: 0.0 }
    }
    pub fn betas(mut self, b1: f32, b2: f32) -> Self {
        self.betas = (b1, b2);
        self
    }
    pub fn weight_decay(mut self, wd: f32) -> Self {
        self.weight_decay = wd;
        self
    }
}

struct Slot {
    m: Tensor,
    v: Tensor,
    step: u64,
}

/// Adam over one or more parameter groups.
pub struct Adam {
    pub groups: Vec<ParamGroup>,
    pub config: AdamConfig,
    state: Vec<Vec<Option<Slot>>>,
}

impl Adam {
    pub fn new(params: Vec<Tensor>, config: AdamConfig) -> Adam {
        let mut adam = Adam { groups: Vec::new(), config, state: Vec::new() };
        adam.add_group(params, config.lr);
        adam
    }

    /// Adds parameters with their own learning rate (StarGAN v2's mapping network).
    pub fn add_group(&mut self, params: Vec<Tensor>, lr: f32) {
        self.state.push(params.iter().map(|_| None).collect());
        self.groups.push(ParamGroup { params, lr });
    }

    /// Sets every group's learning rate (schedules).
    /// The first group's learning rate.
    pub fn lr(&self) -> f32 {
        self.groups.first().map_or(0.0, |g| g.lr)
    }

    pub fn set_lr(&mut self, lr: f32) {
        for g in &mut self.groups {
            g.lr = lr;
        }
    }

    /// Clears every parameter's gradient.
    pub fn zero_grad(&self) {
        self.groups.iter().flat_map(|g| &g.params).for_each(Tensor::zero_grad);
    }

    /// One update of every parameter that has a gradient.
    pub fn step(&mut self) -> Result<()> {
        let c = self.config;
        for (group, slots) in self.groups.iter().zip(&mut self.state) {
            for (p, slot) in group.params.iter().zip(slots.iter_mut()) {
                let Some(g) = p.grad() else { continue };
                p.make_unique()?;
                let s = match slot {
                    Some(s) => s,
                    None => {
                        slot.insert(Slot { m: Tensor::zeros_like(p)?, v: Tensor::zeros_like(p)?, step: 0 })
                    }
                };
                s.step += 1;
                let t = s.step as i32;
                let bias1 = 1.0 - (c.betas.0 as f64).powi(t);
                let bias2 = 1.0 - (c.betas.1 as f64).powi(t);
                let params = [
                    p.numel() as u32,
                    group.lr.to_bits(),
                    c.betas.0.to_bits(),
                    c.betas.1.to_bits(),
                    c.eps.to_bits(),
                    c.weight_decay.to_bits(),
                    ((group.lr as f64 / bias1) as f32).to_bits(),
                    (bias2.sqrt() as f32).to_bits(),
                    0,
                    0,
                    0,
                    0,
                ];
                launch("adam_step", p, &g, &s.m, &s.v, &params)?;
            }
        }
        Ok(())
    }

    /// The moments, step counts and learning rates by name, as `torch.optim` numbers them:
    /// `state.{i}.exp_avg`, `state.{i}.exp_avg_sq`, `state.{i}.step`, `param_groups.{g}.lr`.
    pub fn state_dict(&self) -> Result<OptimizerState> {
        let mut out = Vec::new();
        let mut i = 0;
        for (gi, (group, slots)) in self.groups.iter().zip(&self.state).enumerate() {
            let d = group.params.first().map(|p| p.device().clone());
            if let Some(d) = &d {
                out.push((format!("param_groups.{gi}.lr"), Tensor::scalar(d, group.lr)?));
            }
            for slot in slots {
                if let Some(s) = slot {
                    out.push((format!("state.{i}.exp_avg"), s.m.clone()));
                    out.push((format!("state.{i}.exp_avg_sq"), s.v.clone()));
                    out.push((format!("state.{i}.step"), Tensor::scalar(s.m.device(), s.step as f32)?));
                }
                i += 1;
            }
        }
        Ok(out)
    }

    /// Restores what `state_dict` saved; shapes must match the parameters.
    pub fn load_state_dict(&mut self, state: &OptimizerState) -> Result<()> {
        let mut i = 0;
        for (gi, (group, slots)) in self.groups.iter_mut().zip(&mut self.state).enumerate() {
            if let Ok(lr) = find(state, &format!("param_groups.{gi}.lr")) {
                group.lr = lr.item()?;
            }
            for (p, slot) in group.params.iter().zip(slots.iter_mut()) {
                let name = format!("state.{i}.exp_avg");
                *slot = match find(state, &name) {
                    Ok(m) => {
                        let v = find(state, &format!("state.{i}.exp_avg_sq"))?;
                        for (n, t) in [(&name, m), (&format!("state.{i}.exp_avg_sq"), v)] {
                            if t.shape() != p.shape() {
                                return Err(Error::Invalid {
                                    op: "load_state_dict",
                                    msg: format!(
                                        "{n} has shape {:?} but its parameter {:?}",
                                        t.shape(),
                                        p.shape()
                                    ),
                                });
                            }
                        }
                        let step = find(state, &format!("state.{i}.step"))?.item()? as u64;
                        Some(Slot { m: m.detach().copy()?, v: v.detach().copy()?, step })
                    }
                    Err(_) => None,
                };
                i += 1;
            }
        }
        Ok(())
    }
}
