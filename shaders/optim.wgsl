// Fused optimizer updates, in place: one invocation per parameter element reads its
// gradient and rewrites the parameter and up to two state tensors. The formulas follow
// PyTorch's single-tensor implementations operation for operation.

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> state1: array<f32>;  // Adam m / SGD momentum buffer
@group(0) @binding(3) var<storage, read_write> state2: array<f32>;  // Adam v / unused

struct Params {
    n: u32,
    lr: f32,
    beta1: f32,          // Adam beta1 / SGD momentum
    beta2: f32,          // Adam beta2 / SGD dampening
    eps: f32,
    weight_decay: f32,
    step_size: f32,      // Adam: lr / (1 - beta1^t)
    bias2_sqrt: f32,     // Adam: sqrt(1 - beta2^t)
    flags: u32,          // SGD: bit 0 first step (buffer = gradient), bit 1 nesterov
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}
@group(0) @binding(4) var<uniform> p: Params;

// Adam (not AdamW: weight decay is added to the gradient).
//   g = grad + wd p;  m = lerp(m, g, 1 - beta1);  v = beta2 v + (1 - beta2) g^2
//   p -= step_size * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
@compute @workgroup_size(256)
fn adam_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n { return; }
    var g = grad[i];
    if p.weight_decay != 0.0 { g += p.weight_decay * param[i]; }
    let m = state1[i] + (1.0 - p.beta1) * (g - state1[i]);
    let v = state2[i] * p.beta2 + (1.0 - p.beta2) * g * g;
    state1[i] = m;
    state2[i] = v;
    param[i] -= p.step_size * (m / (sqrt(v) / p.bias2_sqrt + p.eps));
}

// The same bindings seen as vec4s, for adam_step4 alone (the WGSL rule is one variable per
// binding in each entry point, not in the module).
@group(0) @binding(0) var<storage, read> grad4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> param4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> state14: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> state24: array<vec4<f32>>;

// adam_step on four elements per invocation when n % 4 == 0, with the same operations per
// element: one load or store per tensor per four elements. Dispatch ceil(n / 4 / 256).
@compute @workgroup_size(256)
fn adam_step4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n / 4u { return; }
    var g = grad4[i];
    if p.weight_decay != 0.0 { g += p.weight_decay * param4[i]; }
    let m0 = state14[i];
    let m = m0 + (1.0 - p.beta1) * (g - m0);
    let v = state24[i] * p.beta2 + (1.0 - p.beta2) * g * g;
    state14[i] = m;
    state24[i] = v;
    param4[i] -= p.step_size * (m / (sqrt(v) / p.bias2_sqrt + p.eps));
}

// SGD with momentum, dampening and Nesterov as torch.optim.SGD.
@compute @workgroup_size(256)
fn sgd_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n { return; }
    var d = grad[i];
    if p.weight_decay != 0.0 { d += p.weight_decay * param[i]; }
    if p.beta1 != 0.0 {
        var buf = d;
        if (p.flags & 1u) == 0u { buf = state1[i] * p.beta1 + (1.0 - p.beta2) * d; }
        state1[i] = buf;
        if (p.flags & 2u) != 0u { d = d + p.beta1 * buf; } else { d = buf; }
    }
    param[i] -= p.lr * d;
}

// The exponential moving average of a parameter, in place on the average: `param` is
// the average θ_ema and `grad` the live parameter θ (state1 and state2 are unused).
//   θ_ema = lerp(θ, θ_ema, beta1) = θ + beta1 (θ_ema − θ), as StarGAN v2 writes it
@compute @workgroup_size(256)
fn ema_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n { return; }
    let live = grad[i];
    param[i] = live + p.beta1 * (param[i] - live);
}
