// The bindings and Params of the matrix-product families (matmul.wgsl, matmul_gpu.wgsl;
// the generated matmul_cpu.wgsl copies them): the registry puts this file in front of each,
// so that one declaration serves the Rust launcher (`ops::matmul`) for all of them.

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
