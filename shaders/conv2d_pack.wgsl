// The CPU conv kernels' weight layout (src/ops/conv2d_pack.rs): the weight
// [groups, c_out / g, c_in / g, taps] rearranged to [groups, taps, lanes, rows_padded], where
// rows are the tile's channels (output channels for the forward, input channels for the
// input gradient) padded with zeros to a multiple of 4 and lanes are the other channel
// axis; then the bias over all rows, padded likewise, when there is one.

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

struct Params {
    n: u32,            // invocations: groups * lanes * rows_padded, then the padded bias
    groups: u32,
    lanes: u32,
    rows: u32,
    rows_padded: u32,
    taps: u32,
    group_stride: u32, // weight elements per group
    lane_stride: u32,  // weight elements between consecutive lane channels
    row_stride: u32,   // weight elements between consecutive row channels
    bias_len: u32,     // 0 without a bias
    _pad0: u32,
    _pad1: u32,
}
@group(0) @binding(3) var<uniform> p: Params;

// One invocation per (group, lane, row), row fastest, each moving its channel pair's taps:
// it reads them as one contiguous run, and neighbouring invocations write neighbouring
// elements of every tap. Invocations past the weight write the padded bias.
// Dispatch ceil(n / 256), folded into y past 65535.
@compute @workgroup_size(256)
fn pack_conv_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.n { return; }
    let per_group = p.lanes * p.rows_padded;
    let weight_slots = p.groups * per_group;
    if i >= weight_slots {
        let b = i - weight_slots;
        y[weight_slots * p.taps + b] = select(0.0, bias[min(b, p.bias_len - 1u)], b < p.bias_len);
        return;
    }
    let g = i / per_group;
    let lane = i % per_group / p.rows_padded;
    let row = i % p.rows_padded;
    // The output's [g, tap, lane, row] for tap 0; taps are per_group apart.
    let dst = g * p.taps * per_group + lane * p.rows_padded + row;
    if row >= p.rows {
        for (var t = 0u; t < p.taps; t++) {
            y[dst + t * per_group] = 0.0;
        }
        return;
    }
    let src = g * p.group_stride + lane * p.lane_stride + row * p.row_stride;
    for (var t = 0u; t < p.taps; t++) {
        y[dst + t * per_group] = w[src + t];
    }
}
