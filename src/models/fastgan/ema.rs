//! The generator's exponential moving average, as FastGAN keeps it (`avg_param_G`): a copy
//! of every parameter, θ_ema ← 0.999·θ_ema + 0.001·θ after each step; buffers are not
//! averaged. As a network it reads like the reference's `{it}.pth` 'g' entry: the
//! averaged parameters with the live generator's buffers (BatchNorm statistics, spectral
//! norm vectors), so one file holds a whole generator to sample from.

use super::nets::Generator;
use crate::autograd::no_grad;
use crate::error::Result;
use crate::nn::{Module, ModuleExt, Role};
use crate::tensor::Tensor;

pub struct EmaGenerator {
    /// (name, tensor, role) in the generator's state-dict order: own copies of the
    /// parameters, the generator's own buffers.
    entries: Vec<(String, Tensor, Role)>,
}

impl EmaGenerator {
    /// Starts from the generator's current parameters (`copy_G_params`).
    pub fn new(g: &Generator) -> Result<EmaGenerator> {
        let mut named = Vec::new();
        g.visit(&mut |name, t, role| named.push((name.to_string(), t.clone(), role)));
        let entries = named
            .into_iter()
            .map(|(name, t, role)| match role {
                Role::Parameter => Ok((name, t.detach().copy()?, role)),
                Role::Buffer => Ok((name, t, role)),
            })
            .collect::<Result<_>>()?;
        Ok(EmaGenerator { entries })
    }

    /// The averaged parameters, in the generator's parameter order (`g_ema`).
    pub fn parameters(&self) -> Vec<Tensor> {
        self.entries.iter().filter(|(_, _, r)| *r == Role::Parameter).map(|(_, t, _)| t.clone()).collect()
    }

    /// θ_ema ← β·θ_ema + (1 − β)·θ.
    pub fn update(&self, g: &Generator, beta: f32) -> Result<()> {
        crate::optim::ema_update(&self.parameters(), &g.parameters(), beta)
    }

    /// Runs `f` with the averaged parameters in the generator, then puts its own back (the
    /// reference's `load_params` around sampling; buffers stay as `f` leaves them).
    pub fn swapped_in<T>(&self, g: &Generator, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let own: Vec<Tensor> = g.parameters();
        let backup = no_grad(|| own.iter().map(|p| p.detach().copy()).collect::<Result<Vec<_>>>())?;
        no_grad(|| own.iter().zip(self.parameters()).try_for_each(|(p, e)| p.assign(&e)))?;
        let out = f();
        no_grad(|| own.iter().zip(&backup).try_for_each(|(p, b)| p.assign(b)))?;
        out
    }
}

impl Module for EmaGenerator {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        for (name, t, role) in &self.entries {
            f(name, t, *role);
        }
    }
}
