//! One StarGAN v2 iteration in the solver's order: a D step with a latent style, a D step
//! with a reference style, a G step with a latent style (stepping G, F and E), a G step
//! with a reference style (stepping G only), the EMA update of G, F and E, and the decay
//! of λ_ds.

use super::data::V2Batch;
use super::losses::{adv_loss, r1_reg};
use super::StarGanV2;
use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::models::losses::{l1, read_losses};
use crate::nn::ModuleExt;
use crate::tensor::Tensor;

/// Where a step's target style comes from.
#[derive(Clone, Copy)]
enum Guide<'a> {
    /// F(z, y_trg), with a second code for the diversity term.
    Latent(&'a Tensor, &'a Tensor),
    /// E(x_ref, y_trg), with a second reference.
    Reference(&'a Tensor, &'a Tensor),
}

/// The reference's loss names, in its log's order.
const NAMES: [&str; 15] = [
    "D/latent_real",
    "D/latent_fake",
    "D/latent_reg",
    "D/ref_real",
    "D/ref_fake",
    "D/ref_reg",
    "G/latent_adv",
    "G/latent_sty",
    "G/latent_ds",
    "G/latent_cyc",
    "G/ref_adv",
    "G/ref_sty",
    "G/ref_ds",
    "G/ref_cyc",
    "G/lambda_ds",
];

impl StarGanV2 {
    fn style(&self, guide: Guide, second: bool, y: &[usize]) -> Result<Tensor> {
        match guide {
            Guide::Latent(z, z2) => self.nets.mapping_network.forward(if second { z2 } else { z }, y),
            Guide::Reference(x, x2) => self.nets.style_encoder.forward(if second { x2 } else { x }, y),
        }
    }

    /// The masks of a batch (w_hpf > 0), from FAN.
    fn masks(&self, x: &Tensor) -> Result<Option<[Tensor; 2]>> {
        if self.options.w_hpf <= 0.0 {
            return Ok(None);
        }
        match &self.fan {
            Some(fan) => Ok(Some(no_grad(|| fan.get_heatmap(x))?)),
            None => Err(Error::Invalid {
                op: "stargan-v2",
                msg: "--w-hpf above 0 needs the FAN masks: give --wing-path wing.ckpt (the reference's pretrained FAN), or train with --w-hpf 0".into(),
            }),
        }
    }

    /// compute_d_loss: BCE on real and on (no-grad) fakes, and λ_reg·R1 on the real batch.
    fn d_loss(
        &self,
        inp: &V2Batch,
        guide: Guide,
        masks: Option<&[Tensor; 2]>,
    ) -> Result<(Tensor, [Tensor; 3])> {
        let x_real = inp.x_src.detach().requires_grad_();
        let out = self.d.forward(&x_real, &inp.y_src)?;
        let loss_real = adv_loss(&out, true)?;
        let loss_reg = r1_reg(&out, &x_real)?;
        let x_fake = no_grad(|| {
            self.nets.generator.forward(&inp.x_src, &self.style(guide, false, &inp.y_ref)?, masks)
        })?;
        let loss_fake = adv_loss(&self.d.forward(&x_fake, &inp.y_ref)?, false)?;
        let loss = loss_real.add(&loss_fake)?.add(&loss_reg.mul_scalar(self.options.lambda_reg)?)?;
        Ok((loss, [loss_real, loss_fake, loss_reg]))
    }

    /// compute_g_loss: adversarial, style reconstruction, diversity (subtracted, with the
    /// current λ_ds) and cycle consistency (masks recomputed from the fake).
    /// Also returns the fake, for the samples.
    fn g_loss(
        &self,
        inp: &V2Batch,
        guide: Guide,
        masks: Option<&[Tensor; 2]>,
    ) -> Result<(Tensor, [Tensor; 4], Tensor)> {
        let o = &self.options;
        let s_trg = self.style(guide, false, &inp.y_ref)?;
        let x_fake = self.nets.generator.forward(&inp.x_src, &s_trg, masks)?;
        let loss_adv = adv_loss(&self.d.forward(&x_fake, &inp.y_ref)?, true)?;
        let loss_sty = l1(&self.nets.style_encoder.forward(&x_fake, &inp.y_ref)?, &s_trg)?;
        // The second fake is detached in the reference: no graph is kept for it here.
        let x_fake2 = no_grad(|| {
            self.nets.generator.forward(&inp.x_src, &self.style(guide, true, &inp.y_ref)?, masks)
        })?;
        let loss_ds = l1(&x_fake, &x_fake2)?;
        let masks_fake = self.masks(&x_fake)?;
        let s_org = self.nets.style_encoder.forward(&inp.x_src, &inp.y_src)?;
        let x_rec = self.nets.generator.forward(&x_fake, &s_org, masks_fake.as_ref())?;
        let loss_cyc = l1(&x_rec, &inp.x_src)?;
        let loss = loss_adv
            .add(&loss_sty.mul_scalar(o.lambda_sty)?)?
            .sub(&loss_ds.mul_scalar(self.lambda_ds as f32)?)?
            .add(&loss_cyc.mul_scalar(o.lambda_cyc)?)?;
        Ok((loss, [loss_adv, loss_sty, loss_ds, loss_cyc], x_fake.detach()))
    }

    /// Checks a batch against the model's sizes and domains.
    fn check(&self, inp: &V2Batch) -> Result<()> {
        let (s, n) = (self.options.img_size, inp.y_src.len());
        let image = |t: &Tensor| t.rank() == 4 && t.shape() == [n, 3, s, s];
        if !image(&inp.x_src) || !image(&inp.x_ref) || !image(&inp.x_ref2) || inp.y_ref.len() != n {
            return Err(Error::Invalid {
                op: "stargan-v2",
                msg: format!(
                    "a batch of {n} labels with images {:?}, {:?}, {:?} and {} targets: the model trains on [n, 3, {s}, {s}]",
                    inp.x_src.shape(),
                    inp.x_ref.shape(),
                    inp.x_ref2.shape(),
                    inp.y_ref.len()
                ),
            });
        }
        Ok(())
    }

    /// One iteration on `inp`; returns the named losses (one sync).
    pub fn train_step_with(&mut self, inp: &V2Batch) -> Result<Vec<(&'static str, f32)>> {
        self.check(inp)?;
        let n = inp.y_src.len();
        let drawn;
        let (z, z2) = match &inp.z {
            Some((z, z2)) => (z, z2),
            None => {
                let d = inp.x_src.device();
                let latent = self.options.latent_dim;
                drawn = (Tensor::randn(d, &[n, latent])?, Tensor::randn(d, &[n, latent])?);
                (&drawn.0, &drawn.1)
            }
        };
        let masks = self.masks(&inp.x_src)?;
        let masks = masks.as_ref();
        let latent = Guide::Latent(z, z2);
        let reference = Guide::Reference(&inp.x_ref, &inp.x_ref2);
        let mut logged: Vec<Tensor> = Vec::with_capacity(15);
        // 1-2. D with a latent, then a reference style.
        for guide in [latent, reference] {
            let (loss, parts) = self.d_loss(inp, guide, masks)?;
            self.zero_grads();
            loss.backward()?;
            self.opt_d.step()?;
            logged.extend(parts);
        }
        // 3-4. G with a latent style (stepping G, F, E), then a reference style (G only).
        // D is frozen meanwhile, and E in the reference step: the reference lets their
        // gradients accumulate and clears them before they are used.
        self.d.set_requires_grad(false);
        let g_steps = (|| -> Result<Tensor> {
            let (loss, parts, _) = self.g_loss(inp, latent, masks)?;
            self.zero_grads();
            loss.backward()?;
            self.opt_g.step()?;
            self.opt_f.step()?;
            self.opt_e.step()?;
            logged.extend(parts);
            self.nets.style_encoder.set_requires_grad(false);
            let (loss, parts, x_fake) = self.g_loss(inp, reference, masks)?;
            self.zero_grads();
            loss.backward()?;
            self.opt_g.step()?;
            logged.extend(parts);
            Ok(x_fake)
        })();
        self.d.set_requires_grad(true);
        self.nets.style_encoder.set_requires_grad(true);
        let x_fake = g_steps?;
        // 5. EMA of G, F and E (parameters only).
        self.update_ema()?;
        // 6. λ_ds decays linearly, by the reference's subtractions, while above 0.
        if self.lambda_ds > 0.0 {
            self.lambda_ds -= self.options.lambda_ds / self.options.ds_iter as f64;
        }
        self.last = Some(super::Last { x_src: inp.x_src.detach(), x_ref: inp.x_ref.detach(), x_fake });
        let d = inp.x_src.device();
        logged.push(Tensor::scalar(d, self.lambda_ds as f32)?);
        let named: Vec<(&'static str, &Tensor)> = NAMES.iter().copied().zip(logged.iter()).collect();
        read_losses(&named)
    }

    fn zero_grads(&self) {
        self.opt_g.zero_grad();
        self.opt_f.zero_grad();
        self.opt_e.zero_grad();
        self.opt_d.zero_grad();
    }
}
