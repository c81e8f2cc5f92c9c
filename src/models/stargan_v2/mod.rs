//! StarGAN v2 (Choi et al., 2020; clovaai/stargan-v2): diverse image synthesis across
//! several domains with one generator, steered by a style code from a mapping network
//! (latent-guided) or a style encoder (reference-guided).
//!
//! | code             | paper                                                        |
//! |------------------|--------------------------------------------------------------|
//! | `g`              | G(x, s): the generator                                       |
//! | `f`              | F_y(z): the mapping network, one head per domain             |
//! | `e`              | E_y(x): the style encoder, one head per domain               |
//! | `d`              | D_y(x): the multi-task discriminator                         |
//! | `adv_loss`       | L_adv, non-saturating, with R1 on real images                |
//! | `loss_sty`       | L_sty = E‖s̃ − E_ỹ(G(x, s̃))‖₁                                |
//! | `loss_ds`        | L_ds = E‖G(x, s̃₁) − G(x, s̃₂)‖₁, maximised, λ_ds decaying      |
//! | `loss_cyc`       | L_cyc = E‖x − G(G(x, s̃), ŝ)‖₁                               |
//! | `g_ema` …        | the moving averages that synthesis uses                      |

pub mod args;
pub mod blocks;
pub mod data;
pub mod debug;
pub mod demo;
pub mod fan;
pub mod losses;
pub mod nets;
pub mod reference;
pub mod step;
pub mod synthesis;
pub mod train;
pub mod translate;

pub use data::V2Batch;
pub use nets::{Discriminator, Generator, MappingNetwork, StyleEncoder};

use super::contract::{GanModel, Length, Step, Visuals};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::{HostTensor, NamedTensors};
use crate::nn::{Module, ModuleExt};
use crate::optim::{ema_update, Adam, AdamConfig};
use crate::tensor::Tensor;

/// The model's options, with the reference's defaults (its CelebA-HQ setting).
#[derive(Clone, Debug)]
pub struct StarGanV2Options {
    pub img_size: usize,
    pub num_domains: usize,
    pub latent_dim: usize,
    /// The mapping network's width (512 in the reference, whose --hidden_dim is unread).
    pub hidden_dim: usize,
    pub style_dim: usize,
    /// The widest conv layer (512 in the reference).
    pub max_conv_dim: usize,
    /// The high-pass filter's weight; above 0, the generator takes FAN masks.
    pub w_hpf: f32,
    pub lambda_reg: f32,
    pub lambda_cyc: f32,
    pub lambda_sty: f32,
    pub lambda_ds: f64,
    pub ds_iter: usize,
    pub total_iters: usize,
    pub lr: f32,
    pub f_lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub weight_decay: f32,
    pub ema_beta: f32,
}

impl Default for StarGanV2Options {
    fn default() -> Self {
        StarGanV2Options {
            img_size: 256,
            num_domains: 2,
            latent_dim: 16,
            hidden_dim: 512,
            style_dim: 64,
            max_conv_dim: 512,
            w_hpf: 1.0,
            lambda_reg: 1.0,
            lambda_cyc: 1.0,
            lambda_sty: 1.0,
            lambda_ds: 1.0,
            ds_iter: 100_000,
            total_iters: 100_000,
            lr: 1e-4,
            f_lr: 1e-6,
            beta1: 0.0,
            beta2: 0.99,
            weight_decay: 1e-4,
            ema_beta: 0.999,
        }
    }
}

impl StarGanV2Options {
    /// Checks what the networks cannot be built without.
    pub fn validate(&self) -> Result<()> {
        nets::check_size(self.img_size)?;
        let positive = |name: &str, v: usize| -> Result<()> {
            if v == 0 {
                return Err(Error::Invalid { op: "stargan-v2", msg: format!("--{name} must be at least 1") });
            }
            Ok(())
        };
        positive("num-domains", self.num_domains)?;
        positive("latent-dim", self.latent_dim)?;
        positive("hidden-dim", self.hidden_dim)?;
        positive("style-dim", self.style_dim)?;
        positive("max-conv-dim", self.max_conv_dim)?;
        positive("ds-iter", self.ds_iter)?;
        if self.w_hpf < 0.0 || !self.w_hpf.is_finite() {
            return Err(Error::Invalid {
                op: "stargan-v2",
                msg: format!("--w-hpf {} must be 0 or more", self.w_hpf),
            });
        }
        Ok(())
    }
}

/// What makes the two masks of a batch for the generator's high-pass path (the
/// reference's FAN heatmaps).
pub trait MaskNet {
    /// Images [n, 3, H, W] in [-1, 1] → two masks [n, 1, h, w] in [0, 1].
    fn get_heatmap(&self, x: &Tensor) -> Result<[Tensor; 2]>;
}

impl MaskNet for fan::Fan {
    fn get_heatmap(&self, x: &Tensor) -> Result<[Tensor; 2]> {
        fan::Fan::get_heatmap(self, x)
    }
}

/// The three networks synthesis uses.
pub struct Nets {
    pub generator: Generator,
    pub mapping_network: MappingNetwork,
    pub style_encoder: StyleEncoder,
}

impl Nets {
    /// G, F and E with PyTorch's default initialisation.
    pub fn new(d: &Device, o: &StarGanV2Options) -> Result<Nets> {
        o.validate()?;
        Ok(Nets {
            generator: Generator::new(d, o.img_size, o.style_dim, o.max_conv_dim, o.w_hpf)?,
            mapping_network: MappingNetwork::new(d, o.latent_dim, o.style_dim, o.num_domains, o.hidden_dim)?,
            style_encoder: StyleEncoder::new(d, o.img_size, o.style_dim, o.num_domains, o.max_conv_dim)?,
        })
    }

    /// By the reference's checkpoint names.
    pub fn named(&self) -> [(&'static str, &dyn Module); 3] {
        [
            ("generator", &self.generator),
            ("mapping_network", &self.mapping_network),
            ("style_encoder", &self.style_encoder),
        ]
    }
}

/// Where and how often the reference's debug samples are written, and from what.
pub struct Debug {
    pub dir: std::path::PathBuf,
    pub every: usize,
    pub inputs: debug::DebugInputs,
}

/// The mask network a run or a synthesis needs when w_hpf > 0: FAN from `wing_path`, or
/// else the `fan` entry of a reference checkpoint (its _nets_ema.ckpt stores FAN's weights).
pub fn fan_for(
    d: &Device,
    o: &StarGanV2Options,
    wing_path: Option<&std::path::Path>,
    file: Option<&reference::NetworkFile>,
) -> Result<Option<Box<dyn MaskNet>>> {
    if o.w_hpf <= 0.0 {
        return Ok(None);
    }
    if let Some(path) = wing_path {
        return Ok(Some(Box::new(fan::Fan::load(d, path)?)));
    }
    if let Some((file, sd)) = file.and_then(|f| Some((f, f.get("fan")?))) {
        let width =
            sd.iter().find(|(k, _)| k == "l0.weight").map(|(_, t)| t.shape.get(1).copied().unwrap_or(0));
        let net = fan::Fan::new(d, width.unwrap_or(256))?;
        file.load("fan", &net)?;
        return Ok(Some(Box::new(net)));
    }
    Err(Error::Invalid {
        op: "stargan-v2",
        msg: format!(
            "--w-hpf {} needs the masks of the reference's pretrained FAN: give --wing-path wing.ckpt (from the reference's download.sh), or use --w-hpf 0 (the reference's AFHQ setting)",
            o.w_hpf
        ),
    })
}

/// The last step's images, for sample grids.
pub struct Last {
    pub x_src: Tensor,
    pub x_ref: Tensor,
    pub x_fake: Tensor,
}

pub struct StarGanV2 {
    /// G, F and E as they train.
    pub nets: Nets,
    pub d: Discriminator,
    /// The moving averages, made before He init and kept at PyTorch's default
    /// initialisation until the averages pull them in (the reference's quirk).
    pub ema: Nets,
    pub opt_g: Adam,
    pub opt_f: Adam,
    pub opt_e: Adam,
    pub opt_d: Adam,
    pub options: StarGanV2Options,
    /// The current diversity weight (decays from options.lambda_ds).
    pub lambda_ds: f64,
    /// The mask network, when w_hpf > 0.
    pub fan: Option<Box<dyn MaskNet>>,
    /// The reference's debug samples during training, when set.
    pub debug: Option<Debug>,
    last: Option<Last>,
}

impl StarGanV2 {
    /// Wires given networks with their Adams (L2 weight decay; F at f_lr).
    pub fn new(
        nets: Nets,
        d: Discriminator,
        ema: Nets,
        options: StarGanV2Options,
        fan: Option<Box<dyn MaskNet>>,
    ) -> Result<StarGanV2> {
        options.validate()?;
        let adam = |lr: f32| {
            AdamConfig::new(lr).betas(options.beta1, options.beta2).weight_decay(options.weight_decay)
        };
        Ok(StarGanV2 {
            opt_g: Adam::new(nets.generator.parameters(), adam(options.lr)),
            opt_f: Adam::new(nets.mapping_network.parameters(), adam(options.f_lr)),
            opt_e: Adam::new(nets.style_encoder.parameters(), adam(options.lr)),
            opt_d: Adam::new(d.parameters(), adam(options.lr)),
            nets,
            d,
            ema,
            lambda_ds: options.lambda_ds,
            options,
            fan,
            debug: None,
            last: None,
        })
    }

    /// Fresh networks as the reference makes them: EMA copies at PyTorch's default
    /// initialisation, then He init of G, F, E and D.
    pub fn build(
        dev: &Device,
        options: StarGanV2Options,
        fan: Option<Box<dyn MaskNet>>,
    ) -> Result<StarGanV2> {
        let o = &options;
        let ema = Nets::new(dev, o)?;
        let nets = Nets::new(dev, o)?;
        let d = Discriminator::new(dev, o.img_size, o.num_domains, o.max_conv_dim)?;
        for (_, net) in nets.named() {
            nets::he_init(net)?;
        }
        nets::he_init(&d)?;
        StarGanV2::new(nets, d, ema, options, fan)
    }

    /// The optimizers by the reference's names (its `_optims.ckpt` keys).
    pub fn optimizers_by_reference_name(&mut self) -> [(&'static str, &mut Adam); 4] {
        [
            ("generator", &mut self.opt_g),
            ("mapping_network", &mut self.opt_f),
            ("style_encoder", &mut self.opt_e),
            ("discriminator", &mut self.opt_d),
        ]
    }

    /// θ_ema ← lerp(θ, θ_ema, β) for G, F and E.
    pub fn update_ema(&self) -> Result<()> {
        let beta = self.options.ema_beta;
        ema_update(&self.ema.generator.parameters(), &self.nets.generator.parameters(), beta)?;
        ema_update(&self.ema.mapping_network.parameters(), &self.nets.mapping_network.parameters(), beta)?;
        ema_update(&self.ema.style_encoder.parameters(), &self.nets.style_encoder.parameters(), beta)
    }
}

impl GanModel for StarGanV2 {
    type Batch = V2Batch;

    fn length(&self) -> Length {
        Length::Steps(self.options.total_iters)
    }

    fn train_step(&mut self, batch: &V2Batch, at: Step) -> Result<Vec<(&'static str, f32)>> {
        let losses = self.train_step_with(batch)?;
        if let Some(dbg) = &self.debug {
            if (at.index + 1).is_multiple_of(dbg.every.max(1)) {
                let d = batch.x_src.device().clone();
                debug::write(&d, &self.ema, self.fan.as_deref(), &dbg.inputs, at.index + 1, &dbg.dir)?;
            }
        }
        Ok(losses)
    }

    /// Per source image of the last batch: the source, the reference, and the
    /// reference-guided translation.
    fn visuals(&self) -> Visuals {
        let Some(last) = &self.last else { return Vec::new() };
        let row = |i: usize| -> Result<Vec<(&'static str, Tensor)>> {
            Ok(vec![
                ("source", last.x_src.narrow(0, i, 1)?),
                ("reference", last.x_ref.narrow(0, i, 1)?),
                ("G(x, E(ref))", last.x_fake.narrow(0, i, 1)?),
            ])
        };
        (0..last.x_src.shape()[0]).map(row).collect::<Result<_>>().unwrap_or_else(|e| {
            eprintln!("warning: no StarGAN v2 samples this time: {e}");
            Vec::new()
        })
    }

    /// The reference's names: `generator`, `mapping_network`, `style_encoder`,
    /// `discriminator` (its _nets.ckpt) and the same with `_ema` (its _nets_ema.ckpt).
    fn networks(&self) -> Vec<(&'static str, &dyn Module)> {
        vec![
            ("generator", &self.nets.generator),
            ("mapping_network", &self.nets.mapping_network),
            ("style_encoder", &self.nets.style_encoder),
            ("discriminator", &self.d),
            ("generator_ema", &self.ema.generator),
            ("mapping_network_ema", &self.ema.mapping_network),
            ("style_encoder_ema", &self.ema.style_encoder),
        ]
    }

    fn optimizers(&mut self) -> Vec<(&'static str, &mut Adam)> {
        self.optimizers_by_reference_name().into()
    }

    /// The decayed λ_ds (the reference keeps it only in memory), stored by its f64 bits.
    fn extra_state(&self) -> Result<NamedTensors> {
        Ok(vec![("lambda_ds".into(), HostTensor::ints(vec![self.lambda_ds.to_bits() as i64]))])
    }

    fn load_extra_state(&mut self, state: &NamedTensors, _device: &Device) -> Result<()> {
        let bits =
            state.iter().find(|(n, _)| n == "lambda_ds").and_then(|(_, t)| t.as_ints()?.first().copied());
        match bits {
            Some(b) => {
                self.lambda_ds = f64::from_bits(b as u64);
                Ok(())
            }
            None => Err(Error::Invalid { op: "stargan-v2", msg: "the saved state has no lambda_ds".into() }),
        }
    }
}
