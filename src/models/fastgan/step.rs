//! One FastGAN iteration in train.py's order: G's images from z, DiffAugment on the real
//! batch and separately on each fake output, D's step (hinge with random margins and the
//! decoders' reconstruction of real images; then the detached fakes), G's step through
//! the same augmented fakes, and the EMA update.

use super::nets::quadrant;
use super::FastGan;
use crate::error::{Error, Result};
use crate::models::losses::read_losses;
use crate::nn::diffaug::{diff_augment, AugmentDraws};
use crate::nn::ModuleExt;
use crate::tensor::Tensor;

/// Every random draw of one iteration: a parity test supplies PyTorch's.
pub struct Draws {
    /// Latent codes [n, nz].
    pub z: Tensor,
    /// The noise-injection maps, first layer first; None: fresh draws from the device.
    pub maps: Option<Vec<Tensor>>,
    /// DiffAugment's parameters for the real batch, the big fake and the 128-px fake.
    pub aug_real: AugmentDraws,
    pub aug_fake: [AugmentDraws; 2],
    /// The quadrant the part decoder rebuilds (0-3).
    pub part: usize,
    /// U(0, 1) per logit ([n·50]): the hinge margins 0.8 + 0.2·u on real and on fake.
    pub margin_real: Tensor,
    pub margin_fake: Tensor,
}

/// The reference's loss names (`D/pred_real` is what it prints as "loss d").
const NAMES: [&str; 5] = ["D/real", "D/rec", "D/fake", "G/adv", "D/pred_real"];

/// The 128-pixel nearest resize the decoders' targets get (`F.interpolate(x, 128)`).
fn to_128(x: &Tensor) -> Result<Tensor> {
    if x.shape()[2..] == [128, 128] {
        return Ok(x.clone());
    }
    x.resize_nearest(128, 128)
}

/// mean(relu(0.8 + 0.2·u + sign·logits)): the hinge with FastGAN's random margin.
fn hinge(logits: &Tensor, u: &Tensor, sign: f32) -> Result<Tensor> {
    if u.shape() != logits.shape() {
        return Err(Error::Invalid {
            op: "fastgan",
            msg: format!("margin draws {:?} for logits {:?}", u.shape(), logits.shape()),
        });
    }
    u.affine(0.2, 0.8)?.add(&logits.mul_scalar(sign)?)?.relu()?.mean_all()
}

impl FastGan {
    /// One iteration on the real batch [n, 3, im_size, im_size] with the given draws.
    /// Returns the named losses (one sync).
    pub fn train_step_with(&mut self, real: &Tensor, dr: Draws) -> Result<Vec<(&'static str, f32)>> {
        let s = self.options.im_size;
        if real.rank() != 4 || real.shape()[1..] != [3, s, s] {
            return Err(Error::Invalid {
                op: "fastgan",
                msg: format!("a real batch {:?}, the model trains on [n, 3, {s}, {s}]", real.shape()),
            });
        }
        // 1. G(z) = [big, small].
        let (big, small) = match dr.maps {
            Some(maps) => self.g.forward_with_noise(&dr.z, maps)?,
            None => self.g.forward(&dr.z)?,
        };
        // 2. DiffAugment, each tensor with its own parameters.
        let policy = &self.policy;
        let real = diff_augment(&real.detach(), policy, &dr.aug_real)?;
        let fake =
            [diff_augment(&big, policy, &dr.aug_fake[0])?, diff_augment(&small, policy, &dr.aug_fake[1])?];
        // 3. D: hinge on real with the decoders' reconstruction loss, hinge on detached fakes.
        let (real_big, real_small) = self.d.real_inputs(&real)?;
        let out = self.d.forward(&real_big, &real_small, Some(dr.part))?;
        let loss_real = hinge(&out.logits, &dr.margin_real, -1.0)?; // E[relu(m − D(x))]
        let [rec_big, rec_small, rec_part] = out.recs.expect("a forward with a part reconstructs");
        let target = to_128(&real)?;
        let loss_rec = self
            .recon
            .distance(&rec_big, &target)?
            .add(&self.recon.distance(&rec_small, &target)?)?
            .add(&self.recon.distance(&rec_part, &to_128(&quadrant(&real, dr.part)?)?)?)?;
        let fake_logits = self.d.forward(&fake[0].detach(), &fake[1].detach(), None)?.logits;
        let loss_fake = hinge(&fake_logits, &dr.margin_fake, 1.0)?; // E[relu(m + D(G(z)))]
        self.opt_d.zero_grad();
        loss_real.add(&loss_rec)?.add(&loss_fake)?.backward()?;
        self.opt_d.step()?;
        // 4. G: −E[D(G(z))] through the same augmented fakes; D is frozen meanwhile (the
        // reference lets D's gradients accumulate and clears them before D's next step).
        self.d.set_requires_grad(false);
        let g_step = (|| -> Result<Tensor> {
            let loss = self.d.forward(&fake[0], &fake[1], None)?.logits.mean_all()?.neg()?;
            self.opt_g.zero_grad();
            loss.backward()?;
            Ok(loss)
        })();
        self.d.set_requires_grad(true);
        let loss_g = g_step?;
        self.opt_g.step()?;
        // 5. EMA of G's parameters.
        self.g_ema.update(&self.g, self.options.ema_beta)?;
        self.last = Some(super::Last {
            real: target,
            recs: [rec_big.detach(), rec_small.detach(), rec_part.detach()],
        });
        let losses = [loss_real, loss_rec, loss_fake, loss_g, out.logits.mean_all()?];
        let named: Vec<(&'static str, &Tensor)> = NAMES.iter().copied().zip(losses.iter()).collect();
        read_losses(&named)
    }
}
