// Fused normalisation: instance norm (one statistic per (n, c) plane) and batch norm (one
// per channel, over every image), forward and analytic backward. A statistic covers
// `count` planes of hw elements: for instance norm the single plane s; for batch norm the
// planes c, c + channels, c + 2 channels, ... of channel c = s.

@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<f32>;
@group(0) @binding(2) var<storage, read> in2: array<f32>;
@group(0) @binding(3) var<storage, read> in3: array<f32>;
@group(0) @binding(4) var<storage, read_write> out0: array<f32>;
@group(0) @binding(5) var<storage, read_write> out1: array<f32>;

struct Params {
    count: u32,         // planes per statistic: 1 for instance norm, n for batch norm
    plane_stride: u32,  // planes between those of one statistic: 0 (unused) or channels
    hw: u32,            // elements per plane
    channels: u32,      // c: the affine parameters are indexed by s % channels
    eps: f32,
    has_weight: u32,
    has_bias: u32,
    _pad: u32,
}
@group(0) @binding(6) var<uniform> p: Params;

// WG, red_a, red_b and tree(): shaders/workgroup_tree.wgsl, which the registry puts first.

// The first element of plane k (0 <= k < count) of statistic s. The loops below walk
// planes and then elements within a plane, so no element's index needs a division (which
// CPU adapters emulate lane by lane).
fn plane(s: u32, k: u32) -> u32 {
    let first = select(s, (s / p.channels) * p.channels * p.count + s % p.channels, p.plane_stride > 0u);
    return (first + k * p.plane_stride) * p.hw;
}

// Forward: one workgroup per statistic s = workgroup index. in0 = x, in1 = weight,
// in2 = bias (in1, in2 unused when the flags are off), in3 unused. out0 = y,
// out1[2s], out1[2s+1] = mean, 1 / sqrt(biased var + eps). Two passes over the values
// (mean, then the centred sum of squares) for accuracy, then the apply.
// Dispatch (statistics) workgroups, folded into y past 65535.
@compute @workgroup_size(WG)
fn norm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let s = wid.x + wid.y * nwg.x;
    let n = p.count * p.hw;
    var acc = 0.0;
    for (var k = 0u; k < p.count; k++) {
        let base = plane(s, k);
        for (var e = t; e < p.hw; e += WG) { acc += in0[base + e]; }
    }
    red_a[t] = acc;
    red_b[t] = 0.0;
    let mean = tree(t).x / f32(n);
    acc = 0.0;
    for (var k = 0u; k < p.count; k++) {
        let base = plane(s, k);
        for (var e = t; e < p.hw; e += WG) {
            let d = in0[base + e] - mean;
            acc += d * d;
        }
    }
    red_a[t] = acc;
    red_b[t] = 0.0;
    let rstd = inverseSqrt(tree(t).x / f32(n) + p.eps);
    let c = s % p.channels;
    let w = select(1.0, in1[c], p.has_weight != 0u);
    let b = select(0.0, in2[c], p.has_bias != 0u);
    for (var k = 0u; k < p.count; k++) {
        let base = plane(s, k);
        for (var e = t; e < p.hw; e += WG) {
            let i = base + e;
            out0[i] = (in0[i] - mean) * rstd * w + b;
        }
    }
    if t == 0u {
        out1[2u * s] = mean;
        out1[2u * s + 1u] = rstd;
    }
}

// Backward: one workgroup per statistic. in0 = x, in1 = dy, in2 = the forward's out1
// (mean, rstd), in3 = weight (unused when has_weight is 0). With xhat = (x - mean) rstd and
// dxhat = dy w: dx = rstd / n (n dxhat - sum dxhat - xhat sum(dxhat xhat)). out0 = dx,
// out1[2s], out1[2s+1] = sum dy, sum dy xhat (the caller folds them into the affine
// parameters' gradients). Dispatch (statistics) workgroups, folded into y past 65535.
@compute @workgroup_size(WG)
fn norm_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let s = wid.x + wid.y * nwg.x;
    let n = p.count * p.hw;
    let mean = in2[2u * s];
    let rstd = in2[2u * s + 1u];
    var sum_g = 0.0;
    var sum_gx = 0.0;
    for (var k = 0u; k < p.count; k++) {
        let base = plane(s, k);
        for (var e = t; e < p.hw; e += WG) {
            let i = base + e;
            let g = in1[i];
            sum_g += g;
            sum_gx += g * (in0[i] - mean) * rstd;
        }
    }
    red_a[t] = sum_g;
    red_b[t] = sum_gx;
    let sums = tree(t);
    let w = select(1.0, in3[s % p.channels], p.has_weight != 0u);
    let k = rstd / f32(n);
    for (var q = 0u; q < p.count; q++) {
        let base = plane(s, q);
        for (var e = t; e < p.hw; e += WG) {
            let i = base + e;
            let xhat = (in0[i] - mean) * rstd;
            out0[i] = k * w * (f32(n) * in1[i] - sums.x - xhat * sums.y);
        }
    }
    if t == 0u {
        out1[2u * s] = sums.x;
        out1[2u * s + 1u] = sums.y;
    }
}
