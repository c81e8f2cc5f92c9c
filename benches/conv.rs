//! Convolution-family benchmarks: conv2d forward, its input and weight gradients, the
//! transposed convolution, padding, the fused norms and nearest upsampling: the device's kernels (`auto`, the
//! CPU-specific ones on lavapipe), the portable blocked ones, and the naive twins.
//!
//! `cargo bench --bench conv`. Every timed iteration waits for the GPU (`Device::sync`).
//! Throughput reads as GFLOP/s ("Gelem/s", one element per floating-point operation) for
//! convolutions and GB/s for padding and norms.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gantry::ops::conv2d::{Conv2d, ConvKernel, ConvTranspose2d};
use gantry::ops::pad::PadMode;
use gantry::{grad, no_grad, Device, Tensor};
use std::time::Duration;

fn device() -> Device {
    let d = Device::shared().expect("benchmarks need a GPU adapter");
    eprintln!("device: {} ({})", d.summary().name, d.summary().backend);
    d
}

fn timed(
    c: &mut Criterion,
    group: &str,
    name: &str,
    throughput: Throughput,
    d: &Device,
    f: impl Fn() -> Tensor,
) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10).measurement_time(Duration::from_secs(4)).throughput(throughput);
    g.bench_function(name, |b| {
        b.iter(|| {
            let out = f();
            d.sync().unwrap();
            out
        })
    });
    g.finish();
}

fn convolutions(c: &mut Criterion) {
    let d = device();
    let x = Tensor::randn(&d, &[1, 64, 64, 64]).unwrap().requires_grad_();
    let w = Tensor::randn(&d, &[64, 64, 3, 3]).unwrap().requires_grad_();
    let flops = Throughput::Elements(2 * 64 * 64 * 64 * 64 * 9);
    for (name, kernel) in [
        ("auto", ConvKernel::Auto),
        ("tiled", ConvKernel::Tiled),
        ("blocked", ConvKernel::Blocked),
        ("naive", ConvKernel::Naive),
    ] {
        let opts = Conv2d::default().padding(1).kernel(kernel);
        timed(c, "conv3x3_64x64x64", &format!("forward/{name}"), flops.clone(), &d, || {
            no_grad(|| x.conv2d(&w, None, opts).unwrap())
        });
        // The input and weight gradients alone: forward outside the timed closure.
        let y = x.conv2d(&w, None, opts).unwrap();
        let loss = y.sum_all().unwrap();
        timed(
            c,
            "conv3x3_64x64x64",
            &format!("input_and_weight_grad/{name}"),
            Throughput::Elements(2 * 2 * 64 * 64 * 64 * 64 * 9),
            &d,
            || grad(std::slice::from_ref(&loss), &[x.clone(), w.clone()], false).unwrap().remove(0),
        );
    }
    let xt = Tensor::randn(&d, &[1, 128, 32, 32]).unwrap();
    let wt = Tensor::randn(&d, &[128, 64, 3, 3]).unwrap();
    for (name, kernel) in
        [("auto", ConvKernel::Auto), ("tiled", ConvKernel::Tiled), ("blocked", ConvKernel::Blocked)]
    {
        let opts = ConvTranspose2d::default().stride(2).padding(1).output_padding(1).kernel(kernel);
        timed(
            c,
            "conv_transpose3x3_s2_128to64",
            &format!("forward/{name}"),
            Throughput::Elements(2 * 128 * 32 * 32 * 64 * 9),
            &d,
            || xt.conv_transpose2d(&wt, None, opts).unwrap(),
        );
    }
}

fn pad_and_norm(c: &mut Criterion) {
    let d = device();
    let x = Tensor::randn(&d, &[1, 64, 64, 64]).unwrap();
    let bytes = 4 * 64 * 64 * 64;
    timed(c, "pad_reflect3_64x64x64", "forward", Throughput::Bytes(2 * bytes), &d, || {
        x.pad2d((3, 3, 3, 3), PadMode::Reflect).unwrap()
    });
    let w = Tensor::randn(&d, &[64]).unwrap();
    let b = Tensor::randn(&d, &[64]).unwrap();
    timed(c, "instance_norm_64x64x64", "forward", Throughput::Bytes(2 * bytes), &d, || {
        x.instance_norm(Some(&w), Some(&b), None, true, 1e-5).unwrap()
    });
    timed(c, "batch_norm_64x64x64", "forward", Throughput::Bytes(2 * bytes), &d, || {
        x.batch_norm(Some(&w), Some(&b), None, true, 1e-5).unwrap()
    });
}

/// Nearest 2x upsampling (StarGAN v2's and FastGAN's up-blocks) and its gradient, whose
/// index_add visits only each slot's own positions.
fn upsample(c: &mut Criterion) {
    let d = device();
    let x = Tensor::randn(&d, &[1, 64, 64, 64]).unwrap().requires_grad_();
    let gy = Tensor::randn(&d, &[1, 64, 128, 128]).unwrap();
    let bytes = 4 * 64 * 64 * 64;
    timed(c, "upsample_nearest2x_64x64x64", "forward+backward", Throughput::Bytes(5 * bytes), &d, || {
        let y = x.upsample_nearest(2).unwrap();
        grad(&[y.mul(&gy).unwrap().sum_all().unwrap()], std::slice::from_ref(&x), false).unwrap().remove(0)
    });
}

criterion_group!(benches, convolutions, pad_and_norm, upsample);
criterion_main!(benches);
