//! The weight layout of the CPU conv kernels (`ops::conv2d_cpu`), made by one dispatch of
//! `shaders/conv2d_pack.wgsl`: [g, kh·kw, lane channel, row channel] with the row channels
//! padded with zeros to a multiple of 4, where the rows are output channels for the forward
//! (`rows_are_outputs`) and input channels for the input gradient. Lane l then reads 4 rows
//! of one tap with one vec4 load. A bias over the rows follows, likewise padded, for the
//! kernels to start their sums from.
//!
//! Each invocation moves the taps of one (lane, row) channel pair, so it reads one
//! contiguous run of the weight and its neighbours write beside it. A permute written as a
//! strided copy (the first version) read the weight 4 bytes per cache line for large layers:
//! a 512×256×4×4 discriminator layer took milliseconds to pack.

use crate::error::{Error, Result};
use crate::gpu::shaders::CONV2D_PACK;
use crate::tensor::Tensor;

/// `w` [c_out, c_in / groups, kh, kw] packed for the CPU kernels, with `bias` [rows]
/// appended when given (rows: c_out for the forward, c_in for the input gradient).
pub fn pack_weight(
    w: &Tensor,
    groups: usize,
    rows_are_outputs: bool,
    bias: Option<&Tensor>,
) -> Result<Tensor> {
    let [c_out, cin_g, kh, kw] = <[usize; 4]>::try_from(w.shape()).map_err(|_| Error::Invalid {
        op: "pack_weight",
        msg: format!("the weight must be [c_out, c_in / groups, kh, kw], not {:?}", w.shape()),
    })?;
    if groups == 0 || !c_out.is_multiple_of(groups) {
        return Err(Error::Invalid {
            op: "pack_weight",
            msg: format!("{groups} groups do not divide {c_out} output channels"),
        });
    }
    let (cout_g, taps) = (c_out / groups, kh * kw);
    // (lanes, rows, lane stride, row stride) in the weight's [g, cout_g, cin_g, taps].
    let (lanes, rows, lane_stride, row_stride) = if rows_are_outputs {
        (cin_g, cout_g, taps, cin_g * taps)
    } else {
        (cout_g, cin_g, cin_g * taps, taps)
    };
    let rows_padded = rows.next_multiple_of(4);
    let bias_len = bias.map_or(0, Tensor::numel);
    let weight_slots = groups * lanes * rows_padded;
    let bias_slots = bias_len.next_multiple_of(4);
    let d = w.device();
    let out = d.alloc(weight_slots * taps + bias_slots)?;
    let n = weight_slots + bias_slots;
    if n > 0 {
        let params =
            [n, groups, lanes, rows, rows_padded, taps, cout_g * cin_g * taps, lane_stride, row_stride]
                .map(|v| v as u32)
                .into_iter()
                .chain([bias_len as u32, 0, 0])
                .collect::<Vec<_>>();
        let (ws, bs) = (w.storage(), bias.unwrap_or(w).storage());
        d.dispatch_linear(&CONV2D_PACK, "pack_conv_weight", &[], &[&ws, &bs], &[&out], &params, n);
    }
    Ok(Tensor::from_storage(d, vec![weight_slots * taps + bias_slots], std::rc::Rc::new(out)))
}
