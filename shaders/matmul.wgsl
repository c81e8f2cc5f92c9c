// Batched matrix products C[b] = A[b] · B[b]. A and B are read through strides, so either
// may be a transposed or batch-broadcast view; C is contiguous [batch, m, n].

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;

struct Params {
    m: u32,
    n: u32,
    k: u32,
    batch: u32,
    a_batch: u32,  // strides of A: per batch (0 = shared), per row, per column
    a_row: u32,
    a_col: u32,
    b_batch: u32,  // strides of B
    b_row: u32,
    b_col: u32,
    _pad0: u32,
    _pad1: u32,
}
@group(0) @binding(3) var<uniform> p: Params;

// The simple twin: one invocation per element of C. Workgroups of 16x16;
// dispatch (ceil(n / 16), ceil(m / 16), batch).
@compute @workgroup_size(16, 16, 1)
fn matmul_naive(@builtin(global_invocation_id) gid: vec3<u32>) {
    let col = gid.x;
    let row = gid.y;
    let bt = gid.z;
    if row >= p.m || col >= p.n { return; }
    let a0 = bt * p.a_batch + row * p.a_row;
    let b0 = bt * p.b_batch + col * p.b_col;
    var acc = 0.0;
    for (var i = 0u; i < p.k; i++) {
        acc += a[a0 + i * p.a_col] * b[b0 + i * p.b_row];
    }
    c[(bt * p.m + row) * p.n + col] = acc;
}

// Register-blocked: each invocation computes 4 rows x 4 columns of C from 4 values of A
// and 4 of B per step of k, with no workgroup memory or barriers (which CPU adapters such
// as lavapipe serialise). The 4 columns are interleaved with stride 8, so the 8 invocations
// of a workgroup row read 8 consecutive values of B (one vector load when a CPU driver
// runs them as SIMD lanes) and share the same values of A. Edge rows and columns read
// clamped indices and skip their stores, keeping the inner loop free of branches.
// Workgroups of 8x8 cover 32x32 of C; dispatch (ceil(n / 32), ceil(m / 32), batch).
@compute @workgroup_size(8, 8, 1)
fn matmul_blocked(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let row0 = wid.y * 32u + lid.y * 4u;
    let col0 = wid.x * 32u + lid.x;
    let bt = wid.z;
    var ra: array<u32, 4>;
    var cb: array<u32, 4>;
    for (var i = 0u; i < 4u; i++) {
        ra[i] = bt * p.a_batch + min(row0 + i, p.m - 1u) * p.a_row;
        cb[i] = bt * p.b_batch + min(col0 + 8u * i, p.n - 1u) * p.b_col;
    }
    var acc: array<vec4<f32>, 4>;
    for (var kk = 0u; kk < p.k; kk++) {
        let ka = kk * p.a_col;
        let kb = kk * p.b_row;
        let bv = vec4<f32>(b[cb[0] + kb], b[cb[1] + kb], b[cb[2] + kb], b[cb[3] + kb]);
        acc[0] += a[ra[0] + ka] * bv;
        acc[1] += a[ra[1] + ka] * bv;
        acc[2] += a[ra[2] + ka] * bv;
        acc[3] += a[ra[3] + ka] * bv;
    }
    for (var i = 0u; i < 4u; i++) {
        let row = row0 + i;
        if row >= p.m { break; }
        let base = (bt * p.m + row) * p.n;
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + 8u * j;
            if col < p.n { c[base + col] = acc[i][j]; }
        }
    }
}
