// where(cond, a, b) with NumPy broadcasting of all three operands.

@group(0) @binding(0) var<storage, read> cond: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

struct Params {
    n: u32,                 // output elements
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    shape: vec4<u32>,       // output shape, padded to rank 4
    c_strides: vec4<u32>,   // broadcast strides of each operand
    a_strides: vec4<u32>,
    b_strides: vec4<u32>,
}
@group(0) @binding(4) var<uniform> p: Params;

// One invocation per output element: y = cond != 0 ? a : b.
@compute @workgroup_size(256)
fn select_where(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n { return; }
    var rest = i;
    var ic = 0u;
    var ia = 0u;
    var ib = 0u;
    for (var d = 3; d >= 0; d--) {
        let c = rest % p.shape[d];
        rest = rest / p.shape[d];
        ic += c * p.c_strides[d];
        ia += c * p.a_strides[d];
        ib += c * p.b_strides[d];
    }
    y[i] = select(b[ib], a[ia], cond[ic] != 0.0);
}
