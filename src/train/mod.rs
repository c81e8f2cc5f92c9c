//! The shared trainer (CycleGAN so far): epochs with the reference's linear learning-rate
//! policy, a progress line, a JSON-lines loss log, sample grids, and checkpoints named as
//! the reference names them, written atomically, with the optimizer state and counters
//! needed to resume exactly.

mod checkpoint;
pub mod report;

use crate::data::aligned::AlignedLoader;
use crate::data::unaligned::{PairLoader, Preprocess, UnalignedLoader};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::models::contract::GanModel;
use crate::models::cyclegan::{CycleGan, CycleGanOptions};
use crate::models::cyclegan_nets::{nlayer_discriminator, pixel_discriminator, Net, NetConfig};
use crate::models::pix2pix::{Pix2Pix, Pix2PixOptions};
use crate::models::translate::GeneratorOptions;
use crate::models::translate::ModelKind;
use crate::nn::{init, ModuleExt};
use crate::optim::cyclegan_linear;
use crate::tensor::Tensor;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// `gantry train cyclegan` options, with the reference's names.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    pub dataroot: PathBuf,
    pub name: String,
    pub checkpoints_dir: PathBuf,
    pub generator: GeneratorOptions,
    pub ndf: usize,
    /// `--netD`: `basic` (3 layers), `n_layers` (`n_layers_d` layers) or `pixel`.
    pub net_d: String,
    pub n_layers_d: usize,
    pub n_epochs: usize,
    pub n_epochs_decay: usize,
    pub batch_size: usize,
    pub preprocess: Preprocess,
    /// Which model trains: CycleGAN on unaligned data, pix2pix on aligned pairs.
    pub kind: ModelKind,
    pub model: CycleGanOptions,
    pub pix2pix: Pix2PixOptions,
    /// pix2pix `--direction BtoA`: B is the input.
    pub b_to_a: bool,
    pub display_freq: usize,
    pub save_epoch_freq: usize,
    pub continue_train: bool,
    pub seed: u64,
    /// Raised (by Ctrl-C) to stop after the current iteration, saving a checkpoint first.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl TrainOptions {
    pub fn run_dir(&self) -> PathBuf {
        self.checkpoints_dir.join(&self.name)
    }

    /// The base learning rate of the model that trains.
    fn lr(&self) -> f32 {
        match self.kind {
            ModelKind::CycleGan => self.model.lr,
            ModelKind::Pix2Pix => self.pix2pix.lr,
        }
    }
}

/// The reference's `init_weights('normal', 0.02)`: conv weights N(0, 0.02), norm weights
/// N(1, 0.02), biases 0.
fn init_normal(net: &dyn crate::nn::Module) -> Result<()> {
    for (name, t) in net.state_dict() {
        if name.ends_with("running_mean")
            || name.ends_with("running_var")
            || name.ends_with("num_batches_tracked")
        {
            continue;
        }
        match (name.ends_with("bias"), t.rank()) {
            (true, _) => init::constant(&t, 0.0)?,
            (false, 1) => init::normal(&t, 1.0, 0.02)?,
            (false, _) => init::normal(&t, 0.0, 0.02)?,
        }
    }
    Ok(())
}

/// The discriminator `--netD` names.
fn discriminator(d: &Device, c: NetConfig, o: &TrainOptions) -> Result<Net> {
    match o.net_d.as_str() {
        "basic" => nlayer_discriminator(d, c, 3),
        "n_layers" => nlayer_discriminator(d, c, o.n_layers_d),
        "pixel" => pixel_discriminator(d, c),
        other => Err(Error::Invalid {
            op: "netD",
            msg: format!("unknown discriminator {other:?}; choose basic, n_layers or pixel"),
        }),
    }
}

/// Builds a CycleGAN from the options, initialised as the reference does.
pub fn build_cyclegan(d: &Device, o: &TrainOptions) -> Result<CycleGan> {
    let g = &o.generator;
    if o.model.lambda_identity > 0.0 && g.input_nc != g.output_nc {
        return Err(Error::Invalid {
            op: "cyclegan",
            msg: format!(
                "the identity loss needs --input-nc equal to --output-nc (got {} and {}); set --lambda-identity 0",
                g.input_nc, g.output_nc
            ),
        });
    }
    let dcfg = NetConfig { input_nc: g.output_nc, output_nc: 1, width: o.ndf, norm: g.norm, dropout: false };
    let dcfg_b = NetConfig { input_nc: g.input_nc, ..dcfg };
    let mut g_b_opts = g.clone();
    std::mem::swap(&mut g_b_opts.input_nc, &mut g_b_opts.output_nc);
    let nets = [g.build(d)?, g_b_opts.build(d)?, discriminator(d, dcfg, o)?, discriminator(d, dcfg_b, o)?];
    for n in &nets {
        init_normal(n)?;
    }
    let [g_a, g_b, d_a, d_b] = nets;
    Ok(CycleGan::new(g_a, g_b, d_a, d_b, o.model, o.seed))
}

/// Side-by-side images [n, c, h, w·k] of equal shapes.
fn grid(images: &[Tensor]) -> Result<Tensor> {
    Tensor::concat(images, 3)
}

/// Builds a pix2pix model: the generator from the options, a PatchGAN on cat(A, B).
pub fn build_pix2pix(d: &Device, o: &TrainOptions) -> Result<Pix2Pix> {
    let g = &o.generator;
    let dcfg = NetConfig {
        input_nc: g.input_nc + g.output_nc,
        output_nc: 1,
        width: o.ndf,
        norm: g.norm,
        dropout: false,
    };
    let (gen, disc) = (g.build(d)?, discriminator(d, dcfg, o)?);
    init_normal(&gen)?;
    init_normal(&disc)?;
    Ok(Pix2Pix::new(gen, disc, o.pix2pix))
}

/// Trains the model the options name; returns the final losses.
pub fn train(d: &Device, o: &TrainOptions) -> Result<Vec<(&'static str, f32)>> {
    d.manual_seed(o.seed);
    let dir = o.run_dir();
    let pre = o.preprocess;
    match o.kind {
        ModelKind::CycleGan => {
            let mut model = build_cyclegan(d, o)?;
            let first = resume(d, o, &mut model)?;
            let loader =
                UnalignedLoader::new(&o.dataroot, "train", pre, o.batch_size, o.seed + first as u64)?;
            run(d, o, &mut model, &loader, first, &dir)
        }
        ModelKind::Pix2Pix => {
            let mut model = build_pix2pix(d, o)?;
            let first = resume(d, o, &mut model)?;
            let loader =
                AlignedLoader::new(&o.dataroot, "train", pre, o.batch_size, o.b_to_a, o.seed + first as u64)?;
            run(d, o, &mut model, &loader, first, &dir)
        }
    }
}

/// The first epoch to run: 1, or the one after the saved state with --continue-train.
fn resume(d: &Device, o: &TrainOptions, model: &mut dyn GanModel) -> Result<usize> {
    if !o.continue_train {
        return Ok(1);
    }
    let last = checkpoint::load(&o.run_dir(), model, d)?;
    eprintln!("resuming {} after epoch {last}", o.name);
    Ok(last + 1)
}

fn run(
    d: &Device,
    o: &TrainOptions,
    model: &mut dyn GanModel,
    loader: &dyn PairLoader,
    first_epoch: usize,
    dir: &std::path::Path,
) -> Result<Vec<(&'static str, f32)>> {
    let images = dir.join("web").join("images");
    std::fs::create_dir_all(&images)
        .map_err(|e| Error::File { path: images.display().to_string(), msg: e.to_string() })?;
    checkpoint::save_options(dir, o)?;
    let per_epoch = loader.epoch_len().div_ceil(o.batch_size);
    let epochs = o.n_epochs + o.n_epochs_decay;
    let log_path = dir.join("loss_log.jsonl");
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| Error::File { path: log_path.display().to_string(), msg: e.to_string() })?;
    let start = Instant::now();
    let total = (epochs + 1).saturating_sub(first_epoch) * per_epoch;
    let mut done = 0usize;
    let mut losses = Vec::new();
    let mut history: report::History = Vec::new();
    for epoch in first_epoch..=epochs {
        let lr = o.lr() * cyclegan_linear(epoch - 1, 1, o.n_epochs, o.n_epochs_decay);
        for (_, opt) in model.optimizers() {
            opt.set_lr(lr);
        }
        for i in 0..per_epoch {
            let (a, b) = loader.next_pair(d)?;
            losses = model.optimize(&a, &b)?;
            done += 1;
            let iteration = (epoch - 1) * per_epoch + i + 1;
            history.push((iteration, losses.clone()));
            if let Some((name, v)) = losses.iter().find(|(_, v)| !v.is_finite()) {
                return Err(Error::Invalid {
                    op: "train",
                    msg: format!("loss {name} became {v} at iteration {iteration} (epoch {epoch}); the last good checkpoint in {} is kept", dir.display()),
                });
            }
            let fields: Vec<String> = losses.iter().map(|(n, v)| format!("\"{n}\":{v:.6}")).collect();
            writeln!(log, "{{\"epoch\":{epoch},\"iter\":{iteration},\"lr\":{lr:e},{}}}", fields.join(","))
                .map_err(|e| Error::File { path: log_path.display().to_string(), msg: e.to_string() })?;
            let rate = done as f64 / start.elapsed().as_secs_f64();
            let eta = (total - done) as f64 / rate.max(1e-9);
            let shown: Vec<String> = losses.iter().map(|(n, v)| format!("{n} {v:.3}")).collect();
            eprint!(
                "\repoch {epoch}/{epochs} iter {}/{per_epoch} {rate:.2} it/s ETA {:.0}s | {}   ",
                i + 1,
                eta,
                shown.join(" ")
            );
            if o.stop.as_ref().is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed)) {
                // Saved as the previous epoch's state with this epoch's weights: resuming
                // runs this epoch again from them.
                checkpoint::save(dir, model, d, epoch - 1, false)?;
                eprintln!(
                    "\nstopped at iteration {iteration}; saved the latest checkpoint in {}",
                    dir.display()
                );
                return Ok(losses);
            }
            if iteration.is_multiple_of(o.display_freq.max(1)) {
                let row: Vec<Tensor> =
                    model.visuals().iter().map(|(_, t)| t.narrow(0, 0, 1)).collect::<Result<_>>()?;
                crate::io::image::save_png(
                    &images.join(format!("epoch{epoch:03}_iter{iteration:06}.png")),
                    &grid(&row)?,
                )?;
                report::plot(&history, &dir.join("web").join("loss.png"))?;
                report::html(dir, &o.name, &history)?;
            }
        }
        checkpoint::save(dir, model, d, epoch, epoch.is_multiple_of(o.save_epoch_freq.max(1)))?;
        report::plot(&history, &dir.join("web").join("loss.png"))?;
        report::html(dir, &o.name, &history)?;
    }
    eprintln!();
    Ok(losses)
}

/// For the built-in `colors` set: the mean `translation_score` of the latest G_A on the
/// test images of A, and of the identity (what "no learning" scores). Translations are
/// written to `<run>/test_latest/`.
pub fn colors_score(d: &Device, o: &TrainOptions) -> Result<((f32, f32), (f32, f32))> {
    use crate::data::synth::translation_score;
    use crate::io::image::{read_rgb, resize_to, save_png, to_tensor};
    let g = o.generator.build(d)?;
    g.load_state_dict(&crate::io::load_safetensors(o.run_dir().join("latest_net_G_A.safetensors"))?)?;
    let files = crate::io::image::image_files(&o.dataroot.join("testA"))?;
    let out = o.run_dir().join("test_latest");
    std::fs::create_dir_all(&out)
        .map_err(|e| Error::File { path: out.display().to_string(), msg: e.to_string() })?;
    let (mut identity, mut learned) = ((0.0, 0.0), (0.0, 0.0));
    for f in &files {
        let img = resize_to(read_rgb(f)?, o.preprocess.crop_size, o.preprocess.crop_size);
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

/// For the built-in `pairs` set: the mean L1 distance (in [-1, 1] units) between the latest
/// G's outputs on the test silhouettes and the true scenes, next to that of a blank grey
/// image (what "no learning" scores).
pub fn pairs_score(d: &Device, o: &TrainOptions) -> Result<(f32, f32)> {
    use crate::io::image::{image_files, read_rgb, resize_to, to_tensor};
    let g = o.generator.build(d)?;
    g.load_state_dict(&crate::io::load_safetensors(o.run_dir().join("latest_net_G.safetensors"))?)?;
    let size = o.preprocess.crop_size;
    let (mut learned, mut blank) = (0.0, 0.0);
    let files = image_files(&o.dataroot.join("test"))?;
    for f in &files {
        let ab = read_rgb(f)?;
        let half = ab.width() / 2;
        let a = resize_to(::image::imageops::crop_imm(&ab, 0, 0, half, ab.height()).to_image(), size, size);
        let b =
            resize_to(::image::imageops::crop_imm(&ab, half, 0, half, ab.height()).to_image(), size, size);
        let (a, b) = (to_tensor(d, &a, 3)?, to_tensor(d, &b, 3)?);
        let y = crate::autograd::no_grad(|| crate::nn::Layer::forward(&g, &a))?;
        learned += crate::models::losses::l1(&y, &b)?.item()?;
        // Grey 128 is 128/127.5 - 1 ≈ 0 in [-1, 1].
        blank += b.add_scalar(-(128.0 / 127.5 - 1.0))?.abs()?.mean_all()?.item()?;
    }
    let n = files.len() as f32;
    Ok((learned / n, blank / n))
}
