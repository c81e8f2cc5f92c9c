// Nearest-neighbour upsampling of the last two axes by a whole factor s, and its adjoint
// (the sum over each s x s block), each times a constant `mult` (1/s² makes the adjoint an
// s x s average pooling, and the upsampling its gradient). x and y are [planes, h, w] and
// [planes, h·s, w·s] contiguous, or the reverse for the adjoint.

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

struct Params {
    planes: u32,
    h: u32,      // the small side's size
    w: u32,
    scale: u32,
    mult: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}
@group(0) @binding(2) var<uniform> p: Params;

// The first element of the s x s block of small element e, in the large tensor. With
// e = (plane·h + iy)·w + ix, the block's first row is (plane·h + iy)·s: one division.
fn block_start(e: u32) -> u32 {
    let ix = e % p.w;
    let row = (e / p.w) * p.scale;
    return row * p.w * p.scale + ix * p.scale;
}

// y[plane, oy, ox] = mult · x[plane, oy / s, ox / s]. One invocation per element of x, writing
// its block. Dispatch ceil(planes·h·w / 256) workgroups, folded into y past 65535.
@compute @workgroup_size(256)
fn upsample_nearest(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * 256u;
    if e >= p.planes * p.h * p.w { return; }
    let v = x[e] * p.mult;
    let start = block_start(e);
    let wo = p.w * p.scale;
    for (var a = 0u; a < p.scale; a++) {
        for (var b = 0u; b < p.scale; b++) {
            y[start + a * wo + b] = v;
        }
    }
}

// The adjoint: y[plane, iy, ix] = mult · the sum of x over the block (iy·s .. +s, ix·s .. +s). One
// invocation per element of y; dispatch as above.
@compute @workgroup_size(256)
fn upsample_nearest_adjoint(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * 256u;
    if e >= p.planes * p.h * p.w { return; }
    let start = block_start(e);
    let wo = p.w * p.scale;
    var acc = 0.0;
    for (var a = 0u; a < p.scale; a++) {
        for (var b = 0u; b < p.scale; b++) {
            acc += x[start + a * wo + b];
        }
    }
    y[e] = acc * p.mult;
}
