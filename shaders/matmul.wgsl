// Batched matrix products C[b] = A[b] · B[b]. A and B are read through strides, so either
// may be a transposed or batch-broadcast view; C is contiguous [batch, m, n].

// Bindings and Params: matmul_params.wgsl, which the registry puts in front of this file.

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

// Register-blocked for CPU-like adapters. A workgroup of 64 invocations computes 8 rows x
// 256 columns of C; each invocation holds 8 rows x 4 columns (columns interleaved with
// stride 64). The rows depend only on the workgroup id, so the 8 values of A per step of k
// are the same for every invocation: drivers that run invocations as SIMD lanes (lavapipe)
// load them once and broadcast, leaving 4 loads of B per 32 multiply-adds. No workgroup
// memory or barriers, which such drivers serialise. Edge rows and columns read clamped
// indices and skip their stores, keeping the inner loop free of branches.
// Dispatch (ceil(n / 256), ceil(m / 8), batch).
fn store_row(row: u32, col0: u32, bt: u32, v: vec4<f32>) {
    if row >= p.m { return; }
    let base = (bt * p.m + row) * p.n;
    for (var j = 0u; j < 4u; j++) {
        let col = col0 + 64u * j;
        if col < p.n { c[base + col] = v[j]; }
    }
}

// The accumulators and row offsets are written out one by one rather than as arrays:
// drivers may keep dynamically indexed local arrays in memory instead of registers.
@compute @workgroup_size(64, 1, 1)
fn matmul_blocked(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let row0 = wid.y * 8u;
    let col0 = wid.x * 256u + lid.x;
    let bt = wid.z;
    let a0 = bt * p.a_batch + min(row0 + 0u, p.m - 1u) * p.a_row;
    let a1 = bt * p.a_batch + min(row0 + 1u, p.m - 1u) * p.a_row;
    let a2 = bt * p.a_batch + min(row0 + 2u, p.m - 1u) * p.a_row;
    let a3 = bt * p.a_batch + min(row0 + 3u, p.m - 1u) * p.a_row;
    let a4 = bt * p.a_batch + min(row0 + 4u, p.m - 1u) * p.a_row;
    let a5 = bt * p.a_batch + min(row0 + 5u, p.m - 1u) * p.a_row;
    let a6 = bt * p.a_batch + min(row0 + 6u, p.m - 1u) * p.a_row;
    let a7 = bt * p.a_batch + min(row0 + 7u, p.m - 1u) * p.a_row;
    let b0 = bt * p.b_batch + min(col0, p.n - 1u) * p.b_col;
    let b1 = bt * p.b_batch + min(col0 + 64u, p.n - 1u) * p.b_col;
    let b2 = bt * p.b_batch + min(col0 + 128u, p.n - 1u) * p.b_col;
    let b3 = bt * p.b_batch + min(col0 + 192u, p.n - 1u) * p.b_col;
    var c0 = vec4<f32>();
    var c1 = vec4<f32>();
    var c2 = vec4<f32>();
    var c3 = vec4<f32>();
    var c4 = vec4<f32>();
    var c5 = vec4<f32>();
    var c6 = vec4<f32>();
    var c7 = vec4<f32>();
    for (var kk = 0u; kk < p.k; kk++) {
        let ka = kk * p.a_col;
        let kb = kk * p.b_row;
        let bv = vec4<f32>(b[b0 + kb], b[b1 + kb], b[b2 + kb], b[b3 + kb]);
        c0 += a[a0 + ka] * bv;
        c1 += a[a1 + ka] * bv;
        c2 += a[a2 + ka] * bv;
        c3 += a[a3 + ka] * bv;
        c4 += a[a4 + ka] * bv;
        c5 += a[a5 + ka] * bv;
        c6 += a[a6 + ka] * bv;
        c7 += a[a7 + ka] * bv;
    }
    store_row(row0 + 0u, col0, bt, c0);
    store_row(row0 + 1u, col0, bt, c1);
    store_row(row0 + 2u, col0, bt, c2);
    store_row(row0 + 3u, col0, bt, c3);
    store_row(row0 + 4u, col0, bt, c4);
    store_row(row0 + 5u, col0, bt, c5);
    store_row(row0 + 6u, col0, bt, c6);
    store_row(row0 + 7u, col0, bt, c7);
}
