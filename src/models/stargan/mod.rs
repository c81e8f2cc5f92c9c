//! StarGAN v1 (Choi et al., 2018; yunjey/stargan): one generator translating an image to
//! any domain given as a label vector, and one discriminator that scores real/fake
//! (WGAN-GP) and classifies domains. One dataset (CelebA attributes, RaFD classes) or two
//! alternating (`Both`, with a mask vector saying which dataset's labels are meant).
//!
//! | code            | paper                                          |
//! |-----------------|------------------------------------------------|
//! | `g`             | G(x, c)                                        |
//! | `d`             | D: x → (D_src(x), D_cls(x))                    |
//! | `c_org`/`c_trg` | c′ (the image's own labels), c (target labels) |
//! | `lambda_cls`    | λ_cls, weight of L_cls (1)                     |
//! | `lambda_rec`    | λ_rec, weight of L_rec (10)                    |
//! | `lambda_gp`     | λ_gp, weight of the gradient penalty (10)      |
//! | `n_critic`      | D steps per G step (5)                         |
//!
//! Networks stay in training mode: the reference never calls `eval()` (see `nets`).

pub mod data;
pub mod demo;
pub mod labels;
pub mod losses;
pub mod nets;
mod step;
pub mod train;
pub mod translate;
pub mod translate_cli;

pub use labels::{DomainBatch, Draws, Labels, StarGanBatch};
pub use nets::{Discriminator, Generator};
pub use translate::{checkpoint_name, load_generator, translate};

use super::contract::{GanModel, Length, Step, Visuals};
use crate::data::rng::HostRng;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::{HostTensor, NamedTensors};
use crate::nn::{Module, ModuleExt};
use crate::optim::{Adam, AdamConfig};
use crate::tensor::Tensor;
use labels::{Kind, Layout};

/// `--dataset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Dataset {
    /// Multi-label attributes (CelebA's selected attributes).
    #[value(name = "CelebA")]
    CelebA,
    /// One class per image (RaFD's expressions, or any folder-per-class set).
    #[value(name = "RaFD")]
    RaFD,
    /// CelebA and RaFD alternating within each iteration.
    #[value(name = "Both")]
    Both,
}

/// The reference's model and training options (its defaults in `Default`).
#[derive(Clone, Debug)]
pub struct StarGanOptions {
    pub dataset: Dataset,
    /// Domain labels of CelebA (or of the one dataset).
    pub c_dim: usize,
    /// RaFD's classes in Both mode.
    pub c2_dim: usize,
    pub image_size: usize,
    pub g_conv_dim: usize,
    pub d_conv_dim: usize,
    pub g_repeat_num: usize,
    pub d_repeat_num: usize,
    pub lambda_cls: f32,
    pub lambda_rec: f32,
    pub lambda_gp: f32,
    pub num_iters: usize,
    /// Iterations, at the end, over which the rate "decays" (see `losses::reference_lr`).
    pub num_iters_decay: usize,
    pub g_lr: f64,
    pub d_lr: f64,
    pub n_critic: usize,
    pub beta1: f32,
    pub beta2: f32,
    pub lr_update_step: usize,
    /// CelebA's attributes, in label order: they name the sample columns and tell which
    /// labels are hair colours.
    pub selected_attrs: Vec<String>,
}

impl Default for StarGanOptions {
    fn default() -> Self {
        StarGanOptions {
            dataset: Dataset::CelebA,
            c_dim: 5,
            c2_dim: 8,
            image_size: 128,
            g_conv_dim: 64,
            d_conv_dim: 64,
            g_repeat_num: 6,
            d_repeat_num: 6,
            lambda_cls: 1.0,
            lambda_rec: 10.0,
            lambda_gp: 10.0,
            num_iters: 200_000,
            num_iters_decay: 100_000,
            g_lr: 1e-4,
            d_lr: 1e-4,
            n_critic: 5,
            beta1: 0.5,
            beta2: 0.999,
            lr_update_step: 1000,
            selected_attrs: ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
                .map(String::from)
                .to_vec(),
        }
    }
}

impl StarGanOptions {
    /// The generator's label vector: c_dim, or in Both mode c_dim + c2_dim + 2 (the mask).
    pub fn generator_labels(&self) -> usize {
        match self.dataset {
            Dataset::Both => self.c_dim + self.c2_dim + 2,
            _ => self.c_dim,
        }
    }

    /// The discriminator's logits: c_dim, or in Both mode c_dim + c2_dim.
    pub fn discriminator_labels(&self) -> usize {
        match self.dataset {
            Dataset::Both => self.c_dim + self.c2_dim,
            _ => self.c_dim,
        }
    }

    /// Each pass of a step: where its labels sit.
    pub fn layouts(&self) -> Vec<Layout> {
        let single = |kind| Layout { kind, offset: 0, width: self.c_dim, both: None };
        match self.dataset {
            Dataset::CelebA => vec![single(Kind::Attributes)],
            Dataset::RaFD => vec![single(Kind::Classes)],
            Dataset::Both => {
                let both = Some((self.c_dim, self.c2_dim));
                vec![
                    Layout { kind: Kind::Attributes, offset: 0, width: self.c_dim, both },
                    Layout { kind: Kind::Classes, offset: self.c_dim, width: self.c2_dim, both },
                ]
            }
        }
    }

    /// Checks what the model cannot work without.
    pub fn validate(&self) -> Result<()> {
        let invalid = |msg: String| Err(Error::Invalid { op: "stargan", msg });
        nets::final_side(self.image_size, self.d_repeat_num)?;
        if self.c_dim == 0 || (self.dataset == Dataset::Both && self.c2_dim == 0) {
            return invalid("--c-dim (and in Both mode --c2-dim) must be at least 1".into());
        }
        if self.n_critic == 0 || self.lr_update_step == 0 {
            return invalid("--n-critic and --lr-update-step must be at least 1".into());
        }
        let celeba = matches!(self.dataset, Dataset::CelebA | Dataset::Both);
        if celeba && self.selected_attrs.len() != self.c_dim {
            return invalid(format!(
                "--c-dim {} must equal the number of --selected-attrs ({:?})",
                self.c_dim, self.selected_attrs
            ));
        }
        Ok(())
    }

    /// A generator as these options describe it, PyTorch's default initialisation.
    pub fn generator(&self, d: &Device) -> Result<Generator> {
        Generator::new(d, self.g_conv_dim, self.generator_labels(), self.g_repeat_num)
    }

    /// A discriminator as these options describe it, PyTorch's default initialisation.
    pub fn discriminator(&self, d: &Device) -> Result<Discriminator> {
        Discriminator::new(
            d,
            self.image_size,
            self.d_conv_dim,
            self.discriminator_labels(),
            self.d_repeat_num,
        )
    }
}

pub struct StarGan {
    pub g: Generator,
    pub d: Discriminator,
    pub opt_g: Adam,
    pub opt_d: Adam,
    pub options: StarGanOptions,
    /// Draws the label permutations and the penalty's alphas.
    rng: HostRng,
    /// The last step's first pass: images and their own label rows, for samples.
    last: Option<(Tensor, Tensor)>,
    /// Sample column names: the selected attributes, then (Both, RaFD) `class k`.
    columns: Vec<&'static str>,
}

impl StarGan {
    /// Wires the networks with one Adam each, betas (beta1, beta2), as the reference;
    /// `seed` starts the generator of the per-step draws.
    pub fn new(g: Generator, d: Discriminator, options: StarGanOptions, seed: u64) -> Result<StarGan> {
        options.validate()?;
        let d_labels = d.conv2.weight.shape()[0];
        if g.c_dim != options.generator_labels()
            || d_labels != options.discriminator_labels()
            || d.image_size != options.image_size
        {
            return Err(Error::Invalid {
                op: "stargan",
                msg: format!(
                    "the networks (G labels {}, D logits {}, D image size {}) do not fit the options (G labels {}, D logits {}, image size {})",
                    g.c_dim,
                    d_labels,
                    d.image_size,
                    options.generator_labels(),
                    options.discriminator_labels(),
                    options.image_size
                ),
            });
        }
        let adam = |lr: f64| AdamConfig::new(lr as f32).betas(options.beta1, options.beta2);
        let opt_g = Adam::new(g.parameters(), adam(options.g_lr));
        let opt_d = Adam::new(d.parameters(), adam(options.d_lr));
        // Grid labels are `&'static str`; these few names live as long as the program.
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let mut columns = Vec::new();
        for layout in options.layouts() {
            match layout.kind {
                Kind::Attributes => columns.extend(options.selected_attrs.iter().cloned().map(leak)),
                Kind::Classes => columns.extend((0..layout.width).map(|k| leak(format!("class {k}")))),
            }
        }
        Ok(StarGan { g, d, opt_g, opt_d, options, rng: HostRng::new(seed), last: None, columns })
    }

    /// Fresh networks built from the options, with PyTorch's default initialisation.
    pub fn build(d: &Device, options: StarGanOptions, seed: u64) -> Result<StarGan> {
        options.validate()?;
        let (g, disc) = (options.generator(d)?, options.discriminator(d)?);
        StarGan::new(g, disc, options, seed)
    }

    /// The (G, D) learning rates at iteration `step`, by the reference's schedule.
    pub fn learning_rates(&self, step: usize) -> (f64, f64) {
        let o = &self.options;
        let lr = |lr0| losses::reference_lr(lr0, step, o.num_iters, o.num_iters_decay, o.lr_update_step);
        (lr(o.g_lr), lr(o.d_lr))
    }

    /// Draws one pass's permutation and alphas for a batch of `n`, in the reference's
    /// order (the permutation first).
    pub fn draw(&mut self, n: usize) -> Draws {
        let permutation = self.rng.permutation(n);
        let alpha = (0..n).map(|_| self.rng.uniform() as f32).collect();
        Draws { permutation, alpha }
    }

    /// The sample rows of the last step's first pass, as the reference's sample images:
    /// per image, [x, G(x, c_1), …, G(x, c_k)] with the targets of `create_labels`
    /// (in Both mode the CelebA targets, then every RaFD class). The generator runs in
    /// training mode, as the reference samples, so its running statistics move.
    pub fn samples(&self) -> Result<Visuals> {
        let Some((x, c_org)) = &self.last else { return Ok(Vec::new()) };
        let targets = translate::targets(&self.options, c_org)?;
        let mut columns = vec![("x", x.clone())];
        for (name, c) in self.columns.iter().zip(targets) {
            columns.push((*name, translate::translate(&self.g, x, &c)?));
        }
        (0..x.shape()[0])
            .map(|i| columns.iter().map(|(name, t)| Ok((*name, t.narrow(0, i, 1)?))).collect())
            .collect()
    }
}

impl GanModel for StarGan {
    type Batch = StarGanBatch;

    fn length(&self) -> Length {
        Length::Steps(self.options.num_iters)
    }

    /// One iteration with the rates of the reference's schedule at `at.index`, drawing
    /// its permutations and alphas from the model's own generator.
    fn train_step(&mut self, batch: &StarGanBatch, at: Step) -> Result<Vec<(&'static str, f32)>> {
        let draws: Vec<Draws> = batch.passes().iter().map(|b| self.draw(b.labels.len())).collect();
        self.train_step_with(batch, at, &draws)
    }

    fn visuals(&self) -> Visuals {
        self.samples().unwrap_or_else(|e| {
            eprintln!("warning: no StarGAN samples this time: {e}");
            Vec::new()
        })
    }

    fn networks(&self) -> Vec<(&'static str, &dyn Module)> {
        vec![("G", &self.g), ("D", &self.d)]
    }

    fn optimizers(&mut self) -> Vec<(&'static str, &mut Adam)> {
        vec![("opt_G", &mut self.opt_g), ("opt_D", &mut self.opt_d)]
    }

    /// The draws' generator: its state is all the next step's draws depend on.
    fn extra_state(&self) -> Result<NamedTensors> {
        Ok(vec![("rng".into(), HostTensor::ints(vec![self.rng.state() as i64]))])
    }

    fn load_extra_state(&mut self, state: &NamedTensors, _device: &Device) -> Result<()> {
        let rng = state.iter().find(|(n, _)| n == "rng").and_then(|(_, t)| t.as_ints()?.first().copied());
        let rng = rng.ok_or_else(|| Error::Invalid {
            op: "stargan",
            msg: "the saved state has no rng (the generator of the label permutations and alphas)".into(),
        })?;
        self.rng = HostRng::new(rng as u64);
        Ok(())
    }
}
