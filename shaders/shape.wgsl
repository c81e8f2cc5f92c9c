// Strided copies: permute, narrow, concat and expand are all "copy a 4-D region from one
// strided view to another".

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

struct Params {
    n: u32,               // elements in the region
    src_offset: u32,
    dst_offset: u32,
    scale: f32,           // copy_strided multiplies by it (1 for a plain copy)
    shape: vec4<u32>,     // the region's shape, padded to rank 4
    src_strides: vec4<u32>,
    dst_strides: vec4<u32>,
}
@group(0) @binding(2) var<uniform> p: Params;

// One invocation per element of the region; dispatch ceil(n / 256), folded past 65535.
@compute @workgroup_size(256)
fn copy_strided(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n { return; }
    var rest = i;
    var src = p.src_offset;
    var dst = p.dst_offset;
    for (var d = 3; d >= 0; d--) {
        let c = rest % p.shape[d];
        rest = rest / p.shape[d];
        src += c * p.src_strides[d];
        dst += c * p.dst_strides[d];
    }
    y[dst] = x[src] * p.scale;
}

// The adjoint of narrow: y is [outer, shape.y, inner] with x ([outer, shape.w, inner])
// placed at src_offset along the middle axis and zeros elsewhere, written in one pass.
// shape.x = outer, shape.z = inner. One invocation per element of y; dispatch
// ceil(n / 256), folded past 65535.
@compute @workgroup_size(256)
fn embed_axis(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n { return; }
    let dim = p.shape.y;
    let inner = p.shape.z;
    let len = p.shape.w;
    let c = i / inner % dim;
    let inside = c >= p.src_offset && c < p.src_offset + len;
    let j = (i / (inner * dim) * len + c - p.src_offset) * inner + i % inner;
    y[i] = select(0.0, x[select(0u, j, inside)], inside);
}

// copy_strided over a grid without index division: the region collapsed to at most three
// axes [s0, s1, s2] (shape.y, shape.z, shape.w; shape.x = 1), the innermost spread over x
// and the others taken from the workgroup's y and z. Dispatch (ceil(s2 / 256), s1, s0).
@compute @workgroup_size(256)
fn copy_grid(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let k = gid.x;
    if k >= p.shape.w { return; }
    let i = wid.z;
    let j = wid.y;
    let src = p.src_offset + i * p.src_strides.y + j * p.src_strides.z + k * p.src_strides.w;
    let dst = p.dst_offset + i * p.dst_strides.y + j * p.dst_strides.z + k * p.dst_strides.w;
    y[dst] = x[src] * p.scale;
}
