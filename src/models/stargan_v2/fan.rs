//! StarGAN v2's face-alignment network (FAN, the Wing/AdaptiveWing landmark model of the
//! reference's `core/wing.py`, 98 WFLW landmarks, one hourglass) and the two face masks the
//! generator's high-pass skips use when `w_hpf > 0` (CelebA-HQ).
//!
//! | Module (state-dict name) | Layers | Output at 256 px input |
//! |---|---|---|
//! | conv1 | CoordConv: x ++ [row, column, radius] planes → conv 7×7 s2 p3 (bias), 6 → w/4 | [n, w/4, 128, 128] |
//! | bn1 | BatchNorm, ReLU | |
//! | conv2 | ConvBlock w/4 → w/2, then avg pool 2 | [n, w/2, 64, 64] |
//! | conv3, conv4 | ConvBlock w/2 → w/2, ConvBlock w/2 → w | [n, w, 64, 64] |
//! | m0 | hourglass, depth 4: CoordConv 1×1 (w + 3 → w), ConvBlocks b1_l, b2_l, b3_l, b2_plus_1 | [n, w, 64, 64] |
//! | top_m_0, conv_last0, bn_end0 | ConvBlock, conv 1×1 (bias), BatchNorm, ReLU | [n, w, 64, 64] |
//! | l0 | conv 1×1 (bias) w → 99: 98 landmark heatmaps and a boundary map | [n, 99, 64, 64] |
//!
//! w is the width, 256 in the reference (6,333,603 parameters). ConvBlock(i, o) runs three
//! pre-activation 3×3 convolutions without bias (BN, ReLU, conv: i → o/2 → o/4 → o/4),
//! concatenates their outputs (o channels) and adds the input, passed through BN, ReLU and a
//! bias-free 1×1 conv (`downsample.0`, `downsample.2`) when i ≠ o.
//!
//! FAN is frozen and always in eval mode (BatchNorm with running statistics): the reference
//! builds it with `.eval()` and never switches it, so `set_training` leaves it as it is. Its
//! masks carry no gradient: the reference's `get_heatmap` runs under `torch.no_grad()`, also
//! for the masks of the fake image in the cycle term.

use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::{Entry, NamedTensors};
use crate::nn::module::visit_child;
use crate::nn::{Activation, Conv2d, Layer, Module, ModuleExt, Norm, Role, Sequential};
use crate::ops::conv2d::Conv2d as ConvOpts;
use crate::tensor::Tensor;
use std::collections::HashSet;
use std::path::Path;

mod masks;
pub use masks::preprocess;

/// Landmarks of the WFLW layout; `l0` predicts one more channel (a boundary map).
pub const LANDMARKS: usize = 98;
/// The side FAN works at: inputs are resized to it, and the masks come out at it.
pub const INPUT_SIZE: usize = 256;
/// The side of the heatmaps FAN predicts (INPUT_SIZE / 4).
pub const HEATMAP_SIZE: usize = 64;
/// The hourglass's depth (levels of pooling).
const DEPTH: usize = 4;

/// `[1, 3, s, s]`: row and column coordinates in [-1, 1] and their radius divided by its
/// maximum, computed in f32 as the reference's `AddCoordsTh` computes them.
fn coordinate_planes(d: &Device, s: usize) -> Result<Tensor> {
    let ramp: Vec<f32> = (0..s).map(|i| i as f32 / (s - 1) as f32 * 2.0 - 1.0).collect();
    let mut planes = vec![0f32; 3 * s * s];
    for (i, &r) in ramp.iter().enumerate() {
        for (j, &c) in ramp.iter().enumerate() {
            planes[i * s + j] = r;
            planes[s * s + i * s + j] = c;
            planes[2 * s * s + i * s + j] = (r * r + c * c).sqrt();
        }
    }
    let max = planes[2 * s * s..].iter().fold(0f32, |m, &v| m.max(v));
    planes[2 * s * s..].iter_mut().for_each(|v| *v /= max);
    Tensor::from_slice(d, &planes, &[1, 3, s, s])
}

/// `CoordConvTh` as FAN uses it: the coordinate planes appended to the input, then `conv`.
/// (Its boundary channels are never added: FAN's one hourglass gets no previous heatmap.)
struct CoordConv {
    conv: Conv2d,
    planes: Tensor,
}

impl CoordConv {
    fn new(d: &Device, size: usize, c_in: usize, c_out: usize, k: usize, opts: ConvOpts) -> Result<Self> {
        Ok(CoordConv {
            conv: Conv2d::new(d, c_in + 3, c_out, k, opts, true)?,
            planes: coordinate_planes(d, size)?,
        })
    }

    /// Shapes: [n, c, s, s] -> the conv's output.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let s = self.planes.shape()[2];
        let planes = self.planes.expand(&[x.shape()[0], 3, s, s])?;
        self.conv.forward(&Tensor::concat(&[x.clone(), planes], 1)?) // [n, c + 3, s, s]
    }
}

impl Module for CoordConv {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.conv, "conv", f);
    }
}

/// The reference's `ConvBlock(i, o)` (see the module table).
struct ConvBlock {
    bn1: Norm,
    conv1: Conv2d,
    bn2: Norm,
    conv2: Conv2d,
    bn3: Norm,
    conv3: Conv2d,
    downsample: Option<Sequential>,
}

impl ConvBlock {
    fn new(d: &Device, c_in: usize, c_out: usize) -> Result<Self> {
        let k3 = ConvOpts::default().padding(1);
        let (half, quarter) = (c_out / 2, c_out / 4);
        let downsample = if c_in == c_out {
            None
        } else {
            Some(Sequential::new().push(Norm::batch(d, c_in)?).push(Activation::Relu).push(Conv2d::new(
                d,
                c_in,
                c_out,
                1,
                ConvOpts::default(),
                false,
            )?))
        };
        Ok(ConvBlock {
            bn1: Norm::batch(d, c_in)?,
            conv1: Conv2d::new(d, c_in, half, 3, k3, false)?,
            bn2: Norm::batch(d, half)?,
            conv2: Conv2d::new(d, half, quarter, 3, k3, false)?,
            bn3: Norm::batch(d, quarter)?,
            conv3: Conv2d::new(d, quarter, quarter, 3, k3, false)?,
            downsample,
        })
    }

    /// Shapes: [n, i, h, w] -> [n, o, h, w].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let a = self.conv1.forward(&self.bn1.forward(x)?.relu()?)?; // [n, o/2, h, w]
        let b = self.conv2.forward(&self.bn2.forward(&a)?.relu()?)?; // [n, o/4, h, w]
        let c = self.conv3.forward(&self.bn3.forward(&b)?.relu()?)?; // [n, o/4, h, w]
        let skip = match &self.downsample {
            Some(down) => down.forward(x)?,
            None => x.clone(),
        };
        Tensor::concat(&[a, b, c], 1)?.add(&skip)
    }
}

impl Module for ConvBlock {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.bn1, "bn1", f);
        visit_child(&self.conv1, "conv1", f);
        visit_child(&self.bn2, "bn2", f);
        visit_child(&self.conv2, "conv2", f);
        visit_child(&self.bn3, "bn3", f);
        visit_child(&self.conv3, "conv3", f);
        if let Some(down) = &self.downsample {
            visit_child(down, "downsample", f);
        }
    }
    fn set_training(&self, on: bool) {
        [&self.bn1, &self.bn2, &self.bn3].iter().for_each(|n| n.set_training(on));
        if let Some(down) = &self.downsample {
            down.set_training(on);
        }
    }
}

/// One level of the hourglass: `b1_l` at this resolution, `b2_l` and `b3_l` at half of it.
struct Level {
    b1: ConvBlock,
    b2: ConvBlock,
    b3: ConvBlock,
}

/// The reference's `HourGlass(1, 4, 256, first_one=True)`.
struct HourGlass {
    coordconv: CoordConv,
    /// `levels[l - 1]` holds level l; the recursion starts at level DEPTH.
    levels: Vec<Level>,
    /// `b2_plus_1`: the bottom of the recursion.
    b2_plus: ConvBlock,
}

impl HourGlass {
    fn new(d: &Device, w: usize) -> Result<Self> {
        let levels = (0..DEPTH)
            .map(|_| {
                Ok(Level {
                    b1: ConvBlock::new(d, w, w)?,
                    b2: ConvBlock::new(d, w, w)?,
                    b3: ConvBlock::new(d, w, w)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let coordconv = CoordConv::new(d, HEATMAP_SIZE, w, w, 1, ConvOpts::default())?;
        Ok(HourGlass { coordconv, levels, b2_plus: ConvBlock::new(d, w, w)? })
    }

    /// up = b1(x); low = b2(pool(x)) through the next level (or b2_plus at the bottom), then
    /// b3; the output is up + nearest×2(low). Shapes: [n, w, s, s] -> [n, w, s, s].
    fn level(&self, l: usize, x: &Tensor) -> Result<Tensor> {
        let lv = &self.levels[l - 1];
        let up = lv.b1.forward(x)?;
        let low = lv.b2.forward(&x.avg_pool2d(2, 2)?)?; // [n, w, s/2, s/2]
        let low = if l > 1 { self.level(l - 1, &low)? } else { self.b2_plus.forward(&low)? };
        up.add(&lv.b3.forward(&low)?.upsample_nearest(2)?)
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.level(DEPTH, &self.coordconv.forward(x)?)
    }
}

impl Module for HourGlass {
    /// The reference's registration order: b1_4, b2_4, b1_3, …, b2_1, b2_plus_1, b3_1, …, b3_4.
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.coordconv, "coordconv", f);
        for l in (1..=DEPTH).rev() {
            visit_child(&self.levels[l - 1].b1, &format!("b1_{l}"), f);
            visit_child(&self.levels[l - 1].b2, &format!("b2_{l}"), f);
        }
        visit_child(&self.b2_plus, "b2_plus_1", f);
        for l in 1..=DEPTH {
            visit_child(&self.levels[l - 1].b3, &format!("b3_{l}"), f);
        }
    }
    fn set_training(&self, on: bool) {
        for lv in &self.levels {
            [&lv.b1, &lv.b2, &lv.b3].iter().for_each(|b| b.set_training(on));
        }
        self.b2_plus.set_training(on);
    }
}

/// The reference's `FAN(num_modules=1, end_relu=False, num_landmarks=98)`, frozen, in eval
/// mode, with its state-dict names.
pub struct Fan {
    conv1: CoordConv,
    bn1: Norm,
    conv2: ConvBlock,
    conv3: ConvBlock,
    conv4: ConvBlock,
    m0: HourGlass,
    top_m_0: ConvBlock,
    conv_last0: Conv2d,
    bn_end0: Norm,
    l0: Conv2d,
    width: usize,
}

fn file_error(path: &Path, msg: impl Into<String>) -> Error {
    Error::File { path: path.display().to_string(), msg: msg.into() }
}

impl Fan {
    /// FAN with channel width `width` (the reference's is 256; a multiple of 8), PyTorch's
    /// default initialisation, fresh BatchNorm statistics; frozen and in eval mode.
    pub fn new(device: &Device, width: usize) -> Result<Fan> {
        if width == 0 || !width.is_multiple_of(8) {
            return Err(Error::Invalid {
                op: "Fan::new",
                msg: format!("width {width} must be a positive multiple of 8 (the reference's is 256)"),
            });
        }
        let (w, w2, w4) = (width, width / 2, width / 4);
        let one = ConvOpts::default();
        let fan = Fan {
            conv1: CoordConv::new(device, INPUT_SIZE, 3, w4, 7, one.stride(2).padding(3))?,
            bn1: Norm::batch(device, w4)?,
            conv2: ConvBlock::new(device, w4, w2)?,
            conv3: ConvBlock::new(device, w2, w2)?,
            conv4: ConvBlock::new(device, w2, w)?,
            m0: HourGlass::new(device, w)?,
            top_m_0: ConvBlock::new(device, w, w)?,
            conv_last0: Conv2d::new(device, w, w, 1, one, true)?,
            bn_end0: Norm::batch(device, w)?,
            l0: Conv2d::new(device, w, LANDMARKS + 1, 1, one, true)?,
            width,
        };
        fan.eval_mode();
        fan.set_requires_grad(false);
        Ok(fan)
    }

    /// Reads `wing.ckpt` as the reference's `load_pretrained_weights` does: the tensors of
    /// its `'state_dict'` entry that the network has (others, e.g. the further hourglasses of
    /// a 4-stack model, are ignored). A flat state dict (safetensors, or a `torch.save` of
    /// `fan.state_dict()`) is read too. The width comes from `l0.weight`. Unlike the
    /// reference, which keeps random weights for keys the file lacks, a missing or
    /// mis-shaped tensor is an error naming the file and the key.
    pub fn load(device: &Device, path: impl AsRef<Path>) -> Result<Fan> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
        let root = Entry::from_bytes(&bytes).map_err(|e| file_error(path, e))?;
        let tensors = match root.get("state_dict") {
            Some(entry) => entry.tensors(),
            None if root.tensors().iter().any(|(k, _)| k == "l0.weight") => root.tensors(),
            None => {
                let keys: Vec<String> = match &root {
                    Entry::Dict(items) => items.iter().take(8).map(|(k, _)| format!("{k:?}")).collect(),
                    _ => Vec::new(),
                };
                return Err(file_error(
                    path,
                    format!(
                        "is not a FAN checkpoint: wing.ckpt holds {{'state_dict': FAN's weights}}; this file's top level has [{}]",
                        keys.join(", ")
                    ),
                ));
            }
        };
        let width = match tensors.iter().find(|(k, _)| k == "l0.weight").map(|(_, t)| &t.shape[..]) {
            Some(&[out, w, 1, 1]) if out == LANDMARKS + 1 => w,
            Some(shape) => {
                return Err(file_error(
                    path,
                    format!("l0.weight has shape {shape:?}; FAN's is [{}, width, 1, 1]", LANDMARKS + 1),
                ))
            }
            None => return Err(file_error(path, "is not a FAN checkpoint: its state dict has no l0.weight")),
        };
        let fan = Fan::new(device, width).map_err(|e| file_error(path, e.to_string()))?;
        let own: HashSet<String> = fan.state_dict().into_iter().map(|(k, _)| k).collect();
        let kept: NamedTensors = tensors.into_iter().filter(|(k, _)| own.contains(k)).collect();
        fan.load_state_dict(&kept)
            .map_err(|e| file_error(path, format!("as a FAN of width {width}: {e}")))?;
        Ok(fan)
    }

    /// The channel width (256 for the released `wing.ckpt`).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Puts every BatchNorm in eval mode, once: `Module::set_training` leaves FAN as it is.
    fn eval_mode(&self) {
        self.bn1.set_training(false);
        [&self.conv2, &self.conv3, &self.conv4, &self.top_m_0].iter().for_each(|b| b.set_training(false));
        self.m0.set_training(false);
        self.bn_end0.set_training(false);
    }

    /// The raw network: images in [0, 1] at 256 px to the 99 heatmaps (the reference's
    /// `outputs[-1]`). Shapes: [n, 3, 256, 256] -> [n, 99, 64, 64].
    pub fn forward(&self, x01: &Tensor) -> Result<Tensor> {
        if !matches!(x01.shape(), &[_, 3, INPUT_SIZE, INPUT_SIZE]) {
            return Err(Error::Rank {
                op: "Fan::forward",
                expected: format!("images [n, 3, {INPUT_SIZE}, {INPUT_SIZE}] in [0, 1]"),
                shape: x01.shape().to_vec(),
            });
        }
        let h = self.bn1.forward(&self.conv1.forward(x01)?)?.relu()?; // [n, w/4, 128, 128]
        let h = self.conv2.forward(&h)?.avg_pool2d(2, 2)?; // [n, w/2, 64, 64]
        let h = self.conv4.forward(&self.conv3.forward(&h)?)?; // [n, w, 64, 64]
        let h = self.top_m_0.forward(&self.m0.forward(&h)?)?; // [n, w, 64, 64]
        let h = self.bn_end0.forward(&self.conv_last0.forward(&h)?)?.relu()?;
        self.l0.forward(&h) // [n, 99, 64, 64]
    }

    /// The reference's `get_heatmap(x, b_preprocess=True)`: images in [-1, 1] resized to
    /// 256 (bilinear), mapped to [0, 1], their 98 landmark heatmaps upsampled ×4 (bilinear,
    /// corners aligned) and turned into the two masks by `preprocess`. No gradient flows.
    /// Shapes: [n, 3, H, W] -> 2 × [n, 1, 256, 256].
    pub fn get_heatmap(&self, x: &Tensor) -> Result<[Tensor; 2]> {
        let &[_, 3, h, w] = x.shape() else {
            return Err(Error::Rank {
                op: "Fan::get_heatmap",
                expected: "images [n, 3, h, w] in [-1, 1]".into(),
                shape: x.shape().to_vec(),
            });
        };
        no_grad(|| {
            let x = if (h, w) == (INPUT_SIZE, INPUT_SIZE) {
                x.clone()
            } else {
                x.resize_bilinear(INPUT_SIZE, INPUT_SIZE)?
            };
            let heatmaps = self.forward(&x.affine(0.5, 0.5)?)?.narrow(1, 0, LANDMARKS)?; // [n, 98, 64, 64]
            let scale = INPUT_SIZE / HEATMAP_SIZE;
            preprocess(&heatmaps.resize_bilinear_align_corners(HEATMAP_SIZE * scale, HEATMAP_SIZE * scale)?)
        })
    }
}

impl Module for Fan {
    fn visit(&self, f: &mut dyn FnMut(&str, &Tensor, Role)) {
        visit_child(&self.conv1, "conv1", f);
        visit_child(&self.bn1, "bn1", f);
        visit_child(&self.conv2, "conv2", f);
        visit_child(&self.conv3, "conv3", f);
        visit_child(&self.conv4, "conv4", f);
        visit_child(&self.m0, "m0", f);
        visit_child(&self.top_m_0, "top_m_0", f);
        visit_child(&self.conv_last0, "conv_last0", f);
        visit_child(&self.bn_end0, "bn_end0", f);
        visit_child(&self.l0, "l0", f);
    }

    /// FAN stays in eval mode whatever a caller asks: the reference builds it with `.eval()`
    /// and never switches it.
    fn set_training(&self, _on: bool) {}

    /// Files from PyTorch before 0.4.1 have no `num_batches_tracked` (unused in eval mode).
    fn ignores_legacy_key(&self, name: &str) -> bool {
        name.ends_with(".num_batches_tracked")
    }
}
