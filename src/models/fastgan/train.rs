//! `gantry train fastgan`: train.py's options in kebab-case (its hard-coded widths and
//! rates exposed with their values as defaults), a flat image folder or the built-in
//! few-shot set, the shared trainer, and a resume from the reference's `all_N.pth`.

use super::data::{flat_images, FlatLoader};
use super::{demo, reference, FastGan, FastGanOptions, Reconstruction};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::models::image2image::args::positive;
use crate::models::stargan::train::RunArgs;
use crate::nn::lpips::Lpips;
use crate::train::RunOptions;
use std::path::PathBuf;

const NOTES: &str = "The reference (train.py) hard-codes --ngf, --ndf, --nz, --lr and the betas; their defaults here are its values. Without --lpips-vgg and --lpips-lin, the decoders' reconstruction loss is an L1 distance instead of LPIPS (said in the log and in train_opt.txt). Below 1024 px the generator has no tanh, as in the reference.";

/// FastGAN on a folder of images (or, without --path, a built-in few-shot set).
#[derive(clap::Args, Clone, Debug)]
#[command(after_help = NOTES)]
pub struct TrainArgs {
    /// The training images: the .jpg/.jpeg/.png files directly inside this folder
    /// (subfolders are ignored). Without it a built-in set of 100 images is written under
    /// the run folder and trained on at small widths.
    #[arg(long)]
    pub path: Option<PathBuf>,
    /// Iterations in all [default: 50000; built-in set 120].
    #[arg(long, value_parser = positive)]
    pub iter: Option<usize>,
    /// The iteration a fresh run starts counting from (--ckpt sets it from the file name).
    #[arg(long, default_value_t = 0)]
    pub start_iter: usize,
    /// Images per iteration [default: 8; built-in set 4].
    #[arg(long, value_parser = positive)]
    pub batch_size: Option<usize>,
    /// Image side: 256, 512 or 1024 [default: 1024; built-in set 256].
    #[arg(long)]
    pub im_size: Option<usize>,
    /// Continue a reference run from its models/all_N.pth (networks, EMA, optimizers; the
    /// iteration from the name), or start from the networks of an N.pth.
    #[arg(long)]
    pub ckpt: Option<PathBuf>,
    /// Samples every 10× and checkpoints every 50× this many iterations [default: 100;
    /// built-in set 6].
    #[arg(long, value_parser = positive)]
    pub save_interval: Option<usize>,
    /// Generator width [default: 64; built-in set 8].
    #[arg(long, value_parser = positive)]
    pub ngf: Option<usize>,
    /// Discriminator width [default: 64; built-in set 8].
    #[arg(long, value_parser = positive)]
    pub ndf: Option<usize>,
    /// Latent code length.
    #[arg(long, default_value_t = 256, value_parser = positive)]
    pub nz: usize,
    /// The decoders' base width (the reference fixes 32) [default: 32; built-in set 4].
    #[arg(long, value_parser = positive)]
    pub dec_nf: Option<usize>,
    /// DiffAugment policy: comma-separated color, translation, cutout.
    #[arg(long, default_value = "color,translation")]
    pub policy: String,
    #[arg(long, default_value_t = 2e-4)]
    pub lr: f32,
    #[arg(long, default_value_t = 0.5)]
    pub beta1: f32,
    #[arg(long, default_value_t = 0.999)]
    pub beta2: f32,
    /// torchvision's VGG16 weights (vgg16-397923af.pth) for the LPIPS reconstruction loss.
    #[arg(long, requires = "lpips_lin")]
    pub lpips_vgg: Option<PathBuf>,
    /// The lpips package's linear layers (weights/v0.1/vgg.pth).
    #[arg(long, requires = "lpips_vgg")]
    pub lpips_lin: Option<PathBuf>,
    /// Skip unreadable images with a warning instead of stopping.
    #[arg(long)]
    pub skip_bad_images: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

impl TrainArgs {
    /// Whether no --path was given, so the built-in set is used.
    pub fn builtin(&self) -> bool {
        self.path.is_none()
    }

    fn pick(&self, v: Option<usize>, full: usize, builtin: usize) -> usize {
        v.unwrap_or(if self.builtin() { builtin } else { full })
    }

    /// The model's options.
    pub fn options(&self) -> FastGanOptions {
        FastGanOptions {
            im_size: self.pick(self.im_size, 1024, demo::SIZE),
            ngf: self.pick(self.ngf, 64, demo::WIDTH),
            ndf: self.pick(self.ndf, 64, demo::WIDTH),
            nz: self.nz,
            dec_nf: self.pick(self.dec_nf, 32, demo::DEC_NF),
            iter: self.pick(self.iter, 50_000, demo::ITERATIONS),
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            ema_beta: 0.999,
            policy: self.policy.clone(),
        }
    }

    fn batch_size(&self) -> usize {
        self.pick(self.batch_size, 8, demo::BATCH)
    }

    /// The shared trainer's options: samples every 10 and saves every 50 save intervals.
    pub fn run_options(&self) -> RunOptions {
        let interval = self.pick(self.save_interval, 100, demo::SAVE_INTERVAL);
        let r = &self.run;
        RunOptions {
            name: r.name.clone(),
            checkpoints_dir: r.checkpoints_dir.clone(),
            seed: r.seed,
            continue_train: r.continue_train,
            overwrite: r.overwrite,
            epoch: "latest".into(),
            epoch_count: 1,
            display_freq: Some(interval * 10),
            print_freq: 100,
            save_latest_freq: interval * 50,
            save_epoch_freq: 1,
            stop_after: r.stop_after,
            stop: r.stop.clone(),
            start_step: (self.start_iter > 0).then_some(self.start_iter),
        }
    }

    /// The reconstruction distance: LPIPS from the user's files, else L1.
    fn reconstruction(&self, d: &Device) -> Result<Reconstruction> {
        match (&self.lpips_vgg, &self.lpips_lin) {
            (Some(vgg), Some(lin)) => Ok(Reconstruction::Lpips(Box::new(Lpips::load(d, vgg, lin)?))),
            _ => Ok(Reconstruction::L1),
        }
    }

    /// The training images, the built-in set's when no --path is given.
    fn images(&self) -> Result<Vec<PathBuf>> {
        match &self.path {
            Some(path) => flat_images(path),
            None => {
                let root = demo::root(&self.run_options().run_dir());
                let seed = self.run.seed;
                let write = |tmp: &std::path::Path| demo::write(tmp, seed);
                if crate::data::synth::write_complete(&root, write)? {
                    eprintln!("wrote the built-in few-shot set to {}", root.display());
                }
                flat_images(&root.join("images"))
            }
        }
    }

    /// Checks what the user asked for before anything is written.
    fn check(&self, o: &FastGanOptions) -> Result<()> {
        o.validate()?;
        if self.ckpt.is_some() && self.run.continue_train {
            return Err(Error::Invalid {
                op: "fastgan",
                msg: "give --ckpt (a reference all_N.pth) or --continue-train (this run's latest state), not both"
                    .into(),
            });
        }
        Ok(())
    }

    /// What train_opt.txt records.
    fn recorded(&self, o: &FastGanOptions, recon: &Reconstruction) -> Vec<(String, String)> {
        let path = self.path.as_ref().map_or("built-in".into(), |p| p.display().to_string());
        let r = self.run_options();
        [
            ("path", path),
            ("im_size", o.im_size.to_string()),
            ("ngf", o.ngf.to_string()),
            ("ndf", o.ndf.to_string()),
            ("nz", o.nz.to_string()),
            ("dec_nf", o.dec_nf.to_string()),
            ("iter", o.iter.to_string()),
            ("batch_size", self.batch_size().to_string()),
            ("policy", o.policy.clone()),
            ("lr", o.lr.to_string()),
            ("beta1", o.beta1.to_string()),
            ("beta2", o.beta2.to_string()),
            ("reconstruction", recon.describe().to_string()),
            ("ckpt", self.ckpt.as_ref().map_or("None".into(), |p| p.display().to_string())),
            ("sample_every", r.display_freq.unwrap_or(0).to_string()),
            ("save_every", r.save_latest_freq.to_string()),
            ("seed", r.seed.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Trains; on the built-in set, scores realism and diversity before and after.
    pub fn run(&self, d: &Device) -> Result<crate::train::Outcome> {
        let o = self.options();
        self.check(&o)?;
        let files = self.images()?;
        let mut run = self.run_options();
        d.manual_seed(run.seed);
        let recon = self.reconstruction(d)?;
        eprintln!("reconstruction loss: {}", recon.describe());
        let recorded = self.recorded(&o, &recon);
        let mut model = FastGan::build(d, o.clone(), recon, run.seed)?;
        if let Some(ckpt) = &self.ckpt {
            let it = reference::resume(&mut model, ckpt, d)?;
            eprintln!("continuing from {} at iteration {it}", ckpt.display());
            run.start_step = Some(it);
        }
        let scoring = self.builtin() && !run.continue_train;
        let before = if scoring { Some(demo::score(d, &model, &run.run_dir())?) } else { None };
        let (size, batch, seed, skip) = (o.im_size as u32, self.batch_size(), run.seed, self.skip_bad_images);
        let outcome = crate::train::run(
            d,
            &run,
            &mut model,
            |start| FlatLoader::new(files, size, batch, seed, start, skip),
            &recorded,
        )?;
        println!("checkpoints, loss log and sample grids are in {}", run.run_dir().display());
        if let (Some(before), false) = (before, outcome.interrupted) {
            let after = demo::score(d, &model, &run.run_dir())?;
            demo::print_score(before, after);
        }
        Ok(outcome)
    }
}
