// Fill kernels: constant values and arithmetic ranges. No inputs.

@group(0) @binding(0) var<storage, read_write> y: array<f32>;

struct Params {
    n: u32,       // elements to write
    a: f32,       // the constant, or the range's start
    b: f32,       // the range's step
    _pad: u32,
}
@group(0) @binding(1) var<uniform> p: Params;

// One invocation per element; dispatch ceil(n / 256) workgroups, folded into y past 65535.
@compute @workgroup_size(256)
fn fill_const(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n { return; }
    y[i] = p.a;
}

// One invocation per element: y[i] = a + i * b.
@compute @workgroup_size(256)
fn fill_arange(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n { return; }
    y[i] = p.a + f32(i) * p.b;
}
