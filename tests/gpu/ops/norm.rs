//! Instance and batch norm: train-mode statistics, running statistics in train and
//! eval, and the fused backward, against PyTorch.

use crate::common::{assert_close, check_case, load, Tol};
use gantry::ops::norm::RunningStats;
use gantry::Tensor;

/// Means and variances of up to a few hundred values, then rsqrt.
const NORM: Tol = Tol { atol: 1e-4, rtol: 1e-4 };

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

/// Asking for some of a norm's gradients (the input's alone, as a penalty does, or one
/// affine parameter's) gives those of the full request: the skipped affine sums are
/// pruned, not mixed up. Both backward paths: fused, and tensor ops under `create_graph`.
#[test]
fn norm_gradients_asked_for_in_part_equal_the_full_ones() {
    type F = fn(&[Tensor]) -> gantry::Result<Tensor>;
    let cases: [(&str, F); 2] = [
        ("instance_norm_affine", |x| x[0].instance_norm(Some(&x[1]), Some(&x[2]), None, true, 1e-5)),
        ("batch_norm_train", |x| x[0].batch_norm(Some(&x[1]), Some(&x[2]), None, true, 1e-5)),
    ];
    for (case, f) in cases {
        let xs: Vec<Tensor> = (0..3).map(|i| load(&format!("{case}.in{i}")).requires_grad_()).collect();
        let weights = load(&format!("{case}.w"));
        for create_graph in [false, true] {
            let loss = || f(&xs).unwrap().mul(&weights).unwrap().sum_all().unwrap();
            let full = gantry::grad(&[loss()], &xs, create_graph).unwrap();
            for part in [vec![0], vec![1], vec![2], vec![0, 2]] {
                let asked: Vec<Tensor> = part.iter().map(|&i| xs[i].clone()).collect();
                let got = gantry::grad(&[loss()], &asked, create_graph).unwrap();
                for (g, &i) in got.iter().zip(&part) {
                    let (a, e) = (g.to_vec().unwrap(), full[i].to_vec().unwrap());
                    assert_eq!(a, e, "{case}, input {i} of {part:?}, create_graph {create_graph}");
                }
            }
        }
    }
}
