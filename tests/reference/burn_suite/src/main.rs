//! The burn twin of `gantry bench`: gantry's kernel suite (see `src/bench/suite.rs` and
//! `src/bench/resnet.rs` in gantry) written with burn 0.22's own modules and ops, timed the
//! way gantry times it, and printed as the same JSON lines plus an `engine` field.
//!
//! Timing: two warm-up runs (each followed by a device sync; burn autotunes its kernels on
//! first use, so these also absorb the tuning), then `--iters` timed runs; each timed run
//! records the work and then waits on `Device::sync`, so the wall clock covers execution.
//! The median is reported. "Forward" runs the model in validation mode (no autodiff graph);
//! "forward+backward" runs it on the autodiff device and back-propagates the mean of the
//! output, giving gradients w.r.t. the input and every weight.

use std::time::Instant;

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{InstanceNorm, InstanceNormConfig, Initializer, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::ops::PadMode;
use burn::tensor::{Device, DeviceKind, Distribution, Tensor};

const ENGINE: &str = concat!("burn ", env!("BURN_VERSION"));

/// A model with one float input of rank `D`.
trait Net<const D: usize>: Module + 'static {
    fn forward(&self, x: Tensor<D>) -> Tensor<D>;
}

fn normal(std: f64) -> Initializer {
    Initializer::Normal { mean: 0.0, std }
}

fn conv(c_in: usize, c_out: usize, k: usize, stride: usize, pad: usize, std: f64, dev: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [k, k])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(true)
        .with_initializer(normal(std))
        .init(dev)
}

fn conv_t(c_in: usize, c_out: usize, std: f64, dev: &Device) -> ConvTranspose2d {
    ConvTranspose2dConfig::new([c_in, c_out], [3, 3])
        .with_stride([2, 2])
        .with_padding([1, 1])
        .with_padding_out([1, 1])
        .with_bias(true)
        .with_initializer(normal(std))
        .init(dev)
}

fn inorm(c: usize, dev: &Device) -> InstanceNorm {
    InstanceNormConfig::new(c).with_affine(true).with_epsilon(1e-5).init(dev)
}

fn reflect(x: Tensor<4>, p: usize) -> Tensor<4> {
    x.pad((p, p, p, p), PadMode::Reflect)
}

// ---- the single-op cases -------------------------------------------------------------

#[derive(Module, Debug)]
struct ConvCase {
    conv: Conv2d,
}

impl Net<4> for ConvCase {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.conv.forward(x)
    }
}

#[derive(Module, Debug)]
struct ReflectConvCase {
    conv: Conv2d,
}

impl Net<4> for ReflectConvCase {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.conv.forward(reflect(x, 3))
    }
}

#[derive(Module, Debug)]
struct ConvTCase {
    conv: ConvTranspose2d,
}

impl Net<4> for ConvTCase {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.conv.forward(x)
    }
}

#[derive(Module, Debug)]
struct NormCase {
    norm: InstanceNorm,
}

impl Net<4> for NormCase {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.norm.forward(x)
    }
}

/// `a · b` with `a` the input and `b` a parameter, so both get gradients.
#[derive(Module, Debug)]
struct MatmulCase {
    b: Param<Tensor<2>>,
}

impl Net<2> for MatmulCase {
    fn forward(&self, a: Tensor<2>) -> Tensor<2> {
        a.matmul(self.b.val())
    }
}

// ---- the CycleGAN ResNet generator ---------------------------------------------------

#[derive(Module, Debug)]
struct ConvNorm {
    conv: Conv2d,
    norm: InstanceNorm,
}

#[derive(Module, Debug)]
struct UpNorm {
    conv: ConvTranspose2d,
    norm: InstanceNorm,
}

#[derive(Module, Debug)]
struct ResBlock {
    c1: Conv2d,
    n1: InstanceNorm,
    c2: Conv2d,
    n2: InstanceNorm,
}

/// reflect-pad 3 + conv 7x7 + norm + relu; two stride-2 convs + norm + relu; residual
/// blocks (reflect-pad 1, conv 3x3, norm, relu, reflect-pad 1, conv 3x3, norm, add); two
/// transposed convs + norm + relu; reflect-pad 3 + conv 7x7 + tanh. Every conv has a bias,
/// every norm is affine: the same network as gantry's `bench::resnet::ResnetG`.
#[derive(Module, Debug)]
struct ResnetG {
    stem: ConvNorm,
    down: Vec<ConvNorm>,
    blocks: Vec<ResBlock>,
    up: Vec<UpNorm>,
    head: Conv2d,
}

impl ResnetG {
    fn new(ngf: usize, n_blocks: usize, dev: &Device) -> ResnetG {
        let std = 0.02;
        let cn = |c_in, c_out, k, stride, pad| ConvNorm {
            conv: conv(c_in, c_out, k, stride, pad, std, dev),
            norm: inorm(c_out, dev),
        };
        let c = 4 * ngf;
        ResnetG {
            stem: cn(3, ngf, 7, 1, 0),
            down: vec![cn(ngf, 2 * ngf, 3, 2, 1), cn(2 * ngf, 4 * ngf, 3, 2, 1)],
            blocks: (0..n_blocks)
                .map(|_| ResBlock {
                    c1: conv(c, c, 3, 1, 0, std, dev),
                    n1: inorm(c, dev),
                    c2: conv(c, c, 3, 1, 0, std, dev),
                    n2: inorm(c, dev),
                })
                .collect(),
            up: vec![
                UpNorm { conv: conv_t(4 * ngf, 2 * ngf, std, dev), norm: inorm(2 * ngf, dev) },
                UpNorm { conv: conv_t(2 * ngf, ngf, std, dev), norm: inorm(ngf, dev) },
            ],
            head: conv(ngf, 3, 7, 1, 0, std, dev),
        }
    }
}

/// Forward FLOPs of the generator's convolutions, counted as gantry counts them.
fn resnet_flops(ngf: usize, n_blocks: usize, hw: usize) -> f64 {
    let f = |out_px: usize, taps: usize, c_out: usize| 2.0 * (out_px * taps * c_out) as f64;
    let (h2, h4) = (hw / 2, hw / 4);
    f(hw * hw, 3 * 49, ngf)
        + f(h2 * h2, ngf * 9, 2 * ngf)
        + f(h4 * h4, 2 * ngf * 9, 4 * ngf)
        + n_blocks as f64 * 2.0 * f(h4 * h4, 4 * ngf * 9, 4 * ngf)
        // transposed convs: c_in · 9 products per input pixel and output channel
        + f(h4 * h4, 4 * ngf * 9, 2 * ngf)
        + f(h2 * h2, 2 * ngf * 9, ngf)
        + f(hw * hw, ngf * 49, 3)
}

impl Net<4> for ResnetG {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut h = relu(self.stem.norm.forward(self.stem.conv.forward(reflect(x, 3))));
        for d in &self.down {
            h = relu(d.norm.forward(d.conv.forward(h)));
        }
        for b in &self.blocks {
            let r = relu(b.n1.forward(b.c1.forward(reflect(h.clone(), 1))));
            let r = b.n2.forward(b.c2.forward(reflect(r, 1)));
            h = h + r;
        }
        for u in &self.up {
            h = relu(u.norm.forward(u.conv.forward(h)));
        }
        self.head.forward(reflect(h, 3)).tanh()
    }
}

// ---- cases and timing ----------------------------------------------------------------

type Run = Box<dyn Fn()>;

struct Case {
    name: &'static str,
    shape: String,
    flops: f64,
    forward: Run,
    forward_backward: Run,
}

/// A case from a model built on the autodiff device and its input, built on the plain one.
fn case<M: Net<D>, const D: usize>(
    name: &'static str,
    shape: String,
    flops: f64,
    model: M,
    x: Tensor<D>,
    dev: &Device,
) -> Case {
    let valid = model.valid();
    let x_plain = x.clone();
    let x_ad = x.autodiff().require_grad();
    let (d1, d2) = (dev.clone(), dev.clone());
    Case {
        name,
        shape,
        flops,
        forward: Box::new(move || {
            let y = valid.forward(x_plain.clone());
            d1.sync().expect("device sync failed");
            drop(y);
        }),
        forward_backward: Box::new(move || {
            let loss = model.forward(x_ad.clone()).mean();
            let grads = loss.backward();
            d2.sync().expect("device sync failed");
            assert!(x_ad.grad(&grads).is_some(), "no gradient for the input of {name}");
            drop(grads);
        }),
    }
}

fn randn<const D: usize>(shape: [usize; D], std: f64, dev: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, std), dev)
}

fn conv_flops(out: usize, c_in: usize, k: usize) -> f64 {
    2.0 * out as f64 * (c_in * k * k) as f64
}

fn cases(dev: &Device, ad: &Device, scale: usize) -> Vec<Case> {
    let s = scale.max(1);
    let (c64, c128, c3, hw) = (64 * s, 128 * s, 3, 64 * s);
    let h2 = hw / 2;
    let n = 512 * s;
    let ngf = 32 * s;
    vec![
        case(
            "conv3x3",
            format!("x [1, {c64}, {hw}, {hw}], w [{c64}, {c64}, 3, 3], pad 1, bias"),
            conv_flops(c64 * hw * hw, c64, 3),
            ConvCase { conv: conv(c64, c64, 3, 1, 1, 0.05, ad) },
            randn([1, c64, hw, hw], 1.0, dev),
            dev,
        ),
        case(
            "conv7x7_reflect",
            format!("x [1, {c3}, {hw}, {hw}], reflect pad 3, w [{c64}, {c3}, 7, 7], bias"),
            conv_flops(c64 * hw * hw, c3, 7),
            ReflectConvCase { conv: conv(c3, c64, 7, 1, 0, 0.05, ad) },
            randn([1, c3, hw, hw], 1.0, dev),
            dev,
        ),
        case(
            "conv3x3_s2",
            format!("x [1, {c64}, {hw}, {hw}], w [{c128}, {c64}, 3, 3], stride 2, pad 1, bias"),
            conv_flops(c128 * (hw / 2) * (hw / 2), c64, 3),
            ConvCase { conv: conv(c64, c128, 3, 2, 1, 0.05, ad) },
            randn([1, c64, hw, hw], 1.0, dev),
            dev,
        ),
        case(
            "convT3x3_s2",
            format!(
                "x [1, {c128}, {h2}, {h2}], w [{c128}, {c64}, 3, 3], stride 2, pad 1, output_padding 1, bias"
            ),
            conv_flops(c128 * h2 * h2, c64, 3),
            ConvTCase { conv: conv_t(c128, c64, 0.05, ad) },
            randn([1, c128, h2, h2], 1.0, dev),
            dev,
        ),
        case(
            "instance_norm",
            format!("x [1, {c64}, {hw}, {hw}], affine"),
            0.0,
            NormCase { norm: inorm(c64, ad) },
            randn([1, c64, hw, hw], 1.0, dev),
            dev,
        ),
        case(
            "matmul",
            format!("[{n}, {n}] x [{n}, {n}]"),
            2.0 * (n as f64).powi(3),
            MatmulCase { b: Param::from_tensor(randn([n, n], 1.0, ad)) },
            randn([n, n], 1.0, dev),
            dev,
        ),
        case(
            "resnet_g",
            format!("x [1, 3, {hw}, {hw}], ngf {ngf}, 6 blocks, biased convs, affine instance norm"),
            resnet_flops(ngf, 6, hw),
            ResnetG::new(ngf, 6, ad),
            randn([1, 3, hw, hw], 1.0, dev),
            dev,
        ),
    ]
}

fn median_ms(warmup: usize, iters: usize, f: &dyn Fn()) -> f64 {
    for i in 0..warmup {
        let start = Instant::now();
        f();
        eprintln!("    warm-up {i}: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    }
    let mut times: Vec<f64> = (0..iters.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
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

struct Args {
    iters: usize,
    warmup: usize,
    scale: usize,
    op: Option<String>,
}

const USAGE: &str = "usage: gantry-burn-suite [--iters N (5)] [--op NAME] [--warmup N (2)] [--scale N (1)]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args { iters: 5, warmup: 2, scale: 1, op: None };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let (key, inline) = match a.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next()).ok_or(format!("{key} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|_| format!("{key}: not a number: {v}"));
        match key.as_str() {
            "--iters" => args.iters = number(value()?)?,
            "--warmup" => args.warmup = number(value()?)?,
            "--scale" => args.scale = number(value()?)?,
            "--op" => args.op = Some(value()?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {a:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gantry-burn-suite: {e}");
            std::process::exit(2);
        }
    };
    let dev = Device::wgpu(DeviceKind::DefaultDevice);
    let ad = dev.clone().autodiff();
    let cases = cases(&dev, &ad, args.scale);
    if let Some(op) = &args.op {
        if !cases.iter().any(|c| c.name == op) {
            let names: Vec<&str> = cases.iter().map(|c| c.name).collect();
            eprintln!("gantry-burn-suite: no case named {op:?}; the suite has {names:?}");
            std::process::exit(2);
        }
    }
    let name = dev.identity().map(|i| i.name).unwrap_or_else(|| "unknown adapter".into());
    let device = format!("{name} (wgpu)");
    let t0 = Instant::now();
    let progress = |what: &str| eprintln!("[{:8.1} s] {what}", t0.elapsed().as_secs_f64());
    for case in cases.iter().filter(|c| args.op.as_deref().is_none_or(|o| o == c.name)) {
        progress(&format!("{}: forward", case.name));
        let fwd_ms = median_ms(args.warmup, args.iters, &case.forward);
        progress(&format!("{}: forward+backward", case.name));
        let fwd_bwd_ms = median_ms(args.warmup, args.iters, &case.forward_backward);
        let gflops = if case.flops > 0.0 { case.flops / (fwd_ms * 1e6) } else { 0.0 };
        println!(
            "{{\"op\":{},\"shape\":{},\"fwd_ms\":{:.3},\"fwd_bwd_ms\":{:.3},\"gflops\":{:.3},\"device\":{},\"clock\":\"wall\",\"engine\":{}}}",
            quote(case.name),
            quote(&case.shape),
            fwd_ms,
            fwd_bwd_ms,
            gflops,
            quote(&device),
            quote(ENGINE)
        );
    }
}
