//! Pooling and resampling of the last two axes, built from differentiable primitives:
//! average and max pooling over tiling windows as a reshape and a `mean` or `max`
//! reduction (other average-pooling strides as a depthwise convolution), adaptive pooling as products with averaging matrices,
//! nearest and bilinear resizing as index selections (a whole-factor nearest upsampling
//! as one pass, `ops::upsample`).

use crate::error::{Error, Result};
use crate::ops::conv2d::Conv2d;
use crate::tensor::Tensor;

fn check4(op: &'static str, x: &Tensor) -> Result<[usize; 4]> {
    <[usize; 4]>::try_from(x.shape()).map_err(|_| Error::Rank {
        op,
        expected: "a 4-D input [n, c, h, w]".into(),
        shape: x.shape().to_vec(),
    })
}

/// Averaging matrix [out, size] with PyTorch's adaptive bins [⌊i·size/out⌋, ⌈(i+1)·size/out⌉).
fn adaptive_matrix(size: usize, out: usize) -> Vec<f32> {
    let mut m = vec![0.0; out * size];
    for i in 0..out {
        let (lo, hi) = (i * size / out, ((i + 1) * size).div_ceil(out));
        for j in lo..hi {
            m[i * size + j] = 1.0 / (hi - lo) as f32;
        }
    }
    m
}

/// Source index and weight pairs of bilinear resampling along one axis, in PyTorch's f32
/// arithmetic. align_corners false: src = (dst + 0.5)·in/out - 0.5, clamped below at 0;
/// true: src = dst·(in - 1)/(out - 1) (0 for a single output).
fn bilinear_taps(size: usize, out: usize, align_corners: bool) -> (Vec<usize>, Vec<usize>, Vec<f32>) {
    let scale = match (align_corners, out > 1) {
        (false, _) => size as f32 / out as f32,
        (true, true) => (size - 1) as f32 / (out - 1) as f32,
        (true, false) => 0.0,
    };
    let mut i0 = Vec::with_capacity(out);
    let mut i1 = Vec::with_capacity(out);
    let mut frac = Vec::with_capacity(out);
    for d in 0..out {
        let src = if align_corners { d as f32 * scale } else { ((d as f32 + 0.5) * scale - 0.5).max(0.0) };
        let lo = (src.floor() as usize).min(size - 1);
        i0.push(lo);
        i1.push((lo + 1).min(size - 1));
        frac.push(src - lo as f32);
    }
    (i0, i1, frac)
}

impl Tensor {
    /// `avg_pool2d` with a square kernel and stride, no padding. Windows that tile the image
    /// (kernel == stride, as every 2×2 pooling of StarGAN v2 and FastGAN) are one pass of
    /// block means, whose backward spreads each gradient over its window in one pass
    /// (`ops::upsample`). Other strides run as a depthwise
    /// convolution with a constant kernel.
    /// Shapes: [n, c, h, w] -> [n, c, ⌊(h − k)/s⌋ + 1, ⌊(w − k)/s⌋ + 1].
    pub fn avg_pool2d(&self, kernel: usize, stride: usize) -> Result<Tensor> {
        if kernel == stride {
            let (x, [n, c, oh, ow]) = self.windows("avg_pool2d", kernel)?;
            // One pass each way (`ops::upsample`).
            return crate::ops::upsample::block_mean(&x.reshape(&[n, c, oh * kernel, ow * kernel])?, kernel);
        }
        self.avg_pool2d_conv(kernel, stride)
    }

    /// `avg_pool2d` as a depthwise convolution with a constant 1/k² kernel: any stride.
    pub fn avg_pool2d_conv(&self, kernel: usize, stride: usize) -> Result<Tensor> {
        let [_, c, _, _] = check4("avg_pool2d", self)?;
        let w = Tensor::full(self.device(), &[c, 1, kernel, kernel], 1.0 / (kernel * kernel) as f32)?;
        self.conv2d(&w, None, Conv2d::default().stride(stride).groups(c))
    }

    /// The k×k windows that tile the image as axes 1 and 3 of [n·c·oh, k, ow, k], the rows
    /// and columns left over at the bottom and right dropped (as PyTorch drops them); with
    /// the pooled shape [n, c, oh, ow].
    fn windows(&self, op: &'static str, kernel: usize) -> Result<(Tensor, [usize; 4])> {
        let [n, c, h, w] = check4(op, self)?;
        if kernel == 0 || h < kernel || w < kernel {
            return Err(Error::Invalid {
                op,
                msg: format!("a {kernel}x{kernel} window does not fit an input of shape {:?}", self.shape()),
            });
        }
        let (oh, ow) = (h / kernel, w / kernel);
        let mut x = self.clone();
        if h != oh * kernel {
            x = x.narrow(2, 0, oh * kernel)?;
        }
        if w != ow * kernel {
            x = x.narrow(3, 0, ow * kernel)?;
        }
        // [n, c, oh·k, ow·k] is row-major, so each window's rows and columns become axes 1, 3.
        Ok((x.reshape(&[n * c * oh, kernel, ow, kernel])?, [n, c, oh, ow]))
    }

    /// `max_pool2d` with a square kernel equal to its stride, no padding: windows tile the
    /// image, and as in PyTorch the rows and columns left over at the bottom and right are
    /// dropped. Built as a crop, a reshape to [n·c·oh, k, ow, k] and `max` over axes 1 and 3,
    /// so the gradient is max's: it goes to each window's maximum, but a tie shares it evenly
    /// where PyTorch gives all of it to the first maximum.
    /// Shapes: [n, c, h, w] -> [n, c, ⌊h/k⌋, ⌊w/k⌋].
    pub fn max_pool2d(&self, kernel: usize, stride: usize) -> Result<Tensor> {
        if kernel != stride {
            return Err(Error::Invalid {
                op: "max_pool2d",
                msg: format!(
                    "kernel {kernel} with stride {stride}: only windows that tile the image (kernel == stride) are supported"
                ),
            });
        }
        let (x, [n, c, oh, ow]) = self.windows("max_pool2d", kernel)?;
        x.max(&[1, 3], false)?.reshape(&[n, c, oh, ow])
    }

    /// `adaptive_avg_pool2d` to [out_h, out_w], with PyTorch's bins.
    pub fn adaptive_avg_pool2d(&self, out_h: usize, out_w: usize) -> Result<Tensor> {
        let [n, c, h, w] = check4("adaptive_avg_pool2d", self)?;
        if out_h == 0 || out_w == 0 {
            return Err(Error::Invalid {
                op: "adaptive_avg_pool2d",
                msg: "output size must be positive".into(),
            });
        }
        let ph = Tensor::from_slice(self.device(), &adaptive_matrix(h, out_h), &[out_h, h])?;
        let pw_t =
            Tensor::from_slice(self.device(), &adaptive_matrix(w, out_w), &[out_w, w])?.transpose(0, 1)?;
        let planes = self.reshape(&[n * c, h, w])?;
        ph.matmul(&planes)?.matmul(&pw_t)?.reshape(&[n, c, out_h, out_w])
    }

    /// Nearest-neighbour resize of the last two axes to [out_h, out_w], PyTorch's rule:
    /// the source index is ⌊dst·in/out⌋.
    pub fn resize_nearest(&self, out_h: usize, out_w: usize) -> Result<Tensor> {
        let [_, _, h, w] = check4("resize_nearest", self)?;
        // A whole factor, the same both ways (every 2x upsampling of the models): one pass.
        if h > 0 && w > 0 && out_h.is_multiple_of(h) && out_h / h > 1 && out_w * h == out_h * w {
            return crate::ops::upsample::upsample(self, out_h / h);
        }
        let pick = |size: usize, out: usize| -> Vec<usize> {
            (0..out).map(|d| (d * size / out).min(size - 1)).collect()
        };
        self.index_select(3, &pick(w, out_w))?.index_select(2, &pick(h, out_h))
    }

    /// `nn.Upsample(scale_factor = s, mode = 'nearest')`.
    pub fn upsample_nearest(&self, scale: usize) -> Result<Tensor> {
        let [_, _, h, w] = check4("upsample_nearest", self)?;
        self.resize_nearest(h * scale, w * scale)
    }

    /// Bilinear resize of the last two axes to [out_h, out_w] with align_corners false.
    pub fn resize_bilinear(&self, out_h: usize, out_w: usize) -> Result<Tensor> {
        self.bilinear(out_h, out_w, false, "resize_bilinear")
    }

    /// Bilinear resize with align_corners true: the corner pixels of input and output
    /// coincide (`F.interpolate(..., mode='bilinear', align_corners=True)`).
    pub fn resize_bilinear_align_corners(&self, out_h: usize, out_w: usize) -> Result<Tensor> {
        self.bilinear(out_h, out_w, true, "resize_bilinear_align_corners")
    }

    fn bilinear(&self, out_h: usize, out_w: usize, align_corners: bool, op: &'static str) -> Result<Tensor> {
        let [_, _, h, w] = check4(op, self)?;
        let along = |x: &Tensor, axis: usize, size: usize, out: usize| -> Result<Tensor> {
            let (i0, i1, frac) = bilinear_taps(size, out, align_corners);
            let mut shape = vec![1; 4];
            shape[axis] = out;
            let f = Tensor::from_slice(x.device(), &frac, &shape)?;
            let a = x.index_select(axis as isize, &i0)?;
            let b = x.index_select(axis as isize, &i1)?;
            a.add(&b.sub(&a)?.mul(&f)?)
        };
        let x = along(self, 3, w, out_w)?;
        along(&x, 2, h, out_h)
    }

    /// `nn.Upsample(scale_factor = s, mode = 'bilinear')` (align_corners false).
    pub fn upsample_bilinear(&self, scale: usize) -> Result<Tensor> {
        let [_, _, h, w] = check4("upsample_bilinear", self)?;
        self.resize_bilinear(h * scale, w * scale)
    }

    /// Zeroes each element with probability p and scales the rest by 1/(1 - p) in train
    /// mode; the identity in eval mode. The mask comes from the device's seeded generator.
    pub fn dropout(&self, p: f32, training: bool) -> Result<Tensor> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::Invalid { op: "dropout", msg: format!("probability {p} is outside [0, 1)") });
        }
        if !training || p == 0.0 {
            return Ok(self.clone());
        }
        let keep = Tensor::rand(self.device(), self.shape())?.ge(&Tensor::scalar(self.device(), p)?)?;
        self.mul(&keep.mul_scalar(1.0 / (1.0 - p))?)
    }
}
