//! `gantry bench`: a fixed suite of kernels and one generator, timed forward and
//! forward + backward, one JSON object per line.
//!
//! Each timed iteration records the work and then waits for the GPU (`Device::sync`), so the
//! wall clock covers execution. Medians over `iters` runs after two warm-up runs.

pub mod model;
mod resnet;
mod suite;

use crate::error::Result;
use crate::gpu::Device;
use std::time::Instant;

pub use suite::{cases, Case};

/// Timings of one suite case.
#[derive(Clone, Debug)]
pub struct Report {
    pub op: String,
    pub shape: String,
    pub fwd_ms: f64,
    pub fwd_bwd_ms: f64,
    /// Forward floating-point operations per second, in GFLOP/s (0 where not counted).
    pub gflops: f64,
    pub device: String,
    /// The fast kernels that ran (`KernelPath::name`).
    pub kernels: String,
}

impl Report {
    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"op\":{},\"shape\":{},\"fwd_ms\":{:.3},\"fwd_bwd_ms\":{:.3},\"gflops\":{:.3},\"device\":{},\"kernels\":{},\"clock\":\"wall\"}}",
            quote(&self.op),
            quote(&self.shape),
            self.fwd_ms,
            self.fwd_bwd_ms,
            self.gflops,
            quote(&self.device),
            quote(&self.kernels)
        )
    }
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn median_ms(device: &Device, iters: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    for _ in 0..2 {
        f()?;
        device.sync()?;
    }
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters.max(1) {
        let start = Instant::now();
        f()?;
        device.sync()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Times one case forward and forward + backward.
pub fn run_case(device: &Device, case: &Case, iters: usize) -> Result<Report> {
    let fwd_ms = median_ms(device, iters, || case.forward())?;
    let fwd_bwd_ms = median_ms(device, iters, || case.forward_backward())?;
    let s = device.summary();
    Ok(Report {
        op: case.name.to_string(),
        shape: case.shape.clone(),
        fwd_ms,
        fwd_bwd_ms,
        gflops: if case.flops > 0.0 { case.flops / (fwd_ms * 1e6) } else { 0.0 },
        device: format!("{} ({})", s.name, s.backend),
        kernels: device.kernel_path().name().to_string(),
    })
}
