//! CycleGAN, one training iteration at a time: builds the reference's networks
//! (resnet_9blocks generators, 70x70 PatchGAN discriminators), runs iterations on random
//! images, and reports the time per iteration and the buffer pool's peak memory.
//!
//! `cargo run --release --example cyclegan_iteration -- [size] [ngf] [iterations]`
//! (defaults: 64, 16, 5). Each iteration ends with the losses read back, a GPU sync.

use gantry::data::unaligned::{Preprocess, PreprocessMode};
use gantry::models::cyclegan::CycleGanOptions;
use gantry::models::pix2pix::Pix2PixOptions;
use gantry::models::translate::{GeneratorOptions, ModelKind};
use gantry::train::{build_cyclegan, TrainOptions};
use gantry::{Device, Tensor};
use std::time::Instant;

fn main() -> gantry::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (size, ngf, iterations) =
        (*args.first().unwrap_or(&64), *args.get(1).unwrap_or(&16), *args.get(2).unwrap_or(&5));
    let device = Device::shared()?;
    let mut generator = GeneratorOptions::defaults(ModelKind::CycleGan);
    generator.ngf = ngf;
    let options = TrainOptions {
        dataroot: ".".into(),
        name: "example".into(),
        checkpoints_dir: ".".into(),
        generator,
        ndf: 64,
        net_d: "basic".into(),
        n_layers_d: 3,
        n_epochs: 1,
        n_epochs_decay: 0,
        batch_size: 1,
        preprocess: Preprocess {
            mode: PreprocessMode::ResizeAndCrop,
            load_size: size as u32,
            crop_size: size as u32,
            flip: false,
            channels: 3,
            output_channels: 3,
            skip_bad_images: false,
        },
        kind: ModelKind::CycleGan,
        model: CycleGanOptions::default(),
        pix2pix: Pix2PixOptions::default(),
        b_to_a: false,
        display_freq: 1,
        save_epoch_freq: 1,
        continue_train: false,
        seed: 1,
        stop: None,
    };
    device.manual_seed(1);
    let mut model = build_cyclegan(&device, &options)?;
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
