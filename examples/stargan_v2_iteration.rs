//! StarGAN v2, one training iteration at a time: builds the reference's networks at the
//! chosen size and widths (He init, EMA copies, w_hpf 0), runs iterations on random images
//! and reports the median time of an iteration and the buffer pool's peak memory.
//!
//! `cargo run --release --example stargan_v2_iteration -- [img_size] [max_conv_dim] [batch] [iterations] [hidden_dim]`
//! (defaults: 128, 512, 2, 3, 512). Each iteration ends with the losses read back, a GPU sync.

use gantry::models::stargan_v2::{StarGanV2, StarGanV2Options, V2Batch};
use gantry::models::{GanModel, Step};
use gantry::{Device, Tensor};
use std::time::Instant;

fn main() -> gantry::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let arg = |i: usize, default: usize| *args.get(i).unwrap_or(&default);
    let (size, max_conv_dim, batch, iterations, hidden) =
        (arg(0, 128), arg(1, 512), arg(2, 2), arg(3, 3), arg(4, 512));
    let device = Device::shared()?;
    device.manual_seed(1);
    let options = StarGanV2Options {
        img_size: size,
        max_conv_dim,
        hidden_dim: hidden,
        w_hpf: 0.0,
        ..StarGanV2Options::default()
    };
    let mut model = StarGanV2::build(&device, options, None)?;
    let image = || Tensor::uniform(&device, &[batch, 3, size, size], -1.0, 1.0);
    let labels: Vec<usize> = (0..batch).map(|i| i % 2).collect();
    let batch_of = || -> gantry::Result<V2Batch> {
        Ok(V2Batch {
            x_src: image()?,
            y_src: labels.clone(),
            x_ref: image()?,
            x_ref2: image()?,
            y_ref: labels.iter().map(|y| 1 - y).collect(),
            z: None,
        })
    };
    let inputs = batch_of()?;
    // One warm-up iteration compiles pipelines and fills the pool.
    model.train_step(&inputs, Step { index: 0, epoch: 1 })?;
    device.reset_peaks();
    let mut times = Vec::new();
    for index in 1..=iterations {
        let start = Instant::now();
        let losses = model.train_step(&inputs, Step { index, epoch: 1 })?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        if std::env::var_os("GANTRY_EACH").is_some() {
            eprintln!("iteration {index}: {:.0} ms", times[times.len() - 1]);
        }
        assert!(losses.iter().all(|(_, v)| v.is_finite()));
    }
    times.sort_by(f64::total_cmp);
    let stats = device.pool_stats();
    println!(
        "stargan-v2 {size}x{size} batch {batch} max_conv_dim {max_conv_dim} hidden {hidden}: {:.0} ms per iteration (median of {iterations}); pool peak {:.1} MiB in use, {:.1} MiB reserved, on {} ({})",
        times[times.len() / 2],
        stats.peak_in_use as f64 / (1 << 20) as f64,
        stats.peak_reserved as f64 / (1 << 20) as f64,
        device.summary().name,
        device.summary().backend
    );
    Ok(())
}
