//! LPIPS (Zhang et al., 2018) with VGG16, version 0.1, "net-lin": the learned perceptual
//! distance that FastGAN's discriminator uses as its reconstruction loss.
//!
//!   d(x0, x1) = Σ_k mean_hw( w_k ⋅ (u(F_k(s(x0))) − u(F_k(s(x1))))² )
//!
//! s: per-channel scaling of inputs in [-1, 1], (x − shift) / scale;
//! F_k: VGG16 features after relu1_2, relu2_2, relu3_3, relu4_3, relu5_3;
//! u: unit length over channels, f / (‖f‖ + 1e-10);
//! w_k: a bias-free 1×1 convolution C_k → 1 (the lpips package puts an eval-mode, hence
//! inactive, Dropout before it, which is why its key is `lin{k}.model.1.weight`).
//!
//! Weights come from two files the user supplies: torchvision's VGG16 state dict
//! (`features.{i}.weight|bias`; its `classifier.*` is ignored) and the lpips package's
//! `weights/v0.1/vgg.pth` (`lin{k}.model.1.weight`). The widths are read from the files, so
//! a narrower VGG (the test fixtures') loads as well. All weights are frozen: gradients flow
//! to the two images only.

use super::activation::{Activation, MaxPool2d};
use super::layers::Conv2d;
use super::module::{visit_child, Layer, Module, ModuleExt, Role, Sequential};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::{load_any, NamedTensors};
use crate::ops::conv2d::Conv2d as ConvOpts;
use crate::tensor::Tensor;
use std::path::Path;

/// VGG16's stage widths; `Lpips::new` builds these.
pub const VGG16_WIDTHS: [usize; 5] = [64, 128, 256, 512, 512];
/// Convolutions per stage in VGG16.
const CONVS_PER_STAGE: [usize; 5] = [2, 2, 3, 3, 3];
/// torchvision's index of each stage's first convolution, whose output width is the stage's.
const FIRST_CONV: [usize; 5] = [0, 5, 10, 17, 24];
/// torchvision's indices of the ReLUs LPIPS taps: relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.
const TAPS: [usize; 5] = [3, 8, 15, 22, 29];
/// The scaling layer's constants (ImageNet statistics expressed for inputs in [-1, 1]).
const SHIFT: [f32; 3] = [-0.030, -0.088, -0.188];
const SCALE: [f32; 3] = [0.458, 0.448, 0.450];
/// Added to the feature norm, as lpips does.
const EPS: f32 = 1e-10;
/// The squared norm is floored here before its square root; see `tap_distance`.
const SQUARED_NORM_FLOOR: f32 = 1e-30;
/// Four 2×2 pools come before relu5_3, which must keep at least one pixel.
const MIN_SIZE: usize = 16;

/// The LPIPS network: VGG16's features up to relu5_3 and five linear heads.
pub struct Lpips {
    /// torchvision's `vgg16().features[0..=29]`, named by the same indices.
    features: Sequential,
    /// One 1×1 convolution per tap, weight [1, C_k, 1, 1].
    lins: Vec<Conv2d>,
}

impl Lpips {
    /// VGG16 at full width with PyTorch's default initialisation (for tests; real use
    /// loads weights with `load`).
    pub fn new(device: &Device) -> Result<Lpips> {
        Lpips::with_widths(device, VGG16_WIDTHS)
    }

    /// The same network with other stage widths, randomly initialised and frozen.
    pub fn with_widths(device: &Device, widths: [usize; 5]) -> Result<Lpips> {
        if widths.contains(&0) {
            return Err(Error::Invalid {
                op: "Lpips",
                msg: format!("stage widths {widths:?} must be positive"),
            });
        }
        let conv3 = ConvOpts::default().padding(1);
        let (mut features, mut c) = (Sequential::new(), 3);
        for (stage, (&width, &convs)) in widths.iter().zip(&CONVS_PER_STAGE).enumerate() {
            if stage > 0 {
                features = features.push(MaxPool2d { kernel: 2, stride: 2 });
            }
            for _ in 0..convs {
                features =
                    features.push(Conv2d::new(device, c, width, 3, conv3, true)?).push(Activation::Relu);
                c = width;
            }
        }
        let lins = widths
            .iter()
            .map(|&w| Conv2d::new(device, w, 1, 1, ConvOpts::default(), false))
            .collect::<Result<Vec<_>>>()?;
        let net = Lpips { features, lins };
        net.set_requires_grad(false);
        Ok(net)
    }

    /// The five stage widths (C_k of each tap).
    pub fn widths(&self) -> [usize; 5] {
        std::array::from_fn(|k| self.lins[k].weight.shape()[1])
    }

    /// Reads torchvision's VGG16 weights (`vgg_path`) and lpips's lin weights (`lin_path`,
    /// `weights/v0.1/vgg.pth`), each a `torch.save` file (zip or legacy) or safetensors.
    /// Errors name the file and the key: a missing or mis-shaped tensor, a file of the wrong
    /// kind, or the two paths given the wrong way round.
    pub fn load(device: &Device, vgg_path: impl AsRef<Path>, lin_path: impl AsRef<Path>) -> Result<Lpips> {
        let (vgg_path, lin_path) = (vgg_path.as_ref(), lin_path.as_ref());
        let vgg = load_any(vgg_path, None)?;
        let lin = load_any(lin_path, None)?;
        check_kind(vgg_path, &vgg, &lin, Kind::Vgg)?;
        check_kind(lin_path, &lin, &vgg, Kind::Lin)?;
        let net = Lpips::with_widths(device, file_widths(vgg_path, &vgg)?)?;
        // The classifier (VGG's fully connected layers) is not part of LPIPS.
        let vgg: NamedTensors = vgg.into_iter().filter(|(k, _)| !k.starts_with("classifier.")).collect();
        Part { net: &net, kind: Kind::Vgg }.load_state_dict(&vgg).map_err(|e| in_file(vgg_path, e, ""))?;
        // lpips loads this file with strict = false, so other keys are ignored; but all five
        // lins must be there (lpips would silently keep random ones).
        let own: Vec<String> =
            Part { net: &net, kind: Kind::Lin }.state_dict().into_iter().map(|(k, _)| k).collect();
        let lin: NamedTensors = lin.into_iter().filter(|(k, _)| own.contains(k)).collect();
        let hint = " (lpips ships one lin file per backbone; this network needs weights/v0.1/vgg.pth)";
        Part { net: &net, kind: Kind::Lin }.load_state_dict(&lin).map_err(|e| in_file(lin_path, e, hint))?;
        Ok(net)
    }

    /// The distance between each target and prediction, differentiable w.r.t. both.
    /// Shapes: target, pred [N, 3, H, W] in [-1, 1], H, W ≥ 16 -> [N, 1, 1, 1].
    pub fn forward(&self, target: &Tensor, pred: &Tensor) -> Result<Tensor> {
        check_inputs(target, pred)?;
        let n = target.shape()[0];
        let d = target.device();
        let shift = Tensor::from_slice(d, &SHIFT, &[1, 3, 1, 1])?;
        let scale = Tensor::from_slice(d, &SCALE, &[1, 3, 1, 1])?;
        // Both images go through VGG as one batch (half the dispatches); every step is
        // per sample, so the halves do not mix.
        let mut h = Tensor::concat(&[target.clone(), pred.clone()], 0)?.sub(&shift)?.div(&scale)?; // [2N, 3, H, W]
        let mut total: Option<Tensor> = None;
        for (i, layer) in self.features.layers.iter().enumerate() {
            h = layer.forward(&h)?; // [2N, C_k, H / 2^k, W / 2^k]
            if let Some(k) = TAPS.iter().position(|&t| t == i) {
                let term = tap_distance(&h, n, &self.lins[k])?; // [N, 1, 1, 1]
                total = Some(match total {
                    Some(t) => t.add(&term)?,
                    None => term,
                });
            }
        }
        Ok(total.expect("VGG16's features contain all five taps"))
    }
}

/// One tap's term. Shapes: h [2N, C, h, w] (targets, then predictions) -> [N, 1, 1, 1].
fn tap_distance(h: &Tensor, n: usize, lin: &Conv2d) -> Result<Tensor> {
    // Where every channel is zero (all ReLUs off), sqrt's gradient is 0/0. PyTorch's ReLU
    // backward then selects zeros, but ours multiplies by a 0/1 mask, which keeps a NaN; the
    // floor makes that gradient 0 and changes the norm by at most 1e-15, far below EPS.
    let norm = h.mul(h)?.sum(&[1], true)?.clamp(SQUARED_NORM_FLOOR, f32::MAX)?.sqrt()?; // [2N, 1, h, w]
    let unit = h.div(&norm.add_scalar(EPS)?)?;
    let diff = unit.narrow(0, 0, n)?.sub(&unit.narrow(0, n, n)?)?; // [N, C, h, w]
    lin.forward(&diff.mul(&diff)?)?.mean(&[2, 3], true) // [N, 1, 1, 1]
}

fn check_inputs(target: &Tensor, pred: &Tensor) -> Result<()> {
    target.same_device("Lpips", &[pred])?;
    if target.shape() != pred.shape() {
        return Err(Error::ShapeMismatch {
            op: "Lpips",
            lhs: target.shape().to_vec(),
            rhs: pred.shape().to_vec(),
        });
    }
    match *target.shape() {
        [_, 3, h, w] if h >= MIN_SIZE && w >= MIN_SIZE => Ok(()),
        _ => Err(Error::Rank {
            op: "Lpips",
            expected: format!("images [n, 3, h, w] with h, w >= {MIN_SIZE} (four 2x2 pools precede relu5_3)"),
            shape: target.shape().to_vec(),
        }),
    }
}

impl Module for Lpips {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        Part { net: self, kind: Kind::Vgg }.visit(f);
        Part { net: self, kind: Kind::Lin }.visit(f);
    }
}

/// Which of the two files a set of tensors belongs to.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Vgg,
    Lin,
}

impl Kind {
    /// A key every file of this kind has.
    fn marker(self) -> &'static str {
        match self {
            Kind::Vgg => "features.0.weight",
            Kind::Lin => "lin0.model.1.weight",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Vgg => "torchvision's VGG16 weights",
            Kind::Lin => "lpips's lin-layer weights (weights/v0.1/vgg.pth)",
        }
    }

    fn other(self) -> Kind {
        match self {
            Kind::Vgg => Kind::Lin,
            Kind::Lin => Kind::Vgg,
        }
    }
}

/// The tensors that one file holds, as a module of its own, so each file is loaded and its
/// errors reported separately.
struct Part<'a> {
    net: &'a Lpips,
    kind: Kind,
}

impl Module for Part<'_> {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        match self.kind {
            Kind::Vgg => visit_child(&self.net.features, "features", f),
            Kind::Lin => {
                for (k, lin) in self.net.lins.iter().enumerate() {
                    visit_child(lin, &format!("lin{k}.model.1"), f);
                }
            }
        }
    }
}

fn has(tensors: &NamedTensors, key: &str) -> bool {
    tensors.iter().any(|(k, _)| k == key)
}

/// Fails unless `tensors` look like a file of `kind`, saying when the two files are swapped.
fn check_kind(path: &Path, tensors: &NamedTensors, other: &NamedTensors, kind: Kind) -> Result<()> {
    if has(tensors, kind.marker()) {
        return Ok(());
    }
    let msg = if has(tensors, kind.other().marker()) {
        let swapped = if has(other, kind.marker()) { "the two paths are swapped" } else { "wrong file?" };
        format!(
            "expected {}, but this file holds {} ({}): {swapped}",
            kind.describe(),
            kind.other().describe(),
            kind.other().marker()
        )
    } else {
        let first: Vec<&str> = tensors.iter().take(4).map(|(k, _)| k.as_str()).collect();
        format!(
            "expected {}, but the file has no {}; its first keys: {first:?}",
            kind.describe(),
            kind.marker()
        )
    };
    Err(Error::File { path: path.display().to_string(), msg })
}

/// The stage widths of a VGG16 file: each stage's first convolution's output channels.
fn file_widths(path: &Path, vgg: &NamedTensors) -> Result<[usize; 5]> {
    let mut widths = [0; 5];
    for (w, &i) in widths.iter_mut().zip(&FIRST_CONV) {
        let key = format!("features.{i}.weight");
        let shape = vgg.iter().find(|(k, _)| *k == key).map(|(_, t)| t.shape.clone());
        *w = match shape.as_deref() {
            Some(&[out, _, 3, 3]) if out > 0 => out,
            Some(s) => {
                let msg =
                    format!("{key} has shape {s:?}, not a 3x3 convolution's [out, in, 3, 3]: not VGG16");
                return Err(Error::File { path: path.display().to_string(), msg });
            }
            None => {
                let msg = format!("{key} is missing from the file: not a complete VGG16 state dict");
                return Err(Error::File { path: path.display().to_string(), msg });
            }
        };
    }
    Ok(widths)
}

/// A load error, restated as an error in the file at `path`.
fn in_file(path: &Path, e: Error, hint: &str) -> Error {
    let msg = e.to_string();
    let hint = if msg.contains("of another shape") { hint } else { "" };
    Error::File { path: path.display().to_string(), msg: format!("{msg}{hint}") }
}
