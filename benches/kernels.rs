//! Kernel benchmarks: matmul in GFLOP/s, elementwise and reductions in GB/s.
//!
//! `cargo bench --bench kernels` (add `-- matmul` to pick a group). Every timed iteration
//! records the op and then waits for the GPU (`Device::sync`), so the clock covers the
//! kernel's execution, not just its recording. Criterion's throughput line reads as
//! GFLOP/s ("Gelem/s", one element per floating-point operation) or GB/s.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gantry::ops::matmul::MatmulKernel;
use gantry::{Device, Tensor};
use std::time::Duration;

fn device() -> Device {
    let d = Device::shared().expect("benchmarks need a GPU adapter");
    eprintln!("device: {} ({})", d.summary().name, d.summary().backend);
    d
}

fn matmul(c: &mut Criterion) {
    let d = device();
    let mut group = c.benchmark_group("matmul");
    group.sample_size(10).measurement_time(Duration::from_secs(8));
    for (n, kernel) in [
        (256, MatmulKernel::Naive),
        (256, MatmulKernel::Blocked),
        (512, MatmulKernel::Blocked),
        (512, MatmulKernel::Auto),
        (512, MatmulKernel::Tiled),
        (1024, MatmulKernel::Blocked),
        (1024, MatmulKernel::Auto),
        (1024, MatmulKernel::Tiled),
    ] {
        let a = Tensor::randn(&d, &[n, n]).unwrap();
        let b = Tensor::randn(&d, &[n, n]).unwrap();
        d.sync().unwrap();
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        group.bench_with_input(
            BenchmarkId::new(format!("{kernel:?}").to_lowercase(), format!("{n}^3")),
            &n,
            |bench, _| {
                bench.iter(|| {
                    let out = a.matmul_with(&b, kernel).unwrap();
                    d.sync().unwrap();
                    out
                })
            },
        );
    }
    group.finish();
}

fn elementwise(c: &mut Criterion) {
    let d = device();
    let mut group = c.benchmark_group("elementwise");
    group.sample_size(20);
    let n = 1 << 20;
    let x = Tensor::randn(&d, &[16, 64, 1024]).unwrap();
    let y = Tensor::randn(&d, &[16, 64, 1024]).unwrap();
    let row = Tensor::randn(&d, &[64, 1]).unwrap();
    d.sync().unwrap();
    let bytes = 4 * n as u64;
    type Op<'a> = Box<dyn Fn() -> Tensor + 'a>;
    let cases: Vec<(&str, u64, Op)> = vec![
        ("add_same_shape", 3 * bytes, Box::new(|| x.add(&y).unwrap())),
        ("add_broadcast", 2 * bytes, Box::new(|| x.add(&row).unwrap())),
        ("exp", 2 * bytes, Box::new(|| x.exp().unwrap())),
        ("leaky_relu", 2 * bytes, Box::new(|| x.leaky_relu(0.2).unwrap())),
        ("sum_last_axis", bytes, Box::new(|| x.sum(&[-1], false).unwrap())),
        ("sum_all", bytes, Box::new(|| x.sum_all().unwrap())),
    ];
    for (name, moved, op) in cases {
        group.throughput(Throughput::Bytes(moved));
        group.bench_function(format!("{name}/1M"), |bench| {
            bench.iter(|| {
                let out = op();
                d.sync().unwrap();
                out
            })
        });
    }
    group.finish();
}

criterion_group!(benches, matmul, elementwise);
criterion_main!(benches);
