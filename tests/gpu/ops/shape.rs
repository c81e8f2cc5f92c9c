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

/// Narrow's gradient places the output gradient among zeros in one pass: every axis of a
/// 4-D tensor, windows at the start, the middle and the end, against the host's placement.
#[test]
fn narrow_gradients_are_the_gradient_placed_among_zeros() {
    let d = crate::common::device();
    let shape = [2, 3, 4, 5];
    let x = Tensor::uniform(&d, &shape, -1.0, 1.0).unwrap().requires_grad_();
    for ax in 0..4 {
        let dim = shape[ax];
        for (start, len) in [(0, 1), (1, dim - 2), (dim - 1, 1), (0, dim)] {
            let y = x.narrow(ax as isize, start, len).unwrap();
            let w = Tensor::uniform(&d, y.shape(), -1.0, 1.0).unwrap();
            let g = gantry::grad(&[y.mul(&w).unwrap().sum_all().unwrap()], std::slice::from_ref(&x), false)
                .unwrap()
                .remove(0)
                .to_vec()
                .unwrap();
            let wv = w.to_vec().unwrap();
            let inner: usize = shape[ax + 1..].iter().product();
            let mut want = vec![0.0f32; 120];
            for (i, slot) in want.iter_mut().enumerate() {
                let c = i / inner % dim;
                if (start..start + len).contains(&c) {
                    *slot = wv[(i / (inner * dim) * len + c - start) * inner + i % inner];
                }
            }
            assert_eq!(g, want, "axis {ax}, {start}..{}", start + len);
        }
    }
}

#[test]
fn index_select_accumulates_repeated_indices_in_its_gradient() {
    check_case("index_select", 1, EXACTISH, |x| x[0].index_select(1, &[2, 0, 2, 4]));
}
