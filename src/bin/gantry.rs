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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gantry: {e}");
            ExitCode::FAILURE
        }
    }
}
