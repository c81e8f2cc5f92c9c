// 2-D padding of the last two axes, and its adjoint. MODE: 0 zeros, 1 reflect (the edge
// pixel is not repeated, as PyTorch's ReflectionPad2d), 2 replicate.

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

struct Params {
    planes: u32,  // n * c
    h: u32,       // unpadded size
    w: u32,
    ho: u32,      // padded size
    wo: u32,
    top: u32,
    left: u32,
    _pad: u32,
}
@group(0) @binding(2) var<uniform> p: Params;

override MODE: u32 = 0u;

// The unpadded index read by padded index o along an axis, or -1 for a zero.
fn source(o: u32, before: u32, size: u32) -> i32 {
    var i = i32(o) - i32(before);
    let n = i32(size);
    if i >= 0 && i < n { return i; }
    if MODE == 1u {
        if i < 0 { i = -i; } else { i = 2 * (n - 1) - i; }
        return i;
    }
    if MODE == 2u { return clamp(i, 0, n - 1); }
    return -1;
}

// One invocation per padded element.
@compute @workgroup_size(256)
fn pad2d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * 256u;
    if e >= p.planes * p.ho * p.wo { return; }
    let ox = e % p.wo;
    let oy = (e / p.wo) % p.ho;
    let plane = e / (p.wo * p.ho);
    let sy = source(oy, p.top, p.h);
    let sx = source(ox, p.left, p.w);
    if sy < 0 || sx < 0 {
        y[e] = 0.0;
    } else {
        y[e] = x[(plane * p.h + u32(sy)) * p.w + u32(sx)];
    }
}

// The padded indices that read unpadded index i along one axis, as up to three ranges
// [lo, hi): the direct copy, and (reflect) the mirror images or (replicate) the runs past
// each edge; unused ranges are empty. Separate fields, not an array, so that drivers keep
// them in registers.
struct Sources {
    direct: u32,
    low: vec2<u32>,
    high: vec2<u32>,
}

fn sources_of(i: u32, before: u32, size: u32, out: u32) -> Sources {
    var r = Sources(i + before, vec2<u32>(), vec2<u32>());
    let after = out - size - before;
    if MODE == 1u {
        if i >= 1u && i <= before { r.low = vec2<u32>(before - i, before - i + 1u); }
        if i + 2u <= size && size - 1u - i <= after {
            let o = before + 2u * (size - 1u) - i;
            r.high = vec2<u32>(o, o + 1u);
        }
    } else if MODE == 2u {
        if i == 0u { r.low = vec2<u32>(0u, before); }
        if i == size - 1u { r.high = vec2<u32>(before + size, out); }
    }
    return r;
}

// The sum of x over rows [ys.x, ys.y) and columns [xs.x, xs.y) of one padded plane.
fn block_sum(base: u32, ys: vec2<u32>, xs: vec2<u32>) -> f32 {
    var acc = 0.0;
    for (var oy = ys.x; oy < ys.y; oy++) {
        for (var ox = xs.x; ox < xs.y; ox++) {
            acc += x[base + oy * p.wo + ox];
        }
    }
    return acc;
}

// The adjoint: one invocation per unpadded element, summing the padded gradient over every
// padded position that read it. Here x is the padded gradient and y the unpadded one. Away
// from the edges only the direct copy read it: one load.
@compute @workgroup_size(256)
fn pad2d_adjoint(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * 256u;
    if e >= p.planes * p.h * p.w { return; }
    let ix = e % p.w;
    let iy = (e / p.w) % p.h;
    let base = (e / (p.w * p.h)) * p.ho * p.wo;
    let ry = sources_of(iy, p.top, p.h, p.ho);
    let rx = sources_of(ix, p.left, p.w, p.wo);
    var acc = x[base + ry.direct * p.wo + rx.direct];
    let edge_y = ry.low.y > ry.low.x || ry.high.y > ry.high.x;
    let edge_x = rx.low.y > rx.low.x || rx.high.y > rx.high.x;
    if edge_y || edge_x {
        let dy = vec2<u32>(ry.direct, ry.direct + 1u);
        let dx = vec2<u32>(rx.direct, rx.direct + 1u);
        acc += block_sum(base, dy, rx.low) + block_sum(base, dy, rx.high);
        acc += block_sum(base, ry.low, dx) + block_sum(base, ry.low, rx.low) + block_sum(base, ry.low, rx.high);
        acc += block_sum(base, ry.high, dx) + block_sum(base, ry.high, rx.low) + block_sum(base, ry.high, rx.high);
    }
    y[e] = acc;
}
