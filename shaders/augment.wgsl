// DiffAugment's geometric ops on N×C×H×W images, each with its own parameters per sample.
// Per-sample parameters are whole numbers stored as f32 (exact below 2^24).

@group(0) @binding(0) var<storage, read> x: array<f32>;
// translate: (tx, ty) per sample, 2 values each.
// cutout: the zeroed rows [r0, r1) and columns [c0, c1) per sample, 4 values each.
@group(0) @binding(1) var<storage, read> prm: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

struct Params {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
}
@group(0) @binding(3) var<uniform> p: Params;

// y[n, c, i, j] = x[n, c, i + tx_n, j + ty_n] where that pixel is inside the image, else 0
// (tx moves along H, ty along W). Negated shifts give the adjoint. One invocation per
// element of y (n·c·h·w), linear dispatch.
@compute @workgroup_size(256)
fn translate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * 256u;
    if e >= p.n * p.c * p.h * p.w { return; }
    let j = e % p.w;
    let i = (e / p.w) % p.h;
    let plane = e / (p.w * p.h);
    let sample = plane / p.c;
    let si = i32(i) + i32(prm[2u * sample]);
    let sj = i32(j) + i32(prm[2u * sample + 1u]);
    if si < 0 || si >= i32(p.h) || sj < 0 || sj >= i32(p.w) {
        y[e] = 0.0;
    } else {
        y[e] = x[(plane * p.h + u32(si)) * p.w + u32(sj)];
    }
}

// y = x with the rectangle rows [r0, r1) × columns [c0, c1) of sample n set to 0 in every
// channel. Self-adjoint (a 0/1 mask). One invocation per element of y (n·c·h·w), linear
// dispatch.
@compute @workgroup_size(256)
fn cutout(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * 256u;
    if e >= p.n * p.c * p.h * p.w { return; }
    let j = e % p.w;
    let i = (e / p.w) % p.h;
    let sample = e / (p.w * p.h * p.c);
    let r0 = u32(prm[4u * sample]);
    let r1 = u32(prm[4u * sample + 1u]);
    let c0 = u32(prm[4u * sample + 2u]);
    let c1 = u32(prm[4u * sample + 3u]);
    if i >= r0 && i < r1 && j >= c0 && j < c1 {
        y[e] = 0.0;
    } else {
        y[e] = x[e];
    }
}
