//! `gantry train stargan-v2`: the reference's options in kebab-case, domain folders or the
//! built-in three-domain set, the shared trainer, the reference's debug samples, and
//! `--resume-iter N` from the reference's checkpoint files.

use super::args::ModelArgs;
use super::data::{domain_folders, val_batch, V2Loader};
use super::debug::DebugInputs;
use super::reference::{resume, Resumed};
use super::{demo, Debug, StarGanV2, StarGanV2Options};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::models::image2image::args::positive;
use crate::models::stargan::train::RunArgs;
use crate::train::RunOptions;
use std::path::{Path, PathBuf};

const NOTES: &str = "Without --train-img-dir a built-in set of three colour domains is written under the run folder and trained on at 32 px and small widths, with w_hpf 0. With --w-hpf above 0 (the reference's default, for faces) the generator takes masks from the reference's pretrained FAN: give --wing-path wing.ckpt, or train with --w-hpf 0 as the reference does on AFHQ. --resume-iter N reads the reference's <N>_nets.ckpt, <N>_nets_ema.ckpt and <N>_optims.ckpt from --checkpoint-dir; with only <N>_nets_ema.ckpt (all the authors released) training starts from the EMA weights with fresh optimizers. --continue-train resumes a gantry run exactly.";

/// StarGAN v2 on domain folders (or, without --train-img-dir, a built-in set).
#[derive(clap::Args, Clone, Debug)]
#[command(after_help = NOTES)]
pub struct TrainArgs {
    /// Training images: one subfolder per domain (`<dir>/<domain>/*.png|jpg|jpeg`), domains
    /// numbered in sorted name order.
    #[arg(long)]
    pub train_img_dir: Option<PathBuf>,
    /// Validation images in the same layout, for the debug samples [default: --train-img-dir].
    #[arg(long)]
    pub val_img_dir: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Weight of R1 on real images.
    #[arg(long, default_value_t = 1.0)]
    pub lambda_reg: f32,
    /// Weight of the cycle-consistency loss.
    #[arg(long, default_value_t = 1.0)]
    pub lambda_cyc: f32,
    /// Weight of the style reconstruction loss.
    #[arg(long, default_value_t = 1.0)]
    pub lambda_sty: f32,
    /// Initial weight of the diversity-sensitive loss (1 for CelebA-HQ, 2 for AFHQ).
    #[arg(long, default_value_t = 1.0)]
    pub lambda_ds: f64,
    /// Iterations over which λ_ds decays linearly to 0 [default: 100000; built-in set: --total-iters].
    #[arg(long, value_parser = positive)]
    pub ds_iter: Option<usize>,
    /// Probability of RandomResizedCrop (scale 0.8-1, ratio 0.9-1.1) on each training image.
    #[arg(long, default_value_t = 0.5)]
    pub randcrop_prob: f64,
    /// Iterations in all [default: 100000; built-in set 200].
    #[arg(long, value_parser = positive)]
    pub total_iters: Option<usize>,
    /// Continue the reference's run from its checkpoint files of this iteration.
    #[arg(long, default_value_t = 0)]
    pub resume_iter: usize,
    /// The folder of the reference's checkpoint files for --resume-iter [default: the run folder].
    #[arg(long)]
    pub checkpoint_dir: Option<PathBuf>,
    /// Images per iteration [default: 8; built-in set 4].
    #[arg(long, value_parser = positive)]
    pub batch_size: Option<usize>,
    /// Validation images in the debug samples [default: 32; built-in set 6].
    #[arg(long, value_parser = positive)]
    pub val_batch_size: Option<usize>,
    /// Learning rate of G, E and D [default: 1e-4; built-in set 5e-4].
    #[arg(long)]
    pub lr: Option<f32>,
    /// Learning rate of the mapping network [default: 1e-6; built-in set 5e-5].
    #[arg(long)]
    pub f_lr: Option<f32>,
    #[arg(long, default_value_t = 0.0)]
    pub beta1: f32,
    #[arg(long, default_value_t = 0.99)]
    pub beta2: f32,
    /// L2 weight decay of every Adam.
    #[arg(long, default_value_t = 1e-4)]
    pub weight_decay: f32,
    /// Iterations between progress lines when the output is not a terminal.
    #[arg(long, default_value_t = 10, value_parser = positive)]
    pub print_every: usize,
    /// Iterations between debug samples [default: 5000; built-in set 100].
    #[arg(long, value_parser = positive)]
    pub sample_every: Option<usize>,
    /// Iterations between checkpoints [default: 10000; built-in set 100].
    #[arg(long, value_parser = positive)]
    pub save_every: Option<usize>,
    /// Skip unreadable images with a warning instead of stopping.
    #[arg(long)]
    pub skip_bad_images: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

impl TrainArgs {
    /// Whether no --train-img-dir was given, so the built-in set is used.
    pub fn builtin(&self) -> bool {
        self.train_img_dir.is_none()
    }

    fn pick<T>(&self, v: Option<T>, full: T, builtin: T) -> T {
        v.unwrap_or(if self.builtin() { builtin } else { full })
    }

    /// The model's options.
    pub fn options(&self) -> StarGanV2Options {
        let base = if self.builtin() { demo::options() } else { StarGanV2Options::default() };
        let total_iters = self.pick(self.total_iters, 100_000, demo::ITERATIONS);
        StarGanV2Options {
            lambda_reg: self.lambda_reg,
            lambda_cyc: self.lambda_cyc,
            lambda_sty: self.lambda_sty,
            lambda_ds: self.lambda_ds,
            ds_iter: self.pick(self.ds_iter, 100_000, total_iters),
            total_iters,
            lr: self.pick(self.lr, 1e-4, demo::LR),
            f_lr: self.pick(self.f_lr, 1e-6, demo::F_LR),
            beta1: self.beta1,
            beta2: self.beta2,
            weight_decay: self.weight_decay,
            ..self.model.apply(base)
        }
    }

    fn batch_size(&self) -> usize {
        self.pick(self.batch_size, 8, demo::BATCH)
    }

    /// The shared trainer's options.
    pub fn run_options(&self) -> RunOptions {
        let r = &self.run;
        RunOptions {
            name: r.name.clone(),
            checkpoints_dir: r.checkpoints_dir.clone(),
            seed: r.seed,
            continue_train: r.continue_train,
            overwrite: r.overwrite,
            epoch: "latest".into(),
            epoch_count: 1,
            display_freq: Some(self.pick(self.sample_every, 5000, demo::SAMPLE_EVERY)),
            print_freq: self.print_every,
            save_latest_freq: self.pick(self.save_every, 10_000, demo::SAMPLE_EVERY),
            save_epoch_freq: 1,
            stop_after: r.stop_after,
            stop: r.stop.clone(),
            start_step: (self.resume_iter > 0).then_some(self.resume_iter),
        }
    }

    /// The training and validation roots, the built-in set's when no folder is given.
    fn roots(&self, o: &StarGanV2Options) -> Result<(PathBuf, PathBuf)> {
        match &self.train_img_dir {
            Some(train) => Ok((train.clone(), self.val_img_dir.clone().unwrap_or_else(|| train.clone()))),
            None => {
                let root = demo::root(&self.run_options().run_dir());
                let (seed, size) = (self.run.seed, o.img_size as u32);
                let write =
                    |tmp: &Path| crate::data::synth_domains::write_domains(tmp, demo::PER_DOMAIN, size, seed);
                if crate::data::synth::write_complete(&root, write)? {
                    eprintln!("wrote the built-in three-domain set to {}", root.display());
                }
                Ok((root.join("train"), root.join("val")))
            }
        }
    }

    /// Checks what the user asked for before anything is written.
    fn check(&self, o: &StarGanV2Options) -> Result<()> {
        o.validate()?;
        if self.resume_iter > 0 && self.run.continue_train {
            return Err(Error::Invalid {
                op: "stargan-v2",
                msg: "give --resume-iter (the reference's checkpoint files) or --continue-train (this run's latest state), not both".into(),
            });
        }
        if self.builtin() && o.num_domains != demo::DOMAINS {
            return Err(Error::Invalid {
                op: "stargan-v2",
                msg: format!(
                    "the built-in set has {} domains, not --num-domains {}; give --train-img-dir for other data",
                    demo::DOMAINS,
                    o.num_domains
                ),
            });
        }
        Ok(())
    }

    /// What train_opt.txt records.
    fn recorded(&self, o: &StarGanV2Options, train: &Path, val: &Path) -> Vec<(String, String)> {
        let r = self.run_options();
        [
            ("train_img_dir", train.display().to_string()),
            ("val_img_dir", val.display().to_string()),
            ("img_size", o.img_size.to_string()),
            ("num_domains", o.num_domains.to_string()),
            ("latent_dim", o.latent_dim.to_string()),
            ("hidden_dim", o.hidden_dim.to_string()),
            ("style_dim", o.style_dim.to_string()),
            ("w_hpf", o.w_hpf.to_string()),
            ("max_conv_dim", o.max_conv_dim.to_string()),
            ("lambda_reg", o.lambda_reg.to_string()),
            ("lambda_cyc", o.lambda_cyc.to_string()),
            ("lambda_sty", o.lambda_sty.to_string()),
            ("lambda_ds", o.lambda_ds.to_string()),
            ("ds_iter", o.ds_iter.to_string()),
            ("randcrop_prob", self.randcrop_prob.to_string()),
            ("total_iters", o.total_iters.to_string()),
            ("resume_iter", self.resume_iter.to_string()),
            ("batch_size", self.batch_size().to_string()),
            ("lr", o.lr.to_string()),
            ("f_lr", o.f_lr.to_string()),
            ("beta1", o.beta1.to_string()),
            ("beta2", o.beta2.to_string()),
            ("weight_decay", o.weight_decay.to_string()),
            ("sample_every", r.display_freq.unwrap_or(0).to_string()),
            ("save_every", r.save_latest_freq.to_string()),
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
        let fan = super::fan_for(d, &o, self.model.wing_path.as_deref(), None)?;
        let (train, val) = self.roots(&o)?;
        let domains = domain_folders(&train, o.num_domains)?;
        let mut run = self.run_options();
        d.manual_seed(run.seed);
        let recorded = self.recorded(&o, &train, &val);
        let mut model = StarGanV2::build(d, o.clone(), fan)?;
        if self.resume_iter > 0 {
            let dir = self.checkpoint_dir.clone().unwrap_or_else(|| run.run_dir());
            match resume(&mut model, &dir, self.resume_iter, d)? {
                Resumed::Everything => eprintln!(
                    "continuing the reference's run from {} after iteration {}",
                    dir.display(),
                    self.resume_iter
                ),
                Resumed::FromEma => eprintln!(
                    "{} holds only {:06}_nets_ema.ckpt: fine-tuning from its EMA weights (G, F, E and their averages), with D from He init and fresh optimizers, after iteration {}",
                    dir.display(),
                    self.resume_iter,
                    self.resume_iter
                ),
            }
            run.start_step = Some(self.resume_iter);
        }
        let n_val = self.pick(self.val_batch_size, 32, demo::VAL_BATCH);
        let size = o.img_size as u32;
        let (x_src, y_src) = val_batch(d, &val, o.num_domains, n_val, size, run.seed)?;
        let (x_ref, y_ref) = val_batch(d, &val, o.num_domains, n_val, size, run.seed + 1)?;
        model.debug = Some(Debug {
            dir: run.run_dir().join("samples"),
            every: run.display_freq.unwrap_or(5000),
            inputs: DebugInputs { x_src, y_src, x_ref, y_ref },
        });
        let scoring = self.builtin() && !run.continue_train && self.resume_iter == 0;
        let before = if scoring { Some(demo::score(d, &model, &val)?) } else { None };
        let (batch, seed, prob) = (self.batch_size(), run.seed, self.randcrop_prob);
        let skip = self.skip_bad_images;
        let outcome = crate::train::run(
            d,
            &run,
            &mut model,
            |start| V2Loader::new(domains, size, batch, prob, seed, start, skip),
            &recorded,
        )?;
        println!(
            "checkpoints, loss log and sample grids are in {}; debug samples in {}",
            run.run_dir().display(),
            run.run_dir().join("samples").display()
        );
        if let (Some(before), false) = (before, outcome.interrupted) {
            let after = demo::score(d, &model, &val)?;
            demo::print_score(before, after);
        }
        Ok(outcome)
    }
}
