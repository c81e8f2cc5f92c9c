// 2-D convolution (cross-correlation, as PyTorch) and its two adjoints.
//
//   forward:      y[n, co, oy, ox] = sum_{ci in group(co), ky, kx} x[n, ci, iy, ix] w[co, ci', ky, kx]
//                 with iy = oy*stride - pad + ky*dilation (likewise ix); zero outside x.
//   input_grad:   the adjoint in x (a transposed convolution): gx = sum over the (co, ky, kx)
//                 whose tap lands on (iy, ix) of gy * w.
//   weight_grad:  the adjoint in w: gw[co, ci', ky, kx] = sum_{n, oy, ox} gy * x.
//
// Every entry point reads two inputs and writes one output, all N-C-H-W contiguous; the
// shapes always describe the forward convolution (x: [n, c_in, h, w], w: [c_out, c_in /
// groups, kh, kw], y: [n, c_out, ho, wo]).

@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

struct Params {
    n: u32, c_in: u32, h: u32, w: u32,
    c_out: u32, ho: u32, wo: u32, groups: u32,
    kh: u32, kw: u32, stride_h: u32, stride_w: u32,
    pad_h: u32, pad_w: u32, dil_h: u32, dil_w: u32,
}
@group(0) @binding(3) var<uniform> p: Params;

fn linear(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 256u;
}

// The simple forward: one invocation per element of y; in0 = x, in1 = w.
@compute @workgroup_size(256)
fn conv2d_naive(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = linear(gid, nwg);
    if e >= p.n * p.c_out * p.ho * p.wo { return; }
    let ox = e % p.wo;
    let oy = (e / p.wo) % p.ho;
    let co = (e / (p.wo * p.ho)) % p.c_out;
    let b = e / (p.wo * p.ho * p.c_out);
    let cin_g = p.c_in / p.groups;
    let g = co / (p.c_out / p.groups);
    var acc = 0.0;
    for (var cl = 0u; cl < cin_g; cl++) {
        let ci = g * cin_g + cl;
        for (var ky = 0u; ky < p.kh; ky++) {
            let iy = i32(oy * p.stride_h + ky * p.dil_h) - i32(p.pad_h);
            if iy < 0 || iy >= i32(p.h) { continue; }
            for (var kx = 0u; kx < p.kw; kx++) {
                let ix = i32(ox * p.stride_w + kx * p.dil_w) - i32(p.pad_w);
                if ix < 0 || ix >= i32(p.w) { continue; }
                let xv = in0[((b * p.c_in + ci) * p.h + u32(iy)) * p.w + u32(ix)];
                let wv = in1[((co * cin_g + cl) * p.kh + ky) * p.kw + kx];
                acc += xv * wv;
            }
        }
    }
    out[e] = acc;
}

// The input gradient (transposed convolution): one invocation per element of x; in0 = gy,
// in1 = w. A tap (ky, kx) reaches (iy, ix) from oy = (iy + pad - ky*dil) / stride when that
// division is exact and oy is in range.
@compute @workgroup_size(256)
fn conv2d_input_grad_naive(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = linear(gid, nwg);
    if e >= p.n * p.c_in * p.h * p.w { return; }
    let ix = e % p.w;
    let iy = (e / p.w) % p.h;
    let ci = (e / (p.w * p.h)) % p.c_in;
    let b = e / (p.w * p.h * p.c_in);
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    let g = ci / cin_g;
    let cl = ci % cin_g;
    var acc = 0.0;
    for (var ky = 0u; ky < p.kh; ky++) {
        let ty = i32(iy + p.pad_h) - i32(ky * p.dil_h);
        if ty < 0 || ty % i32(p.stride_h) != 0 { continue; }
        let oy = u32(ty) / p.stride_h;
        if oy >= p.ho { continue; }
        for (var kx = 0u; kx < p.kw; kx++) {
            let tx = i32(ix + p.pad_w) - i32(kx * p.dil_w);
            if tx < 0 || tx % i32(p.stride_w) != 0 { continue; }
            let ox = u32(tx) / p.stride_w;
            if ox >= p.wo { continue; }
            for (var j = 0u; j < cout_g; j++) {
                let co = g * cout_g + j;
                let gv = in0[((b * p.c_out + co) * p.ho + oy) * p.wo + ox];
                let wv = in1[((co * cin_g + cl) * p.kh + ky) * p.kw + kx];
                acc += gv * wv;
            }
        }
    }
    out[e] = acc;
}

// The weight gradient: one invocation per element of w, summing over batch and output
// pixels; in0 = x, in1 = gy.
@compute @workgroup_size(256)
fn conv2d_weight_grad_naive(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let cin_g = p.c_in / p.groups;
    let e = linear(gid, nwg);
    if e >= p.c_out * cin_g * p.kh * p.kw { return; }
    let kx = e % p.kw;
    let ky = (e / p.kw) % p.kh;
    let cl = (e / (p.kw * p.kh)) % cin_g;
    let co = e / (p.kw * p.kh * cin_g);
    let ci = (co / (p.c_out / p.groups)) * cin_g + cl;
    var acc = 0.0;
    for (var b = 0u; b < p.n; b++) {
        for (var oy = 0u; oy < p.ho; oy++) {
            let iy = i32(oy * p.stride_h + ky * p.dil_h) - i32(p.pad_h);
            if iy < 0 || iy >= i32(p.h) { continue; }
            for (var ox = 0u; ox < p.wo; ox++) {
                let ix = i32(ox * p.stride_w + kx * p.dil_w) - i32(p.pad_w);
                if ix < 0 || ix >= i32(p.w) { continue; }
                let xv = in0[((b * p.c_in + ci) * p.h + u32(iy)) * p.w + u32(ix)];
                let gv = in1[((b * p.c_out + co) * p.ho + oy) * p.wo + ox];
                acc += xv * gv;
            }
        }
    }
    out[e] = acc;
}
