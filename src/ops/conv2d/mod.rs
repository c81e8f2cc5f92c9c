//! 2-D convolution and transposed convolution (shaders/conv2d.wgsl), with PyTorch's
//! semantics: cross-correlation, zero padding, stride, dilation, groups.
//!
//! Three primitive ops are closed under differentiation, so gradients of any order work:
//! - `conv(x, w)`: the forward convolution;
//! - `conv_input_grad(gy, w)`: its adjoint in x, which is also the transposed convolution;
//! - `conv_weight_grad(x, gy)`: its adjoint in w.
//!
//! Each one's gradient is written with the other two (see the `rules` of each). This file
//! holds the options, the shared geometry and the public ops with their checks;
//! `primitives.rs` launches the kernels and records the nodes.

mod primitives;

use crate::error::{Error, Result};
use crate::gpu::KernelPath;
use crate::tensor::Tensor;
use primitives::{conv, conv_input_grad};

/// Which kernels run a convolution and its gradients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConvKernel {
    /// The device's fastest kernels wherever their preconditions hold
    /// (`Device::kernel_path`): on CPU adapters with 8-lane subgroups those of
    /// `ops::conv2d_cpu`, on GPUs the tiled ones, else the blocked implicit-GEMM ones;
    /// naive where none applies.
    #[default]
    Auto,
    /// The portable blocked kernels (never the CPU-specific ones), else naive.
    Blocked,
    /// The workgroup-memory tiles written for GPUs (`ops::conv2d_gpu`), on any adapter,
    /// else naive.
    Tiled,
    /// One invocation per output element: the simple twin the tests compare against.
    Naive,
}

/// Options of `conv2d`, PyTorch's defaults: stride 1, padding 0, dilation 1, groups 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d {
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
    pub kernel: ConvKernel,
}

impl Default for Conv2d {
    fn default() -> Self {
        Conv2d { stride: (1, 1), padding: (0, 0), dilation: (1, 1), groups: 1, kernel: ConvKernel::Auto }
    }
}

impl Conv2d {
    pub fn kernel(mut self, k: ConvKernel) -> Self {
        self.kernel = k;
        self
    }
    pub fn stride(mut self, s: usize) -> Self {
        self.stride = (s, s);
        self
    }
    pub fn padding(mut self, p: usize) -> Self {
        self.padding = (p, p);
        self
    }
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = (d, d);
        self
    }
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }
}

/// Options of `conv_transpose2d`: the forward convolution's options plus output_padding,
/// which picks among the input sizes that a strided convolution maps to the same output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConvTranspose2d {
    pub conv: Conv2d,
    pub output_padding: (usize, usize),
}

impl ConvTranspose2d {
    pub fn stride(mut self, s: usize) -> Self {
        self.conv = self.conv.stride(s);
        self
    }
    pub fn padding(mut self, p: usize) -> Self {
        self.conv = self.conv.padding(p);
        self
    }
    pub fn output_padding(mut self, p: usize) -> Self {
        self.output_padding = (p, p);
        self
    }
    pub fn groups(mut self, g: usize) -> Self {
        self.conv = self.conv.groups(g);
        self
    }
    pub fn kernel(mut self, k: ConvKernel) -> Self {
        self.conv = self.conv.kernel(k);
        self
    }
}

/// The forward convolution's sizes: x [n, c_in, h, w], w [c_out, c_in/g, kh, kw],
/// y [n, c_out, ho, wo]. All three ops take the same geometry.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    n: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    ho: usize,
    wo: usize,
    kh: usize,
    kw: usize,
    opts: Conv2d,
}

impl Geometry {
    fn x_shape(&self) -> Vec<usize> {
        vec![self.n, self.c_in, self.h, self.w]
    }
    fn w_shape(&self) -> Vec<usize> {
        vec![self.c_out, self.c_in / self.opts.groups, self.kh, self.kw]
    }
    fn y_shape(&self) -> Vec<usize> {
        vec![self.n, self.c_out, self.ho, self.wo]
    }

    /// The shader's Params: `k_chunk` is used by the split-K weight gradients only,
    /// `has_bias` by the CPU kernels that read a bias after the packed weight.
    #[rustfmt::skip]
    fn params(&self, k_chunk: usize, has_bias: bool) -> [u32; 20] {
        let o = &self.opts;
        [
            self.n, self.c_in, self.h, self.w,
            self.c_out, self.ho, self.wo, o.groups,
            self.kh, self.kw, o.stride.0, o.stride.1,
            o.padding.0, o.padding.1, o.dilation.0, o.dilation.1,
            k_chunk, has_bias as usize, 0, 0,
        ]
        .map(|v| v as u32)
    }

    fn blocked(&self) -> bool {
        self.opts.kernel != ConvKernel::Naive
    }

    /// Whether `Auto` stands for `path`'s kernels here.
    fn auto_is(&self, x: &Tensor, path: KernelPath) -> bool {
        self.opts.kernel == ConvKernel::Auto && x.device().kernel_path() == path
    }

    /// Whether the CPU kernels may run (`ops::conv2d_cpu`), before each one's own shape
    /// conditions.
    fn cpu(&self, x: &Tensor) -> bool {
        self.auto_is(x, KernelPath::Cpu)
    }

    /// Whether the tiled GPU kernels run (`ops::conv2d_gpu`), before each one's own shape
    /// conditions.
    fn tiled(&self, x: &Tensor) -> bool {
        self.opts.kernel == ConvKernel::Tiled || self.auto_is(x, KernelPath::Tiled)
    }

    /// Whether 8 consecutive output channels always share a group.
    fn out_rows_share_group(&self) -> bool {
        self.opts.groups == 1 || (self.c_out / self.opts.groups).is_multiple_of(8)
    }
}

fn rank4(op: &'static str, t: &Tensor, what: &str) -> Result<[usize; 4]> {
    <[usize; 4]>::try_from(t.shape()).map_err(|_| Error::Rank {
        op,
        expected: format!("a 4-D {what}"),
        shape: t.shape().to_vec(),
    })
}

fn check_opts(op: &'static str, o: &Conv2d) -> Result<()> {
    if o.stride.0 == 0 || o.stride.1 == 0 || o.dilation.0 == 0 || o.dilation.1 == 0 || o.groups == 0 {
        return Err(Error::Invalid {
            op,
            msg: format!("stride, dilation and groups must be positive: {o:?}"),
        });
    }
    Ok(())
}

/// Output size of a convolution along one axis, or None when the kernel does not fit.
fn out_size(size: usize, k: usize, s: usize, p: usize, d: usize) -> Option<usize> {
    let span = d * (k - 1) + 1;
    (size + 2 * p).checked_sub(span).map(|r| r / s + 1)
}

/// Checks channels and groups for a weight `[c_out, c_in/g, kh, kw]`.
fn check_channels(
    op: &'static str,
    c_in: usize,
    wt: [usize; 4],
    groups: usize,
    x: &Tensor,
    w: &Tensor,
) -> Result<()> {
    if !c_in.is_multiple_of(groups)
        || !wt[0].is_multiple_of(groups)
        || wt[1] * groups != c_in
        || wt[2] == 0
        || wt[3] == 0
    {
        return Err(Error::Invalid {
            op,
            msg: format!(
                "input {:?} and weight {:?} do not fit with groups = {groups} (the weight must be [out, in / groups, kh, kw])",
                x.shape(),
                w.shape()
            ),
        });
    }
    Ok(())
}

/// A bias must be [c] for c output channels, on the same device.
fn check_bias(bias: Option<&Tensor>, c: usize, op: &'static str) -> Result<()> {
    match bias {
        Some(b) if b.shape() != [c] => {
            Err(Error::ShapeMismatch { op, lhs: vec![c], rhs: b.shape().to_vec() })
        }
        Some(b) => b.same_device(op, &[]),
        None => Ok(()),
    }
}

impl Tensor {
    /// 2-D convolution of x [n, c_in, h, w] with weight [c_out, c_in / groups, kh, kw] and an
    /// optional bias [c_out], like `torch.nn.functional.conv2d`.
    pub fn conv2d(&self, weight: &Tensor, bias: Option<&Tensor>, opts: Conv2d) -> Result<Tensor> {
        const OP: &str = "conv2d";
        self.same_device(OP, &[weight])?;
        check_opts(OP, &opts)?;
        let [n, c_in, h, w] = rank4(OP, self, "input [n, c, h, w]")?;
        let wt = rank4(OP, weight, "weight [out, in / groups, kh, kw]")?;
        check_channels(OP, c_in, wt, opts.groups, self, weight)?;
        let sizes = (
            out_size(h, wt[2], opts.stride.0, opts.padding.0, opts.dilation.0),
            out_size(w, wt[3], opts.stride.1, opts.padding.1, opts.dilation.1),
        );
        let (Some(ho), Some(wo)) = sizes else {
            return Err(Error::Invalid {
                op: OP,
                msg: format!(
                    "a {}x{} kernel with {opts:?} does not fit the input {:?}",
                    wt[2],
                    wt[3],
                    self.shape()
                ),
            });
        };
        let geo = Geometry { n, c_in, h, w, c_out: wt[0], ho, wo, kh: wt[2], kw: wt[3], opts };
        check_bias(bias, geo.c_out, OP)?;
        conv(self, weight, bias, geo)
    }

    /// Transposed 2-D convolution of x [n, c_in, h, w] with weight [c_in, c_out / groups, kh,
    /// kw], like `torch.nn.functional.conv_transpose2d`: the output is
    /// (h - 1)·stride - 2·padding + dilation·(kh - 1) + output_padding + 1 high.
    pub fn conv_transpose2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        opts: ConvTranspose2d,
    ) -> Result<Tensor> {
        const OP: &str = "conv_transpose2d";
        self.same_device(OP, &[weight])?;
        let c = opts.conv;
        check_opts(OP, &c)?;
        let [n, c_in, h, w] = rank4(OP, self, "input [n, c, h, w]")?;
        let wt = rank4(OP, weight, "weight [in, out / groups, kh, kw]")?;
        // As the adjoint of a convolution from c_out = wt[1]·groups channels to c_in.
        let c_out = wt[1] * c.groups;
        check_channels(OP, c_out, [wt[0], wt[1], wt[2], wt[3]], c.groups, self, weight).and_then(|_| {
            if wt[0] == c_in {
                Ok(())
            } else {
                Err(Error::ShapeMismatch { op: OP, lhs: self.shape().to_vec(), rhs: weight.shape().to_vec() })
            }
        })?;
        let (op_h, op_w) = opts.output_padding;
        if op_h >= c.stride.0.max(c.dilation.0) || op_w >= c.stride.1.max(c.dilation.1) {
            return Err(Error::Invalid {
                op: OP,
                msg: format!(
                    "output_padding {:?} must be smaller than stride or dilation",
                    opts.output_padding
                ),
            });
        }
        let full = |size: usize, k: usize, s: usize, p: usize, d: usize, extra: usize| {
            ((size - 1) * s + d * (k - 1) + extra + 1).checked_sub(2 * p).filter(|&v| v > 0)
        };
        let sizes = (
            full(h, wt[2], c.stride.0, c.padding.0, c.dilation.0, op_h),
            full(w, wt[3], c.stride.1, c.padding.1, c.dilation.1, op_w),
        );
        let (Some(ho), Some(wo)) = sizes else {
            return Err(Error::Invalid {
                op: OP,
                msg: format!("padding {:?} leaves no output for input {:?}", c.padding, self.shape()),
            });
        };
        let geo = Geometry {
            n,
            c_in: c_out,
            h: ho,
            w: wo,
            c_out: c_in,
            ho: h,
            wo: w,
            kh: wt[2],
            kw: wt[3],
            opts: c,
        };
        check_bias(bias, geo.c_in, OP)?;
        conv_input_grad(self, weight, bias, geo)
    }
}
