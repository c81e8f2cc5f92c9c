//! Building-block benchmarks: FastGAN's skip-layer excitation (SLE) forward and backward at
//! the shapes of its generator's se_256 (full width, 256 px), whole and its gating multiply
//! alone, the part a fused kernel could shorten.
//!
//! `cargo bench --bench blocks`. Every timed iteration waits for the GPU (`Device::sync`).

use criterion::{criterion_group, criterion_main, Criterion};
use gantry::nn::Sle;
use gantry::{grad, Device, Tensor};
use std::time::Duration;

fn sle(c: &mut Criterion) {
    let d = Device::shared().expect("benchmarks need a GPU adapter");
    eprintln!("device: {} ({})", d.summary().name, d.summary().backend);
    let block = Sle::new(&d, 256, 32).unwrap();
    let small = Tensor::randn(&d, &[2, 256, 16, 16]).unwrap().requires_grad_();
    let big = Tensor::randn(&d, &[2, 32, 256, 256]).unwrap().requires_grad_();
    let gy = Tensor::randn(&d, &[2, 32, 256, 256]).unwrap();
    let gates = block.gates(&small).unwrap().detach().requires_grad_();
    let mut g = c.benchmark_group("sle_256_to_32_at_256px_batch2");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    g.bench_function("whole/forward+backward", |b| {
        b.iter(|| {
            let y = block.forward(&small, &big).unwrap();
            let loss = y.mul(&gy).unwrap().sum_all().unwrap();
            let out = grad(&[loss], &[small.clone(), big.clone()], false).unwrap();
            d.sync().unwrap();
            out
        })
    });
    g.bench_function("gating_multiply/forward+backward", |b| {
        b.iter(|| {
            let y = big.mul(&gates).unwrap();
            let loss = y.mul(&gy).unwrap().sum_all().unwrap();
            let out = grad(&[loss], &[gates.clone(), big.clone()], false).unwrap();
            d.sync().unwrap();
            out
        })
    });
    g.finish();
}

criterion_group!(benches, sle);
criterion_main!(benches);
