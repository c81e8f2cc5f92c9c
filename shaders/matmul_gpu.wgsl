// Batched matrix products C[b] = A[b] · B[b] for GPUs, in workgroup-memory tiles
// (tile_gpu.wgsl; the registry puts matmul_params.wgsl and it in front of this file). A and B are read through
// strides as in matmul.wgsl (a transposed or batch-shared operand costs no copy); C is
// contiguous [batch, m, n].

// Bindings and Params: matmul_params.wgsl.

// A[row, kk] for four rows from `row`, zero past k; rows past m read row m - 1 (their
// results are never stored).
fn load_a(base: u32, row: u32, kk: u32) -> vec4<f32> {
    if kk >= p.k { return vec4<f32>(); }
    let at = base + kk * p.a_col;
    let last = p.m - 1u;
    return vec4<f32>(
        a[at + min(row, last) * p.a_row],
        a[at + min(row + 1u, last) * p.a_row],
        a[at + min(row + 2u, last) * p.a_row],
        a[at + min(row + 3u, last) * p.a_row],
    );
}

// B[kk, col] for four columns from `col`, zero past k, clamped past n.
fn load_b(base: u32, kk: u32, col: u32) -> vec4<f32> {
    if kk >= p.k { return vec4<f32>(); }
    let at = base + kk * p.b_row;
    let last = p.n - 1u;
    return vec4<f32>(
        b[at + min(col, last) * p.b_col],
        b[at + min(col + 1u, last) * p.b_col],
        b[at + min(col + 2u, last) * p.b_col],
        b[at + min(col + 3u, last) * p.b_col],
    );
}

// Workgroup (x, y, z) computes rows 64y .. 64y+63 and columns 64x .. 64x+63 of C[z]
// (tile_gpu.wgsl). Dispatch (ceil(n / 64), ceil(m / 64), batch).
@compute @workgroup_size(16, 16, 1)
fn matmul_tiled(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    let ld = loader(t);
    let a_base = wid.z * p.a_batch;
    let b_base = wid.z * p.b_batch;
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
        let av = load_a(a_base, row0 + ld.a_row, k0 + ld.a_step);
        let bv = load_b(b_base, k0 + ld.b_step, col0 + ld.b_col);
        accumulate(&acc, t, lid.y, lid.x, av, bv);
    }
    let col = col0 + 4u * lid.x;
    for (var i = 0u; i < 4u; i++) {
        let row = row0 + 4u * lid.y + i;
        if row >= p.m { break; }
        let base = (wid.z * p.m + row) * p.n;
        for (var j = 0u; j < 4u; j++) {
            if col + j < p.n { c[base + col + j] = acc[i][j]; }
        }
    }
}
