//! `gantry train cyclegan`: the reference's options for CycleGAN, its networks built and
//! initialised as the reference does, the unaligned loader, and on the built-in set a
//! score of how well the translation was learned.

use super::{CycleGan, CycleGanOptions};
use crate::data::synth::{translation_score, write_colors};
use crate::data::unaligned::UnalignedLoader;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::models::image2image::args::{
    check_before_training, positive, recorded_common, value_name, DataArgs, NetArgs,
};
use crate::models::image2image::{init_normal, GeneratorOptions, NetG, NormKind};
use crate::models::losses::GanMode;
use crate::train::RunOptions;
use std::path::PathBuf;

/// CycleGAN on unaligned data: <dataroot>/trainA/ and <dataroot>/trainB/.
#[derive(clap::Args, Clone, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub run: RunOptions,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub nets: NetArgs,
    /// Normalisation layers.
    #[arg(long, value_enum, default_value = "instance")]
    pub norm: NormKind,
    /// Epochs at the initial learning rate [default: 100; built-in set 2].
    #[arg(long)]
    pub n_epochs: Option<usize>,
    /// Epochs of linear decay to zero [default: 100; built-in set 2].
    #[arg(long)]
    pub n_epochs_decay: Option<usize>,
    /// Weight of the cycle loss A -> B -> A.
    #[arg(long = "lambda-A", default_value_t = 10.0)]
    pub lambda_a: f32,
    /// Weight of the cycle loss B -> A -> B.
    #[arg(long = "lambda-B", default_value_t = 10.0)]
    pub lambda_b: f32,
    /// Weight of the identity loss, relative to the cycle losses (0 turns it off).
    #[arg(long, default_value_t = 0.5)]
    pub lambda_identity: f32,
    /// Generated images kept for the discriminators (0: none).
    #[arg(long, default_value_t = 50)]
    pub pool_size: usize,
    /// The GAN objective.
    #[arg(long, value_enum, default_value = "lsgan")]
    pub gan_mode: GanMode,
    /// Weight of a WGAN-GP gradient penalty for the discriminators (0: off, as the reference).
    #[arg(long, default_value_t = 0.0)]
    pub lambda_gp: f32,
    /// Adam's initial learning rate.
    #[arg(long, default_value_t = 2e-4)]
    pub lr: f32,
    /// Adam's beta1.
    #[arg(long, default_value_t = 0.5)]
    pub beta1: f32,
    /// Images per domain in the built-in set.
    #[arg(long, default_value_t = 64, value_parser = positive, hide = true)]
    pub builtin_images: usize,
}

impl TrainArgs {
    fn builtin(&self) -> bool {
        self.data.dataroot.is_none()
    }

    /// The generator as these options describe it (smaller on the built-in set).
    pub fn generator(&self) -> GeneratorOptions {
        let small = self.builtin();
        GeneratorOptions {
            net_g: self.nets.net_g.unwrap_or(if small { NetG::Resnet6 } else { NetG::Resnet9 }),
            ngf: self.nets.ngf.unwrap_or(if small { 16 } else { 64 }),
            norm: self.norm,
            dropout: false,
            input_nc: self.data.input_nc,
            output_nc: self.data.output_nc,
        }
    }

    /// The model's own options.
    pub fn model_options(&self) -> CycleGanOptions {
        let small = self.builtin();
        CycleGanOptions {
            lambda_a: self.lambda_a,
            lambda_b: self.lambda_b,
            lambda_identity: self.lambda_identity,
            gan_mode: self.gan_mode,
            pool_size: self.pool_size,
            lr: self.lr,
            beta1: self.beta1,
            lambda_gp: self.lambda_gp,
            n_epochs: self.n_epochs.unwrap_or(if small { 2 } else { 100 }),
            n_epochs_decay: self.n_epochs_decay.unwrap_or(if small { 2 } else { 100 }),
        }
    }

    /// Builds the two generators and two discriminators, initialised as the reference.
    pub fn build(&self, d: &Device) -> Result<CycleGan> {
        let g = self.generator();
        let o = self.model_options();
        if o.lambda_identity > 0.0 && g.input_nc != g.output_nc {
            return Err(Error::Invalid {
                op: "cyclegan",
                msg: format!(
                    "the identity loss needs --input-nc equal to --output-nc (got {} and {}); set --lambda-identity 0",
                    g.input_nc, g.output_nc
                ),
            });
        }
        let disc = self.nets.discriminator(self.builtin());
        let g_b = GeneratorOptions { input_nc: g.output_nc, output_nc: g.input_nc, ..g.clone() };
        let nets = [
            g.build(d)?,
            g_b.build(d)?,
            disc.build(d, g.output_nc, g.norm)?,
            disc.build(d, g.input_nc, g.norm)?,
        ];
        for n in &nets {
            init_normal(n)?;
        }
        let [g_a, g_b, d_a, d_b] = nets;
        Ok(CycleGan::new(g_a, g_b, d_a, d_b, o, self.run.seed))
    }

    /// The dataset folder, writing the built-in set first when none is given.
    fn dataroot(&self) -> Result<PathBuf> {
        if let Some(root) = &self.data.dataroot {
            return Ok(root.clone());
        }
        let root = self.run.run_dir().join("synthetic");
        if crate::data::synth::write_complete(&root, |tmp| {
            write_colors(tmp, self.builtin_images, 36, self.run.seed)
        })? {
            eprintln!("wrote the built-in synthetic set to {}", root.display());
        }
        Ok(root)
    }

    /// The resolved options, for `train_opt.txt`.
    fn recorded(&self, root: &std::path::Path) -> Vec<(String, String)> {
        let (g, o, p) = (self.generator(), self.model_options(), self.data.preprocess((36, 32)));
        let disc = self.nets.discriminator(self.builtin());
        let mut recorded = recorded_common(root, &g, &disc, &p, self.data.batch_size);
        let own = [
            ("n_epochs", o.n_epochs.to_string()),
            ("n_epochs_decay", o.n_epochs_decay.to_string()),
            ("lambda_A", o.lambda_a.to_string()),
            ("lambda_B", o.lambda_b.to_string()),
            ("lambda_identity", o.lambda_identity.to_string()),
            ("pool_size", o.pool_size.to_string()),
            ("gan_mode", value_name(&o.gan_mode)),
            ("lambda_gp", o.lambda_gp.to_string()),
            ("lr", o.lr.to_string()),
            ("beta1", o.beta1.to_string()),
            ("seed", self.run.seed.to_string()),
        ];
        recorded.extend(own.into_iter().map(|(k, v)| (k.to_string(), v)));
        recorded
    }

    /// Trains; on the built-in set, then scores the translation of the test images.
    pub fn run(&self, d: &Device) -> Result<crate::train::Outcome> {
        let pre = self.data.preprocess((36, 32));
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
        let (batch, seed) = (self.data.batch_size, self.run.seed);
        let run = RunOptions {
            display_freq: self.run.display_freq.or(self.builtin().then_some(16)),
            ..self.run.clone()
        };
        let outcome = crate::train::run(
            d,
            &run,
            &mut model,
            |start| UnalignedLoader::new(&root, "train", pre, batch, seed, start),
            &self.recorded(&root),
        )?;
        println!("checkpoints, loss log and sample grids are in {}", self.run.run_dir().display());
        if self.builtin() && !outcome.interrupted {
            let (identity, learned) = self.score(d, &root)?;
            println!(
                "testA -> B: shapes turned cool {:.2} (untranslated {:.2}), background kept grey {:.2} (untranslated {:.2}); a perfect translation scores 1.00 and 1.00",
                learned.0, identity.0, learned.1, identity.1
            );
        }
        Ok(outcome)
    }

    /// For the built-in set: the mean `translation_score` of the latest G_A on the test
    /// images of A, and of the identity (what "no learning" scores). Translations are
    /// written to `<run>/test_latest/`.
    pub fn score(&self, d: &Device, root: &std::path::Path) -> Result<((f32, f32), (f32, f32))> {
        use crate::io::image::{image_files, read_rgb, resize_to, save_png, to_tensor};
        let g = self.generator().build(d)?;
        let dir = self.run.run_dir();
        crate::nn::ModuleExt::load_state_dict(
            &g,
            &crate::io::load_safetensors(dir.join("latest_net_G_A.safetensors"))?,
        )?;
        let files = image_files(&root.join("testA"))?;
        let out = dir.join("test_latest");
        std::fs::create_dir_all(&out)
            .map_err(|e| Error::File { path: out.display().to_string(), msg: e.to_string() })?;
        let crop = self.data.preprocess((36, 32)).crop_size;
        let (mut identity, mut learned) = ((0.0, 0.0), (0.0, 0.0));
        for f in &files {
            let img = resize_to(read_rgb(f)?, crop, crop);
            let y = crate::autograd::no_grad(|| crate::nn::Layer::forward(&g, &to_tensor(d, &img, 3)?))?;
            let path = out.join(f.file_name().expect("image files have names")).with_extension("png");
            save_png(&path, &y)?;
            let (a, b) = translation_score(&img, &img);
            let (c, e) = translation_score(&img, &read_rgb(&path)?);
            identity = (identity.0 + a, identity.1 + b);
            learned = (learned.0 + c, learned.1 + e);
        }
        let n = files.len() as f32;
        Ok(((identity.0 / n, identity.1 / n), (learned.0 / n, learned.1 / n)))
    }
}
