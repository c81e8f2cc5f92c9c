// Spectral normalisation (src/ops/spectral.rs): one power-iteration step, σ = uᵀ W v and
// W / σ in three dispatches, and the gradient of W / σ in two. The weight is read in place as the
// matrix M [rows, cols] whose rows are its output axis: axis 0 (a convolution), or axis 1
// (a transposed convolution, [a, rows, taps] with columns (a, tap)).

@group(0) @binding(0) var<storage, read> m: array<f32>;    // the weight, or its gradient
@group(0) @binding(1) var<storage, read> va: array<f32>;   // per entry, below
@group(0) @binding(2) var<storage, read> vb: array<f32>;
@group(0) @binding(3) var<storage, read> vc: array<f32>;
@group(0) @binding(4) var<storage, read_write> out0: array<f32>;
@group(0) @binding(5) var<storage, read_write> out1: array<f32>;

struct Params {
    rows: u32,
    cols: u32,
    taps: u32,      // with axis1: the taps of one (a, row) pair
    axis1: u32,     // 1 when the rows are the weight's axis 1
    eps: f32,
    update: u32,    // 1 in training: normalise t and replace u; 0: use v and u as stored
    chunk: u32,     // the gradient: elements per partial sum of g · W
    parts: u32,     // and the number of partial sums
}
@group(0) @binding(6) var<uniform> p: Params;

// WG, red_a, red_b and tree(): shaders/workgroup_tree.wgsl, which the registry puts first.

// The index of M[r, c] in the weight.
fn at(r: u32, c: u32) -> u32 {
    if p.axis1 == 0u { return r * p.cols + c; }
    return (c / p.taps * p.rows + r) * p.taps + c % p.taps;
}

// va = u: out0 = t = Mᵀu. One invocation per column; dispatch ceil(cols / 256), folded.
@compute @workgroup_size(256)
fn sn_mtu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = gid.x + gid.y * nwg.x * 256u;
    if c >= p.cols { return; }
    var acc = 0.0;
    for (var r = 0u; r < p.rows; r++) {
        acc += m[at(r, c)] * va[r];
    }
    out0[c] = acc;
}

// va = t (update) or v: v = t / max(|t|, eps) when updating, else v as given; out0[r] =
// (M v)[r], and workgroup 0 writes v to out1. One workgroup per row; dispatch rows,
// folded into y past 65535.
@compute @workgroup_size(WG)
fn sn_mv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let r = wid.x + wid.y * nwg.x;
    var dot = 0.0;
    var sq = 0.0;
    for (var c = t; c < p.cols; c += WG) {
        let x = va[c];
        dot += m[at(min(r, p.rows - 1u), c)] * x;
        sq += x * x;
    }
    red_a[t] = dot;
    red_b[t] = sq;
    let sums = tree(t);
    let scale = select(1.0, 1.0 / max(sqrt(sums.y), p.eps), p.update != 0u);
    if r >= p.rows { return; }
    if t == 0u {
        out0[r] = sums.x * scale;
    }
    if r == 0u {
        for (var c = t; c < p.cols; c += WG) {
            out1[c] = va[c] * scale;
        }
    }
}

// Elements of the weight per workgroup of sn_divide: each workgroup first finds σ from
// the rows' values (a few hundred), so a chunk this long keeps that re-reading small.
const CHUNK: u32 = 4096u;

// va = s = M v, vb = u as stored, m = the weight: out0 = W / σ with σ = u' · s, where u' =
// s / max(|s|, eps) when updating and the stored u otherwise. Every workgroup computes σ
// itself rather than waiting on a dispatch of its own; workgroup 0 writes u' to out1[0 ..
// rows) and σ to out1[rows]. Dispatch ceil(rows * cols / CHUNK) workgroups, folded.
@compute @workgroup_size(WG)
fn sn_divide(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    var sq = 0.0;
    var dot = 0.0;
    for (var r = t; r < p.rows; r += WG) {
        sq += va[r] * va[r];
        dot += vb[r] * va[r];
    }
    red_a[t] = sq;
    red_b[t] = dot;
    let sums = tree(t);
    let inv = 1.0 / max(sqrt(sums.x), p.eps);
    var sigma = sums.y;
    if p.update != 0u {
        // σ = u' · s summed as PyTorch forms it (u' first), not as |s|: the same value
        // rounded alike, which multi-step parity with PyTorch needs.
        var acc = 0.0;
        for (var r = t; r < p.rows; r += WG) {
            acc += va[r] * inv * va[r];
        }
        red_a[t] = acc;
        red_b[t] = 0.0;
        sigma = tree(t).x;
    }
    let group = wid.x + wid.y * nwg.x;
    let end = min((group + 1u) * CHUNK, p.rows * p.cols);
    for (var i = group * CHUNK + t; i < end; i += WG) {
        out0[i] = m[i] / sigma;
    }
    if group == 0u {
        for (var r = t; r < p.rows; r += WG) {
            out1[r] = select(vb[r], va[r] * inv, p.update != 0u);
        }
        if t == 0u { out1[p.rows] = sigma; }
    }
}

// The gradient of W / σ, part one: m = g, va = W: out0[k] = Σ g W over elements [k chunk,
// (k + 1) chunk). Dispatch `parts` workgroups.
@compute @workgroup_size(WG)
fn sn_grad_dot(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let end = min((wid.x + 1u) * p.chunk, p.rows * p.cols);
    var dot = 0.0;
    for (var i = wid.x * p.chunk + t; i < end; i += WG) {
        dot += m[i] * va[i];
    }
    red_a[t] = dot;
    red_b[t] = 0.0;
    let total = tree(t);
    if t == 0u { out0[wid.x] = total.x; }
}

// Part two, one workgroup per row of M: m = g, va = sn_divide's out1 (u, then σ at rows),
// vb = v, vc = part one's partial sums: out0 = g / σ − (Σ g W / σ²) u vᵀ, in the weight's
// layout. Dispatch rows workgroups, folded into y past 65535.
@compute @workgroup_size(WG)
fn sn_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let r = wid.x + wid.y * nwg.x;
    if r >= p.rows { return; }
    var dot = 0.0;
    for (var k = 0u; k < p.parts; k++) { dot += vc[k]; }
    let inv = 1.0 / va[p.rows];
    let ku = dot * inv * inv * va[r];
    for (var c = t; c < p.cols; c += WG) {
        let i = at(r, c);
        out0[i] = m[i] * inv - ku * vb[c];
    }
}
