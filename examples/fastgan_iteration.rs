//! FastGAN, one training iteration at a time: builds the reference's networks at the chosen
//! size and widths, runs iterations on random images with the L1 reconstruction fallback,
//! and reports the median time of an iteration and the buffer pool's peak memory.
//!
//! `cargo run --release --example fastgan_iteration -- [im_size] [ngf=ndf] [batch] [dec_nf] [iterations]`
//! (defaults: 256, 64, 8, 32, 3). Each iteration ends with the losses read back, a GPU sync.

use gantry::models::fastgan::{FastGan, FastGanOptions, Reconstruction};
use gantry::models::{GanModel, Step};
use gantry::{Device, Tensor};
use std::time::Instant;

fn main() -> gantry::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let arg = |i: usize, default: usize| *args.get(i).unwrap_or(&default);
    let (size, width, batch, dec_nf, iterations) =
        (arg(0, 256), arg(1, 64), arg(2, 8), arg(3, 32), arg(4, 3));
    let device = Device::shared()?;
    device.manual_seed(1);
    let options =
        FastGanOptions { im_size: size, ngf: width, ndf: width, dec_nf, ..FastGanOptions::default() };
    let mut model = FastGan::build(&device, options, Reconstruction::L1, 1)?;
    let real = Tensor::uniform(&device, &[batch, 3, size, size], -1.0, 1.0)?;
    // One warm-up iteration compiles pipelines and fills the pool.
    model.train_step(&real, Step { index: 0, epoch: 1 })?;
    device.reset_peaks();
    let mut times = Vec::new();
    for index in 1..=iterations {
        let start = Instant::now();
        let losses = model.train_step(&real, Step { index, epoch: 1 })?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        if std::env::var_os("GANTRY_EACH").is_some() {
            eprintln!("iteration {index}: {:.0} ms", times[times.len() - 1]);
        }
        assert!(losses.iter().all(|(_, v)| v.is_finite()));
    }
    times.sort_by(f64::total_cmp);
    let stats = device.pool_stats();
    println!(
        "fastgan {size}x{size} batch {batch} ngf=ndf {width} decoders {dec_nf}: {:.0} ms per iteration (median of {iterations}); pool peak {:.1} MiB in use, {:.1} MiB reserved, on {} ({})",
        times[times.len() / 2],
        stats.peak_in_use as f64 / (1 << 20) as f64,
        stats.peak_reserved as f64 / (1 << 20) as f64,
        device.summary().name,
        device.summary().backend
    );
    Ok(())
}
