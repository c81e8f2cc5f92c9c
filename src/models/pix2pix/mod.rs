//! pix2pix (Isola et al., 2017): a conditional GAN on aligned pairs, a U-Net generator and
//! a PatchGAN discriminator that sees the input and output side by side (channels).
//!
//! | code        | paper                         |
//! |-------------|-------------------------------|
//! | `g`         | G: x → y                      |
//! | `d`         | D(x, y), on cat(x, y)         |
//! | `lambda_l1` | λ of the L1 term (100)        |

pub mod train;

use super::contract::{GanModel, Length, Step, Visuals};
use super::image2image::Net;
use super::losses::{gan_loss, l1, read_losses, GanMode};
use crate::error::Result;
use crate::nn::{Layer, Module, ModuleExt};
use crate::optim::{cyclegan_linear, Adam, AdamConfig};
use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug)]
pub struct Pix2PixOptions {
    pub lambda_l1: f32,
    pub gan_mode: GanMode,
    pub lr: f32,
    pub beta1: f32,
    /// Epochs at the initial learning rate, then epochs of linear decay to zero.
    pub n_epochs: usize,
    pub n_epochs_decay: usize,
}

impl Default for Pix2PixOptions {
    fn default() -> Self {
        Pix2PixOptions {
            lambda_l1: 100.0,
            gan_mode: GanMode::Vanilla,
            lr: 2e-4,
            beta1: 0.5,
            n_epochs: 100,
            n_epochs_decay: 100,
        }
    }
}

pub struct Pix2Pix {
    pub g: Net,
    pub d: Net,
    pub opt_g: Adam,
    pub opt_d: Adam,
    pub options: Pix2PixOptions,
    /// The last iteration's images by name (real_A, fake_B, real_B).
    pub visuals: Vec<(&'static str, Tensor)>,
}

impl Pix2Pix {
    pub fn new(g: Net, d: Net, options: Pix2PixOptions) -> Pix2Pix {
        let adam = AdamConfig::new(options.lr).betas(options.beta1, 0.999);
        let (opt_g, opt_d) = (Adam::new(g.parameters(), adam), Adam::new(d.parameters(), adam));
        Pix2Pix { g, d, opt_g, opt_d, options, visuals: Vec::new() }
    }

    /// One training iteration on an aligned pair (x = `a`, y = `b`): the discriminator's
    /// step first, then the generator's with the discriminator frozen, as the reference.
    pub fn optimize(&mut self, a: &Tensor, b: &Tensor) -> Result<Vec<(&'static str, f32)>> {
        let o = self.options;
        let fake_b = self.g.forward(a)?; // G(x)
        let fake_ab = Tensor::concat(&[a.clone(), fake_b.clone()], 1)?;

        self.d.set_requires_grad(true);
        self.opt_d.zero_grad();
        let d_fake = gan_loss(&self.d.forward(&fake_ab.detach())?, o.gan_mode, false)?; // D(x, G(x)) → fake
        let real_ab = Tensor::concat(&[a.clone(), b.clone()], 1)?;
        let d_real = gan_loss(&self.d.forward(&real_ab)?, o.gan_mode, true)?; // D(x, y) → real
        d_fake.add(&d_real)?.mul_scalar(0.5)?.backward()?;
        self.opt_d.step()?;

        self.d.set_requires_grad(false);
        self.opt_g.zero_grad();
        let g_gan = gan_loss(&self.d.forward(&fake_ab)?, o.gan_mode, true)?; // D(x, G(x)) → real
        let g_l1 = l1(&fake_b, b)?.mul_scalar(o.lambda_l1)?; // λ‖G(x) − y‖₁
        g_gan.add(&g_l1)?.backward()?;
        self.opt_g.step()?;

        self.visuals = vec![("real_A", a.detach()), ("fake_B", fake_b.detach()), ("real_B", b.detach())];
        read_losses(&[("G_GAN", &g_gan), ("G_L1", &g_l1), ("D_real", &d_real), ("D_fake", &d_fake)])
    }
}

impl GanModel for Pix2Pix {
    type Batch = crate::data::aligned::AlignedBatch;

    fn length(&self) -> Length {
        Length::Epochs(self.options.n_epochs + self.options.n_epochs_decay)
    }

    /// The reference's linear policy, as CycleGAN's.
    fn train_step(&mut self, batch: &Self::Batch, at: Step) -> Result<Vec<(&'static str, f32)>> {
        let o = self.options;
        let lr = o.lr * cyclegan_linear(at.epoch.saturating_sub(1), 1, o.n_epochs, o.n_epochs_decay);
        self.opt_g.set_lr(lr);
        self.opt_d.set_lr(lr);
        self.optimize(&batch.a, &batch.b)
    }

    fn visuals(&self) -> Visuals {
        vec![self.visuals.clone()]
    }

    fn networks(&self) -> Vec<(&'static str, &dyn Module)> {
        vec![("G", &self.g), ("D", &self.d)]
    }

    fn optimizers(&mut self) -> Vec<(&'static str, &mut Adam)> {
        vec![("opt_G", &mut self.opt_g), ("opt_D", &mut self.opt_d)]
    }
}
