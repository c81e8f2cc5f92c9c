//! The `gantry` command line: one subcommand per task, and under `train` and `translate`
//! one per model, each with its reference's option names in kebab-case. The binary only
//! calls [`main`]; tests call [`run`] with the same arguments a person types.

use crate::gpu::list_adapters;
use crate::models::image2image::translate::{translate, TranslateArgs};
use crate::models::image2image::GeneratorOptions;
use crate::models::{cyclegan, fastgan, pix2pix, stargan, stargan_v2};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "gantry",
    version,
    about = "Train GANs on any GPU, with a WGSL tensor engine run through wgpu"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run, so the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Train a model. Without data options it trains on a built-in synthetic set at a
    /// small size and reports how well it learned.
    #[command(subcommand)]
    Train(TrainModel),
    /// Translate images with a trained generator (ours, or the reference repo's .pth).
    #[command(subcommand)]
    Translate(TranslateModel),
    /// Draw new images with a trained generator (ours, or the reference repo's checkpoint).
    #[command(subcommand)]
    Sample(SampleModel),
    /// List every GPU adapter wgpu can see (respects WGPU_BACKEND), marking the one gantry
    /// would use (GANTRY_ADAPTER=<name substring> picks another).
    Devices,
    /// List the tensors (name, shape, dtype) of a .pth/.ckpt checkpoint or .safetensors file.
    Inspect {
        file: PathBuf,
        /// Only this top-level entry of a nested checkpoint (e.g. generator, g_ema).
        #[arg(long)]
        key: Option<String>,
    },
    /// Write a checkpoint's state dict (or one nested entry of it) as safetensors.
    Convert {
        input: PathBuf,
        output: PathBuf,
        /// Convert only this top-level entry (StarGAN v2's generator, FastGAN's g).
        #[arg(long)]
        key: Option<String>,
    },
    /// Write a built-in synthetic dataset: `colors` (unaligned trainA/trainB/testA/testB,
    /// for CycleGAN) or `pairs` (aligned A|B images in train/ and test/, for pix2pix).
    Synth {
        #[arg(long, value_enum, default_value = "colors")]
        kind: SynthKind,
        #[arg(long)]
        out: PathBuf,
        /// Training images (per domain for colors; tests get a quarter as many).
        #[arg(long, default_value_t = 64)]
        count: usize,
        /// Image size in pixels (each half of a pair).
        #[arg(long, default_value_t = 36)]
        size: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Time the kernel suite (conv3x3, conv7x7_reflect, conv3x3_s2, convT3x3_s2,
    /// instance_norm, matmul, resnet_g) forward and forward+backward; or with --model,
    /// whole training iterations of one model and a per-kernel profile of one more. One
    /// JSON object per line.
    Bench {
        /// Run only the case with this name.
        #[arg(long, conflicts_with = "model")]
        op: Option<String>,
        /// Time training iterations of cyclegan, pix2pix, stargan, stargan-v2 or fastgan on
        /// random inputs (median, warm), with the pool's peak and a per-kernel profile.
        #[arg(long)]
        model: Option<String>,
        /// With --model: the image side [default per model: cyclegan 64, pix2pix 256,
        /// stargan 64, stargan-v2 32, fastgan 256].
        #[arg(long, requires = "model")]
        size: Option<usize>,
        /// With --model: the width (ngf; conv_dim; max_conv_dim; ngf = ndf) [default:
        /// cyclegan 16, pix2pix 16, stargan 16, stargan-v2 32, fastgan 8].
        #[arg(long, requires = "model")]
        width: Option<usize>,
        /// With --model: images per iteration [default: cyclegan and pix2pix 1, others 4].
        #[arg(long, requires = "model")]
        batch: Option<usize>,
        /// With --model: how many kernel entry points to list after the families.
        #[arg(long, default_value_t = 10, requires = "model")]
        top: usize,
        /// Timed iterations per measurement (medians are reported).
        #[arg(long, default_value_t = 7)]
        iters: usize,
        /// Multiply spatial sizes and channel widths by this factor (for larger GPUs).
        #[arg(long, default_value_t = 1)]
        scale: usize,
        /// Which fast conv and matmul kernels to time: cpu (lavapipe's), tiled (GPUs'),
        /// blocked (other CPU adapters') [default: the adapter's own, or GANTRY_KERNELS].
        #[arg(long)]
        kernels: Option<String>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SynthKind {
    /// Warm-coloured shapes (A) and cool ones (B), unaligned.
    Colors,
    /// Silhouettes (A) beside coloured scenes (B), aligned.
    Pairs,
}

// Parsed once per run, so the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum TrainModel {
    /// CycleGAN (Zhu et al. 2017) on unaligned trainA/ and trainB/ folders.
    Cyclegan(cyclegan::train::TrainArgs),
    /// pix2pix (Isola et al. 2017) on aligned A|B images in train/.
    Pix2pix(pix2pix::train::TrainArgs),
    /// StarGAN v1 (Choi et al. 2018) on CelebA attributes, a folder per class (RaFD), or both.
    Stargan(stargan::train::TrainArgs),
    /// FastGAN (Liu et al. 2021) on a folder of about a hundred images.
    Fastgan(fastgan::train::TrainArgs),
    /// StarGAN v2 (Choi et al. 2020) on one folder per domain (AFHQ, CelebA-HQ layout).
    StarganV2(stargan_v2::train::TrainArgs),
}

#[derive(Subcommand)]
enum SampleModel {
    /// With a FastGAN generator (the reference's N.pth or all_N.pth, or ours).
    Fastgan(fastgan::sample::SampleArgs),
    /// The reference's reference.jpg grid: every source in the style of every reference.
    StarganV2(stargan_v2::translate::SampleArgs),
}

#[derive(Subcommand)]
enum TranslateModel {
    /// With a CycleGAN generator (resnet_9blocks, instance norm by default).
    Cyclegan(TranslateArgs),
    /// With a pix2pix generator (unet_256, batch norm and dropout by default).
    Pix2pix(TranslateArgs),
    /// With a StarGAN v1 generator (the reference's N-G.ckpt or ours), to target labels.
    Stargan(stargan::translate_cli::TranslateArgs),
    /// With StarGAN v2's EMA networks (the reference's N_nets_ema.ckpt or ours), guided by
    /// a reference image or a latent code.
    StarganV2(stargan_v2::translate::TranslateArgs),
}

/// `gantry translate --model X …`, the older spelling, becomes `gantry translate X …`.
fn normalise(mut args: Vec<String>) -> Vec<String> {
    if args.get(1).is_some_and(|a| a == "translate") {
        if let Some(i) = args.iter().position(|a| a == "--model") {
            if i + 1 < args.len() {
                let model = args.remove(i + 1);
                args.remove(i);
                args.insert(2, model);
            }
        } else if let Some(i) = args.iter().position(|a| a.starts_with("--model=")) {
            let model = args.remove(i)["--model=".len()..].to_string();
            args.insert(2, model);
        }
    }
    args
}

/// The exit status of a run stopped by a signal, as shells report SIGINT (128 + 2), so a
/// script can tell an interrupted run from a finished one.
const INTERRUPTED: u8 = 130;

/// The first Ctrl-C (or SIGTERM, SIGHUP) asks a training run to save and stop after the
/// current step, and says so at once; a second one aborts without saving.
fn interrupt_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::atomic::Ordering;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let handler = move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("\ngantry: aborted without saving; the last saved checkpoint is kept");
            std::process::exit(i32::from(INTERRUPTED));
        }
        eprintln!("\ngantry: stopping after this iteration and saving a checkpoint; Ctrl-C again aborts without saving");
    };
    if ctrlc::set_handler(handler).is_err() {
        eprintln!("note: Ctrl-C cannot be caught here; an interrupted run keeps its last saved checkpoint");
    }
    stop
}

/// Runs a parsed command line (as `std::env::args` gives it, program name first).
pub fn run(args: Vec<String>) -> crate::Result<()> {
    let cli = Cli::try_parse_from(normalise(args)).map_err(|e| crate::Error::Invalid {
        op: "command line",
        msg: e.to_string().trim_end().to_string(),
    })?;
    dispatch(cli.command, None)
}

fn dispatch(
    command: Command,
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
) -> crate::Result<()> {
    match command {
        Command::Devices => devices(),
        Command::Bench { op, model: None, iters, scale, kernels, .. } => {
            bench(op, iters, scale, bench_device(kernels.as_deref())?)
        }
        Command::Bench { model: Some(model), size, width, batch, iters, top, kernels, .. } => {
            bench_model(&model, size, width, batch, iters, top, bench_device(kernels.as_deref())?)
        }
        Command::Inspect { file, key } => inspect(&file, key.as_deref()),
        Command::Convert { input, output, key } => convert(&input, &output, key.as_deref()),
        Command::Synth { kind, out, count, size, seed } => {
            let (written, name) = match kind {
                SynthKind::Colors => (crate::data::synth::write_colors(&out, count, size, seed), "colors"),
                SynthKind::Pairs => (crate::data::synth::write_pairs(&out, count, size, seed), "pairs"),
            };
            written.map(|_| println!("wrote the {name} dataset to {}", out.display()))
        }
        Command::Train(model) => {
            let device = crate::Device::shared()?;
            match model {
                TrainModel::Cyclegan(mut a) => {
                    a.run.stop = stop;
                    a.run(&device).map(drop)
                }
                TrainModel::Pix2pix(mut a) => {
                    a.run.stop = stop;
                    a.run(&device).map(drop)
                }
                TrainModel::Stargan(mut a) => {
                    a.run.stop = stop;
                    a.run(&device).map(drop)
                }
                TrainModel::Fastgan(mut a) => {
                    a.run.stop = stop;
                    a.run(&device).map(drop)
                }
                TrainModel::StarganV2(mut a) => {
                    a.run.stop = stop;
                    a.run(&device).map(drop)
                }
            }
        }
        Command::Sample(SampleModel::Fastgan(a)) => {
            let device = crate::Device::shared()?;
            let files = a.run(&device)?;
            println!("wrote {} images to {}", files.len(), a.output.display());
            Ok(())
        }
        Command::Sample(SampleModel::StarganV2(a)) => a.run(&crate::Device::shared()?).map(drop),
        Command::Translate(model) => {
            let device = crate::Device::shared()?;
            let (files, output) = match model {
                TranslateModel::Cyclegan(a) => {
                    let o = a.options(GeneratorOptions::cyclegan());
                    (translate(&device, &o)?, o.output)
                }
                TranslateModel::Pix2pix(a) => {
                    let o = a.options(GeneratorOptions::pix2pix());
                    (translate(&device, &o)?, o.output)
                }
                TranslateModel::Stargan(a) => (a.run(&device)?, a.output),
                TranslateModel::StarganV2(a) => return a.run(&device).map(drop),
            };
            println!("wrote {} images to {}", files.len(), output.display());
            Ok(())
        }
    }
}

/// The binary's entry point: parses, runs, prints errors as `gantry: …`.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(normalise(std::env::args().collect())) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let stop = matches!(cli.command, Command::Train(_)).then(interrupt_flag);
    let interrupted = stop.clone();
    match dispatch(cli.command, stop) {
        Ok(()) if interrupted.is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst)) => {
            ExitCode::from(INTERRUPTED)
        }
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A progress bar may hold the terminal's last line: start the error on its own.
            if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                eprintln!();
            }
            eprintln!("gantry: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The device, running the fast kernels `--kernels` names.
fn bench_device(kernels: Option<&str>) -> crate::Result<crate::Device> {
    let device = crate::Device::shared()?;
    if let Some(name) = kernels {
        device.set_kernel_path(crate::gpu::KernelPath::parse(name, "--kernels")?)?;
    }
    Ok(device)
}

fn bench(op: Option<String>, iters: usize, scale: usize, device: crate::Device) -> crate::Result<()> {
    let cases = crate::bench::cases(&device, scale)?;
    let names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    if let Some(op) = &op {
        if !names.contains(&op.as_str()) {
            return Err(crate::Error::Invalid {
                op: "bench",
                msg: format!("no case named {op:?}; the suite has {names:?}"),
            });
        }
    }
    for case in cases.iter().filter(|c| op.as_ref().is_none_or(|o| o == c.name)) {
        let report = crate::bench::run_case(&device, case, iters)?;
        println!("{}", report.to_json());
    }
    Ok(())
}

fn bench_model(
    model: &str,
    size: Option<usize>,
    width: Option<usize>,
    batch: Option<usize>,
    iters: usize,
    top: usize,
    device: crate::Device,
) -> crate::Result<()> {
    use crate::bench::model::{default_shape, run_model, Shape, MODELS};
    let base = default_shape(model).ok_or_else(|| crate::Error::Invalid {
        op: "bench --model",
        msg: format!("no model named {model:?}; --model takes {}", MODELS.join(", ")),
    })?;
    let shape = Shape {
        size: size.unwrap_or(base.size),
        width: width.unwrap_or(base.width),
        batch: batch.unwrap_or(base.batch),
    };
    for line in run_model(&device, model, shape, iters, top)? {
        println!("{line}");
    }
    Ok(())
}

fn devices() -> crate::Result<()> {
    let adapters = list_adapters();
    if adapters.is_empty() {
        return Err(crate::Error::NoAdapter("wgpu found no adapter on any backend".into()));
    }
    let chosen = crate::Device::open().map(|d| (d.summary().name.clone(), d.summary().backend.clone())).ok();
    for a in adapters {
        let is_chosen = chosen.as_ref().is_some_and(|(n, b)| *n == a.name && *b == a.backend);
        let mark = if is_chosen { "*" } else { " " };
        println!("{mark} {} [{} {}] {}", a.name, a.backend, a.device_type, a.driver);
        println!(
            "    storage binding {} MiB, buffer {} MiB, {} invocations/workgroup, {} KiB workgroup memory, timestamps {}, f16 {}, subgroups {}, kernels {}",
            a.max_storage_binding_mib,
            a.max_buffer_mib,
            a.max_workgroup_invocations,
            a.max_workgroup_storage_kib,
            yes(a.timestamps),
            yes(a.f16),
            yes(a.subgroups),
            crate::gpu::KernelPath::for_adapter(&a).name()
        );
    }
    Ok(())
}

fn inspect(file: &std::path::Path, key: Option<&str>) -> crate::Result<()> {
    let tensors = crate::io::load_any(file, key)?;
    let mut total = 0usize;
    for (name, t) in &tensors {
        println!("{name}\t{:?}\t{}", t.shape, t.dtype);
        total += t.shape.iter().product::<usize>();
    }
    println!("{} tensors, {total} values", tensors.len());
    Ok(())
}

fn convert(input: &std::path::Path, output: &std::path::Path, key: Option<&str>) -> crate::Result<()> {
    let tensors = crate::io::load_any(input, key)?;
    if tensors.is_empty() {
        return Err(crate::Error::File {
            path: input.display().to_string(),
            msg: "holds no tensors to convert".into(),
        });
    }
    crate::io::save_host_safetensors(output, &tensors)?;
    println!("wrote {} tensors to {}", tensors.len(), output.display());
    Ok(())
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
