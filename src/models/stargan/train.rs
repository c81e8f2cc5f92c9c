//! `gantry train stargan`: the reference's options (yunjey/stargan `main.py`, kebab-case),
//! its data, the shared trainer, and on the built-in synthetic set a score of how well
//! the attributes were learned.

use super::data::{celeba_items, folder_items, Source, StarGanLoader};
use super::{demo, Dataset, StarGan, StarGanOptions};
use crate::data::celeba::Split;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::models::image2image::args::{positive, value_name};
use crate::train::RunOptions;
use std::path::PathBuf;

/// The reference's "learning-rate decay" note, shown in --help.
const DECAY_NOTE: &str = "Learning-rate \"decay\", reproduced from the reference exactly: within the last --num-iters-decay iterations, once every --lr-update-step iterations, each rate loses lr / num_iters_decay (1e-9 with the defaults). The rates therefore end at lr x (1 - 1/lr_update_step), 9.99e-5 with the defaults, not at 0.";

/// The generator and label options training and translation share [their defaults are
/// the reference's; a built-in training run uses smaller ones].
#[derive(clap::Args, Clone, Debug)]
pub struct ModelArgs {
    /// Which labels: CelebA attributes, RaFD (folder-per-class) classes, or both datasets
    /// alternating with a mask vector.
    #[arg(long, value_enum, ignore_case = true, default_value = "CelebA")]
    pub dataset: Dataset,
    /// Labels of the first dataset: CelebA's selected attributes, or RaFD's classes.
    #[arg(long, value_parser = positive)]
    pub c_dim: Option<usize>,
    /// RaFD's classes in Both mode [default: 8; built-in set 3].
    #[arg(long, value_parser = positive)]
    pub c2_dim: Option<usize>,
    /// CelebA attributes to learn, in label order (their count is --c-dim).
    #[arg(long, num_args = 1.., default_values_t = crate::data::celeba::DEFAULT_ATTRS.map(String::from))]
    pub selected_attrs: Vec<String>,
    /// Training and translation image side [default: 128; built-in set 32].
    #[arg(long, value_parser = positive)]
    pub image_size: Option<usize>,
    /// Generator width [default: 64; built-in set 16].
    #[arg(long, value_parser = positive)]
    pub g_conv_dim: Option<usize>,
    /// Generator residual blocks [default: 6; built-in set 3].
    #[arg(long)]
    pub g_repeat_num: Option<usize>,
}

impl ModelArgs {
    /// The model options these describe, `small` for the built-in set, over `base`.
    pub fn apply(&self, small: bool, base: StarGanOptions) -> StarGanOptions {
        let pick =
            |v: Option<usize>, full: usize, builtin: usize| v.unwrap_or(if small { builtin } else { full });
        let c_dim_default = match self.dataset {
            Dataset::RaFD if small => crate::data::synth::CLASSES.len(),
            Dataset::RaFD => 8,
            _ => self.selected_attrs.len(),
        };
        StarGanOptions {
            dataset: self.dataset,
            c_dim: self.c_dim.unwrap_or(c_dim_default),
            c2_dim: pick(self.c2_dim, 8, crate::data::synth::CLASSES.len()),
            image_size: pick(self.image_size, 128, 32),
            g_conv_dim: pick(self.g_conv_dim, 64, 16),
            g_repeat_num: pick(self.g_repeat_num, 6, 3),
            selected_attrs: self.selected_attrs.clone(),
            ..base
        }
    }
}

/// StarGAN v1 on CelebA (an image folder and list_attr_celeba.txt), a folder per class
/// (RaFD), or both.
#[derive(clap::Args, Clone, Debug)]
#[command(after_help = DECAY_NOTE)]
pub struct TrainArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Discriminator width [default: 64; built-in set 16].
    #[arg(long, value_parser = positive)]
    pub d_conv_dim: Option<usize>,
    /// Discriminator stride-2 convolutions [default: 6; built-in set 4].
    #[arg(long, value_parser = positive)]
    pub d_repeat_num: Option<usize>,
    /// CelebA's image folder (img_align_celeba). Without any data option, a built-in
    /// synthetic set is written under the run folder and trained on at small sizes.
    #[arg(long)]
    pub celeba_image_dir: Option<PathBuf>,
    /// CelebA's attribute file (list_attr_celeba.txt).
    #[arg(long)]
    pub attr_path: Option<PathBuf>,
    /// The folder-per-class training set (RaFD's train/).
    #[arg(long)]
    pub rafd_image_dir: Option<PathBuf>,
    /// CelebA images are centre-cropped to this side, then resized [default: 178; built-in 32].
    #[arg(long, value_parser = positive)]
    pub celeba_crop_size: Option<usize>,
    /// RaFD images are centre-cropped to this side, then resized [default: 256; built-in 32].
    #[arg(long, value_parser = positive)]
    pub rafd_crop_size: Option<usize>,
    /// Images per step (per dataset in Both mode).
    #[arg(long, default_value_t = 16, value_parser = positive)]
    pub batch_size: usize,
    /// Iterations in all [default: 200000; built-in set 800].
    #[arg(long, value_parser = positive)]
    pub num_iters: Option<usize>,
    /// Final iterations over which the rates "decay" (see below) [default: 100000; built-in set 400].
    #[arg(long)]
    pub num_iters_decay: Option<usize>,
    /// Generator learning rate.
    #[arg(long, default_value_t = 1e-4)]
    pub g_lr: f64,
    /// Discriminator learning rate.
    #[arg(long, default_value_t = 1e-4)]
    pub d_lr: f64,
    /// Discriminator updates per generator update.
    #[arg(long, default_value_t = 5, value_parser = positive)]
    pub n_critic: usize,
    /// Adam's beta1.
    #[arg(long, default_value_t = 0.5)]
    pub beta1: f32,
    /// Adam's beta2.
    #[arg(long, default_value_t = 0.999)]
    pub beta2: f32,
    /// Iterations between learning-rate updates (see below).
    #[arg(long, default_value_t = 1000, value_parser = positive)]
    pub lr_update_step: usize,
    /// Weight of the domain classification loss.
    #[arg(long, default_value_t = 1.0)]
    pub lambda_cls: f32,
    /// Weight of the reconstruction (cycle) loss.
    #[arg(long, default_value_t = 10.0)]
    pub lambda_rec: f32,
    /// Weight of the gradient penalty.
    #[arg(long, default_value_t = 10.0)]
    pub lambda_gp: f32,
    /// Continue from the networks saved after iteration N (the reference's N-G.ckpt and
    /// N-D.ckpt, or our N_net_G/N_net_D) in the run folder, with fresh optimizers, as the
    /// reference does; --continue-train resumes exactly instead.
    #[arg(long)]
    pub resume_iters: Option<usize>,
    /// Iterations between progress lines when the output is not a terminal (the loss log
    /// gets every iteration).
    #[arg(long, default_value_t = 10, value_parser = positive)]
    pub log_step: usize,
    /// Iterations between sample grids (<iter>-images.png) and plot updates
    /// [default: 1000; built-in set 100].
    #[arg(long, value_parser = positive)]
    pub sample_step: Option<usize>,
    /// Iterations between checkpoints (<iter>_net_G, <iter>_net_D and the full state)
    /// [default: 10000; built-in set 500].
    #[arg(long, value_parser = positive)]
    pub model_save_step: Option<usize>,
    /// Skip unreadable images with a warning instead of stopping.
    #[arg(long)]
    pub skip_bad_images: bool,
    /// Training images of the built-in CelebA-layout set (it adds the 1,999 test images
    /// the reference's split keeps back).
    #[arg(long, default_value_t = 1024, value_parser = positive, hide = true)]
    pub builtin_images: usize,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Where the run lives and how it resumes or stops: the shared trainer's options that
/// StarGAN and FastGAN keep (their steps and saves are set by their reference's options).
#[derive(clap::Args, Clone, Debug)]
pub struct RunArgs {
    /// The run's name: checkpoints, logs and samples go to <checkpoints-dir>/<name>/.
    #[arg(long, default_value = "experiment")]
    pub name: String,
    #[arg(long, default_value = "./checkpoints")]
    pub checkpoints_dir: PathBuf,
    /// Seeds network initialisation, data order, flips and every random draw.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Resume the run exactly where it stopped (optimizers, data order, draws), from its
    /// newest complete checkpoint set (generations/<step>/).
    #[arg(long)]
    pub continue_train: bool,
    /// Start again under a name that already holds a run, removing its checkpoints, logs
    /// and samples (without it such a run is refused, so nothing is lost by mistake).
    #[arg(long, conflicts_with = "continue_train")]
    pub overwrite: bool,
    /// Stop after this many iterations in all, saving a checkpoint (as Ctrl-C does);
    /// --continue-train goes on from there.
    #[arg(long, value_parser = positive)]
    pub stop_after: Option<usize>,
    #[arg(skip)]
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl TrainArgs {
    /// Whether no data option was given, so the built-in set is used.
    pub fn builtin(&self) -> bool {
        self.celeba_image_dir.is_none() && self.attr_path.is_none() && self.rafd_image_dir.is_none()
    }

    /// The model's options.
    pub fn options(&self) -> StarGanOptions {
        let small = self.builtin();
        let num_iters = self.num_iters.unwrap_or(if small { 800 } else { 200_000 });
        StarGanOptions {
            lambda_cls: self.lambda_cls,
            lambda_rec: self.lambda_rec,
            lambda_gp: self.lambda_gp,
            num_iters,
            num_iters_decay: self.num_iters_decay.unwrap_or(if small { num_iters / 2 } else { 100_000 }),
            g_lr: self.g_lr,
            d_lr: self.d_lr,
            n_critic: self.n_critic,
            beta1: self.beta1,
            beta2: self.beta2,
            lr_update_step: self.lr_update_step,
            d_conv_dim: self.d_conv_dim.unwrap_or(if small { 16 } else { 64 }),
            d_repeat_num: self.d_repeat_num.unwrap_or(if small { 4 } else { 6 }),
            ..self.model.apply(small, StarGanOptions::default())
        }
    }

    fn crops(&self) -> (usize, usize) {
        let small = self.builtin();
        (
            self.celeba_crop_size.unwrap_or(if small { demo::SIZE as usize } else { 178 }),
            self.rafd_crop_size.unwrap_or(if small { demo::SIZE as usize } else { 256 }),
        )
    }

    /// The shared trainer's options.
    pub fn run_options(&self) -> RunOptions {
        let small = self.builtin();
        let r = &self.run;
        RunOptions {
            name: r.name.clone(),
            checkpoints_dir: r.checkpoints_dir.clone(),
            seed: r.seed,
            continue_train: r.continue_train || self.resume_iters.is_some(),
            overwrite: r.overwrite,
            epoch: self.resume_iters.map_or("latest".into(), |n| n.to_string()),
            epoch_count: 1,
            display_freq: Some(self.sample_step.unwrap_or(if small { 100 } else { 1000 })),
            print_freq: self.log_step,
            save_latest_freq: self.model_save_step.unwrap_or(if small { 500 } else { 10_000 }),
            save_epoch_freq: 1,
            stop_after: r.stop_after,
            stop: r.stop.clone(),
            start_step: None,
        }
    }

    /// CelebA's (image folder, attribute file), the built-in set's when no data is given.
    fn celeba_paths(&self) -> Result<(PathBuf, PathBuf)> {
        match (&self.celeba_image_dir, &self.attr_path) {
            (Some(images), Some(attrs)) => Ok((images.clone(), attrs.clone())),
            (None, None) if self.builtin() => {
                let root = demo::celeba_root(&self.run_options().run_dir());
                let write = |tmp: &std::path::Path| {
                    crate::data::synth_celeba::write_celeba(
                        tmp,
                        self.builtin_images,
                        demo::SIZE,
                        self.run.seed,
                    )
                };
                if crate::data::synth::write_complete(&root, write)? {
                    eprintln!("wrote the built-in CelebA-layout set to {}", root.display());
                }
                Ok((root.join("images"), root.join("list_attr_celeba.txt")))
            }
            _ => Err(missing("--dataset CelebA and Both need both --celeba-image-dir and --attr-path")),
        }
    }

    /// The folder-per-class training set, the built-in one when no data is given.
    fn rafd_dir(&self) -> Result<PathBuf> {
        match &self.rafd_image_dir {
            Some(dir) => Ok(dir.clone()),
            None if self.builtin() => {
                let root = demo::classes_root(&self.run_options().run_dir());
                let write = |tmp: &std::path::Path| {
                    let per_class = (self.builtin_images / 4).max(1);
                    crate::data::synth::write_classes(tmp, per_class, demo::SIZE, self.run.seed)
                };
                if crate::data::synth::write_complete(&root, write)? {
                    eprintln!("wrote the built-in folder-per-class set to {}", root.display());
                }
                Ok(root.join("train"))
            }
            None => Err(missing("--dataset RaFD and Both need --rafd-image-dir (one folder per class)")),
        }
    }

    /// Every dataset the run trains on, in step order.
    fn sources(&self, o: &StarGanOptions) -> Result<Vec<Source>> {
        let (celeba_crop, rafd_crop) = self.crops();
        let celeba = || -> Result<Source> {
            let (images, attrs) = self.celeba_paths()?;
            let items = celeba_items(&images, &attrs, &o.selected_attrs, Split::Train)?;
            Ok(Source { items, crop: celeba_crop as u32 })
        };
        let rafd = |classes: (usize, &str)| -> Result<Source> {
            Ok(Source { items: folder_items(&self.rafd_dir()?, classes)?, crop: rafd_crop as u32 })
        };
        Ok(match o.dataset {
            Dataset::CelebA => vec![celeba()?],
            Dataset::RaFD => vec![rafd((o.c_dim, "--c-dim"))?],
            Dataset::Both => vec![celeba()?, rafd((o.c2_dim, "--c2-dim"))?],
        })
    }

    /// Checks what the user asked for before anything is written.
    fn check(&self, o: &StarGanOptions) -> Result<()> {
        if o.dataset != Dataset::RaFD {
            crate::data::celeba::check_c_dim(&o.selected_attrs, o.c_dim)?;
        }
        o.validate()?;
        if self.builtin() && o.dataset != Dataset::RaFD {
            demo::check_attributes(&o.selected_attrs)?;
        }
        if let (Some(n), true) = (self.resume_iters, self.run.continue_train) {
            return Err(Error::Invalid {
                op: "stargan",
                msg: format!("give --resume-iters {n} (networks of iteration {n}, fresh optimizers) or --continue-train (the exact latest state), not both"),
            });
        }
        Ok(())
    }

    /// What train_opt.txt records.
    fn recorded(&self, o: &StarGanOptions) -> Vec<(String, String)> {
        let (celeba_crop, rafd_crop) = self.crops();
        let path = |p: &Option<PathBuf>| p.as_ref().map_or("built-in".into(), |p| p.display().to_string());
        let r = self.run_options();
        [
            ("dataset", value_name(&o.dataset)),
            ("c_dim", o.c_dim.to_string()),
            ("c2_dim", o.c2_dim.to_string()),
            ("selected_attrs", o.selected_attrs.join(" ")),
            ("celeba_image_dir", path(&self.celeba_image_dir)),
            ("attr_path", path(&self.attr_path)),
            ("rafd_image_dir", path(&self.rafd_image_dir)),
            ("celeba_crop_size", celeba_crop.to_string()),
            ("rafd_crop_size", rafd_crop.to_string()),
            ("image_size", o.image_size.to_string()),
            ("g_conv_dim", o.g_conv_dim.to_string()),
            ("d_conv_dim", o.d_conv_dim.to_string()),
            ("g_repeat_num", o.g_repeat_num.to_string()),
            ("d_repeat_num", o.d_repeat_num.to_string()),
            ("lambda_cls", o.lambda_cls.to_string()),
            ("lambda_rec", o.lambda_rec.to_string()),
            ("lambda_gp", o.lambda_gp.to_string()),
            ("batch_size", self.batch_size.to_string()),
            ("num_iters", o.num_iters.to_string()),
            ("num_iters_decay", o.num_iters_decay.to_string()),
            ("g_lr", o.g_lr.to_string()),
            ("d_lr", o.d_lr.to_string()),
            ("n_critic", o.n_critic.to_string()),
            ("beta1", o.beta1.to_string()),
            ("beta2", o.beta2.to_string()),
            ("lr_update_step", o.lr_update_step.to_string()),
            ("log_step", r.print_freq.to_string()),
            ("sample_step", r.display_freq.unwrap_or(0).to_string()),
            ("model_save_step", r.save_latest_freq.to_string()),
            ("seed", r.seed.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Trains; on the built-in set, scores the translations before and after.
    pub fn run(&self, d: &Device) -> Result<crate::train::Outcome> {
        let o = self.options();
        self.check(&o)?;
        let sources = self.sources(&o)?;
        let run = self.run_options();
        d.manual_seed(run.seed);
        let mut model = StarGan::build(d, o.clone(), run.seed)?;
        let scoring = self.builtin() && o.dataset != Dataset::Both;
        let before = if scoring && !run.continue_train { Some(self.score(d, &model)?) } else { None };
        let (size, batch, seed, skip) =
            (o.image_size as u32, self.batch_size, run.seed, self.skip_bad_images);
        let outcome = crate::train::run(
            d,
            &run,
            &mut model,
            |start| StarGanLoader::new(sources, size, batch, seed, start, skip),
            &self.recorded(&o),
        )?;
        println!("checkpoints, loss log and sample grids are in {}", run.run_dir().display());
        if scoring && !outcome.interrupted {
            let after = self.score(d, &model)?;
            demo::print_score(o.dataset, before, after);
        }
        Ok(outcome)
    }

    /// The built-in set's score of the model's generator on the test images.
    fn score(&self, d: &Device, model: &StarGan) -> Result<demo::Score> {
        let run_dir = self.run_options().run_dir();
        let (celeba_crop, rafd_crop) = self.crops();
        match model.options.dataset {
            Dataset::RaFD => demo::classes_score(
                d,
                &model.g,
                &model.options,
                rafd_crop as u32,
                &demo::classes_root(&run_dir),
            ),
            _ => demo::celeba_score(
                d,
                &model.g,
                &model.options,
                celeba_crop as u32,
                &demo::celeba_root(&run_dir),
            ),
        }
    }
}

fn missing(msg: &str) -> Error {
    Error::Invalid { op: "stargan", msg: msg.to_string() }
}
