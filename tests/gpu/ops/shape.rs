//! Shape ops and index_select: forward and gradients against PyTorch.

use crate::common::{check_case, EXACTISH};
use gantry::Tensor;

#[test]
fn permute_transpose_reshape() {
    check_case("permute", 1, EXACTISH, |x| x[0].permute(&[2, 0, 3, 1]));
    check_case("transpose", 1, EXACTISH, |x| x[0].transpose(-1, -2));
    check_case("reshape", 1, EXACTISH, |x| x[0].reshape(&[15, 77]));
}

#[test]
fn narrow_concat_expand() {
    check_case("narrow", 1, EXACTISH, |x| x[0].narrow(2, 2, 3));
    check_case("concat", 3, EXACTISH, |x| Tensor::concat(x, 1));
    check_case("expand", 1, EXACTISH, |x| x[0].expand(&[2, 5, 4, 7]));
}

#[test]
fn index_select_accumulates_repeated_indices_in_its_gradient() {
    check_case("index_select", 1, EXACTISH, |x| x[0].index_select(1, &[2, 0, 2, 4]));
}
