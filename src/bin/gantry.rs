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
