//! Pooling, resampling and dropout against PyTorch.

use crate::common::{check_case, EXACTISH};
use gantry::Tensor;

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

/// The one-pass GLU and its one-pass gradient (a plain `grad`; `check_case` takes the
/// tensor-op gradient under create_graph) against the PyTorch golden and against the
/// composite of narrow, sigmoid and multiply on every axis.
#[test]
fn fused_glu_equals_the_composite() {
    let x = crate::common::load("glu.in0").requires_grad_();
    let w = crate::common::load("glu.w");
    let y = x.glu(1).unwrap();
    let g = gantry::grad(&[y.mul(&w).unwrap().sum_all().unwrap()], std::slice::from_ref(&x), false).unwrap();
    crate::common::assert_close(&g[0], "glu.grad0", EXACTISH);
    let d = crate::common::device();
    let x = Tensor::uniform(&d, &[4, 6, 2, 8], -3.0, 3.0).unwrap().requires_grad_();
    for axis in 0..4 {
        let run = |fused: bool| {
            let y = if fused { x.glu(axis) } else { x.glu_composite(axis) }.unwrap();
            let w = Tensor::ones(&d, y.shape()).unwrap().affine(0.5, 0.25).unwrap();
            let gx = gantry::grad(&[y.mul(&w).unwrap().sum_all().unwrap()], std::slice::from_ref(&x), false)
                .unwrap()
                .remove(0);
            (y.to_vec().unwrap(), gx.to_vec().unwrap())
        };
        let ((y, gx), (ye, gxe)) = (run(true), run(false));
        let close =
            |a: &[f32], e: &[f32]| a.iter().zip(e).all(|(p, q)| (p - q).abs() <= 1e-6 * q.abs().max(1.0));
        assert!(close(&y, &ye), "axis {axis}: forward");
        assert!(close(&gx, &gxe), "axis {axis}: gradient");
    }
    assert!(
        x.glu(3).is_ok() && Tensor::zeros(&d, &[3, 5]).unwrap().glu(1).is_err(),
        "odd halves are refused"
    );
}

#[test]
fn max_pool2d_matches_pytorch_and_floors_odd_sizes() {
    check_case("max_pool2d", 1, EXACTISH, |x| x[0].max_pool2d(2, 2));
    check_case("max_pool2d_odd", 1, EXACTISH, |x| x[0].max_pool2d(2, 2));
    check_case("max_pool2d_k3", 1, EXACTISH, |x| x[0].max_pool2d(3, 3));
    let x = Tensor::zeros(&crate::common::device(), &[1, 2, 3, 5]).unwrap();
    let overlapping = x.max_pool2d(3, 2).unwrap_err().to_string();
    assert!(overlapping.contains("kernel == stride"), "{overlapping}");
    let too_small = x.max_pool2d(4, 4).unwrap_err().to_string();
    assert!(too_small.contains("does not fit") && too_small.contains("[1, 2, 3, 5]"), "{too_small}");
}

/// The tiling average pool (one pass of block means) against the depthwise-convolution one:
/// forward, gradient and second-order gradient (R1 through StarGAN v2's discriminator), with
/// leftover rows and columns.
#[test]
fn tiled_avg_pool2d_equals_the_convolution() {
    let d = crate::common::device();
    for (shape, k) in [([2, 3, 8, 6], 2), ([1, 2, 7, 9], 2), ([1, 4, 9, 10], 3)] {
        let x = Tensor::uniform(&d, &shape, -1.0, 1.0).unwrap();
        let w = Tensor::uniform(&d, &[shape[0], shape[1], shape[2] / k, shape[3] / k], -1.0, 1.0).unwrap();
        let run = |conv: bool| {
            let xi = x.detach().requires_grad_();
            let y = if conv { xi.avg_pool2d_conv(k, k) } else { xi.avg_pool2d(k, k) }.unwrap();
            // Quadratic in x, so that the gradient depends on x again.
            let loss = y.mul(&y).unwrap().mul(&w).unwrap().sum_all().unwrap();
            let g = gantry::grad(&[loss], std::slice::from_ref(&xi), true).unwrap().remove(0);
            let gg = gantry::grad(&[g.mul(&g).unwrap().sum_all().unwrap()], &[xi], false).unwrap().remove(0);
            [y, g, gg].map(|t| t.to_vec().unwrap())
        };
        let (fast, conv) = (run(false), run(true));
        for (part, (f, c)) in ["value", "gradient", "second order"].iter().zip(fast.iter().zip(&conv)) {
            for (a, b) in f.iter().zip(c) {
                assert!((a - b).abs() < 1e-6, "{shape:?} k {k} {part}: {a} vs {b}");
            }
        }
        assert_eq!(fast[1].len(), x.numel());
    }
    // Overlapping windows still run (as a convolution).
    let x = Tensor::ones(&d, &[1, 1, 5, 5]).unwrap();
    assert_eq!(x.avg_pool2d(3, 2).unwrap().shape(), [1, 1, 2, 2]);
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

/// A whole-factor nearest upsampling runs as one pass each way; it equals the two index
/// selections it replaces in value, gradient and second-order gradient (an R1 penalty
/// through StarGAN v2's upsampling blocks), for factors 2 and 3 on a non-square input.
#[test]
fn one_pass_upsampling_equals_the_index_selections() {
    use crate::common::{assert_values, device};
    let d = device();
    for scale in [2, 3] {
        let x = Tensor::uniform(&d, &[2, 3, 4, 5], -1.0, 1.0).unwrap().requires_grad_();
        let (h, w) = (4 * scale, 5 * scale);
        let w_up = Tensor::uniform(&d, &[2, 3, h, w], -1.0, 1.0).unwrap();
        let pick = |n: usize| (0..n * scale).map(|i| i / scale).collect::<Vec<_>>();
        let fast = x.upsample_nearest(scale).unwrap();
        let slow = x.index_select(3, &pick(5)).unwrap().index_select(2, &pick(4)).unwrap();
        // The loss is quadratic in x so that its gradient depends on x again.
        let run = |y: &Tensor| {
            let loss = y.mul(y).unwrap().mul(&w_up).unwrap().sum_all().unwrap();
            let g = gantry::grad(&[loss], std::slice::from_ref(&x), true).unwrap().remove(0);
            let gg = gantry::grad(&[g.mul(&g).unwrap().sum_all().unwrap()], std::slice::from_ref(&x), false);
            (g, gg.unwrap().remove(0))
        };
        let (g_fast, gg_fast) = run(&fast);
        let (g_slow, gg_slow) = run(&slow);
        for (what, a, b) in
            [("value", &fast, &slow), ("gradient", &g_fast, &g_slow), ("second order", &gg_fast, &gg_slow)]
        {
            let (va, vb) = (a.to_vec().unwrap(), b.to_vec().unwrap());
            assert_values(&format!("scale {scale}: {what}"), &va, a.shape(), &vb, b.shape(), EXACTISH);
        }
    }
}
