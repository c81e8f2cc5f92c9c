//! Padding (zero, reflect, replicate) against PyTorch's F.pad.

use crate::common::{check_case, device, EXACTISH};
use gantry::ops::pad::PadMode;
use gantry::Tensor;

#[test]
fn padding_in_every_mode() {
    check_case("pad_zeros", 1, EXACTISH, |x| x[0].pad2d((1, 2, 3, 0), PadMode::Zeros));
    check_case("pad_reflect", 1, EXACTISH, |x| x[0].pad2d((3, 1, 2, 4), PadMode::Reflect));
    check_case("pad_replicate", 1, EXACTISH, |x| x[0].pad2d((2, 3, 1, 2), PadMode::Replicate));
    let x = Tensor::zeros(&device(), &[1, 1, 3, 3]).unwrap();
    assert!(
        x.pad2d((3, 0, 0, 0), PadMode::Reflect).is_err(),
        "reflect padding must be smaller than the axis"
    );
}
