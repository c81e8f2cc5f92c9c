// Gated linear unit along one axis: x viewed as [outer, 2, half, inner] (the axis split in
// two halves a and b), y = a · sigmoid(b) as [outer, half, inner], and its gradient in one
// pass. in1 is the output gradient (the forward binds x there too, unread).

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

struct Params {
    n: u32,     // invocations: the elements of y
    block: u32, // half * inner: the elements of one half per outer index
    _pad0: u32,
    _pad1: u32,
}
@group(0) @binding(3) var<uniform> p: Params;

fn sigmoid(v: f32) -> f32 {
    if v >= 0.0 { return 1.0 / (1.0 + exp(-v)); }
    let e = exp(v);
    return e / (1.0 + e);
}

// One invocation per element of y; dispatch ceil(n / 256), folded past 65535.
@compute @workgroup_size(256)
fn glu_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n { return; }
    let a = i / p.block * 2u * p.block + i % p.block;
    y[i] = x[a] * sigmoid(x[a + p.block]);
}

// One invocation per element of y, writing both of its halves' gradients: ga = g · s and
// gb = g · a · s (1 − s), s = sigmoid(b), from one load of a, b and g and one sigmoid.
// Dispatch ceil(n / 256), folded past 65535.
@compute @workgroup_size(256)
fn glu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n { return; }
    let ia = i / p.block * 2u * p.block + i % p.block;
    let a = x[ia];
    let s = sigmoid(x[ia + p.block]);
    let gy = g[i];
    y[ia] = gy * s;
    y[ia + p.block] = gy * a * s * (1.0 - s);
}
