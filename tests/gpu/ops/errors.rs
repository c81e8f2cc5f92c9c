//! Bad input gives typed errors naming the op and the shapes, never a panic.

use crate::common::device;
use gantry::{Error, Tensor};

fn zeros(shape: &[usize]) -> Tensor {
    Tensor::zeros(&device(), shape).unwrap()
}

#[test]
fn shape_mismatch_names_both_shapes() {
    let err = zeros(&[2, 3]).add(&zeros(&[4])).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { op: "add", .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("[2, 3]") && msg.contains("[4]"), "{msg}");
    let err = zeros(&[2, 3]).matmul(&zeros(&[4, 5])).unwrap_err();
    assert!(err.to_string().contains("[2, 3]") && err.to_string().contains("[4, 5]"), "{err}");
    assert!(zeros(&[3, 2]).reshape(&[5]).is_err());
    assert!(Tensor::concat(&[zeros(&[2, 3]), zeros(&[3, 3])], 1).is_err());
    assert!(zeros(&[3, 2]).expand(&[3, 4]).is_err());
}

#[test]
fn wrong_rank_is_reported() {
    let err = zeros(&[2, 3, 4, 5]).matmul(&zeros(&[5, 2])).unwrap_err();
    assert!(matches!(err, Error::Rank { op: "matmul", .. }), "{err:?}");
    let err = Tensor::zeros(&device(), &[1, 2, 3, 4, 5]).unwrap_err();
    assert!(matches!(err, Error::Rank { .. }), "{err:?}");
    assert!(zeros(&[3]).item().is_err());
}

#[test]
fn bad_axes_indices_and_data_are_reported() {
    let x = zeros(&[2, 3]);
    assert!(matches!(x.sum(&[2], false).unwrap_err(), Error::Axis { axis: 2, .. }));
    assert!(matches!(x.sum(&[1, -1], false).unwrap_err(), Error::Axis { .. }));
    assert!(x.narrow(1, 2, 2).is_err());
    assert!(x.permute(&[0, 0]).is_err());
    assert!(x.index_select(1, &[0, 3]).unwrap_err().to_string().contains("index 3"));
    let err = Tensor::from_slice(&device(), &[1.0, 2.0], &[3]).unwrap_err();
    assert!(matches!(err, Error::DataLength { len: 2, numel: 3, .. }), "{err:?}");
    assert!(Tensor::arange(&device(), 0.0, 5.0, -1.0).is_err());
}

#[test]
fn backward_without_grad_is_an_error() {
    let x = zeros(&[2]);
    let err = x.sum_all().unwrap().backward().unwrap_err();
    assert!(matches!(err, Error::Grad(_)), "{err:?}");
    assert!(err.to_string().contains("does not require grad"), "{err}");
    let y = zeros(&[2]).requires_grad_();
    let err = y.exp().unwrap().backward().unwrap_err();
    assert!(err.to_string().contains("one-element"), "{err}");
    assert!(y.exp().unwrap().set_requires_grad(false).is_err(), "only leaves can change requires_grad");
    assert!(y.exp().unwrap().assign(&y).is_err(), "only leaves can be assigned");
}

#[test]
fn operands_on_two_devices_are_refused() {
    let other = gantry::Device::open().unwrap();
    let a = zeros(&[2]);
    let b = Tensor::zeros(&other, &[2]).unwrap();
    let err = a.add(&b).unwrap_err();
    assert!(err.to_string().contains("different devices"), "{err}");
    assert!(a.reshape(&[1, 2]).unwrap().matmul(&b.reshape(&[2, 1]).unwrap()).is_err());
}
