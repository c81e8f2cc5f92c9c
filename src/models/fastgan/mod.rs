//! FastGAN (Liu et al., 2021; odegeasslbc/FastGAN-pytorch): few-shot image synthesis with
//! skip-layer excitation (SLE) in the generator and a self-supervised discriminator whose
//! decoders rebuild real images.
//!
//! | code            | paper                                                     |
//! |-----------------|-----------------------------------------------------------|
//! | `g`             | G: z → [I_big, I_128]                                     |
//! | `d`             | D: [I_big, I_128] → logits (and on real images, decoders) |
//! | `loss_real`     | E[min(0, −1 + D(x))] with FastGAN's random margin         |
//! | `loss_rec`      | L_recons: ‖G(f) − T(x)‖ for the three decoders            |
//! | `loss_g`        | −E[D(G(z))]                                               |
//! | `g_ema`         | the EMA generator the samples come from                   |
//!
//! Networks stay in train mode, as the reference's never leave it (eval.py included).

pub mod blocks;
pub mod data;
pub mod demo;
pub mod ema;
pub mod nets;
pub mod reference;
pub mod sample;
pub mod step;
pub mod train;

pub use ema::EmaGenerator;
pub use nets::{Discriminator, Generator};
pub use step::Draws;

use super::contract::{GanModel, Length, Step, Visuals};
use crate::autograd::no_grad;
use crate::data::rng::HostRng;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::{HostTensor, NamedTensors};
use crate::nn::diffaug::{AugmentDraws, Policy};
use crate::nn::lpips::Lpips;
use crate::nn::{Module, ModuleExt};
use crate::optim::{Adam, AdamConfig};
use crate::tensor::Tensor;

/// The model's options: train.py's hard-coded values as defaults.
#[derive(Clone, Debug)]
pub struct FastGanOptions {
    pub im_size: usize,
    pub ngf: usize,
    pub ndf: usize,
    pub nz: usize,
    /// The decoders' base width (the reference fixes 32).
    pub dec_nf: usize,
    /// Iterations in all.
    pub iter: usize,
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub ema_beta: f32,
    /// DiffAugment's policy ("color,translation").
    pub policy: String,
}

impl Default for FastGanOptions {
    fn default() -> Self {
        FastGanOptions {
            im_size: 1024,
            ngf: 64,
            ndf: 64,
            nz: 256,
            dec_nf: 32,
            iter: 50_000,
            lr: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            ema_beta: 0.999,
            policy: "color,translation".into(),
        }
    }
}

impl FastGanOptions {
    /// Checks what the networks cannot be built without.
    pub fn validate(&self) -> Result<()> {
        nets::check_size(self.im_size)?;
        Policy::parse(&self.policy)?;
        let too_narrow = |name: &str, width: usize, least: usize| -> Result<()> {
            if width < least {
                return Err(Error::Invalid {
                    op: "fastgan",
                    msg: format!("--{name} {width} leaves a layer without channels: use at least {least}"),
                });
            }
            Ok(())
        };
        // G's narrowest layer is ngf/2 at 256 px, ngf/4 at 512, ngf/8 at 1024; D's is
        // ndf/4 (ndf/8 at 1024).
        let least = self.im_size / 128;
        too_narrow("ngf", self.ngf, least)?;
        too_narrow("ndf", self.ndf, least.max(4))?;
        too_narrow("nz", self.nz, 1)?;
        too_narrow("dec-nf", self.dec_nf, 1)
    }
}

/// The decoders' reconstruction distance, one value per sample.
pub enum Reconstruction {
    /// The reference's LPIPS-VGG (v0.1, inputs in [-1, 1]).
    Lpips(Box<Lpips>),
    /// Without LPIPS weights: the mean absolute difference per sample.
    L1,
}

impl Reconstruction {
    /// Shapes: rec, target [n, 3, h, w] → Σ over the batch of the per-sample distance.
    pub fn distance(&self, rec: &Tensor, target: &Tensor) -> Result<Tensor> {
        match self {
            Reconstruction::Lpips(net) => net.forward(target, rec)?.sum_all(),
            Reconstruction::L1 => rec.sub(target)?.abs()?.mean(&[1, 2, 3], false)?.sum_all(),
        }
    }

    /// A few words for logs and the saved options.
    pub fn describe(&self) -> &'static str {
        match self {
            Reconstruction::Lpips(_) => "LPIPS-VGG (v0.1)",
            Reconstruction::L1 => "L1 (fallback: no LPIPS weights were given)",
        }
    }
}

/// The last step's real images at 128 px and their three reconstructions, for samples.
pub struct Last {
    pub real: Tensor,
    pub recs: [Tensor; 3],
}

pub struct FastGan {
    pub g: Generator,
    pub d: Discriminator,
    pub g_ema: EmaGenerator,
    pub opt_g: Adam,
    pub opt_d: Adam,
    pub options: FastGanOptions,
    pub recon: Reconstruction,
    policy: Policy,
    /// Draws the augmentation parameters and the quadrant.
    rng: HostRng,
    /// Eight codes the samples are drawn from all run long (`fixed_noise`).
    pub fixed_noise: Tensor,
    last: Option<Last>,
}

impl FastGan {
    /// Wires the networks with one Adam each and the EMA copy of G's parameters; `seed`
    /// starts the generator of the per-step host draws.
    pub fn new(
        g: Generator,
        d: Discriminator,
        options: FastGanOptions,
        recon: Reconstruction,
        seed: u64,
    ) -> Result<FastGan> {
        options.validate()?;
        if g.im_size != options.im_size || d.im_size != options.im_size || g.nz != options.nz {
            return Err(Error::Invalid {
                op: "fastgan",
                msg: format!(
                    "the networks (G {} px, nz {}; D {} px) do not fit the options ({} px, nz {})",
                    g.im_size, g.nz, d.im_size, options.im_size, options.nz
                ),
            });
        }
        let adam = || AdamConfig::new(options.lr).betas(options.beta1, options.beta2);
        let opt_g = Adam::new(g.parameters(), adam());
        let opt_d = Adam::new(d.parameters(), adam());
        let g_ema = EmaGenerator::new(&g)?;
        let fixed_noise = Tensor::randn(g.to_big.weight_orig.device(), &[8, options.nz])?;
        let policy = Policy::parse(&options.policy)?;
        Ok(FastGan {
            g,
            d,
            g_ema,
            opt_g,
            opt_d,
            options,
            recon,
            policy,
            rng: HostRng::new(seed),
            fixed_noise,
            last: None,
        })
    }

    /// Fresh networks with the reference's initialisation.
    pub fn build(d: &Device, options: FastGanOptions, recon: Reconstruction, seed: u64) -> Result<FastGan> {
        options.validate()?;
        let o = &options;
        let g = Generator::new(d, o.ngf, o.nz, o.im_size)?;
        let disc = Discriminator::new(d, o.ndf, o.im_size, o.dec_nf)?;
        FastGan::new(g, disc, options, recon, seed)
    }

    /// Draws one iteration's randomness for a batch of `n`: codes, margins and noise maps
    /// from the device's generator, augmentation parameters and the quadrant from the
    /// model's own.
    pub fn draw(&mut self, device: &Device, n: usize) -> Result<Draws> {
        let s = self.options.im_size;
        let aug = |rng: &mut HostRng, side: usize| AugmentDraws::draw(&self.policy, n, side, side, rng);
        let aug_real = aug(&mut self.rng, s);
        let aug_fake = [aug(&mut self.rng, s), aug(&mut self.rng, 128)];
        Ok(Draws {
            z: Tensor::randn(device, &[n, self.options.nz])?,
            maps: None,
            aug_real,
            aug_fake,
            part: self.rng.below(4),
            margin_real: Tensor::rand(device, &[n * 50])?,
            margin_fake: Tensor::rand(device, &[n * 50])?,
        })
    }

    /// Images of the EMA generator for codes `z`, in train mode as the reference samples
    /// (batch statistics; its running statistics and spectral-norm vectors move).
    pub fn sample_ema(&self, z: &Tensor) -> Result<Tensor> {
        self.g_ema.swapped_in(&self.g, || no_grad(|| Ok(self.g.forward(z)?.0)))
    }

    /// The sample rows: the EMA generator on the fixed codes (two rows of four), then per
    /// real image of the last batch [real at 128, big, small and part reconstructions].
    pub fn samples(&self) -> Result<Visuals> {
        let images = self.sample_ema(&self.fixed_noise)?;
        let mut rows: Visuals = Vec::new();
        for r in 0..2 {
            rows.push(
                (0..4).map(|k| Ok(("EMA G(z)", images.narrow(0, 4 * r + k, 1)?))).collect::<Result<_>>()?,
            );
        }
        if let Some(last) = &self.last {
            for i in 0..last.real.shape()[0] {
                let mut row = vec![("real", last.real.narrow(0, i, 1)?)];
                for (name, rec) in ["rec big", "rec small", "rec part"].into_iter().zip(&last.recs) {
                    row.push((name, rec.narrow(0, i, 1)?));
                }
                rows.push(row);
            }
        }
        Ok(rows)
    }
}

impl GanModel for FastGan {
    type Batch = Tensor;

    fn length(&self) -> Length {
        Length::Steps(self.options.iter)
    }

    fn train_step(&mut self, real: &Tensor, _at: Step) -> Result<Vec<(&'static str, f32)>> {
        let draws = self.draw(&real.device().clone(), real.shape()[0])?;
        self.train_step_with(real, draws)
    }

    fn visuals(&self) -> Visuals {
        self.samples().unwrap_or_else(|e| {
            eprintln!("warning: no FastGAN samples this time: {e}");
            Vec::new()
        })
    }

    /// G, D, and the EMA generator (its averaged parameters with G's buffers: the
    /// reference's `{it}.pth` 'g').
    fn networks(&self) -> Vec<(&'static str, &dyn Module)> {
        vec![("G", &self.g), ("D", &self.d), ("G_ema", &self.g_ema)]
    }

    fn optimizers(&mut self) -> Vec<(&'static str, &mut Adam)> {
        vec![("opt_G", &mut self.opt_g), ("opt_D", &mut self.opt_d)]
    }

    /// The host draws' generator and the sample codes.
    fn extra_state(&self) -> Result<NamedTensors> {
        Ok(vec![
            ("rng".into(), HostTensor::ints(vec![self.rng.state() as i64])),
            ("fixed_noise".into(), HostTensor::from_tensor(&self.fixed_noise)?),
        ])
    }

    fn load_extra_state(&mut self, state: &NamedTensors, device: &Device) -> Result<()> {
        let find = |name: &str| state.iter().find(|(n, _)| n == name).map(|(_, t)| t);
        let missing =
            |what: &str| Error::Invalid { op: "fastgan", msg: format!("the saved state has no {what}") };
        let rng = find("rng").and_then(|t| t.as_ints()?.first().copied()).ok_or_else(|| missing("rng"))?;
        self.rng = HostRng::new(rng as u64);
        self.fixed_noise = find("fixed_noise").ok_or_else(|| missing("fixed_noise"))?.to_tensor(device)?;
        Ok(())
    }
}
