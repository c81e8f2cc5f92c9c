//! 2-D convolution and transposed convolution (shaders/conv2d.wgsl), with PyTorch's
//! semantics: cross-correlation, zero padding, stride, dilation, groups.
//!
//! Three primitive ops are closed under differentiation, so gradients of any order work:
//! - `conv(x, w)`: the forward convolution;
//! - `conv_input_grad(gy, w)`: its adjoint in x, which is also the transposed convolution;
//! - `conv_weight_grad(x, gy)`: its adjoint in w.
//!
//! Each one's gradient is written with the other two (see the `rules` of each).

use crate::error::{Error, Result};
use crate::gpu::shaders::{Family, CONV2D};
use crate::ops::conv2d_cpu::{
    entries, pack_weight, tile_rows, CONV2D_CPU, CONV2D_CPU_WEIGHT_GRAD, TILE_PIXELS,
};
use crate::tensor::Tensor;
use std::rc::Rc;

/// Which kernels run a convolution and its gradients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConvKernel {
    /// The device's fastest kernels wherever their preconditions hold: on CPU adapters
    /// with 8-lane subgroups those of `ops::conv2d_cpu`, else the blocked implicit-GEMM
    /// ones; naive where neither applies.
    #[default]
    Auto,
    /// The portable blocked kernels (never the CPU-specific ones), else naive.
    Blocked,
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

    /// The shader's Params; `k_chunk` is used by the split-K weight gradient only.
    #[rustfmt::skip]
    fn params(&self, k_chunk: usize) -> [u32; 20] {
        let o = &self.opts;
        [
            self.n, self.c_in, self.h, self.w,
            self.c_out, self.ho, self.wo, o.groups,
            self.kh, self.kw, o.stride.0, o.stride.1,
            o.padding.0, o.padding.1, o.dilation.0, o.dilation.1,
            k_chunk, 0, 0, 0,
        ]
        .map(|v| v as u32)
    }

    fn blocked(&self) -> bool {
        self.opts.kernel != ConvKernel::Naive
    }

    /// Whether the CPU kernels may run (`ops::conv2d_cpu`), before each one's own shape
    /// conditions.
    fn cpu(&self, x: &Tensor) -> bool {
        self.opts.kernel == ConvKernel::Auto && x.device().cpu_subgroup8()
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

/// Runs a naive entry (one invocation per output element, `grid` None) or a blocked one
/// over `grid` workgroups, with `k_chunk` for split-K.
fn launch(
    family: &Family,
    entry: &'static str,
    a: &Tensor,
    b: &Tensor,
    shape: Vec<usize>,
    geo: &Geometry,
    grid: Option<([u32; 3], usize)>,
) -> Result<(Vec<usize>, crate::gpu::Storage)> {
    let params = geo.params(grid.map_or(0, |g| g.1));
    launch_with(family, entry, a, b, shape, &params, grid.map(|g| g.0))
}

/// `launch` with the Params given.
fn launch_with(
    family: &Family,
    entry: &'static str,
    a: &Tensor,
    b: &Tensor,
    shape: Vec<usize>,
    params: &[u32],
    grid: Option<[u32; 3]>,
) -> Result<(Vec<usize>, crate::gpu::Storage)> {
    let n: usize = shape.iter().product();
    let out = a.device().alloc(n)?;
    if n > 0 {
        let (sa, sb) = (a.storage(), b.storage());
        let d = a.device();
        match grid {
            Some(groups) => d.dispatch(family, entry, &[], &[&sa, &sb], &[&out], params, groups),
            None => d.dispatch_linear(family, entry, &[], &[&sa, &sb], &[&out], params, n),
        }
    }
    Ok((shape, out))
}

/// y = conv(x, w) (+ bias). Gradients: x gets conv_input_grad(g, w), w gets
/// conv_weight_grad(x, g), the bias the sum of g over images and pixels.
fn conv(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, geo: Geometry) -> Result<Tensor> {
    let (cin_g, cout_g) = (geo.c_in / geo.opts.groups, geo.c_out / geo.opts.groups);
    // The CPU kernel reduces 8 input channels at a time: with fewer it idles most lanes.
    let rows = tile_rows(cout_g);
    let cpu = geo.cpu(x) && cin_g >= 8 && (geo.opts.groups == 1 || cout_g.is_multiple_of(rows));
    let (family, entry, groups) = if cpu {
        let g =
            [(geo.ho * geo.wo).div_ceil(TILE_PIXELS) as u32, geo.c_out.div_ceil(rows) as u32, geo.n as u32];
        (&*CONV2D_CPU, entries(rows)[0], Some((g, 0)))
    } else if geo.blocked() && geo.out_rows_share_group() {
        let g = [(geo.ho * geo.wo).div_ceil(256) as u32, geo.c_out.div_ceil(8) as u32, geo.n as u32];
        (&CONV2D, "conv2d_blocked", Some((g, 0)))
    } else {
        (&CONV2D, "conv2d_naive", None)
    };
    let rule = move |inp: &[Tensor], g: &Tensor| -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(conv_input_grad(g, &inp[1], None, geo)?), Some(conv_weight_grad(&inp[0], g, geo)?)])
    };
    let op = Op { name: "conv2d", public: "conv2d", rows_are_outputs: true, shape: geo.y_shape() };
    run(op, (family, entry, groups), cpu, x, w, bias, &geo, rule)
}

/// What `run` needs to know of the forward or the input gradient: the node's name, the
/// public op a bias error names, which weight axis the CPU kernel's rows are, and the
/// output shape.
struct Op {
    name: &'static str,
    public: &'static str,
    rows_are_outputs: bool,
    shape: Vec<usize>,
}

/// Runs the chosen kernel of `conv` or `conv_input_grad` and records the node. The CPU
/// kernels read a packed weight and start their sums from the bias, which then becomes
/// the node's third input (its gradient: g summed over images and pixels); the others get
/// the bias added after.
#[allow(clippy::too_many_arguments)]
fn run(
    op: Op,
    (family, entry, grid): (&Family, &'static str, Option<([u32; 3], usize)>),
    cpu: bool,
    a: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    geo: &Geometry,
    rule: impl Fn(&[Tensor], &Tensor) -> Result<Vec<Option<Tensor>>> + 'static,
) -> Result<Tensor> {
    if !cpu {
        let (shape, out) = launch(family, entry, a, w, op.shape, geo, grid)?;
        let y = Tensor::from_op(shape, out, op.name, &[a, w], move |inp, _, g| rule(inp, g));
        return add_bias(y, bias, op.public);
    }
    let packed = pack_weight(w, geo.opts.groups, op.rows_are_outputs, bias)?;
    let mut params = geo.params(0);
    params[17] = bias.is_some() as u32;
    let (shape, out) = launch_with(family, entry, a, &packed, op.shape, &params, grid.map(|g| g.0))?;
    Ok(match bias {
        Some(b) => Tensor::from_op(shape, out, op.name, &[a, w, b], move |inp, _, g| {
            let mut grads = rule(inp, g)?;
            grads.push(Some(g.sum(&[0, 2, 3], false)?));
            Ok(grads)
        }),
        None => Tensor::from_op(shape, out, op.name, &[a, w], move |inp, _, g| rule(inp, g)),
    })
}

/// z = convᵀ(gy, w), the adjoint of conv in x. It is linear in each argument:
/// <dz, convᵀ(gy, w)> = <conv(dz, w), gy> = <conv_weight_grad(dz, gy), w>.
fn conv_input_grad(gy: &Tensor, w: &Tensor, bias: Option<&Tensor>, geo: Geometry) -> Result<Tensor> {
    let (cin_g, cout_g) = (geo.c_in / geo.opts.groups, geo.c_out / geo.opts.groups);
    let (sh, sw) = geo.opts.stride;
    let class_pixels = geo.h.div_ceil(sh) * geo.w.div_ceil(sw);
    let unit_dilation = geo.opts.dilation == (1, 1);
    let fits = unit_dilation && (geo.opts.groups == 1 || cin_g.is_multiple_of(8));
    let rows = tile_rows(cin_g);
    let cpu =
        geo.cpu(gy) && unit_dilation && cout_g >= 8 && (geo.opts.groups == 1 || cin_g.is_multiple_of(rows));
    let (family, entry, grid) = if cpu {
        let g = [
            class_pixels.div_ceil(TILE_PIXELS) as u32,
            geo.c_in.div_ceil(rows) as u32,
            (geo.n * sh * sw) as u32,
        ];
        (&*CONV2D_CPU, entries(rows)[1], Some((g, 0)))
    } else if geo.blocked() && fits {
        let g = [class_pixels.div_ceil(256) as u32, geo.c_in.div_ceil(8) as u32, (geo.n * sh * sw) as u32];
        (&CONV2D, "conv2d_input_grad_blocked", Some((g, 0)))
    } else {
        (&CONV2D, "conv2d_input_grad_naive", None)
    };
    let rule = move |inp: &[Tensor], g: &Tensor| -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(conv(g, &inp[1], None, geo)?), Some(conv_weight_grad(g, &inp[0], geo)?)])
    };
    let op = Op {
        name: "conv2d_input_grad",
        public: "conv_transpose2d",
        rows_are_outputs: false,
        shape: geo.x_shape(),
    };
    run(op, (family, entry, grid), cpu, gy, w, bias, &geo, rule)
}

/// v = conv_weight_grad(x, gy), the adjoint of conv in w:
/// <dv, v> = <conv(x, dv), gy> = <x, convᵀ(gy, dv)>.
fn conv_weight_grad(x: &Tensor, gy: &Tensor, geo: Geometry) -> Result<Tensor> {
    let cout_g = geo.c_out / geo.opts.groups;
    let rows = tile_rows(cout_g);
    let cpu = geo.cpu(x) && (geo.opts.groups == 1 || cout_g.is_multiple_of(rows));
    let (shape, out) = if cpu {
        weight_grad_split_k(x, gy, &geo, WeightGradKernel::Cpu(rows))?
    } else if geo.blocked() && geo.out_rows_share_group() {
        weight_grad_split_k(x, gy, &geo, WeightGradKernel::Blocked)?
    } else {
        let (shape, out) = launch(&CONV2D, "conv2d_weight_grad_naive", x, gy, geo.w_shape(), &geo, None)?;
        (shape, Rc::new(out))
    };
    Ok(Tensor::from_op(shape, out, "conv2d_weight_grad", &[x, gy], move |inp, _, g| {
        Ok(vec![Some(conv_input_grad(&inp[1], g, None, geo)?), Some(conv(&inp[0], g, None, geo)?)])
    }))
}

/// The split-K weight-gradient kernels and their tiles.
#[derive(Clone, Copy)]
enum WeightGradKernel {
    /// `conv2d_weight_grad_blocked`: 8 output channels x 256 columns per workgroup.
    Blocked,
    /// `conv2d_cpu_weight_grad`: this many output channels x 64 columns per 8-lane
    /// workgroup.
    Cpu(usize),
}

/// The blocked weight gradient: the long sum over batch and pixels is split into chunks
/// computed side by side (enough workgroups to fill the device), then the partial weight
/// gradients are summed.
fn weight_grad_split_k(
    x: &Tensor,
    gy: &Tensor,
    geo: &Geometry,
    kernel: WeightGradKernel,
) -> Result<(Vec<usize>, Rc<crate::gpu::Storage>)> {
    // Workgroups wanted in all: a GPU wants hundreds; a CPU adapter runs one workgroup per
    // core at a time, and every split costs a partial result to add.
    let (family, entry, tile_cols, tile_rows, wanted): (&Family, _, _, _, usize) = match kernel {
        WeightGradKernel::Blocked => (&CONV2D, "conv2d_weight_grad_blocked", 256, 8, 256),
        WeightGradKernel::Cpu(rows) => (&*CONV2D_CPU_WEIGHT_GRAD, entries(rows)[2], TILE_PIXELS, rows, 16),
    };
    let cols = (geo.c_in / geo.opts.groups) * geo.kh * geo.kw;
    let tiles = cols.div_ceil(tile_cols) * geo.c_out.div_ceil(tile_rows);
    // Chunks are whole output rows, but no chunk shorter than about 64 output pixels.
    let k = geo.n * geo.ho;
    let min_rows = 64usize.div_ceil(geo.wo);
    let splits = wanted.div_ceil(tiles).clamp(1, k.div_ceil(min_rows).max(1));
    let k_chunk = k.div_ceil(splits);
    let splits = k.div_ceil(k_chunk);
    let grid = [cols.div_ceil(tile_cols) as u32, geo.c_out.div_ceil(tile_rows) as u32, splits as u32];
    let (_, partial) =
        launch(family, entry, x, gy, vec![splits, geo.c_out * cols], geo, Some((grid, k_chunk)))?;
    let shape = geo.w_shape();
    if splits == 1 {
        return Ok((shape, Rc::new(partial)));
    }
    let partial = Tensor::from_storage(x.device(), vec![splits, geo.c_out * cols], Rc::new(partial));
    let summed = crate::autograd::no_grad(|| partial.sum(&[0], false))?;
    let storage = summed.storage().clone();
    Ok((shape, storage))
}

/// Adds a per-channel bias [c] to an N-C-H-W tensor.
fn add_bias(y: Tensor, bias: Option<&Tensor>, op: &'static str) -> Result<Tensor> {
    let Some(b) = bias else { return Ok(y) };
    let c = y.shape()[1];
    check_bias(bias, c, op)?;
    y.add(&b.reshape(&[1, c, 1, 1])?)
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
