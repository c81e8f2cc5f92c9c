// The two-value workgroup sum shared by norm.wgsl and spectral.wgsl: the registry puts this
// file in front of each (WGSL has no includes).
//
// WG, the invocations per workgroup of their reducing entry points, is a power of two up
// to 256, set per device by the launchers (`Device::tree_width`): 16 with the CPU adapters'
// kernels, where every barrier costs a pass over the workgroup's subgroups, and 256 with
// the GPU kernels.
override WG: u32 = 64u;

var<workgroup> red_a: array<f32, 256>;
var<workgroup> red_b: array<f32, 256>;

// Sums red_a[0 .. WG) and red_b[0 .. WG) over the workgroup; every invocation gets the
// totals.
fn tree(t: u32) -> vec2<f32> {
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half >>= 1u) {
        if t < half {
            red_a[t] += red_a[t + half];
            red_b[t] += red_b[t + half];
        }
        workgroupBarrier();
    }
    let r = vec2<f32>(red_a[0], red_b[0]);
    workgroupBarrier();
    return r;
}
