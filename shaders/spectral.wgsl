// Spectral normalisation (src/ops/spectral.rs): one power-iteration step and σ = uᵀ W v in
// three dispatches, and the gradient of W / σ in two. The weight is read in place as the
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
    _pad0: u32,
    _pad1: u32,
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

// va = s = M v, vb = u as stored: updating, u = s / max(|s|, eps) goes to out0, else u is
// the stored one; out1[0] = σ = u · s. One workgroup.
@compute @workgroup_size(WG)
fn sn_sigma(@builtin(local_invocation_index) t: u32) {
    var sq = 0.0;
    var dot = 0.0;
    for (var r = t; r < p.rows; r += WG) {
        sq += va[r] * va[r];
        dot += vb[r] * va[r];
    }
    red_a[t] = sq;
    red_b[t] = dot;
    let sums = tree(t);
    if p.update == 0u {
        if t == 0u { out1[0] = sums.y; }
        return;
    }
    let inv = 1.0 / max(sqrt(sums.x), p.eps);
    var sigma = 0.0;
    for (var r = t; r < p.rows; r += WG) {
        let u = va[r] * inv;
        out0[r] = u;
        sigma += u * va[r];
    }
    red_a[t] = sigma;
    red_b[t] = 0.0;
    let total = tree(t);
    if t == 0u { out1[0] = total.x; }
}

// The gradient of W / σ, part one: m = g, va = W, vb = σ: out0 = [1 / σ, Σ g W / σ²].
// One workgroup.
@compute @workgroup_size(WG)
fn sn_grad_scale(@builtin(local_invocation_index) t: u32) {
    var dot = 0.0;
    let n = p.rows * p.cols;
    for (var i = t; i < n; i += WG) {
        dot += m[i] * va[i];
    }
    red_a[t] = dot;
    red_b[t] = 0.0;
    let total = tree(t);
    if t == 0u {
        let inv = 1.0 / vb[0];
        out0[0] = inv;
        out0[1] = total.x * inv * inv;
    }
}

// Part two, per element of the weight: m = g, va = u, vb = v, vc = part one's out0:
// out0 = g / σ − (Σ g W / σ²) u vᵀ, in the weight's layout. One invocation per element;
// dispatch ceil(rows * cols / 256), folded.
@compute @workgroup_size(256)
fn sn_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.rows * p.cols { return; }
    var r = i / p.cols;
    var c = i % p.cols;
    if p.axis1 != 0u {
        // i = (a * rows + r) * taps + tap, column a * taps + tap.
        r = i / p.taps % p.rows;
        c = i / (p.taps * p.rows) * p.taps + i % p.taps;
    }
    out0[i] = m[i] * vc[0] - vc[1] * va[r] * vb[c];
}
