//! `gantry train pix2pix`: the reference's options for pix2pix, its networks built and
//! initialised as the reference does, the aligned loader, and on the built-in set the
//! L1 distance of the outputs to the true scenes.

use super::{Pix2Pix, Pix2PixOptions};
use crate::data::aligned::AlignedLoader;
use crate::data::synth::write_pairs;
use crate::error::Result;
use crate::gpu::Device;
use crate::models::image2image::args::{
    check_before_training, recorded_common, value_name, DataArgs, NetArgs,
};
use crate::models::image2image::{init_normal, GeneratorOptions, NetG, NormKind};
use crate::models::losses::GanMode;
use crate::train::RunOptions;
use std::path::{Path, PathBuf};

/// `--direction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Direction {
    /// The left half is the input.
    #[value(name = "AtoB")]
    AtoB,
    /// The right half is the input.
    #[value(name = "BtoA")]
    BtoA,
}

/// pix2pix on aligned pairs: <dataroot>/train/ holds A|B images side by side.
#[derive(clap::Args, Clone, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub run: RunOptions,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub nets: NetArgs,
    /// Normalisation layers.
    #[arg(long, value_enum, default_value = "batch")]
    pub norm: NormKind,
    /// Build the generator without dropout.
    #[arg(long)]
    pub no_dropout: bool,
    /// Which half of each image is the input.
    #[arg(long, value_enum, default_value = "AtoB")]
    pub direction: Direction,
    /// Epochs at the initial learning rate [default: 100; built-in set 1].
    #[arg(long)]
    pub n_epochs: Option<usize>,
    /// Epochs of linear decay to zero [default: 100; built-in set 1].
    #[arg(long)]
    pub n_epochs_decay: Option<usize>,
    /// Weight of the L1 term.
    #[arg(long = "lambda-L1", default_value_t = 100.0)]
    pub lambda_l1: f32,
    /// The GAN objective.
    #[arg(long, value_enum, default_value = "vanilla")]
    pub gan_mode: GanMode,
    /// Adam's initial learning rate.
    #[arg(long, default_value_t = 2e-4)]
    pub lr: f32,
    /// Adam's beta1.
    #[arg(long, default_value_t = 0.5)]
    pub beta1: f32,
}

const BUILTIN_SIZES: (u32, u32) = (136, 128);

impl TrainArgs {
    fn builtin(&self) -> bool {
        self.data.dataroot.is_none()
    }

    /// The generator as these options describe it (smaller on the built-in set).
    pub fn generator(&self) -> GeneratorOptions {
        let small = self.builtin();
        GeneratorOptions {
            net_g: self.nets.net_g.unwrap_or(if small { NetG::Unet128 } else { NetG::Unet256 }),
            ngf: self.nets.ngf.unwrap_or(if small { 8 } else { 64 }),
            norm: self.norm,
            dropout: !self.no_dropout,
            input_nc: self.data.input_nc,
            output_nc: self.data.output_nc,
        }
    }

    pub fn model_options(&self) -> Pix2PixOptions {
        let small = self.builtin();
        Pix2PixOptions {
            lambda_l1: self.lambda_l1,
            gan_mode: self.gan_mode,
            lr: self.lr,
            beta1: self.beta1,
            n_epochs: self.n_epochs.unwrap_or(if small { 1 } else { 100 }),
            n_epochs_decay: self.n_epochs_decay.unwrap_or(if small { 1 } else { 100 }),
        }
    }

    /// The generator and a PatchGAN on cat(A, B), initialised as the reference.
    pub fn build(&self, d: &Device) -> Result<Pix2Pix> {
        let g = self.generator();
        let disc = self.nets.discriminator(self.builtin());
        let (gen, critic) = (g.build(d)?, disc.build(d, g.input_nc + g.output_nc, g.norm)?);
        init_normal(&gen)?;
        init_normal(&critic)?;
        Ok(Pix2Pix::new(gen, critic, self.model_options()))
    }

    fn dataroot(&self) -> Result<PathBuf> {
        if let Some(root) = &self.data.dataroot {
            return Ok(root.clone());
        }
        let root = self.run.run_dir().join("synthetic");
        if crate::data::synth::write_complete(&root, |tmp| write_pairs(tmp, 32, 128, self.run.seed))? {
            eprintln!("wrote the built-in synthetic set to {}", root.display());
        }
        Ok(root)
    }

    fn recorded(&self, root: &Path) -> Vec<(String, String)> {
        let (g, o, p) = (self.generator(), self.model_options(), self.data.preprocess(BUILTIN_SIZES));
        let disc = self.nets.discriminator(self.builtin());
        let mut recorded = recorded_common(root, &g, &disc, &p, self.data.batch_size);
        let own = [
            ("direction", value_name(&self.direction)),
            ("no_dropout", (!g.dropout).to_string()),
            ("n_epochs", o.n_epochs.to_string()),
            ("n_epochs_decay", o.n_epochs_decay.to_string()),
            ("lambda_L1", o.lambda_l1.to_string()),
            ("gan_mode", value_name(&o.gan_mode)),
            ("lr", o.lr.to_string()),
            ("beta1", o.beta1.to_string()),
            ("seed", self.run.seed.to_string()),
        ];
        recorded.extend(own.into_iter().map(|(k, v)| (k.to_string(), v)));
        recorded
    }

    /// Trains; on the built-in set, then reports the L1 distance to the true scenes.
    pub fn run(&self, d: &Device) -> Result<crate::train::Outcome> {
        let pre = self.data.preprocess(BUILTIN_SIZES);
        let o = self.model_options();
        check_before_training(
            &self.generator(),
            &self.nets.discriminator(self.builtin()),
            &pre,
            (o.n_epochs, o.n_epochs_decay),
        )?;
        let root = self.dataroot()?;
        d.manual_seed(self.run.seed);
        let mut model = self.build(d)?;
        let (batch, seed, b_to_a) = (self.data.batch_size, self.run.seed, self.direction == Direction::BtoA);
        let run = RunOptions {
            display_freq: self.run.display_freq.or(self.builtin().then_some(16)),
            ..self.run.clone()
        };
        let outcome = crate::train::run(
            d,
            &run,
            &mut model,
            |start| AlignedLoader::new(&root, "train", pre, batch, b_to_a, seed, start),
            &self.recorded(&root),
        )?;
        println!("checkpoints, loss log and sample grids are in {}", self.run.run_dir().display());
        if self.builtin() && !outcome.interrupted {
            let (learned, blank) = self.score(d, &root)?;
            println!("test silhouettes -> scenes: mean L1 to the true scene {learned:.3} (a blank grey image scores {blank:.3}; lower is better)");
        }
        Ok(outcome)
    }

    /// For the built-in set: the mean L1 distance (in [-1, 1] units) between the latest
    /// G's outputs on the test silhouettes and the true scenes, next to that of a blank
    /// grey image (what "no learning" scores).
    pub fn score(&self, d: &Device, root: &Path) -> Result<(f32, f32)> {
        use crate::io::image::{image_files, read_rgb, resize_to, to_tensor};
        let g = self.generator().build(d)?;
        let weights = crate::io::load_safetensors(self.run.run_dir().join("latest_net_G.safetensors"))?;
        crate::nn::ModuleExt::load_state_dict(&g, &weights)?;
        let size = self.data.preprocess(BUILTIN_SIZES).crop_size;
        let (mut learned, mut blank) = (0.0, 0.0);
        let files = image_files(&root.join("test"))?;
        for f in &files {
            let ab = read_rgb(f)?;
            let half = ab.width() / 2;
            let crop = |x0| {
                resize_to(::image::imageops::crop_imm(&ab, x0, 0, half, ab.height()).to_image(), size, size)
            };
            let (a, b) = (to_tensor(d, &crop(0), 3)?, to_tensor(d, &crop(half), 3)?);
            let y = crate::autograd::no_grad(|| crate::nn::Layer::forward(&g, &a))?;
            learned += crate::models::losses::l1(&y, &b)?.item()?;
            // Grey 128 is 128/127.5 - 1 ≈ 0 in [-1, 1].
            blank += b.add_scalar(-(128.0 / 127.5 - 1.0))?.abs()?.mean_all()?.item()?;
        }
        let n = files.len() as f32;
        Ok((learned / n, blank / n))
    }
}
