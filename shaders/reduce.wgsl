// Reductions along one axis. The input is viewed as [outer, r, inner] and reduced over r,
// giving [outer, inner]; the result is multiplied by `scale` (1/r gives a mean).

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

struct Params {
    outer: u32,
    r: u32,       // length of the reduced axis
    inner: u32,
    scale: f32,
}
@group(0) @binding(2) var<uniform> p: Params;

// Keep in step with `ops::reduce::ReduceOp`: 0 sum, 1 max.
override OP: u32 = 0u;

fn identity() -> f32 {
    if OP == 1u { return bitcast<f32>(0xff800000u); }
    return 0.0;
}

fn combine(acc: f32, v: f32) -> f32 {
    if OP == 1u { return max(acc, v); }
    return acc + v;
}

// One invocation per output element, looping over r. Used when there are many outputs.
// Dispatch ceil(outer * inner / 256) workgroups, folded into y past 65535.
@compute @workgroup_size(256)
fn reduce_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = gid.x + gid.y * nwg.x * 256u;
    if o >= p.outer * p.inner { return; }
    let base = (o / p.inner) * p.r * p.inner + o % p.inner;
    var acc = identity();
    for (var k = 0u; k < p.r; k++) {
        acc = combine(acc, x[base + k * p.inner]);
    }
    y[o] = acc * p.scale;
}

// Invocations per workgroup of the two workgroup reductions, a power of two up to 256:
// 256 with the GPU kernels; 16 on CPU adapters (lavapipe), where every barrier of the tree
// costs a pass over the workgroup's subgroups (Device::tree_width).
override WG: u32 = 256u;

var<workgroup> partial: array<f32, 256>;

// Combines every invocation's `acc` into partial[0] (a tree in workgroup memory).
fn combine_workgroup(t: u32, acc: f32) {
    partial[t] = acc;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half >>= 1u) {
        if t < half {
            partial[t] = combine(partial[t], partial[t + half]);
        }
        workgroupBarrier();
    }
}

// One workgroup of WG per output element: strided partial results, then a tree in
// workgroup memory. Used when outputs are few and r is long. Dispatch outer * inner
// workgroups, folded into y past 65535.
@compute @workgroup_size(WG)
fn reduce_workgroup(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let o = wid.x + wid.y * nwg.x;
    let in_range = o < p.outer * p.inner;
    var acc = identity();
    if in_range {
        let base = (o / p.inner) * p.r * p.inner + o % p.inner;
        for (var k = t; k < p.r; k += WG) {
            acc = combine(acc, x[base + k * p.inner]);
        }
    }
    combine_workgroup(t, acc);
    if in_range && t == 0u {
        y[o] = partial[0] * p.scale;
    }
}

// Reduces axes 0 and 2 of [outer, r, inner] (Params reused: outer, r = the kept axis,
// inner): y[b] = scale * sum over a and c of x[a, b, c], as a bias's gradient sums over
// images and pixels. One workgroup of WG per kept index, walking each image's contiguous
// run with no index division; then the tree. Dispatch r workgroups, folded into y past 65535.
@compute @workgroup_size(WG)
fn reduce_outer_inner(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let b = wid.x + wid.y * nwg.x;
    let in_range = b < p.r;
    var acc = identity();
    if in_range {
        for (var a = 0u; a < p.outer; a++) {
            let base = (a * p.r + b) * p.inner;
            for (var c = t; c < p.inner; c += WG) {
                acc = combine(acc, x[base + c]);
            }
        }
    }
    combine_workgroup(t, acc);
    if in_range && t == 0u {
        y[b] = partial[0] * p.scale;
    }
}
