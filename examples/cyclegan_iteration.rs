//! CycleGAN, one training iteration at a time: builds the reference's networks
//! (resnet_9blocks generators, 70x70 PatchGAN discriminators), runs iterations on random
//! images, and reports the time per iteration and the buffer pool's peak memory.
//!
//! `cargo run --release --example cyclegan_iteration -- [size] [ngf] [iterations]`
//! (defaults: 64, 16, 5). Each iteration ends with the losses read back, a GPU sync.

use clap::Parser;
use gantry::models::cyclegan::train::TrainArgs;
use gantry::{Device, Tensor};
use std::time::Instant;

/// The training options as `gantry train cyclegan` parses them.
#[derive(Parser)]
struct Options {
    #[command(flatten)]
    args: TrainArgs,
}

fn main() -> gantry::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (size, ngf, iterations) =
        (*args.first().unwrap_or(&64), *args.get(1).unwrap_or(&16), *args.get(2).unwrap_or(&5));
    let device = Device::shared()?;
    // The reference's networks (resnet_9blocks, ndf 64) at the chosen width.
    let ngf_arg = ngf.to_string();
    let options = Options::parse_from(["cyclegan", "--dataroot", ".", "--ngf", &ngf_arg, "--no-flip"]).args;
    device.manual_seed(1);
    let mut model = options.build(&device)?;
    let (a, b) = (
        Tensor::uniform(&device, &[1, 3, size, size], -1.0, 1.0)?,
        Tensor::uniform(&device, &[1, 3, size, size], -1.0, 1.0)?,
    );
    // Two warm-up iterations compile pipelines and fill the pool.
    for _ in 0..2 {
        model.optimize(&a, &b)?;
    }
    device.reset_peaks();
    let mut times = Vec::new();
    for _ in 0..iterations {
        let start = Instant::now();
        let losses = model.optimize(&a, &b)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        assert!(losses.iter().all(|(_, v)| v.is_finite()));
    }
    times.sort_by(f64::total_cmp);
    let stats = device.pool_stats();
    println!(
        "cyclegan {size}x{size} ngf {ngf} ndf 64 resnet_9blocks: {:.0} ms per iteration (median of {iterations}), pool peak {:.1} MiB in use, {:.1} MiB reserved, on {} ({})",
        times[times.len() / 2],
        stats.peak_in_use as f64 / (1 << 20) as f64,
        stats.peak_reserved as f64 / (1 << 20) as f64,
        device.summary().name,
        device.summary().backend
    );
    Ok(())
}
