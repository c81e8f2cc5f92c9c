//! StarGAN v1, one training iteration at a time: builds the reference's networks at the
//! chosen size and width, runs iterations on random images and CelebA-style labels, and
//! reports the time of an iteration that steps only D and of one that steps D then G,
//! and the buffer pool's peak memory.
//!
//! `cargo run --release --example stargan_iteration -- [size] [conv_dim] [repeat_num] [batch] [iterations]`
//! (defaults: 64, 64, 6, 4, 3). Each iteration ends with the losses read back, a GPU sync.

use gantry::models::stargan::{DomainBatch, Labels, StarGan, StarGanBatch, StarGanOptions};
use gantry::models::{GanModel, Step};
use gantry::{Device, Tensor};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> gantry::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let arg = |i: usize, default: usize| *args.get(i).unwrap_or(&default);
    let (size, dim, repeat, batch, iterations) = (arg(0, 64), arg(1, 64), arg(2, 6), arg(3, 4), arg(4, 3));
    let device = Device::shared()?;
    device.manual_seed(1);
    let options = StarGanOptions {
        image_size: size,
        g_conv_dim: dim,
        d_conv_dim: dim,
        g_repeat_num: repeat,
        d_repeat_num: repeat,
        // D steps at every iteration, G at every second: both kinds are timed.
        n_critic: 2,
        ..StarGanOptions::default()
    };
    let mut model = StarGan::build(&device, options, 1)?;
    let images = Tensor::uniform(&device, &[batch, 3, size, size], -1.0, 1.0)?;
    let labels: Vec<f32> = (0..batch * 5).map(|i| ((i * 7) % 3 == 0) as u8 as f32).collect();
    let labels = Labels::Attributes(Tensor::from_slice(&device, &labels, &[batch, 5])?);
    let batch_in = StarGanBatch::Single(DomainBatch { images, labels });
    // Two warm-up iterations (one of each kind) compile pipelines and fill the pool.
    let mut index = 0;
    for _ in 0..2 {
        model.train_step(&batch_in, Step { index, epoch: 1 })?;
        index += 1;
    }
    device.reset_peaks();
    let (mut d_only, mut d_and_g) = (Vec::new(), Vec::new());
    for _ in 0..2 * iterations {
        let start = Instant::now();
        let losses = model.train_step(&batch_in, Step { index, epoch: 1 })?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        assert!(losses.iter().all(|(_, v)| v.is_finite()));
        if (index + 1) % 2 == 0 { &mut d_and_g } else { &mut d_only }.push(ms);
        index += 1;
    }
    let stats = device.pool_stats();
    let (d_ms, dg_ms) = (median(d_only), median(d_and_g));
    println!(
        "stargan {size}x{size} batch {batch} conv dims {dim} repeat {repeat}: D step {d_ms:.0} ms, D+G step {dg_ms:.0} ms, {:.0} ms per iteration at n_critic 5 (median of {iterations}); pool peak {:.1} MiB in use, {:.1} MiB reserved, on {} ({})",
        (4.0 * d_ms + dg_ms) / 5.0,
        stats.peak_in_use as f64 / (1 << 20) as f64,
        stats.peak_reserved as f64 / (1 << 20) as f64,
        device.summary().name,
        device.summary().backend
    );
    Ok(())
}
