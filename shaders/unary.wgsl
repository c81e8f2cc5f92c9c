// Elementwise maps of one tensor. The pipeline-overridable constant OP picks the function,
// so each op compiles to its own branch-free pipeline.

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

struct Params {
    n: u32,   // elements
    a: f32,   // first scalar argument (exponent, slope, low bound, scale)
    b: f32,   // second scalar argument (high bound, shift)
    _pad: u32,
}
@group(0) @binding(2) var<uniform> p: Params;

// Keep in step with `ops::unary::UnaryOp`.
override OP: u32 = 0u;

// x^e with PyTorch's conventions: exact small integer powers, signs for negative bases with
// integer exponents, NaN for negative bases with fractional exponents.
fn power(v: f32, e: f32) -> f32 {
    if e == 0.0 { return 1.0; }
    if e == 1.0 { return v; }
    if e == 2.0 { return v * v; }
    if e == 3.0 { return v * v * v; }
    if e == 0.5 { return sqrt(v); }
    if e == -1.0 { return 1.0 / v; }
    if v == 0.0 { return select(bitcast<f32>(0x7f800000u), 0.0, e > 0.0); }
    let m = pow(abs(v), e);
    if v > 0.0 { return m; }
    if floor(e) != e { return bitcast<f32>(0x7fc00000u); }
    let odd = (abs(e) % 2.0) == 1.0;
    return select(m, -m, odd);
}

// Tanh without overflow for large |v|.
fn stable_tanh(v: f32) -> f32 {
    let e = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - e) / (1.0 + e);
}

fn stable_sigmoid(v: f32) -> f32 {
    if v >= 0.0 { return 1.0 / (1.0 + exp(-v)); }
    let e = exp(v);
    return e / (1.0 + e);
}

fn apply(v: f32) -> f32 {
    switch OP {
        case 0u: { return -v; }
        case 1u: { return abs(v); }
        case 2u: { return exp(v); }
        case 3u: { return log(v); }
        case 4u: { return sqrt(v); }
        case 5u: { return inverseSqrt(v); }
        case 6u: { return power(v, p.a); }
        case 7u: { return max(v, 0.0); }
        case 8u: { return select(v * p.a, v, v > 0.0); }
        case 9u: { return stable_sigmoid(v); }
        case 10u: { return stable_tanh(v); }
        case 11u: { return clamp(v, p.a, p.b); }
        case 12u: { return sign(v); }
        case 13u: { return select(0.0, 1.0, v > 0.0); }
        case 14u: { return select(p.a, 1.0, v > 0.0); }
        case 15u: { return select(0.0, 1.0, v >= p.a && v <= p.b); }
        case 16u: { return v * p.a + p.b; }
        default: { return v; }
    }
}

// One invocation per element; dispatch ceil(n / 256) workgroups, folded into y past 65535.
@compute @workgroup_size(256)
fn unary_map(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n { return; }
    y[i] = apply(x[i]);
}

// The same bindings seen as vec4s, for unary_map4 alone (the WGSL rule is one variable per
// binding in each entry point, not in the module).
@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y4: array<vec4<f32>>;

// unary_map four elements at a time, when n % 4 == 0: one load and one store per four
// elements (lavapipe pays per load, not per byte). Dispatch ceil(n / 4 / 256).
@compute @workgroup_size(256)
fn unary_map4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n / 4u { return; }
    let v = x4[i];
    y4[i] = vec4<f32>(apply(v.x), apply(v.y), apply(v.z), apply(v.w));
}
