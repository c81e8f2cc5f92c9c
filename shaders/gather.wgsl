// Index gathers along one axis. Tensors are viewed as [outer, axis, inner]; indices are
// whole numbers stored as f32 (exact below 2^24).

@group(0) @binding(0) var<storage, read> x: array<f32>;
// index_select: the indices. index_add: the same indices grouped by slot (CSR): for each
// slot s, idx[s] .. idx[s + 1] delimit its positions l, listed in ascending order from
// idx[size + 1].
@group(0) @binding(1) var<storage, read> idx: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

struct Params {
    outer: u32,
    size: u32,    // length of the source's axis
    count: u32,   // number of indices
    inner: u32,
}
@group(0) @binding(3) var<uniform> p: Params;

// y[o, l, i] = x[o, idx[l], i]. One invocation per element of y ([outer, count, inner]).
@compute @workgroup_size(256)
fn index_select(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * 256u;
    if e >= p.outer * p.count * p.inner { return; }
    let i = e % p.inner;
    let l = (e / p.inner) % p.count;
    let o = e / (p.inner * p.count);
    y[e] = x[(o * p.size + u32(idx[l])) * p.inner + i];
}

// The adjoint of index_select, as a gather: y[o, s, i] = sum over l with index l = s of
// x[o, l, i], in ascending l. Repeated indices add up without atomics. One invocation per
// element of y ([outer, size, inner]); each visits only its own slot's positions, so the
// work is linear in the indices (a 2x nearest upsampling adds two values per slot).
@compute @workgroup_size(256)
fn index_add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * 256u;
    if e >= p.outer * p.size * p.inner { return; }
    let i = e % p.inner;
    let s = (e / p.inner) % p.size;
    let o = e / (p.inner * p.size);
    var acc = 0.0;
    let end = u32(idx[s + 1u]);
    for (var k = u32(idx[s]); k < end; k++) {
        let l = u32(idx[p.size + 1u + k]);
        acc += x[(o * p.count + l) * p.inner + i];
    }
    y[e] = acc;
}
