//! CycleGAN (Zhu et al., 2017): two generators and two PatchGAN discriminators trained
//! with adversarial, cycle-consistency and identity losses.
//!
//! | code       | paper                          |
//! |------------|--------------------------------|
//! | `g_a`      | G: X → Y                       |
//! | `g_b`      | F: Y → X                       |
//! | `d_a`      | D_Y (judges images of B)       |
//! | `d_b`      | D_X (judges images of A)       |
//! | `lambda_a` | λ for the cycle X → Y → X      |
//! | `lambda_b` | λ for the cycle Y → X → Y      |

pub mod pool;
pub mod train;

use super::contract::{GanModel, Length, Step, Visuals};
use super::image2image::Net;
use super::losses::{gan_loss, l1, read_losses, GanMode};
use crate::error::Result;
use crate::gpu::Device;
use crate::io::NamedTensors;
use crate::nn::{Layer, Module, ModuleExt};
use crate::optim::{cyclegan_linear, Adam, AdamConfig};
use crate::tensor::Tensor;
use pool::ImagePool;

/// Loss weights and the GAN objective (the reference's defaults in `Default`).
#[derive(Clone, Copy, Debug)]
pub struct CycleGanOptions {
    pub lambda_a: f32,
    pub lambda_b: f32,
    pub lambda_identity: f32,
    pub gan_mode: GanMode,
    pub pool_size: usize,
    pub lr: f32,
    pub beta1: f32,
    /// Weight of a WGAN-GP gradient penalty in the discriminators' loss; 0 (the
    /// reference's behaviour: its stock models never call the penalty) turns it off.
    pub lambda_gp: f32,
    /// Epochs at the initial learning rate, then epochs of linear decay to zero.
    pub n_epochs: usize,
    pub n_epochs_decay: usize,
}

impl Default for CycleGanOptions {
    fn default() -> Self {
        CycleGanOptions {
            lambda_a: 10.0,
            lambda_b: 10.0,
            lambda_identity: 0.5,
            gan_mode: GanMode::Lsgan,
            pool_size: 50,
            lr: 2e-4,
            beta1: 0.5,
            lambda_gp: 0.0,
            n_epochs: 100,
            n_epochs_decay: 100,
        }
    }
}

pub struct CycleGan {
    pub g_a: Net,
    pub g_b: Net,
    pub d_a: Net,
    pub d_b: Net,
    pub opt_g: Adam,
    pub opt_d: Adam,
    pool_a: ImagePool,
    pool_b: ImagePool,
    pub options: CycleGanOptions,
    /// The last iteration's images by name (real_A, fake_B, rec_A, real_B, fake_A, rec_B).
    pub visuals: Vec<(&'static str, Tensor)>,
}

impl CycleGan {
    /// Wires the networks with one Adam over both generators and one over both
    /// discriminators, as the reference does.
    pub fn new(g_a: Net, g_b: Net, d_a: Net, d_b: Net, options: CycleGanOptions, seed: u64) -> CycleGan {
        let adam = AdamConfig::new(options.lr).betas(options.beta1, 0.999);
        let opt_g = Adam::new([g_a.parameters(), g_b.parameters()].concat(), adam);
        let opt_d = Adam::new([d_a.parameters(), d_b.parameters()].concat(), adam);
        let (pool_a, pool_b) =
            (ImagePool::new(options.pool_size, seed), ImagePool::new(options.pool_size, seed ^ 0x5eed));
        CycleGan { g_a, g_b, d_a, d_b, opt_g, opt_d, pool_a, pool_b, options, visuals: Vec::new() }
    }

    /// One training iteration on real batches `a` and `b`: the generators' step with both
    /// discriminators frozen, then the discriminators' step on pooled fakes. Returns the
    /// named losses (a sync point).
    pub fn optimize(&mut self, a: &Tensor, b: &Tensor) -> Result<Vec<(&'static str, f32)>> {
        let o = self.options;
        let fake_b = self.g_a.forward(a)?; // G(A)
        let rec_a = self.g_b.forward(&fake_b)?; // F(G(A))
        let fake_a = self.g_b.forward(b)?; // F(B)
        let rec_b = self.g_a.forward(&fake_a)?; // G(F(B))

        // Generators: adversarial + cycle + identity, discriminators frozen.
        self.d_a.set_requires_grad(false);
        self.d_b.set_requires_grad(false);
        self.opt_g.zero_grad();
        let (idt_a, idt_b) = if o.lambda_identity > 0.0 {
            let idt_a = l1(&self.g_a.forward(b)?, b)?.mul_scalar(o.lambda_b * o.lambda_identity)?; // ‖G(B) − B‖
            let idt_b = l1(&self.g_b.forward(a)?, a)?.mul_scalar(o.lambda_a * o.lambda_identity)?; // ‖F(A) − A‖
            (Some(idt_a), Some(idt_b))
        } else {
            (None, None)
        };
        let g_a_loss = gan_loss(&self.d_a.forward(&fake_b)?, o.gan_mode, true)?; // D_Y(G(A)) → real
        let g_b_loss = gan_loss(&self.d_b.forward(&fake_a)?, o.gan_mode, true)?; // D_X(F(B)) → real
        let cycle_a = l1(&rec_a, a)?.mul_scalar(o.lambda_a)?; // ‖F(G(A)) − A‖₁
        let cycle_b = l1(&rec_b, b)?.mul_scalar(o.lambda_b)?; // ‖G(F(B)) − B‖₁
        let mut loss_g = g_a_loss.add(&g_b_loss)?.add(&cycle_a)?.add(&cycle_b)?;
        for idt in [&idt_a, &idt_b].into_iter().flatten() {
            loss_g = loss_g.add(idt)?;
        }
        loss_g.backward()?;
        self.opt_g.step()?;

        // Discriminators: real → 1, pooled fake → 0, halved.
        self.d_a.set_requires_grad(true);
        self.d_b.set_requires_grad(true);
        self.opt_d.zero_grad();
        let pooled_b = self.pool_b.query(&fake_b)?;
        let d_a_loss = self.discriminator_loss(&self.d_a, b, &pooled_b)?;
        d_a_loss.backward()?;
        let pooled_a = self.pool_a.query(&fake_a)?;
        let d_b_loss = self.discriminator_loss(&self.d_b, a, &pooled_a)?;
        d_b_loss.backward()?;
        self.opt_d.step()?;

        self.visuals = vec![
            ("real_A", a.detach()),
            ("fake_B", fake_b.detach()),
            ("rec_A", rec_a.detach()),
            ("real_B", b.detach()),
            ("fake_A", fake_a.detach()),
            ("rec_B", rec_b.detach()),
        ];
        let zero = Tensor::scalar(a.device(), 0.0)?;
        read_losses(&[
            ("D_A", &d_a_loss),
            ("G_A", &g_a_loss),
            ("cycle_A", &cycle_a),
            ("idt_A", idt_a.as_ref().unwrap_or(&zero)),
            ("D_B", &d_b_loss),
            ("G_B", &g_b_loss),
            ("cycle_B", &cycle_b),
            ("idt_B", idt_b.as_ref().unwrap_or(&zero)),
        ])
    }

    fn discriminator_loss(&self, d: &Net, real: &Tensor, fake: &Tensor) -> Result<Tensor> {
        let mode = self.options.gan_mode;
        let real_loss = gan_loss(&d.forward(real)?, mode, true)?;
        let fake_loss = gan_loss(&d.forward(&fake.detach())?, mode, false)?;
        let loss = real_loss.add(&fake_loss)?.mul_scalar(0.5)?;
        if self.options.lambda_gp <= 0.0 {
            return Ok(loss);
        }
        let alpha = Tensor::rand(real.device(), &[real.shape()[0]])?;
        loss.add(&super::losses::gradient_penalty(d, real, fake, &alpha, self.options.lambda_gp)?)
    }
}

impl GanModel for CycleGan {
    type Batch = crate::data::unaligned::UnalignedBatch;

    fn length(&self) -> Length {
        Length::Epochs(self.options.n_epochs + self.options.n_epochs_decay)
    }

    /// The reference's linear policy: the initial rate for `n_epochs`, then a linear
    /// decay over `n_epochs_decay`, by epoch label.
    fn train_step(&mut self, batch: &Self::Batch, at: Step) -> Result<Vec<(&'static str, f32)>> {
        let o = self.options;
        let lr = o.lr * cyclegan_linear(at.epoch.saturating_sub(1), 1, o.n_epochs, o.n_epochs_decay);
        self.opt_g.set_lr(lr);
        self.opt_d.set_lr(lr);
        self.optimize(&batch.a, &batch.b)
    }

    fn visuals(&self) -> Visuals {
        let v = &self.visuals;
        vec![v.iter().take(3).cloned().collect(), v.iter().skip(3).cloned().collect()]
    }

    fn networks(&self) -> Vec<(&'static str, &dyn Module)> {
        vec![("G_A", &self.g_a), ("G_B", &self.g_b), ("D_A", &self.d_a), ("D_B", &self.d_b)]
    }

    fn optimizers(&mut self) -> Vec<(&'static str, &mut Adam)> {
        vec![("opt_G", &mut self.opt_g), ("opt_D", &mut self.opt_d)]
    }

    fn extra_state(&self) -> Result<NamedTensors> {
        Ok([self.pool_a.state("pool_A")?, self.pool_b.state("pool_B")?].concat())
    }

    fn load_extra_state(&mut self, state: &NamedTensors, device: &Device) -> Result<()> {
        self.pool_a.load_state("pool_A", state, device)?;
        self.pool_b.load_state("pool_B", state, device)
    }
}
