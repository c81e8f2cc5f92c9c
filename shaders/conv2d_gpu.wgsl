// 2-D convolution and its two adjoints for GPUs (the math is in conv2d.wgsl): each is an
// implicit GEMM in workgroup-memory tiles (tile_gpu.wgsl; the registry puts
// conv2d_params.wgsl and it in front of this file). A tile row is a channel, a tile
// column a pixel or a weight tap; the operands are gathered from the N-C-H-W tensors as
// they are loaded, so nothing is unfolded in memory. Padding and taps outside the image
// read as zero.

// Bindings and Params: conv2d_params.wgsl.

// in0 at (plane, iy, ix) for four positions, zero where `ok` is false.
fn gather4(plane: vec4<u32>, iy: vec4<i32>, ix: vec4<i32>, ok: vec4<bool>, h: u32, w: u32) -> vec4<f32> {
    let at = plane + vec4<u32>(max(iy, vec4<i32>(0))) * w + vec4<u32>(max(ix, vec4<i32>(0)));
    let v = vec4<f32>(in0[at.x], in0[at.y], in0[at.z], in0[at.w]);
    let inside = ok & (iy >= vec4<i32>(0)) & (iy < vec4<i32>(i32(h))) & (ix >= vec4<i32>(0)) & (ix < vec4<i32>(i32(w)));
    return select(vec4<f32>(), v, inside);
}

// Writes four values of one row at columns col .. col+3 of a row of `cols` starting at `base`.
fn store4(base: u32, col: u32, cols: u32, v: vec4<f32>) {
    for (var j = 0u; j < 4u; j++) {
        if col + j < cols { out[base + col + j] = v[j]; }
    }
}

// Forward: rows = the output channels of group g, columns = the output pixels of one image,
// k = (input channel of the group, ky, kx); in0 = x, in1 = w (whose rows are contiguous in
// k). Dispatch (ceil(ho * wo / 64), ceil(c_out / groups / 64), n * groups).
@compute @workgroup_size(16, 16, 1)
fn conv2d_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
                @builtin(local_invocation_index) t: u32) {
    let cout_g = p.c_out / p.groups;
    let cin_g = p.c_in / p.groups;
    let taps = p.kh * p.kw;
    let k_len = cin_g * taps;
    let img = wid.z / p.groups;
    let g = wid.z % p.groups;
    let pixels = p.ho * p.wo;
    let ld = loader(t);
    // The four weight rows this invocation loads, and the four pixels.
    let co = g * cout_g + min(wid.y * TILE + ld.a_row + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(cout_g - 1u));
    let px = min(wid.x * TILE + ld.b_col + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(pixels - 1u));
    let oy0 = vec4<i32>((px / p.wo) * p.stride_h) - i32(p.pad_h);
    let ox0 = vec4<i32>((px % p.wo) * p.stride_w) - i32(p.pad_w);
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < k_len; k0 += TILE_K) {
        let ka = k0 + ld.a_step;
        let wa = co * k_len + min(ka, k_len - 1u);
        let av = select(vec4<f32>(), vec4<f32>(in1[wa.x], in1[wa.y], in1[wa.z], in1[wa.w]), ka < k_len);
        let kb = k0 + ld.b_step;
        let kc = min(kb, k_len - 1u);
        let tap = kc % taps;
        let iy = oy0 + i32((tap / p.kw) * p.dil_h);
        let ix = ox0 + i32((tap % p.kw) * p.dil_w);
        let plane = vec4<u32>(((img * p.c_in + g * cin_g + kc / taps) * p.h) * p.w);
        let bv = gather4(plane, iy, ix, vec4<bool>(kb < k_len), p.h, p.w);
        accumulate(&acc, t, lid.y, lid.x, av, bv);
    }
    for (var i = 0u; i < 4u; i++) {
        let row = wid.y * TILE + 4u * lid.y + i;
        if row >= cout_g { break; }
        store4((img * p.c_out + g * cout_g + row) * pixels, wid.x * TILE + 4u * lid.x, pixels, acc[i]);
    }
}

// Input gradient (the transposed convolution), stride by parity class as in
// conv2d_input_grad_blocked: the input pixels (cy + stride_h * j, cx + stride_w * i) of one
// class are reached by the same taps ky = ky0 + stride_h * s, ky0 = (cy + pad_h) mod
// stride_h, from oy = (iy + pad_h - ky) / stride_h exactly. Rows = the input channels of
// group g, columns = the class's pixels, k = (output channel of the group, s_y, s_x);
// in0 = gy, in1 = w. Needs dilation 1. wid.z = (image * groups + g) * stride_h * stride_w
// + cy * stride_w + cx. Dispatch (ceil(ceil(h / stride_h) * ceil(w / stride_w) / 64),
// ceil(c_in / groups / 64), n * groups * stride_h * stride_w).
@compute @workgroup_size(16, 16, 1)
fn conv2d_input_grad_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
                           @builtin(local_invocation_index) t: u32) {
    let cout_g = p.c_out / p.groups;
    let cin_g = p.c_in / p.groups;
    let classes = p.stride_h * p.stride_w;
    let cy = (wid.z % classes) / p.stride_w;
    let cx = wid.z % p.stride_w;
    let g = (wid.z / classes) % p.groups;
    let img = wid.z / (classes * p.groups);
    let ky0 = (cy + p.pad_h) % p.stride_h;
    let kx0 = (cx + p.pad_w) % p.stride_w;
    let sy = select(0u, (p.kh - ky0 + p.stride_h - 1u) / p.stride_h, ky0 < p.kh);
    let sx = select(0u, (p.kw - kx0 + p.stride_w - 1u) / p.stride_w, kx0 < p.kw);
    let k_len = cout_g * sy * sx;
    let cw = (p.w + p.stride_w - 1u) / p.stride_w;
    let class_pixels = ((p.h + p.stride_h - 1u) / p.stride_h) * cw;
    let ld = loader(t);
    let ci = g * cin_g + min(wid.y * TILE + ld.a_row + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(cin_g - 1u));
    let j = min(wid.x * TILE + ld.b_col + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(class_pixels - 1u));
    let iy = vec4<i32>(cy + p.stride_h * (j / cw));
    let ix = vec4<i32>(cx + p.stride_w * (j % cw));
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < k_len; k0 += TILE_K) {
        // A: w[co, ci', ky, kx] for this invocation's four input channels.
        let ka = min(k0 + ld.a_step, k_len - 1u);
        let co_a = g * cout_g + ka / (sy * sx);
        let ky_a = ky0 + p.stride_h * ((ka % (sy * sx)) / sx);
        let kx_a = kx0 + p.stride_w * (ka % sx);
        let wa = ((co_a * cin_g + (ci - g * cin_g)) * p.kh + ky_a) * p.kw + kx_a;
        let av = select(vec4<f32>(), vec4<f32>(in1[wa.x], in1[wa.y], in1[wa.z], in1[wa.w]), k0 + ld.a_step < k_len);
        // B: gy[img, co, oy, ox] for this invocation's four pixels.
        let kb = min(k0 + ld.b_step, k_len - 1u);
        let ky_b = i32(ky0 + p.stride_h * ((kb % (sy * sx)) / sx));
        let kx_b = i32(kx0 + p.stride_w * (kb % sx));
        let oy = (iy + i32(p.pad_h) - ky_b) / i32(p.stride_h);
        let ox = (ix + i32(p.pad_w) - kx_b) / i32(p.stride_w);
        let plane = vec4<u32>((img * p.c_out + g * cout_g + kb / (sy * sx)) * p.ho * p.wo);
        let ok = vec4<bool>(k0 + ld.b_step < k_len) & (iy + i32(p.pad_h) >= vec4<i32>(ky_b))
            & (ix + i32(p.pad_w) >= vec4<i32>(kx_b));
        let bv = gather4(plane, oy, ox, ok, p.ho, p.wo);
        accumulate(&acc, t, lid.y, lid.x, av, bv);
    }
    let col = wid.x * TILE + 4u * lid.x;
    for (var i = 0u; i < 4u; i++) {
        let row = wid.y * TILE + 4u * lid.y + i;
        if row >= cin_g { break; }
        let plane = (img * p.c_in + g * cin_g + row) * p.h * p.w;
        for (var q = 0u; q < 4u; q++) {
            let jj = col + q;
            let y = cy + p.stride_h * (jj / cw);
            let x = cx + p.stride_w * (jj % cw);
            if jj < class_pixels && y < p.h && x < p.w { out[plane + y * p.w + x] = acc[i][q]; }
        }
    }
}

// Weight gradient with split-K: rows = the output channels of group g, columns = (input
// channel of the group, ky, kx), k = (image, oy, ox) over the chunk of k_chunk (image,
// output row) pairs that split s sums; in0 = x, in1 = gy. Writes the partial slice
// [s, c_out, c_in / groups * kh * kw] that the caller sums. wid.z = s * groups + g.
// Dispatch (ceil(c_in / groups * kh * kw / 64), ceil(c_out / groups / 64), splits * groups).
@compute @workgroup_size(16, 16, 1)
fn conv2d_weight_grad_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
                            @builtin(local_invocation_index) t: u32) {
    let cout_g = p.c_out / p.groups;
    let cin_g = p.c_in / p.groups;
    let taps = p.kh * p.kw;
    let cols = cin_g * taps;
    let g = wid.z % p.groups;
    let split = wid.z / p.groups;
    let pixels = p.ho * p.wo;
    let k_start = split * p.k_chunk * p.wo;
    let k_end = min(k_start + p.k_chunk * p.wo, p.n * pixels);
    let ld = loader(t);
    let co = g * cout_g + min(wid.y * TILE + ld.a_row + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(cout_g - 1u));
    let c = min(wid.x * TILE + ld.b_col + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(cols - 1u));
    let tap = c % taps;
    let dy = vec4<i32>((tap / p.kw) * p.dil_h) - i32(p.pad_h);
    let dx = vec4<i32>((tap % p.kw) * p.dil_w) - i32(p.pad_w);
    let ci = g * cin_g + c / taps;
    var acc: array<vec4<f32>, 4>;
    for (var k0 = k_start; k0 < k_end; k0 += TILE_K) {
        // A: gy[img, co, pixel] for this invocation's four output channels.
        let ka = min(k0 + ld.a_step, k_end - 1u);
        let ga = ((ka / pixels) * p.c_out + co) * pixels + ka % pixels;
        let av = select(vec4<f32>(), vec4<f32>(in1[ga.x], in1[ga.y], in1[ga.z], in1[ga.w]), k0 + ld.a_step < k_end);
        // B: x at this invocation's four taps from output pixel kb.
        let kb = min(k0 + ld.b_step, k_end - 1u);
        let pix = kb % pixels;
        let iy = vec4<i32>(i32((pix / p.wo) * p.stride_h)) + dy;
        let ix = vec4<i32>(i32((pix % p.wo) * p.stride_w)) + dx;
        let plane = ((kb / pixels) * p.c_in + ci) * p.h * p.w;
        let bv = gather4(plane, iy, ix, vec4<bool>(k0 + ld.b_step < k_end), p.h, p.w);
        accumulate(&acc, t, lid.y, lid.x, av, bv);
    }
    for (var i = 0u; i < 4u; i++) {
        let row = wid.y * TILE + 4u * lid.y + i;
        if row >= cout_g { break; }
        store4((split * p.c_out + g * cout_g + row) * cols, wid.x * TILE + 4u * lid.x, cols, acc[i]);
    }
}
