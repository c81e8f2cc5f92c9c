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
