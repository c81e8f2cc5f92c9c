//! `gantry bench --model`: whole training iterations of one model on random inputs, timed
//! warm (median), with the buffer pool's peak, then one more iteration profiled per kernel
//! (`gpu::profile`: GPU timestamps where the adapter has them, else wall time with a sync
//! after every dispatch; each line says which). One
//! JSON object per line, like the kernel suite.

use crate::error::{Error, Result};
use crate::gpu::profile::{ProfileLine, UPLOAD};
use crate::gpu::Device;
use crate::models::{GanModel, Step};
use crate::tensor::Tensor;
use std::time::Instant;

/// The models `--model` takes.
pub const MODELS: [&str; 5] = ["cyclegan", "pix2pix", "stargan", "stargan-v2", "fastgan"];

/// The size of a model run: image side, width (ngf, conv_dim, max_conv_dim or ngf = ndf),
/// batch.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub size: usize,
    pub width: usize,
    pub batch: usize,
}

/// Each model's defaults: small enough for lavapipe, the shapes its tests and demos use.
pub fn default_shape(model: &str) -> Option<Shape> {
    let (size, width, batch) = match model {
        "cyclegan" => (64, 16, 1),
        "pix2pix" => (256, 16, 1),
        "stargan" => (64, 16, 4),
        "stargan-v2" => (32, 32, 4),
        "fastgan" => (256, 8, 4),
        _ => return None,
    };
    Some(Shape { size, width, batch })
}

type StepFn = Box<dyn FnMut(usize) -> Result<()>>;

#[derive(clap::Parser)]
struct CycleganArgs {
    #[command(flatten)]
    args: crate::models::cyclegan::train::TrainArgs,
}

#[derive(clap::Parser)]
struct Pix2pixArgs {
    #[command(flatten)]
    args: crate::models::pix2pix::train::TrainArgs,
}

fn parse<P: clap::Parser>(args: &[String]) -> Result<P> {
    P::try_parse_from(args).map_err(|e| Error::Invalid { op: "bench --model", msg: e.to_string() })
}

fn finite(losses: Vec<(&'static str, f32)>) -> Result<()> {
    match losses.iter().find(|(_, v)| !v.is_finite()) {
        Some((name, v)) => Err(Error::Invalid { op: "bench --model", msg: format!("loss {name} is {v}") }),
        None => Ok(()),
    }
}

/// Builds `model` at `shape` and returns one training iteration on fixed random inputs.
fn build(d: &Device, model: &str, s: Shape) -> Result<StepFn> {
    d.manual_seed(1);
    let image = |n: usize| Tensor::uniform(d, &[n, 3, s.size, s.size], -1.0, 1.0);
    let (w, size) = (s.width.to_string(), s.size.to_string());
    Ok(match model {
        "cyclegan" => {
            let a: CycleganArgs =
                parse(&["cyclegan", "--dataroot", ".", "--ngf", &w, "--no-flip"].map(String::from))?;
            let mut m = a.args.build(d)?;
            let (x, y) = (image(s.batch)?, image(s.batch)?);
            Box::new(move |_| finite(m.optimize(&x, &y)?))
        }
        "pix2pix" => {
            let a: Pix2pixArgs = parse(
                &["pix2pix", "--dataroot", ".", "--ngf", &w, "--crop-size", &size, "--load-size", &size]
                    .map(String::from),
            )?;
            let mut m = a.args.build(d)?;
            let (x, y) = (image(s.batch)?, image(s.batch)?);
            Box::new(move |_| finite(m.optimize(&x, &y)?))
        }
        "stargan" => {
            use crate::models::stargan::{DomainBatch, Labels, StarGan, StarGanBatch, StarGanOptions};
            let o = StarGanOptions {
                image_size: s.size,
                g_conv_dim: s.width,
                d_conv_dim: s.width,
                // Every iteration steps D and then G.
                n_critic: 1,
                ..StarGanOptions::default()
            };
            let mut m = StarGan::build(d, o, 1)?;
            let labels: Vec<f32> = (0..s.batch * 5).map(|i| ((i * 7) % 3 == 0) as u8 as f32).collect();
            let labels = Labels::Attributes(Tensor::from_slice(d, &labels, &[s.batch, 5])?);
            let batch = StarGanBatch::Single(DomainBatch { images: image(s.batch)?, labels });
            Box::new(move |i| finite(m.train_step(&batch, Step { index: i, epoch: 1 })?))
        }
        "stargan-v2" => {
            use crate::models::stargan_v2::{StarGanV2, StarGanV2Options, V2Batch};
            let o = StarGanV2Options {
                img_size: s.size,
                max_conv_dim: s.width,
                w_hpf: 0.0,
                ..Default::default()
            };
            let mut m = StarGanV2::build(d, o, None)?;
            let y: Vec<usize> = (0..s.batch).map(|i| i % 2).collect();
            let batch = V2Batch {
                x_src: image(s.batch)?,
                y_src: y.clone(),
                x_ref: image(s.batch)?,
                x_ref2: image(s.batch)?,
                y_ref: y.iter().map(|k| 1 - k).collect(),
                z: None,
            };
            Box::new(move |i| finite(m.train_step(&batch, Step { index: i, epoch: 1 })?))
        }
        "fastgan" => {
            use crate::models::fastgan::{FastGan, FastGanOptions, Reconstruction};
            let o = FastGanOptions {
                im_size: s.size,
                ngf: s.width,
                ndf: s.width,
                dec_nf: s.width.min(32),
                ..Default::default()
            };
            let mut m = FastGan::build(d, o, Reconstruction::L1, 1)?;
            let real = image(s.batch)?;
            Box::new(move |i| finite(m.train_step(&real, Step { index: i, epoch: 1 })?))
        }
        other => {
            return Err(Error::Invalid {
                op: "bench --model",
                msg: format!("no model named {other:?}; --model takes {}", MODELS.join(", ")),
            })
        }
    })
}

fn json_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Times `iters` warm iterations of `model` (after two warm-up ones), then profiles one
/// more; returns the JSON lines: the iteration, then each kernel family's total, then the
/// `top` entry points.
pub fn run_model(d: &Device, model: &str, shape: Shape, iters: usize, top: usize) -> Result<Vec<String>> {
    let mut step = build(d, model, shape)?;
    let mut index = 0;
    for _ in 0..2 {
        step(index)?;
        index += 1;
    }
    d.reset_peaks();
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters.max(1) {
        let start = Instant::now();
        step(index)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        index += 1;
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let stats = d.pool_stats();
    let timing = d.start_profile()?;
    let start = Instant::now();
    let profiled = step(index);
    let lines = d.finish_profile()?;
    profiled?;
    let wall = start.elapsed().as_secs_f64() * 1e3;
    let Shape { size, width, batch } = shape;
    let head = format!("\"model\":{},\"size\":{size},\"width\":{width},\"batch\":{batch}", json_str(model));
    let summary = d.summary();
    let mut out = vec![format!(
        "{{{head},\"iteration_ms\":{median:.1},\"iterations\":{},\"min_ms\":{:.1},\"max_ms\":{:.1},\"peak_in_use_mib\":{:.1},\"peak_reserved_mib\":{:.1},\"adapter\":{},\"backend\":{},\"kernels\":{}}}",
        times.len(),
        times[0],
        times[times.len() - 1],
        stats.peak_in_use as f64 / (1 << 20) as f64,
        stats.peak_reserved as f64 / (1 << 20) as f64,
        json_str(&summary.name),
        json_str(&summary.backend),
        json_str(d.kernel_path().name())
    )];
    let timing = timing.describe();
    let is_upload = |l: &&ProfileLine| (l.family, l.entry) == UPLOAD;
    let mut families: Vec<(&str, usize, f64)> = Vec::new();
    for l in lines.iter().filter(|l| !is_upload(l)) {
        match families.iter_mut().find(|(f, _, _)| *f == l.family) {
            Some(f) => {
                f.1 += l.dispatches;
                f.2 += l.seconds * 1e3;
            }
            None => families.push((l.family, l.dispatches, l.seconds * 1e3)),
        }
    }
    families.sort_by(|a, b| b.2.total_cmp(&a.2));
    let dispatches: usize = lines.iter().filter(|l| !is_upload(l)).map(|l| l.dispatches).sum();
    let gpu_ms: f64 = lines.iter().filter(|l| !is_upload(l)).map(|l| l.seconds * 1e3).sum();
    let (uploads, upload_ms) =
        lines.iter().filter(is_upload).fold((0, 0.0), |(n, t), l| (n + l.dispatches, t + l.seconds * 1e3));
    out.push(format!(
        "{{{head},\"profiled_ms\":{wall:.1},\"in_dispatches_ms\":{gpu_ms:.1},\"host_ms\":{:.1},\"dispatches\":{dispatches},\"uploads\":{uploads},\"upload_ms\":{upload_ms:.1},\"timing\":{}}}",
        wall - gpu_ms,
        json_str(timing)
    ));
    for (family, n, ms) in families {
        out.push(format!(
            "{{{head},\"family\":{},\"dispatches\":{n},\"ms\":{ms:.1},\"share\":{:.3},\"timing\":{}}}",
            json_str(family),
            ms / wall,
            json_str(timing)
        ));
    }
    for l in lines.iter().filter(|l| !is_upload(l)).take(top) {
        out.push(entry_line(&head, l, wall, timing));
    }
    Ok(out)
}

fn entry_line(head: &str, l: &ProfileLine, wall: f64, timing: &str) -> String {
    format!(
        "{{{head},\"kernel\":{},\"dispatches\":{},\"ms\":{:.1},\"share\":{:.3},\"timing\":{}}}",
        json_str(&format!("{}::{}", l.family, l.entry)),
        l.dispatches,
        l.seconds * 1e3,
        l.seconds * 1e3 / wall,
        json_str(timing)
    )
}
