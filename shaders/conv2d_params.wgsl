// The bindings and Params of the convolution families (conv2d.wgsl, conv2d_gpu.wgsl; the
// generated conv2d_cpu*.wgsl copy the Params): the registry puts this file in front of
// each, so that one declaration serves the Rust launcher (`ops::conv2d`) for all of them.

@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

struct Params {
    n: u32, c_in: u32, h: u32, w: u32,
    c_out: u32, ho: u32, wo: u32, groups: u32,
    kh: u32, kw: u32, stride_h: u32, stride_w: u32,
    pad_h: u32, pad_w: u32, dil_h: u32, dil_w: u32,
    k_chunk: u32,  // weight_grad_blocked: (image, output row) pairs summed per split
    has_bias: u32, // the CPU kernels (src/ops/conv2d_cpu.rs): a bias follows the packed weight
    _pad1: u32, _pad2: u32,
}
@group(0) @binding(3) var<uniform> p: Params;
