//! The `gantry` command line.

use clap::{Parser, Subcommand};
use gantry::gpu::list_adapters;
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
    /// List every GPU adapter wgpu can see (respects WGPU_BACKEND), marking the one gantry
    /// would use (GANTRY_ADAPTER=<name substring> picks another).
    Devices,
    /// List the tensors (name, shape, dtype) of a .pth/.ckpt checkpoint or .safetensors file.
    Inspect {
        file: std::path::PathBuf,
        /// Only this top-level entry of a nested checkpoint (e.g. generator, g_ema).
        #[arg(long)]
        key: Option<String>,
    },
    /// Write a checkpoint's state dict (or one nested entry of it) as safetensors.
    Convert {
        input: std::path::PathBuf,
        output: std::path::PathBuf,
        /// Convert only this top-level entry (StarGAN v2's generator, FastGAN's g).
        #[arg(long)]
        key: Option<String>,
    },
    /// Translate images with a trained CycleGAN or pix2pix generator. WEIGHTS may be a
    /// reference checkpoint as the reference repo wrote it (e.g. latest_net_G_A.pth).
    Translate {
        /// cyclegan or pix2pix (sets the defaults of --netG, --norm and dropout)
        #[arg(long, value_parser = ["cyclegan", "pix2pix"])]
        model: String,
        #[arg(long)]
        weights: std::path::PathBuf,
        /// An image or a folder of images.
        #[arg(long)]
        input: std::path::PathBuf,
        /// Where <stem>.png files go.
        #[arg(long)]
        output: std::path::PathBuf,
        /// resnet_9blocks, resnet_6blocks, unet_256 or unet_128.
        #[arg(long = "netG")]
        net_g: Option<String>,
        #[arg(long, default_value_t = 64)]
        ngf: usize,
        /// instance, batch or none.
        #[arg(long, value_parser = ["instance", "batch", "none"])]
        norm: Option<String>,
        /// Build the generator without dropout (CycleGAN's default).
        #[arg(long)]
        no_dropout: bool,
        /// Eval mode, as the reference's --eval.
        #[arg(long)]
        eval: bool,
        #[arg(long, default_value_t = 256)]
        load_size: u32,
        #[arg(long, default_value_t = 256)]
        crop_size: u32,
        #[arg(long, default_value_t = 3)]
        input_nc: usize,
        #[arg(long, default_value_t = 3)]
        output_nc: usize,
    },
    /// Train a model. Without --dataroot, CycleGAN trains on a built-in synthetic set
    /// (warm-coloured shapes to cool ones) at a small size and reports how well it learned.
    Train(TrainArgs),
    /// Write a built-in synthetic dataset: `colors` (unaligned trainA/trainB/testA/testB) or
    /// `pairs` (aligned A|B images in train/ and test/).
    Synth {
        /// colors (unaligned, for CycleGAN) or pairs (aligned A|B, for pix2pix).
        #[arg(long, default_value = "colors", value_parser = ["colors", "pairs"])]
        kind: String,
        #[arg(long)]
        out: std::path::PathBuf,
        /// Training images per domain (tests get a quarter as many).
        #[arg(long, default_value_t = 64)]
        count: usize,
        #[arg(long, default_value_t = 36)]
        size: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Time the kernel suite (conv3x3, conv7x7_reflect, conv3x3_s2, convT3x3_s2,
    /// instance_norm, matmul, resnet_g) forward and forward+backward; one JSON object per line.
    Bench {
        /// Run only the case with this name.
        #[arg(long)]
        op: Option<String>,
        /// Timed iterations per measurement (medians are reported).
        #[arg(long, default_value_t = 7)]
        iters: usize,
        /// Multiply spatial sizes and channel widths by this factor (for larger GPUs).
        #[arg(long, default_value_t = 1)]
        scale: usize,
    },
}

/// `gantry train` options, named as the reference's (kebab-case).
#[derive(clap::Args)]
struct TrainArgs {
    /// cyclegan (unaligned trainA/ and trainB/) or pix2pix (aligned A|B images in train/).
    #[arg(value_parser = ["cyclegan", "pix2pix"])]
    model: String,
    /// The dataset folder; without it, a synthetic set is written and used.
    #[arg(long)]
    dataroot: Option<std::path::PathBuf>,
    #[arg(long, default_value = "experiment")]
    name: String,
    #[arg(long, default_value = "./checkpoints")]
    checkpoints_dir: std::path::PathBuf,
    #[arg(long = "netG")]
    net_g: Option<String>,
    #[arg(long)]
    ngf: Option<usize>,
    #[arg(long)]
    ndf: Option<usize>,
    /// basic (the 70x70 PatchGAN), n_layers (with --n-layers-d) or pixel.
    #[arg(long = "netD", value_parser = ["basic", "n_layers", "pixel"], default_value = "basic")]
    net_d: String,
    #[arg(long, default_value_t = 3)]
    n_layers_d: usize,
    /// instance (CycleGAN's default), batch (pix2pix's) or none.
    #[arg(long, value_parser = ["instance", "batch", "none"])]
    norm: Option<String>,
    /// pix2pix: AtoB or BtoA.
    #[arg(long, value_parser = ["AtoB", "BtoA"], default_value = "AtoB")]
    direction: String,
    /// Build the generator without dropout (pix2pix uses dropout by default).
    #[arg(long)]
    no_dropout: bool,
    /// pix2pix: weight of the L1 term.
    #[arg(long = "lambda-L1", default_value_t = 100.0)]
    lambda_l1: f32,
    #[arg(long)]
    n_epochs: Option<usize>,
    #[arg(long)]
    n_epochs_decay: Option<usize>,
    #[arg(long, default_value_t = 1)]
    batch_size: usize,
    #[arg(long)]
    load_size: Option<u32>,
    #[arg(long)]
    crop_size: Option<u32>,
    /// resize_and_crop, crop, scale_width, scale_width_and_crop or none.
    #[arg(long, value_parser = ["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"], default_value = "resize_and_crop")]
    preprocess: String,
    #[arg(long)]
    no_flip: bool,
    /// Skip unreadable images with a warning instead of stopping.
    #[arg(long)]
    skip_bad_images: bool,
    #[arg(long, default_value_t = 3)]
    input_nc: usize,
    #[arg(long, default_value_t = 3)]
    output_nc: usize,
    #[arg(long = "lambda-A", default_value_t = 10.0)]
    lambda_a: f32,
    #[arg(long = "lambda-B", default_value_t = 10.0)]
    lambda_b: f32,
    #[arg(long, default_value_t = 0.5)]
    lambda_identity: f32,
    /// CycleGAN's image pool (50); pix2pix uses none.
    #[arg(long)]
    pool_size: Option<usize>,
    /// lsgan (CycleGAN's default), vanilla (pix2pix's) or wgangp.
    #[arg(long, value_parser = ["lsgan", "vanilla", "wgangp"])]
    gan_mode: Option<String>,
    /// WGAN-GP penalty weight for CycleGAN's discriminators (0: off, as the reference).
    #[arg(long, default_value_t = 0.0)]
    lambda_gp: f32,
    #[arg(long, default_value_t = 2e-4)]
    lr: f32,
    #[arg(long, default_value_t = 0.5)]
    beta1: f32,
    /// Iterations between sample grids (default 100; 16 on the built-in set).
    #[arg(long)]
    display_freq: Option<usize>,
    #[arg(long, default_value_t = 5)]
    save_epoch_freq: usize,
    #[arg(long)]
    continue_train: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn train(args: TrainArgs) -> gantry::Result<()> {
    use gantry::data::unaligned::{Preprocess, PreprocessMode};
    use gantry::models::cyclegan::CycleGanOptions;
    use gantry::models::cyclegan_nets::NormKind;
    use gantry::models::losses::GanMode;
    use gantry::models::pix2pix::Pix2PixOptions;
    use gantry::models::translate::{GeneratorOptions, ModelKind};
    let device = gantry::Device::shared()?;
    let builtin = args.dataroot.is_none();
    let kind = if args.model == "pix2pix" { ModelKind::Pix2Pix } else { ModelKind::CycleGan };
    // Built-in data trains small: 32-pixel crops, narrow networks, a few epochs.
    let small = |v: Option<usize>, small: usize, full: usize| v.unwrap_or(if builtin { small } else { full });
    let dataroot = match &args.dataroot {
        Some(d) => d.clone(),
        None => {
            let root = args.checkpoints_dir.join(&args.name).join("synthetic");
            let written = match kind {
                ModelKind::CycleGan if !root.join("trainA").is_dir() => {
                    Some(gantry::data::synth::write_colors(&root, 64, 36, args.seed))
                }
                ModelKind::Pix2Pix if !root.join("train").is_dir() => {
                    Some(gantry::data::synth::write_pairs(&root, 32, 128, args.seed))
                }
                _ => None,
            };
            if let Some(w) = written {
                w?;
                eprintln!("wrote the built-in synthetic set to {}", root.display());
            }
            root
        }
    };
    let mut generator = GeneratorOptions::defaults(kind);
    let small_net = if kind == ModelKind::Pix2Pix { "unet_128" } else { "resnet_6blocks" };
    generator.net_g =
        args.net_g
            .clone()
            .unwrap_or_else(|| if builtin { small_net.into() } else { generator.net_g.clone() });
    generator.ngf = small(args.ngf, if kind == ModelKind::Pix2Pix { 8 } else { 16 }, 64);
    if let Some(norm) = &args.norm {
        generator.norm = match norm.as_str() {
            "batch" => NormKind::Batch,
            "none" => NormKind::None,
            _ => NormKind::Instance,
        };
    }
    generator.dropout &= !args.no_dropout;
    generator.input_nc = args.input_nc;
    generator.output_nc = args.output_nc;
    let (small_load, small_crop) = if kind == ModelKind::Pix2Pix { (136, 128) } else { (36, 32) };
    let load = args.load_size.unwrap_or(if builtin { small_load } else { 286 });
    let crop = args.crop_size.unwrap_or(if builtin { small_crop } else { 256 });
    let default_mode = if kind == ModelKind::Pix2Pix { "vanilla" } else { "lsgan" };
    let gan_mode = match args.gan_mode.as_deref().unwrap_or(default_mode) {
        "vanilla" => GanMode::Vanilla,
        "wgangp" => GanMode::Wgangp,
        _ => GanMode::Lsgan,
    };
    let o = gantry::train::TrainOptions {
        dataroot,
        name: args.name,
        checkpoints_dir: args.checkpoints_dir,
        generator,
        ndf: small(args.ndf, 16, 64),
        net_d: args.net_d,
        n_layers_d: args.n_layers_d,
        n_epochs: small(args.n_epochs, if kind == ModelKind::Pix2Pix { 1 } else { 2 }, 100),
        n_epochs_decay: small(args.n_epochs_decay, if kind == ModelKind::Pix2Pix { 1 } else { 2 }, 100),
        batch_size: args.batch_size,
        preprocess: Preprocess {
            mode: match args.preprocess.as_str() {
                "crop" => PreprocessMode::Crop,
                "scale_width" => PreprocessMode::ScaleWidth,
                "scale_width_and_crop" => PreprocessMode::ScaleWidthAndCrop,
                "none" => PreprocessMode::None,
                _ => PreprocessMode::ResizeAndCrop,
            },
            load_size: load,
            crop_size: crop,
            flip: !args.no_flip,
            channels: args.input_nc,
            output_channels: args.output_nc,
            skip_bad_images: args.skip_bad_images,
        },
        kind,
        model: CycleGanOptions {
            lambda_a: args.lambda_a,
            lambda_b: args.lambda_b,
            lambda_identity: args.lambda_identity,
            gan_mode,
            pool_size: args.pool_size.unwrap_or(50),
            lr: args.lr,
            beta1: args.beta1,
            lambda_gp: args.lambda_gp,
        },
        pix2pix: Pix2PixOptions { lambda_l1: args.lambda_l1, gan_mode, lr: args.lr, beta1: args.beta1 },
        b_to_a: args.direction == "BtoA",
        display_freq: small(args.display_freq, 16, 100),
        save_epoch_freq: args.save_epoch_freq,
        continue_train: args.continue_train,
        seed: args.seed,
        stop: None,
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    // Ctrl-C asks the trainer to save and stop after the current iteration.
    if ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed)).is_err() {
        eprintln!("note: Ctrl-C cannot be caught here; an interrupted run keeps its last epoch's checkpoint");
    }
    let o = gantry::train::TrainOptions { stop: Some(stop), ..o };
    gantry::train::train(&device, &o)?;
    println!("checkpoints, loss log and sample grids are in {}", o.run_dir().display());
    if builtin && kind == ModelKind::Pix2Pix {
        let (learned, blank) = gantry::train::pairs_score(&device, &o)?;
        println!("test silhouettes -> scenes: mean L1 to the true scene {learned:.3} (a blank grey image scores {blank:.3}; lower is better)");
    }
    if builtin && kind == ModelKind::CycleGan {
        let (identity, learned) = gantry::train::colors_score(&device, &o)?;
        println!(
            "testA -> B: shapes turned cool {:.2} (untranslated {:.2}), background kept grey {:.2} (untranslated {:.2}); a perfect translation scores 1.00 and 1.00",
            learned.0, identity.0, learned.1, identity.1
        );
    }
    Ok(())
}

fn bench(op: Option<String>, iters: usize, scale: usize) -> gantry::Result<()> {
    let device = gantry::Device::shared()?;
    let cases = gantry::bench::cases(&device, scale)?;
    let names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    if let Some(op) = &op {
        if !names.contains(&op.as_str()) {
            return Err(gantry::Error::Invalid {
                op: "bench",
                msg: format!("no case named {op:?}; the suite has {names:?}"),
            });
        }
    }
    for case in cases.iter().filter(|c| op.as_ref().is_none_or(|o| o == c.name)) {
        let report = gantry::bench::run_case(&device, case, iters)?;
        println!("{}", report.to_json());
    }
    Ok(())
}

fn devices() -> gantry::Result<()> {
    let adapters = list_adapters();
    if adapters.is_empty() {
        return Err(gantry::Error::NoAdapter("wgpu found no adapter on any backend".into()));
    }
    let chosen = gantry::Device::open().map(|d| (d.summary().name.clone(), d.summary().backend.clone())).ok();
    for a in adapters {
        let is_chosen = chosen.as_ref().is_some_and(|(n, b)| *n == a.name && *b == a.backend);
        let mark = if is_chosen { "*" } else { " " };
        println!("{mark} {} [{} {}] {}", a.name, a.backend, a.device_type, a.driver);
        println!(
            "    storage binding {} MiB, buffer {} MiB, {} invocations/workgroup, {} KiB workgroup memory, timestamps {}, f16 {}, subgroups {}",
            a.max_storage_binding_mib,
            a.max_buffer_mib,
            a.max_workgroup_invocations,
            a.max_workgroup_storage_kib,
            yes(a.timestamps),
            yes(a.f16),
            yes(a.subgroups)
        );
    }
    Ok(())
}

fn inspect(file: &std::path::Path, key: Option<&str>) -> gantry::Result<()> {
    let tensors = gantry::io::load_any(file, key)?;
    let mut total = 0usize;
    for (name, t) in &tensors {
        println!("{name}\t{:?}\t{}", t.shape, t.dtype);
        total += t.shape.iter().product::<usize>();
    }
    println!("{} tensors, {total} values", tensors.len());
    Ok(())
}

fn convert(input: &std::path::Path, output: &std::path::Path, key: Option<&str>) -> gantry::Result<()> {
    let tensors = gantry::io::load_any(input, key)?;
    if tensors.is_empty() {
        return Err(gantry::Error::File {
            path: input.display().to_string(),
            msg: "holds no tensors to convert".into(),
        });
    }
    gantry::io::save_host_safetensors(output, &tensors)?;
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Devices => devices(),
        Command::Bench { op, iters, scale } => bench(op, iters, scale),
        Command::Inspect { file, key } => inspect(&file, key.as_deref()),
        Command::Train(args) => train(args),
        Command::Synth { kind: _, out, count, size, seed } => {
            gantry::data::synth::write_colors(&out, count, size, seed)
                .map(|_| println!("wrote the colors dataset to {}", out.display()))
        }
        Command::Translate {
            model,
            weights,
            input,
            output,
            net_g,
            ngf,
            norm,
            no_dropout,
            eval,
            load_size,
            crop_size,
            input_nc,
            output_nc,
        } => {
            use gantry::models::cyclegan_nets::NormKind;
            use gantry::models::translate::{GeneratorOptions, ModelKind, TranslateOptions};
            let kind = if model == "pix2pix" { ModelKind::Pix2Pix } else { ModelKind::CycleGan };
            let mut generator = GeneratorOptions::defaults(kind);
            if let Some(n) = net_g {
                generator.net_g = n;
            }
            if let Some(n) = norm {
                generator.norm = match n.as_str() {
                    "batch" => NormKind::Batch,
                    "none" => NormKind::None,
                    _ => NormKind::Instance,
                };
            }
            generator.ngf = ngf;
            generator.dropout &= !no_dropout;
            generator.input_nc = input_nc;
            generator.output_nc = output_nc;
            let o = TranslateOptions { generator, weights, input, output, eval, load_size, crop_size };
            gantry::Device::shared().and_then(|d| gantry::models::translate::translate(&d, &o)).map(|files| {
                println!("wrote {} images to {}", files.len(), o.output.display());
            })
        }
        Command::Convert { input, output, key } => convert(&input, &output, key.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gantry: {e}");
            ExitCode::FAILURE
        }
    }
}
