//! Padding, normalisation, pooling, resampling and GLU against PyTorch (forward, gradient
//! and second order), and the running-statistics rules of the norms.

use crate::common::{assert_close, check_case, device, load, Tol, EXACTISH};
use gantry::ops::norm::RunningStats;
use gantry::ops::pad::PadMode;
use gantry::Tensor;

/// Means and variances of up to a few hundred values, then rsqrt.
const NORM: Tol = Tol { atol: 1e-4, rtol: 1e-4 };

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

#[test]
fn instance_and_batch_norm_in_train_mode() {
    check_case("instance_norm", 1, NORM, |x| x[0].instance_norm(None, None, None, true, 1e-5));
    check_case("instance_norm_affine", 3, NORM, |x| {
        x[0].instance_norm(Some(&x[1]), Some(&x[2]), None, true, 1e-5)
    });
    check_case("batch_norm_train", 3, NORM, |x| x[0].batch_norm(Some(&x[1]), Some(&x[2]), None, true, 1e-5));
}

#[test]
fn running_statistics_update_in_train_and_serve_in_eval() {
    for kind in ["instance", "batch"] {
        let x = load(&format!("{kind}_running.x"));
        let (mean, var) = (load(&format!("{kind}_running.mean0")), load(&format!("{kind}_running.var0")));
        let norm = |training: bool| {
            let stats = RunningStats { mean: &mean, var: &var, momentum: 0.1 };
            match kind {
                "instance" => x.instance_norm(None, None, Some(stats), training, 1e-5),
                _ => x.batch_norm(None, None, Some(stats), training, 1e-5),
            }
            .unwrap()
        };
        assert_close(&norm(true), &format!("{kind}_running.train_out"), NORM);
        assert_close(&mean, &format!("{kind}_running.mean1"), NORM);
        assert_close(&var, &format!("{kind}_running.var1"), NORM);
        assert_close(&norm(false), &format!("{kind}_running.eval_out"), NORM);
        assert_close(&mean, &format!("{kind}_running.mean1"), NORM);
    }
}

#[test]
fn pooling_and_resampling() {
    check_case("avg_pool2d", 1, EXACTISH, |x| x[0].avg_pool2d(2, 2));
    check_case("adaptive_avg_pool2d", 1, EXACTISH, |x| x[0].adaptive_avg_pool2d(3, 4));
    check_case("adaptive_avg_pool2d_1", 1, EXACTISH, |x| x[0].adaptive_avg_pool2d(1, 1));
    check_case("upsample_nearest", 1, EXACTISH, |x| x[0].upsample_nearest(2));
    check_case("resize_nearest", 1, EXACTISH, |x| x[0].resize_nearest(7, 4));
    check_case("upsample_bilinear", 1, EXACTISH, |x| x[0].upsample_bilinear(2));
    check_case("resize_bilinear", 1, EXACTISH, |x| x[0].resize_bilinear(7, 4));
    check_case("glu", 1, EXACTISH, |x| x[0].glu(1));
}

#[test]
fn dropout_is_seeded_scaled_and_off_in_eval() {
    let d = gantry::Device::open().unwrap();
    let x = Tensor::ones(&d, &[20_000]).unwrap();
    d.manual_seed(11);
    let a = x.dropout(0.25, true).unwrap().to_vec().unwrap();
    d.manual_seed(11);
    assert_eq!(x.dropout(0.25, true).unwrap().to_vec().unwrap(), a, "same seed, same mask");
    assert!(a.iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6));
    let dropped = a.iter().filter(|&&v| v == 0.0).count() as f64 / a.len() as f64;
    assert!((dropped - 0.25).abs() < 0.02, "dropped fraction {dropped}");
    assert_eq!(x.dropout(0.25, false).unwrap().to_vec().unwrap(), vec![1.0; 20_000]);
    assert!(x.dropout(1.0, true).is_err());
}

/// `check_case` records gradients with `create_graph`, which takes the norms' tensor-op
/// backward; plain gradients take the fused kernel, checked here against the same goldens.
#[test]
fn fused_norm_backward_matches_pytorch() {
    type F = fn(&[Tensor]) -> gantry::Result<Tensor>;
    let cases: [(&str, usize, F); 3] = [
        ("instance_norm", 1, |x| x[0].instance_norm(None, None, None, true, 1e-5)),
        ("instance_norm_affine", 3, |x| x[0].instance_norm(Some(&x[1]), Some(&x[2]), None, true, 1e-5)),
        ("batch_norm_train", 3, |x| x[0].batch_norm(Some(&x[1]), Some(&x[2]), None, true, 1e-5)),
    ];
    for (case, inputs, f) in cases {
        let xs: Vec<Tensor> = (0..inputs).map(|i| load(&format!("{case}.in{i}")).requires_grad_()).collect();
        let loss = f(&xs).unwrap().mul(&load(&format!("{case}.w"))).unwrap().sum_all().unwrap();
        let grads = gantry::grad(&[loss], &xs, false).unwrap();
        for (i, g) in grads.iter().enumerate() {
            assert!(!g.requires_grad());
            assert_close(g, &format!("{case}.grad{i}"), NORM);
        }
    }
}
