// Fused normalisation: instance norm (one statistic per (n, c) plane) and batch norm (one
// per channel, over every image), forward and analytic backward, with the affine step and
// an optional ReLU / LeakyReLU after it in the same pass. A statistic covers `count` planes
// of hw elements: for instance norm the single plane s; for batch norm the planes c,
// c + channels, c + 2 channels, ... of channel c = s.

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
    channels: u32,      // c: the affine parameters are indexed by s % channels ...
    eps: f32,
    has_weight: u32,
    has_bias: u32,
    per_statistic: u32, // ... or by s when 1 (AdaIN's per-image scale and shift)
    activate: u32,      // 1: z > 0 ? z : slope z after the affine step (ReLU: slope 0)
    slope: f32,
    _pad0: u32,
    _pad1: u32,
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

// The activation after the affine step: z itself when off.
fn activate(z: f32) -> f32 {
    return select(z, select(z * p.slope, z, z > 0.0), p.activate != 0u);
}

// Forward: one workgroup per statistic s = workgroup index. in0 = x, in1 = weight,
// in2 = bias (in1, in2 unused when the flags are off), in3 unused. out0 = y,
// out1[4s..4s+4] = mean, 1 / sqrt(biased var + eps), and the weight and bias applied (for
// the backward). Two passes over the values (mean, then the centred sum of squares) for
// accuracy, then the apply.
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
    let c = select(s % p.channels, s, p.per_statistic != 0u);
    let w = select(1.0, in1[c], p.has_weight != 0u);
    let b = select(0.0, in2[c], p.has_bias != 0u);
    for (var k = 0u; k < p.count; k++) {
        let base = plane(s, k);
        for (var e = t; e < p.hw; e += WG) {
            let i = base + e;
            out0[i] = activate((in0[i] - mean) * rstd * w + b);
        }
    }
    if t == 0u {
        out1[4u * s] = mean;
        out1[4u * s + 1u] = rstd;
        out1[4u * s + 2u] = w;
        out1[4u * s + 3u] = b;
    }
}

// The gradient at z = xhat w + b of the activation's output gradient g: g, or g where
// z > 0 and slope g elsewhere (PyTorch's rule; z > 0 exactly where the output is).
fn through(g: f32, z: f32) -> f32 {
    return select(g, select(g * p.slope, g, z > 0.0), p.activate != 0u);
}

// Backward: one workgroup per statistic. in0 = x, in1 = dy, in2 = the forward's out1
// (mean, rstd, weight, bias), in3 unused. With xhat = (x - mean) rstd, dz = dy through the
// activation and dxhat = dz w: dx = rstd / n (n dxhat - sum dxhat - xhat sum(dxhat xhat)).
// out0 = dx, out1[4s], out1[4s+1] = sum dz, sum dz xhat (the caller folds them into the
// affine parameters' gradients). Dispatch (statistics) workgroups, folded into y past 65535.
@compute @workgroup_size(WG)
fn norm_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let s = wid.x + wid.y * nwg.x;
    let n = p.count * p.hw;
    let mean = in2[4u * s];
    let rstd = in2[4u * s + 1u];
    let w = in2[4u * s + 2u];
    let b = in2[4u * s + 3u];
    var sum_g = 0.0;
    var sum_gx = 0.0;
    for (var k = 0u; k < p.count; k++) {
        let base = plane(s, k);
        for (var e = t; e < p.hw; e += WG) {
            let i = base + e;
            let xhat = (in0[i] - mean) * rstd;
            let g = through(in1[i], xhat * w + b);
            sum_g += g;
            sum_gx += g * xhat;
        }
    }
    red_a[t] = sum_g;
    red_b[t] = sum_gx;
    let sums = tree(t);
    let k = rstd / f32(n);
    for (var q = 0u; q < p.count; q++) {
        let base = plane(s, q);
        for (var e = t; e < p.hw; e += WG) {
            let i = base + e;
            let xhat = (in0[i] - mean) * rstd;
            let g = through(in1[i], xhat * w + b);
            out0[i] = k * w * (f32(n) * g - sums.x - xhat * sums.y);
        }
    }
    if t == 0u {
        out1[4u * s] = sums.x;
        out1[4u * s + 1u] = sums.y;
    }
}
