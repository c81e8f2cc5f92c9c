// Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11). Output block j is
// Philox(key = seed, counter = (j, stream_lo, stream_hi, 0)), so the numbers depend only on
// the seed, the stream (one per random op) and the element index: every device gives the
// same integers, and the same uniform floats bit for bit.

@group(0) @binding(0) var<storage, read_write> y: array<f32>;

struct Params {
    n: u32,          // elements to write
    key_lo: u32,     // seed, low word
    key_hi: u32,     // seed, high word
    stream_lo: u32,  // stream number, low word
    stream_hi: u32,  // stream number, high word
    a: f32,          // uniform: low bound; normal: mean
    b: f32,          // uniform: high bound; normal: standard deviation
    _pad: u32,
}
@group(0) @binding(1) var<uniform> p: Params;

// Full 32x32 -> 64-bit product as (hi, lo), from 16-bit halves (WGSL has no u64).
fn mul_hilo(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var round = 0u; round < 10u; round++) {
        let p0 = mul_hilo(0xD2511F53u, c.x);
        let p1 = mul_hilo(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
        k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
    }
    return c;
}

// The top 24 bits as a float in [0, 1): exact on every device.
fn to_unit(x: u32) -> f32 {
    return f32(x >> 8u) * (1.0 / 16777216.0);
}

fn block(j: u32) -> vec4<u32> {
    return philox(vec4<u32>(j, p.stream_lo, p.stream_hi, 0u), vec2<u32>(p.key_lo, p.key_hi));
}

// One invocation per block of 4 elements; dispatch ceil(n / 4 / 256) workgroups.
@compute @workgroup_size(256)
fn rand_uniform(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * nwg.x * 256u;
    if j * 4u >= p.n { return; }
    let r = block(j);
    for (var e = 0u; e < 4u; e++) {
        let i = j * 4u + e;
        if i < p.n { y[i] = p.a + (p.b - p.a) * to_unit(r[e]); }
    }
}

// One invocation per block of 4 elements: Box-Muller on the pairs (r.x, r.y) and (r.z, r.w).
@compute @workgroup_size(256)
fn rand_normal(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * nwg.x * 256u;
    if j * 4u >= p.n { return; }
    let r = block(j);
    var z: vec4<f32>;
    for (var pair = 0u; pair < 2u; pair++) {
        // u1 in (0, 1], so the log is finite.
        let u1 = f32((r[2u * pair] >> 8u) + 1u) * (1.0 / 16777216.0);
        let u2 = to_unit(r[2u * pair + 1u]);
        let radius = sqrt(-2.0 * log(u1));
        let theta = 6.283185307179586 * u2;
        z[2u * pair] = radius * cos(theta);
        z[2u * pair + 1u] = radius * sin(theta);
    }
    for (var e = 0u; e < 4u; e++) {
        let i = j * 4u + e;
        if i < p.n { y[i] = p.a + p.b * z[e]; }
    }
}
