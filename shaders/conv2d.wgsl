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

// Bindings and Params: conv2d_params.wgsl, which the registry puts in front of this file.

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

// ---- Blocked kernels for CPU-like adapters ----------------------------------------------
// Each is an implicit GEMM in which a workgroup of 64 invocations owns 8 rows (channels, so
// every invocation reads the same weights: one load and a broadcast on drivers that run
// invocations as SIMD lanes) and 256 columns (pixels or taps, 4 per invocation interleaved
// with stride 64). Accumulators are named registers, not arrays, and there is no workgroup
// memory or barrier (which lavapipe serialises). Reads outside the image are clamped and
// zeroed with select, keeping inner loops free of branches.

// Four values of in0 at (plane + iy * w + ix), zero where `valid` is false.
fn gather4(plane: vec4<u32>, iy: vec4<i32>, ix: vec4<i32>, valid: vec4<bool>, h: u32, w: u32) -> vec4<f32> {
    let cy = vec4<u32>(clamp(iy, vec4<i32>(0), vec4<i32>(i32(h) - 1)));
    let cx = vec4<u32>(clamp(ix, vec4<i32>(0), vec4<i32>(i32(w) - 1)));
    let idx = plane + cy * w + cx;
    let v = vec4<f32>(in0[idx.x], in0[idx.y], in0[idx.z], in0[idx.w]);
    return select(vec4<f32>(0.0), v, valid);
}

// Writes 4 interleaved columns of one row, skipping rows and columns past the end.
fn store4(row: u32, rows: u32, base: u32, col0: u32, cols: u32, v: vec4<f32>) {
    if row >= rows { return; }
    for (var j = 0u; j < 4u; j++) {
        let col = col0 + 64u * j;
        if col < cols { out[base + col] = v[j]; }
    }
}

// Forward: rows = 8 output channels, columns = output pixels of image wid.z; in0 = x,
// in1 = w. The 8 channels lie in one group (groups = 1, or c_out / groups a multiple of
// 8). Dispatch (ceil(ho * wo / 256), ceil(c_out / 8), n).
@compute @workgroup_size(64)
fn conv2d_blocked(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let npix = p.ho * p.wo;
    let b = wid.z;
    let co0 = wid.y * 8u;
    let cin_g = p.c_in / p.groups;
    let g = co0 / (p.c_out / p.groups);
    let khw = p.kh * p.kw;
    let pix0 = wid.x * 256u + lid.x;
    let pix = min(vec4<u32>(pix0, pix0 + 64u, pix0 + 128u, pix0 + 192u), vec4<u32>(npix - 1u));
    let iy0 = vec4<i32>((pix / p.wo) * p.stride_h) - i32(p.pad_h);
    let ix0 = vec4<i32>((pix % p.wo) * p.stride_w) - i32(p.pad_w);
    let last = p.c_out - 1u;
    let w0 = min(co0, last) * cin_g * khw;
    let w1 = min(co0 + 1u, last) * cin_g * khw;
    let w2 = min(co0 + 2u, last) * cin_g * khw;
    let w3 = min(co0 + 3u, last) * cin_g * khw;
    let w4 = min(co0 + 4u, last) * cin_g * khw;
    let w5 = min(co0 + 5u, last) * cin_g * khw;
    let w6 = min(co0 + 6u, last) * cin_g * khw;
    let w7 = min(co0 + 7u, last) * cin_g * khw;
    var c0 = vec4<f32>(); var c1 = vec4<f32>(); var c2 = vec4<f32>(); var c3 = vec4<f32>();
    var c4 = vec4<f32>(); var c5 = vec4<f32>(); var c6 = vec4<f32>(); var c7 = vec4<f32>();
    // Taps outside, input channels inside: bounds and addresses are worked out once per tap,
    // then the channel loop walks planes by a fixed stride.
    let hw = p.h * p.w;
    let plane0 = (b * p.c_in + g * cin_g) * hw;
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = iy0 + vec4<i32>(i32(ky * p.dil_h));
        let vy = (iy >= vec4<i32>(0)) & (iy < vec4<i32>(i32(p.h)));
        let cy = vec4<u32>(clamp(iy, vec4<i32>(0), vec4<i32>(i32(p.h) - 1)));
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = ix0 + vec4<i32>(i32(kx * p.dil_w));
            let valid = vy & (ix >= vec4<i32>(0)) & (ix < vec4<i32>(i32(p.w)));
            let cx = vec4<u32>(clamp(ix, vec4<i32>(0), vec4<i32>(i32(p.w) - 1)));
            let mask = select(vec4<f32>(0.0), vec4<f32>(1.0), valid);
            var idx = vec4<u32>(plane0) + cy * p.w + cx;
            var t = ky * p.kw + kx;
            for (var cl = 0u; cl < cin_g; cl++) {
                let xv = vec4<f32>(in0[idx.x], in0[idx.y], in0[idx.z], in0[idx.w]) * mask;
                c0 += in1[w0 + t] * xv; c1 += in1[w1 + t] * xv;
                c2 += in1[w2 + t] * xv; c3 += in1[w3 + t] * xv;
                c4 += in1[w4 + t] * xv; c5 += in1[w5 + t] * xv;
                c6 += in1[w6 + t] * xv; c7 += in1[w7 + t] * xv;
                idx += vec4<u32>(hw);
                t += khw;
            }
        }
    }
    let base = (b * p.c_out + co0) * npix;
    store4(co0, p.c_out, base, pix0, npix, c0);
    store4(co0 + 1u, p.c_out, base + npix, pix0, npix, c1);
    store4(co0 + 2u, p.c_out, base + 2u * npix, pix0, npix, c2);
    store4(co0 + 3u, p.c_out, base + 3u * npix, pix0, npix, c3);
    store4(co0 + 4u, p.c_out, base + 4u * npix, pix0, npix, c4);
    store4(co0 + 5u, p.c_out, base + 5u * npix, pix0, npix, c5);
    store4(co0 + 6u, p.c_out, base + 6u * npix, pix0, npix, c6);
    store4(co0 + 7u, p.c_out, base + 7u * npix, pix0, npix, c7);
}

// Input gradient / transposed convolution: rows = 8 input channels, columns = the pixels
// of one parity class (py, px) of image b, where wid.z = b * stride_h * stride_w + class.
// Within a class, the taps that reach a pixel are the same for every pixel:
// ky = ky0 + stride_h * t with ky0 = (py + pad_h) mod stride_h, so no invocation multiplies
// by a tap that does not reach it. in0 = gy, in1 = w. Needs dilation 1, and 8 consecutive
// input channels in one group. Dispatch (ceil(class pixels / 256), ceil(c_in / 8),
// n * stride_h * stride_w), class pixels = ceil(h / stride_h) * ceil(w / stride_w).
@compute @workgroup_size(64)
fn conv2d_input_grad_blocked(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let classes = p.stride_h * p.stride_w;
    let b = wid.z / classes;
    let py = (wid.z % classes) / p.stride_w;
    let px = wid.z % p.stride_w;
    if py >= p.h || px >= p.w { return; }
    let hq = (p.h - py + p.stride_h - 1u) / p.stride_h;
    let wq = (p.w - px + p.stride_w - 1u) / p.stride_w;
    let nq = hq * wq;
    let q0 = wid.x * 256u + lid.x;
    let q = min(vec4<u32>(q0, q0 + 64u, q0 + 128u, q0 + 192u), vec4<u32>(nq - 1u));
    let qy = vec4<i32>(q / wq);
    let qx = vec4<i32>(q % wq);
    let ky0 = (py + p.pad_h) % p.stride_h;
    let kx0 = (px + p.pad_w) % p.stride_w;
    // oy = qy + (py + pad - ky) / stride, with ky = ky0 + stride * t: oy = qy + ay - t.
    let ay = i32((py + p.pad_h - ky0) / p.stride_h);
    let ax = i32((px + p.pad_w - kx0) / p.stride_w);
    let cin_g = p.c_in / p.groups;
    let cout_g = p.c_out / p.groups;
    let ci0 = wid.y * 8u;
    let g = ci0 / cin_g;
    let cl0 = ci0 % cin_g;
    let khw = p.kh * p.kw;
    let last = cin_g - 1u;
    let l0 = min(cl0, last) * khw;
    let l1 = min(cl0 + 1u, last) * khw;
    let l2 = min(cl0 + 2u, last) * khw;
    let l3 = min(cl0 + 3u, last) * khw;
    let l4 = min(cl0 + 4u, last) * khw;
    let l5 = min(cl0 + 5u, last) * khw;
    let l6 = min(cl0 + 6u, last) * khw;
    let l7 = min(cl0 + 7u, last) * khw;
    var c0 = vec4<f32>(); var c1 = vec4<f32>(); var c2 = vec4<f32>(); var c3 = vec4<f32>();
    var c4 = vec4<f32>(); var c5 = vec4<f32>(); var c6 = vec4<f32>(); var c7 = vec4<f32>();
    let howo = p.ho * p.wo;
    let plane0 = (b * p.c_out + g * cout_g) * howo;
    let wstride = cin_g * khw;
    var ty = 0i;
    for (var ky = ky0; ky < p.kh; ky += p.stride_h) {
        let oy = qy + vec4<i32>(ay - ty);
        let vy = (oy >= vec4<i32>(0)) & (oy < vec4<i32>(i32(p.ho)));
        let cy = vec4<u32>(clamp(oy, vec4<i32>(0), vec4<i32>(i32(p.ho) - 1)));
        var tx = 0i;
        for (var kx = kx0; kx < p.kw; kx += p.stride_w) {
            let ox = qx + vec4<i32>(ax - tx);
            let valid = vy & (ox >= vec4<i32>(0)) & (ox < vec4<i32>(i32(p.wo)));
            let cx = vec4<u32>(clamp(ox, vec4<i32>(0), vec4<i32>(i32(p.wo) - 1)));
            let mask = select(vec4<f32>(0.0), vec4<f32>(1.0), valid);
            var idx = vec4<u32>(plane0) + cy * p.wo + cx;
            var t = g * cout_g * wstride + ky * p.kw + kx;
            for (var j = 0u; j < cout_g; j++) {
                let gv = vec4<f32>(in0[idx.x], in0[idx.y], in0[idx.z], in0[idx.w]) * mask;
                c0 += in1[t + l0] * gv; c1 += in1[t + l1] * gv;
                c2 += in1[t + l2] * gv; c3 += in1[t + l3] * gv;
                c4 += in1[t + l4] * gv; c5 += in1[t + l5] * gv;
                c6 += in1[t + l6] * gv; c7 += in1[t + l7] * gv;
                idx += vec4<u32>(howo);
                t += wstride;
            }
            tx += 1;
        }
        ty += 1;
    }
    // Scatter the class's columns back to (iy, ix) = (py + stride_h * qy, px + stride_w * qx).
    let rows = min(8u, cin_g - cl0);
    var acc = array<vec4<f32>, 8>(c0, c1, c2, c3, c4, c5, c6, c7);
    for (var i = 0u; i < rows; i++) {
        let plane = (b * p.c_in + ci0 + i) * p.h * p.w;
        for (var k = 0u; k < 4u; k++) {
            let qk = q0 + 64u * k;
            if qk < nq {
                let iy = py + p.stride_h * (qk / wq);
                let ix = px + p.stride_w * (qk % wq);
                out[plane + iy * p.w + ix] = acc[i][k];
            }
        }
    }
}

// Weight gradient with split-K: rows = 8 output channels, columns = (input channel of the
// group, ky, kx) flattened; the sum over batch and output pixels is cut into chunks of
// k_chunk (image, output row) pairs, one per wid.z, each writing its own partial slice [wid.z, c_out, c_in/g, kh, kw]
// that the caller then sums. The 8 values of gy per step are the same for every
// invocation. in0 = x, in1 = gy. Needs 8 consecutive output channels in one group.
// Dispatch (ceil(c_in / groups * kh * kw / 256), ceil(c_out / 8), splits).
@compute @workgroup_size(64)
fn conv2d_weight_grad_blocked(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let cin_g = p.c_in / p.groups;
    let khw = p.kh * p.kw;
    let cols = cin_g * khw;
    let npix = p.ho * p.wo;
    let co0 = wid.y * 8u;
    let g = co0 / (p.c_out / p.groups);
    let r0 = wid.x * 256u + lid.x;
    let r = min(vec4<u32>(r0, r0 + 64u, r0 + 128u, r0 + 192u), vec4<u32>(cols - 1u));
    let cl = r / khw;
    let ky = (r % khw) / p.kw;
    let kx = r % p.kw;
    let xplane = (g * cin_g + cl) * p.h * p.w;
    let dy = vec4<i32>(ky * p.dil_h) - i32(p.pad_h);
    let dx = vec4<i32>(kx * p.dil_w) - i32(p.pad_w);
    let last = p.c_out - 1u;
    let o0 = min(co0, last) * npix;
    let o1 = min(co0 + 1u, last) * npix;
    let o2 = min(co0 + 2u, last) * npix;
    let o3 = min(co0 + 3u, last) * npix;
    let o4 = min(co0 + 4u, last) * npix;
    let o5 = min(co0 + 5u, last) * npix;
    let o6 = min(co0 + 6u, last) * npix;
    let o7 = min(co0 + 7u, last) * npix;
    var c0 = vec4<f32>(); var c1 = vec4<f32>(); var c2 = vec4<f32>(); var c3 = vec4<f32>();
    var c4 = vec4<f32>(); var c5 = vec4<f32>(); var c6 = vec4<f32>(); var c7 = vec4<f32>();
    // wid.z owns k_chunk consecutive (image, output row) pairs; each row is walked pixel by
    // pixel with addresses advanced by a fixed step.
    let row_end = min((wid.z + 1u) * p.k_chunk, p.n * p.ho);
    for (var row = wid.z * p.k_chunk; row < row_end; row++) {
        let b = row / p.ho;
        let oy = row - b * p.ho;
        let iy = vec4<i32>(i32(oy * p.stride_h)) + dy;
        let vy = (iy >= vec4<i32>(0)) & (iy < vec4<i32>(i32(p.h)));
        let rowbase = xplane + b * p.c_in * p.h * p.w + vec4<u32>(clamp(iy, vec4<i32>(0), vec4<i32>(i32(p.h) - 1))) * p.w;
        var gb = b * p.c_out * npix + oy * p.wo;
        var ix = dx;
        for (var ox = 0u; ox < p.wo; ox++) {
            let valid = vy & (ix >= vec4<i32>(0)) & (ix < vec4<i32>(i32(p.w)));
            let idx = rowbase + vec4<u32>(clamp(ix, vec4<i32>(0), vec4<i32>(i32(p.w) - 1)));
            let xv = select(vec4<f32>(0.0), vec4<f32>(in0[idx.x], in0[idx.y], in0[idx.z], in0[idx.w]), valid);
            c0 += in1[gb + o0] * xv; c1 += in1[gb + o1] * xv;
            c2 += in1[gb + o2] * xv; c3 += in1[gb + o3] * xv;
            c4 += in1[gb + o4] * xv; c5 += in1[gb + o5] * xv;
            c6 += in1[gb + o6] * xv; c7 += in1[gb + o7] * xv;
            gb += 1u;
            ix += vec4<i32>(i32(p.stride_w));
        }
    }
    let base = (wid.z * p.c_out + co0) * cols;
    store4(co0, p.c_out, base, r0, cols, c0);
    store4(co0 + 1u, p.c_out, base + cols, r0, cols, c1);
    store4(co0 + 2u, p.c_out, base + 2u * cols, r0, cols, c2);
    store4(co0 + 3u, p.c_out, base + 3u * cols, r0, cols, c3);
    store4(co0 + 4u, p.c_out, base + 4u * cols, r0, cols, c4);
    store4(co0 + 5u, p.c_out, base + 5u * cols, r0, cols, c5);
    store4(co0 + 6u, p.c_out, base + 6u * cols, r0, cols, c6);
    store4(co0 + 7u, p.c_out, base + 7u * cols, r0, cols, c7);
}
