//! One StarGAN training iteration, in the solver's order: per dataset pass, the
//! discriminator's step, then every `n_critic`-th iteration the generator's.

use super::labels::{Draws, Labels, Layout, StarGanBatch};
use super::losses::{classification_loss, gradient_penalty};
use super::StarGan;
use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::models::contract::Step;
use crate::models::losses::{l1, read_losses};
use crate::nn::ModuleExt;
use crate::tensor::Tensor;

/// The reference's loss names; in Both mode prefixed by the pass's dataset.
const NAMES: [[&str; 7]; 3] = [
    ["D/loss_real", "D/loss_fake", "D/loss_cls", "D/loss_gp", "G/loss_fake", "G/loss_rec", "G/loss_cls"],
    [
        "CelebA/D/loss_real",
        "CelebA/D/loss_fake",
        "CelebA/D/loss_cls",
        "CelebA/D/loss_gp",
        "CelebA/G/loss_fake",
        "CelebA/G/loss_rec",
        "CelebA/G/loss_cls",
    ],
    [
        "RaFD/D/loss_real",
        "RaFD/D/loss_fake",
        "RaFD/D/loss_cls",
        "RaFD/D/loss_gp",
        "RaFD/G/loss_fake",
        "RaFD/G/loss_rec",
        "RaFD/G/loss_cls",
    ],
];

/// One pass's inputs, on the device.
struct Pass {
    x: Tensor,
    /// The images' own labels and the permuted targets, as the classifier's rows.
    org: Tensor,
    trg: Tensor,
    /// The same, padded to the generator's label vector.
    c_org: Tensor,
    c_trg: Tensor,
    alpha: Tensor,
    layout: Layout,
}

impl Pass {
    fn new(x: &Tensor, labels: &Labels, layout: Layout, draws: &Draws) -> Result<Pass> {
        let n = labels.len();
        draws.check(n)?;
        if x.shape().first() != Some(&n) {
            return Err(Error::Invalid {
                op: "stargan",
                msg: format!("a batch of images {:?} with {n} labels", x.shape()),
            });
        }
        let d = x.device();
        let org = layout.rows(labels, d)?; // (N, width)
        let trg = org.index_select(0, &draws.permutation)?; // label_trg = label_org[perm]
        Ok(Pass {
            x: x.detach(),
            c_org: layout.generator_labels(&org)?,
            c_trg: layout.generator_labels(&trg)?,
            org,
            trg,
            alpha: Tensor::from_slice(d, &draws.alpha, &[n, 1, 1, 1])?,
            layout,
        })
    }

    fn cls_loss(&self, logits: &Tensor, target: &Tensor) -> Result<Tensor> {
        let multi_label = self.layout.kind == super::labels::Kind::Attributes;
        classification_loss(&self.layout.own_logits(logits)?, target, multi_label)
    }
}

impl StarGan {
    /// One iteration with the given draws, one per dataset pass (two in Both mode); the
    /// rates follow the reference's schedule at `at.index`, and the generator steps when
    /// (index + 1) is a multiple of `n_critic`. Returns the named losses (one sync).
    pub fn train_step_with(
        &mut self,
        batch: &StarGanBatch,
        at: Step,
        draws: &[Draws],
    ) -> Result<Vec<(&'static str, f32)>> {
        let layouts = self.options.layouts();
        let passes = batch.passes();
        if passes.len() != layouts.len() || draws.len() != layouts.len() {
            return Err(Error::Invalid {
                op: "stargan",
                msg: format!(
                    "--dataset {:?} trains {} pass(es) per step; got a batch of {} and {} set(s) of draws",
                    self.options.dataset,
                    layouts.len(),
                    passes.len(),
                    draws.len()
                ),
            });
        }
        let (g_lr, d_lr) = self.learning_rates(at.index);
        self.opt_g.set_lr(g_lr as f32);
        self.opt_d.set_lr(d_lr as f32);
        let g_step = (at.index + 1).is_multiple_of(self.options.n_critic);
        let names = if layouts.len() == 1 { &NAMES[..1] } else { &NAMES[1..] };
        let mut losses = Vec::new();
        for (k, ((b, layout), draw)) in passes.iter().zip(layouts).zip(draws).enumerate() {
            let pass = Pass::new(&b.images, &b.labels, layout, draw)?;
            let d_losses = self.discriminator_step(&pass)?;
            losses.extend(names[k].iter().copied().zip(d_losses));
            if g_step {
                let g_losses = self.generator_step(&pass)?;
                losses.extend(names[k][4..].iter().copied().zip(g_losses));
            }
            if k == 0 {
                self.last = Some((pass.x.clone(), pass.org.clone()));
            }
        }
        let named: Vec<(&'static str, &Tensor)> = losses.iter().map(|(n, t)| (*n, t)).collect();
        read_losses(&named)
    }

    /// D: −E[D_src(x)] + E[D_src(G(x, c))] + λ_cls·L_cls(D_cls(x), c′) + λ_gp·GP.
    fn discriminator_step(&mut self, p: &Pass) -> Result<[Tensor; 4]> {
        let o = &self.options;
        let (src_real, cls_real) = self.d.forward(&p.x)?;
        let loss_real = src_real.mean_all()?.neg()?; // −E[D_src(x)]
        let loss_cls = p.cls_loss(&cls_real, &p.org)?; // L_cls^r: D classifies real images
                                                       // G's output is detached, so no tape is kept for it; its norms' running statistics
                                                       // still move, as in the reference.
        let fake = no_grad(|| self.g.forward(&p.x, &p.c_trg))?; // G(x, c)
        let (src_fake, _) = self.d.forward(&fake)?;
        let loss_fake = src_fake.mean_all()?; // E[D_src(G(x, c))]
                                              // x̂ = α·x + (1 − α)·G(x, c), a leaf of its own.
        let x_hat =
            p.x.mul(&p.alpha)?.add(&fake.mul(&p.alpha.affine(-1.0, 1.0)?)?)?.detach().requires_grad_();
        let (src_hat, _) = self.d.forward(&x_hat)?;
        let loss_gp = gradient_penalty(&src_hat, &x_hat)?; // E[(‖∇D_src(x̂)‖₂ − 1)²]
        let loss = loss_real
            .add(&loss_fake)?
            .add(&loss_cls.mul_scalar(o.lambda_cls)?)?
            .add(&loss_gp.mul_scalar(o.lambda_gp)?)?;
        self.opt_d.zero_grad();
        loss.backward()?;
        self.opt_d.step()?;
        // Detached, so that D's graph (the penalty's second-order one included) is freed
        // before the generator's step.
        Ok([loss_real, loss_fake, loss_cls, loss_gp].map(|t| t.detach()))
    }

    /// G: −E[D_src(G(x, c))] + λ_rec·E‖x − G(G(x, c), c′)‖₁ + λ_cls·L_cls(D_cls(G(x, c)), c),
    /// with a fresh G(x, c). D is frozen meanwhile: the reference lets D's gradients
    /// accumulate here and clears them before D's next step, so they never count.
    fn generator_step(&mut self, p: &Pass) -> Result<[Tensor; 3]> {
        self.d.set_requires_grad(false);
        let losses = self.generator_losses(p);
        self.d.set_requires_grad(true);
        losses
    }

    fn generator_losses(&mut self, p: &Pass) -> Result<[Tensor; 3]> {
        let o = &self.options;
        let fake = self.g.forward(&p.x, &p.c_trg)?; // G(x, c)
        let (src, cls) = self.d.forward(&fake)?;
        let loss_fake = src.mean_all()?.neg()?; // −E[D_src(G(x, c))]
        let loss_cls = p.cls_loss(&cls, &p.trg)?; // L_cls^f: G's images classified as c
        let rec = self.g.forward(&fake, &p.c_org)?; // G(G(x, c), c′)
        let loss_rec = l1(&p.x, &rec)?; // L_rec
        let loss =
            loss_fake.add(&loss_rec.mul_scalar(o.lambda_rec)?)?.add(&loss_cls.mul_scalar(o.lambda_cls)?)?;
        self.opt_g.zero_grad();
        loss.backward()?;
        self.opt_g.step()?;
        Ok([loss_fake, loss_rec, loss_cls].map(|t| t.detach()))
    }
}
