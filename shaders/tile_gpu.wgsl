// The workgroup-memory tile shared by the GPU kernels (matmul_gpu.wgsl, conv2d_gpu.wgsl):
// the registry puts this file in front of each of them (WGSL has no includes).
//
// A workgroup of 16 x 16 invocations computes a 64 x 64 block of C = A·B. Each step of
// the reduction, every invocation loads 4 values of A and 4 of B into workgroup memory
// (the 64 x 16 slice of A and the 16 x 64 slice of B), and after a barrier each one
// multiplies its 4 rows by its 4 columns 16 times from there, so every value read from
// global memory is used 64 times. Invocation (x, y) owns rows 4y .. 4y+3 and columns
// 4x .. 4x+3 of the block, held as four vec4 accumulators.

const TILE: u32 = 64u;
const TILE_K: u32 = 16u;

// tile_a[kk * 16 + r] holds rows 4r .. 4r+3 of the A slice at step kk;
// tile_b[kk * 16 + c] holds columns 4c .. 4c+3 of the B slice at step kk.
var<workgroup> tile_a: array<vec4<f32>, 256>;
var<workgroup> tile_b: array<vec4<f32>, 256>;

// Which part of the slices invocation `t` (0 .. 255) loads: for A, the four rows 4 * (t / 16)
// .. +3 at step t % 16 (neighbours read neighbouring k); for B, the four columns
// 4 * (t % 16) .. +3 at step t / 16 (neighbours read neighbouring columns).
struct Loader {
    a_step: u32,
    a_row: u32,
    b_step: u32,
    b_col: u32,
}

fn loader(t: u32) -> Loader {
    return Loader(t % 16u, 4u * (t / 16u), t / 16u, 4u * (t % 16u));
}

// Stores one step's slices (the values this invocation loaded), waits for the whole
// workgroup, accumulates, and waits again before the slices may be overwritten.
fn accumulate(acc: ptr<function, array<vec4<f32>, 4>>, t: u32, y: u32, x: u32, a: vec4<f32>, b: vec4<f32>) {
    tile_a[(t % 16u) * 16u + t / 16u] = a;
    tile_b[(t / 16u) * 16u + t % 16u] = b;
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
        let av = tile_a[kk * 16u + y];
        let bv = tile_b[kk * 16u + x];
        (*acc)[0] += av.x * bv;
        (*acc)[1] += av.y * bv;
        (*acc)[2] += av.z * bv;
        (*acc)[3] += av.w * bv;
    }
    workgroupBarrier();
}
