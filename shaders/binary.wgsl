// Elementwise maps of two tensors with NumPy broadcasting. OP picks the function. OPs 11
// and up are the gradients of `ops::unary` maps in one pass, u the output gradient and v the
// map's input (or output, for tanh and sigmoid), with scalars s0 and s1.

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

struct Params {
    n: u32,              // output elements
    s0: f32,             // the unary gradients' scalars: slope, or low and high bounds
    s1: f32,
    _pad: u32,
    shape: vec4<u32>,    // output shape, padded on the left to rank 4
    a_strides: vec4<u32>,// a's strides in the output's index space (0 where broadcast)
    b_strides: vec4<u32>,
}
@group(0) @binding(3) var<uniform> p: Params;

// Keep in step with `ops::binary::BinaryOp`.
override OP: u32 = 0u;

fn apply(u: f32, v: f32) -> f32 {
    switch OP {
        case 0u: { return u + v; }
        case 1u: { return u - v; }
        case 2u: { return u * v; }
        case 3u: { return u / v; }
        case 4u: { return max(u, v); }
        case 5u: { return min(u, v); }
        case 6u: { return select(0.0, 1.0, u > v); }
        case 7u: { return select(0.0, 1.0, u < v); }
        case 8u: { return select(0.0, 1.0, u >= v); }
        case 9u: { return select(0.0, 1.0, u <= v); }
        case 10u: { return select(0.0, 1.0, u == v); }
        case 11u: { return select(0.0, u, v > 0.0); }                         // relu
        case 12u: { return u * select(p.s0, 1.0, v > 0.0); }                  // leaky_relu
        case 13u: { return u * (1.0 - v * v); }                               // tanh, v = y
        case 14u: { return u * (v * (1.0 - v)); }                             // sigmoid, v = y
        case 15u: { return u * sign(v); }                                     // abs
        case 16u: { return select(0.0, u, v >= p.s0 && v <= p.s1); }          // clamp
        default: { return u; }
    }
}

// One invocation per output element, same shapes (no index arithmetic).
@compute @workgroup_size(256)
fn binary_flat(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n { return; }
    y[i] = apply(a[i], b[i]);
}

// The same bindings seen as vec4s, for binary_flat4 alone (the WGSL rule is one variable
// per binding in each entry point, not in the module).
@group(0) @binding(0) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4<f32>>;

// binary_flat four elements at a time, when n % 4 == 0: one load per operand and one store
// per four elements (lavapipe pays per load, not per byte). Dispatch ceil(n / 4 / 256).
@compute @workgroup_size(256)
fn binary_flat4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n / 4u { return; }
    let u = a4[i];
    let v = b4[i];
    y4[i] = vec4<f32>(apply(u.x, v.x), apply(u.y, v.y), apply(u.z, v.z), apply(u.w, v.w));
}

// One invocation per output element; each operand is read through its broadcast strides.
@compute @workgroup_size(256)
fn binary_broadcast(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n { return; }
    var rest = i;
    var ia = 0u;
    var ib = 0u;
    for (var d = 3; d >= 0; d--) {
        let c = rest % p.shape[d];
        rest = rest / p.shape[d];
        ia += c * p.a_strides[d];
        ib += c * p.b_strides[d];
    }
    y[i] = apply(a[ia], b[ib]);
}

// The broadcast map over a grid without index division: the operands' shape collapsed to at
// most three axes [s0, s1, s2] (shape.y, shape.z, shape.w; shape.x = 1), the innermost
// spread over x and the others taken from the workgroup's y and z. Dispatch
// (ceil(s2 / 256), s1, s0).
@compute @workgroup_size(256)
fn binary_grid(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let k = gid.x;
    if k >= p.shape.w { return; }
    let i = wid.z;
    let j = wid.y;
    let o = (i * p.shape.z + j) * p.shape.w + k;
    let ia = i * p.a_strides.y + j * p.a_strides.z + k * p.a_strides.w;
    let ib = i * p.b_strides.y + j * p.b_strides.z + k * p.b_strides.w;
    y[o] = apply(a[ia], b[ib]);
}

// binary_grid four elements at a time, when the innermost axis s2 divides by 4 and each
// operand either steps through it with stride 1 from a multiple of 4 (its other strides
// multiples of 4) or is broadcast along it (stride 0: one value, splat). Only the vec4
// views are read. Dispatch (ceil(s2 / 4 / 256), s1, s0).
@compute @workgroup_size(256)
fn binary_grid4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let k4 = gid.x;
    if k4 >= p.shape.w / 4u { return; }
    let i = wid.z;
    let j = wid.y;
    let ia = i * p.a_strides.y + j * p.a_strides.z;
    let ib = i * p.b_strides.y + j * p.b_strides.z;
    var u = vec4<f32>(a4[ia / 4u][ia % 4u]);
    if p.a_strides.w != 0u { u = a4[ia / 4u + k4]; }
    var v = vec4<f32>(b4[ib / 4u][ib % 4u]);
    if p.b_strides.w != 0u { v = b4[ib / 4u + k4]; }
    y4[((i * p.shape.z + j) * p.shape.w) / 4u + k4] =
        vec4<f32>(apply(u.x, v.x), apply(u.y, v.y), apply(u.z, v.z), apply(u.w, v.w));
}
