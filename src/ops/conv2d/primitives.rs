//! The three primitive ops' launchers and nodes: each picks the CPU, tiled, blocked or naive
//! kernel, runs it, and records how to differentiate itself with the other two.

use super::Geometry;
use crate::autograd::needs_grad;
use crate::error::Result;
use crate::gpu::shaders::{Family, CONV2D, CONV2D_CPU, CONV2D_CPU_WEIGHT_GRAD, CONV2D_GPU};
use crate::ops::conv2d_cpu::{entries, tile_rows, TILE_PIXELS};
use crate::ops::conv2d_gpu;
use crate::ops::conv2d_pack::pack_weight;
use crate::tensor::Tensor;
use std::rc::Rc;

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
    let params = geo.params(grid.map_or(0, |g| g.1), false);
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
pub(super) fn conv(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, geo: Geometry) -> Result<Tensor> {
    let (cin_g, cout_g) = (geo.c_in / geo.opts.groups, geo.c_out / geo.opts.groups);
    // The CPU kernel reduces 8 input channels at a time: with fewer it idles most lanes.
    let rows = tile_rows(cout_g);
    let cpu = geo.cpu(x) && cin_g >= 8 && (geo.opts.groups == 1 || cout_g.is_multiple_of(rows));
    let (family, entry, groups) = if cpu {
        let g =
            [(geo.ho * geo.wo).div_ceil(TILE_PIXELS) as u32, geo.c_out.div_ceil(rows) as u32, geo.n as u32];
        (&CONV2D_CPU, entries(rows)[0], Some((g, 0)))
    } else if geo.tiled(x) {
        let g = conv2d_gpu::forward_grid(geo.n, geo.opts.groups, cout_g, geo.ho * geo.wo);
        (&CONV2D_GPU, "conv2d_tiled", Some((g, 0)))
    } else if geo.blocked() && geo.out_rows_share_group() {
        let g = [(geo.ho * geo.wo).div_ceil(256) as u32, geo.c_out.div_ceil(8) as u32, geo.n as u32];
        (&CONV2D, "conv2d_blocked", Some((g, 0)))
    } else {
        (&CONV2D, "conv2d_naive", None)
    };
    let rule = move |inp: &[Tensor], g: &Tensor| -> Result<Vec<Option<Tensor>>> {
        let (dx, dw) = (needs_grad(0), needs_grad(1));
        Ok(vec![
            dx.then(|| conv_input_grad(g, &inp[1], None, geo)).transpose()?,
            dw.then(|| conv_weight_grad(&inp[0], g, geo)).transpose()?,
        ])
    };
    let op = Op { name: "conv2d", rows_are_outputs: true, shape: geo.y_shape() };
    run(op, (family, entry, groups), cpu, x, w, bias, &geo, rule)
}

/// What `run` needs to know of the forward or the input gradient: the node's name, which
/// weight axis the CPU kernel's rows are, and the output shape.
struct Op {
    name: &'static str,
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
        return add_bias(y, bias);
    }
    // The bias travels after the packed weight unless the two would not fit one binding
    // (StarGAN's 1024 -> 2048 4x4 conv fills lavapipe's 128 MiB alone): then it is added after.
    let [c_out, cin_g, kh, kw] = <[usize; 4]>::try_from(w.shape()).expect("a 4-D weight");
    let (groups, cout_g) = (geo.opts.groups.max(1), c_out / geo.opts.groups.max(1));
    let (rows, cols) = if op.rows_are_outputs { (cout_g, cin_g) } else { (cin_g, cout_g) };
    let packed_len = groups * kh * kw * cols * rows.next_multiple_of(4) + c_out.next_multiple_of(4);
    let fits = packed_len <= a.device().max_tensor_elements();
    let (bias, later) = if fits { (bias, None) } else { (None, bias) };
    // The same weight runs several times between optimizer steps (a discriminator on real
    // and fake images, the forward and the input gradient): it is packed once per layout.
    let tag = (geo.opts.groups as u64) << 1 | u64::from(op.rows_are_outputs);
    let packed = w.derived(tag, bias, || pack_weight(w, geo.opts.groups, op.rows_are_outputs, bias))?;
    let params = geo.params(0, bias.is_some());
    let (shape, out) = launch_with(family, entry, a, &packed, op.shape, &params, grid.map(|g| g.0))?;
    if later.is_some() {
        let y = Tensor::from_op(shape, out, op.name, &[a, w], move |inp, _, g| rule(inp, g));
        return add_bias(y, later);
    }
    Ok(match bias {
        Some(b) => Tensor::from_op(shape, out, op.name, &[a, w, b], move |inp, _, g| {
            let db = needs_grad(2);
            let mut grads = rule(inp, g)?;
            grads.push(db.then(|| g.sum(&[0, 2, 3], false)).transpose()?);
            Ok(grads)
        }),
        None => Tensor::from_op(shape, out, op.name, &[a, w], move |inp, _, g| rule(inp, g)),
    })
}

/// z = convᵀ(gy, w), the adjoint of conv in x. It is linear in each argument:
/// <dz, convᵀ(gy, w)> = <conv(dz, w), gy> = <conv_weight_grad(dz, gy), w>.
pub(super) fn conv_input_grad(
    gy: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    geo: Geometry,
) -> Result<Tensor> {
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
        (&CONV2D_CPU, entries(rows)[1], Some((g, 0)))
    } else if geo.tiled(gy) && unit_dilation {
        let g = conv2d_gpu::input_grad_grid(geo.n, geo.opts.groups, cin_g, class_pixels, sh * sw);
        (&CONV2D_GPU, "conv2d_input_grad_tiled", Some((g, 0)))
    } else if geo.blocked() && fits {
        let g = [class_pixels.div_ceil(256) as u32, geo.c_in.div_ceil(8) as u32, (geo.n * sh * sw) as u32];
        (&CONV2D, "conv2d_input_grad_blocked", Some((g, 0)))
    } else {
        (&CONV2D, "conv2d_input_grad_naive", None)
    };
    let rule = move |inp: &[Tensor], g: &Tensor| -> Result<Vec<Option<Tensor>>> {
        let (dgy, dw) = (needs_grad(0), needs_grad(1));
        Ok(vec![
            dgy.then(|| conv(g, &inp[1], None, geo)).transpose()?,
            dw.then(|| conv_weight_grad(g, &inp[0], geo)).transpose()?,
        ])
    };
    let op = Op { name: "conv2d_input_grad", rows_are_outputs: false, shape: geo.x_shape() };
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
    } else if geo.tiled(x) {
        weight_grad_split_k(x, gy, &geo, WeightGradKernel::Tiled)?
    } else if geo.blocked() && geo.out_rows_share_group() {
        weight_grad_split_k(x, gy, &geo, WeightGradKernel::Blocked)?
    } else {
        let (shape, out) = launch(&CONV2D, "conv2d_weight_grad_naive", x, gy, geo.w_shape(), &geo, None)?;
        (shape, Rc::new(out))
    };
    Ok(Tensor::from_op(shape, out, "conv2d_weight_grad", &[x, gy], move |inp, _, g| {
        let (dx, dgy) = (needs_grad(0), needs_grad(1));
        Ok(vec![
            dx.then(|| conv_input_grad(&inp[1], g, None, geo)).transpose()?,
            dgy.then(|| conv(&inp[0], g, None, geo)).transpose()?,
        ])
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
    /// `conv2d_weight_grad_tiled`: 64 output channels of one group x 64 columns.
    Tiled,
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
    // The tiled kernel's rows are the output channels of one group, its grid's z the
    // splits times the groups; the others' rows run over all output channels.
    let (rows_per_z, zs_per_split) = match kernel {
        WeightGradKernel::Tiled => (geo.c_out / geo.opts.groups, geo.opts.groups),
        _ => (geo.c_out, 1),
    };
    let (family, entry, tile_cols, tile_rows, wanted, min_pixels): (&Family, _, _, _, usize, usize) =
        match kernel {
            WeightGradKernel::Blocked => (&CONV2D, "conv2d_weight_grad_blocked", 256, 8, 256, 64),
            WeightGradKernel::Cpu(rows) => {
                (&CONV2D_CPU_WEIGHT_GRAD, entries(rows)[2], TILE_PIXELS, rows, 16, 64)
            }
            WeightGradKernel::Tiled => (
                &CONV2D_GPU,
                "conv2d_weight_grad_tiled",
                conv2d_gpu::TILE,
                conv2d_gpu::TILE,
                conv2d_gpu::WEIGHT_GRAD_WORKGROUPS,
                conv2d_gpu::MIN_SPLIT_PIXELS,
            ),
        };
    let cols = (geo.c_in / geo.opts.groups) * geo.kh * geo.kw;
    let tiles = cols.div_ceil(tile_cols) * rows_per_z.div_ceil(tile_rows) * zs_per_split;
    // Chunks are whole output rows, but no chunk shorter than about `min_pixels`.
    let k = geo.n * geo.ho;
    let min_rows = min_pixels.div_ceil(geo.wo);
    let splits = wanted.div_ceil(tiles).clamp(1, k.div_ceil(min_rows).max(1));
    let k_chunk = k.div_ceil(splits);
    let splits = k.div_ceil(k_chunk);
    let grid = [
        cols.div_ceil(tile_cols) as u32,
        rows_per_z.div_ceil(tile_rows) as u32,
        (splits * zs_per_split) as u32,
    ];
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

/// Adds a per-channel bias [c] to an N-C-H-W tensor (the public ops have checked its
/// shape: `check_bias`).
fn add_bias(y: Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let Some(b) = bias else { return Ok(y) };
    let c = y.shape()[1];
    y.add(&b.reshape(&[1, c, 1, 1])?)
}
