//! Convolution and transposed convolution: forward, gradients and second order against
//! PyTorch, and the gradient penalty of a small conv critic.

use crate::common::{assert_close, assert_values, check_case, load, Tol};
use gantry::ops::conv2d::{Conv2d, ConvTranspose2d};
use gantry::{grad, Tensor};

/// Sums of up to a few hundred products in f32.
const CONV: Tol = Tol { atol: 1e-4, rtol: 1e-4 };

fn bias(x: &[Tensor]) -> Option<&Tensor> {
    x.get(2)
}

#[test]
fn conv2d_matches_pytorch_for_every_configuration_the_models_use() {
    let cases: [(&str, usize, Conv2d); 7] = [
        ("conv_k3", 3, Conv2d::default().padding(1)),
        ("conv_k4_s2", 3, Conv2d::default().stride(2).padding(1)),
        ("conv_k1", 2, Conv2d::default()),
        ("conv_k7", 3, Conv2d::default().padding(3)),
        ("conv_dilated", 2, Conv2d::default().padding(2).dilation(2)),
        ("conv_groups", 3, Conv2d::default().stride(2).padding(1).groups(2)),
        ("conv_depthwise", 2, Conv2d::default().padding(1).groups(3)),
    ];
    for (case, inputs, opts) in cases {
        check_case(case, inputs, CONV, |x| x[0].conv2d(&x[1], bias(x), opts));
    }
}

#[test]
fn conv_transpose2d_matches_pytorch() {
    let cases: [(&str, usize, ConvTranspose2d); 4] = [
        ("convT_k3_s2_op1", 3, ConvTranspose2d::default().stride(2).padding(1).output_padding(1)),
        ("convT_k4_s2_p1", 2, ConvTranspose2d::default().stride(2).padding(1)),
        ("convT_k4_1x1", 3, ConvTranspose2d::default()),
        ("convT_groups", 2, ConvTranspose2d::default().stride(2).groups(2)),
    ];
    for (case, inputs, opts) in cases {
        check_case(case, inputs, CONV, |x| x[0].conv_transpose2d(&x[1], bias(x), opts));
    }
}

#[test]
fn gradient_penalty_through_convolutions_matches_pytorch() {
    let x = load("cgp.x").requires_grad_();
    let names = ["w1", "b1", "w2", "b2", "w3", "b3"];
    let p: Vec<Tensor> = names.iter().map(|n| load(&format!("cgp.{n}")).requires_grad_()).collect();
    let down = Conv2d::default().stride(2).padding(1);
    let h = x.conv2d(&p[0], Some(&p[1]), down).unwrap().leaky_relu(0.2).unwrap();
    let h = h.conv2d(&p[2], Some(&p[3]), down).unwrap().leaky_relu(0.2).unwrap();
    let d = h.conv2d(&p[4], Some(&p[5]), Conv2d::default().padding(1)).unwrap();
    let gx = grad(&[d.sum_all().unwrap()], &[x], true).unwrap().remove(0);
    assert_close(&gx, "cgp.gx", CONV);
    let norms = gx.reshape(&[2, 192]).unwrap().powf(2.0).unwrap().sum(&[1], false).unwrap().sqrt().unwrap();
    let penalty = norms.add_scalar(-1.0).unwrap().powf(2.0).unwrap().mean_all().unwrap();
    assert_close(&penalty, "cgp.penalty", CONV);
    for (name, g) in names.iter().zip(grad(&[penalty], &p[..5], false).unwrap()) {
        assert_close(&g, &format!("cgp.grad_{name}"), CONV);
    }
}

#[test]
fn bad_convolutions_are_reported() {
    let d = crate::common::device();
    let x = Tensor::zeros(&d, &[1, 4, 5, 5]).unwrap();
    let w = Tensor::zeros(&d, &[2, 3, 3, 3]).unwrap();
    let err = x.conv2d(&w, None, Conv2d::default()).unwrap_err();
    assert!(err.to_string().contains("[1, 4, 5, 5]") && err.to_string().contains("[2, 3, 3, 3]"), "{err}");
    let w = Tensor::zeros(&d, &[2, 4, 7, 7]).unwrap();
    assert!(x.conv2d(&w, None, Conv2d::default()).unwrap_err().to_string().contains("does not fit"));
    assert!(x.conv2d(&w, None, Conv2d::default().stride(0)).is_err());
    let w = Tensor::zeros(&d, &[4, 2, 3, 3]).unwrap();
    assert!(x.conv_transpose2d(&w, None, ConvTranspose2d::default().stride(2).output_padding(2)).is_err());
    let b = Tensor::zeros(&d, &[3]).unwrap();
    assert!(x.conv_transpose2d(&w, Some(&b), ConvTranspose2d::default()).is_err());
}

#[test]
fn blocked_kernels_agree_with_their_naive_twins() {
    use gantry::ops::conv2d::ConvKernel;
    let d = crate::common::device();
    d.manual_seed(21);
    // (x shape, w shape, options): odd sizes, more than 256 pixels, channels that are not
    // multiples of 8, stride 2, dilation, groups with 8 channels per group, batch 2; and for
    // the CPU kernels (32-channel x 64-pixel tiles, 8 channels per step), partial tiles and
    // groups of 32 channels.
    let cases: [([usize; 4], [usize; 4], Conv2d); 11] = [
        ([2, 13, 23, 29], [11, 13, 3, 3], Conv2d::default().padding(1)),
        ([1, 9, 17, 20], [19, 9, 4, 4], Conv2d::default().stride(2).padding(1)),
        ([2, 5, 19, 18], [7, 5, 3, 3], Conv2d::default().stride(2).padding(1)),
        ([1, 6, 15, 16], [10, 6, 1, 1], Conv2d::default()),
        ([1, 4, 14, 15], [9, 4, 3, 3], Conv2d::default().padding(2).dilation(2)),
        ([2, 16, 11, 9], [16, 8, 3, 3], Conv2d::default().padding(1).groups(2)),
        ([1, 20, 12, 13], [40, 20, 3, 3], Conv2d::default().stride(2).padding(1)),
        ([1, 64, 9, 7], [64, 32, 3, 3], Conv2d::default().padding(1).groups(2)),
        // Output rows 12 wide (a multiple of 4: the weight gradient reads them as vec4s).
        ([2, 16, 8, 12], [40, 16, 3, 3], Conv2d::default().padding(1)),
        // More than one 64-channel tile of the GPU kernels each way: output channels, and
        // input channels (the input gradient's rows, the weight gradient's columns).
        ([1, 8, 5, 6], [70, 8, 3, 3], Conv2d::default().padding(1)),
        ([1, 66, 6, 5], [8, 66, 3, 3], Conv2d::default().stride(2).padding(1)),
    ];
    for (kernel, (xs, ws, opts)) in [ConvKernel::Blocked, ConvKernel::Auto, ConvKernel::Tiled]
        .into_iter()
        .flat_map(|k| cases.map(|c| (k, c)))
    {
        let x = Tensor::randn(&d, &xs).unwrap().requires_grad_();
        let w = Tensor::randn(&d, &ws).unwrap().requires_grad_();
        // A bias on every other case: the CPU kernels start their sums from it.
        let b = Tensor::randn(&d, &[ws[0]]).unwrap().requires_grad_();
        let bias = (xs[2] % 2 == 1).then_some(&b);
        let y_fast = x.conv2d(&w, bias, opts.kernel(kernel)).unwrap();
        let up = Tensor::randn(&d, y_fast.shape()).unwrap();
        let y_slow = x.conv2d(&w, bias, opts.kernel(ConvKernel::Naive)).unwrap();
        let what = format!("{kernel:?}: {xs:?} * {ws:?} {opts:?}");
        let close = |a: &Tensor, b: &Tensor, part: &str| {
            crate::common::assert_values(
                &format!("{what}: {part}"),
                &a.to_vec().unwrap(),
                a.shape(),
                &b.to_vec().unwrap(),
                b.shape(),
                CONV,
            )
        };
        close(&y_fast, &y_slow, "forward");
        let leaves = [x.clone(), w.clone(), b.clone()];
        let fast = grad(&[y_fast.mul(&up).unwrap().sum_all().unwrap()], &leaves, false).unwrap();
        let slow = grad(&[y_slow.mul(&up).unwrap().sum_all().unwrap()], &leaves, false).unwrap();
        close(&fast[0], &slow[0], "input gradient");
        close(&fast[1], &slow[1], "weight gradient");
        close(&fast[2], &slow[2], "bias gradient");
    }
}

#[test]
fn transposed_convolution_kernels_agree_with_their_naive_twins() {
    use gantry::ops::conv2d::ConvKernel;
    let d = crate::common::device();
    d.manual_seed(23);
    // Enough channels for the CPU kernels (8 per reduction step), a bias they add, stride 2
    // with output padding, and an 8-row tile for 12 output channels.
    let x = Tensor::randn(&d, &[2, 16, 7, 9]).unwrap().requires_grad_();
    let w = Tensor::randn(&d, &[16, 12, 3, 3]).unwrap().requires_grad_();
    let b = Tensor::randn(&d, &[12]).unwrap().requires_grad_();
    let opts = ConvTranspose2d::default().stride(2).padding(1).output_padding(1);
    let run = |k: ConvKernel| {
        let y = x.conv_transpose2d(&w, Some(&b), opts.kernel(k)).unwrap();
        let up = Tensor::ones(&d, y.shape()).unwrap().mul_scalar(0.5).unwrap();
        let g = grad(&[y.mul(&up).unwrap().sum_all().unwrap()], &[x.clone(), w.clone(), b.clone()], false)
            .unwrap();
        (y, g)
    };
    let (y_slow, g_slow) = run(ConvKernel::Naive);
    for kernel in [ConvKernel::Auto, ConvKernel::Tiled] {
        let (y_fast, g_fast) = run(kernel);
        for (part, a, e) in [
            ("forward", &y_fast, &y_slow),
            ("input gradient", &g_fast[0], &g_slow[0]),
            ("weight gradient", &g_fast[1], &g_slow[1]),
            ("bias gradient", &g_fast[2], &g_slow[2]),
        ] {
            crate::common::assert_values(
                &format!("{kernel:?}: {part}"),
                &a.to_vec().unwrap(),
                a.shape(),
                &e.to_vec().unwrap(),
                e.shape(),
                CONV,
            );
        }
    }
}

/// A weight that fills a whole storage binding on lavapipe (StarGAN's 1024 -> 2048 4x4
/// conv, 128 MiB) leaves no room for the bias beside it: the bias is then added after the
/// convolution, with the same values and gradients as a bias added by hand.
#[test]
fn a_conv_whose_weight_fills_a_binding_still_takes_its_bias() {
    let d = crate::common::device();
    let opts = Conv2d::default().stride(2).padding(1);
    let x = Tensor::uniform(&d, &[1, 1024, 4, 4], -1.0, 1.0).unwrap();
    let w = Tensor::uniform(&d, &[2048, 1024, 4, 4], -0.01, 0.01).unwrap();
    let b = Tensor::uniform(&d, &[2048], -1.0, 1.0).unwrap().requires_grad_();
    let with = x.conv2d(&w, Some(&b), opts).unwrap(); // (1, 2048, 2, 2)
    let by_hand = x.conv2d(&w, None, opts).unwrap().add(&b.reshape(&[1, 2048, 1, 1]).unwrap()).unwrap();
    let values = |t: &Tensor| t.to_vec().unwrap();
    assert_values("bias in the conv", &values(&with), with.shape(), &values(&by_hand), by_hand.shape(), CONV);
    let gy = Tensor::uniform(&d, &[1, 2048, 2, 2], -1.0, 1.0).unwrap();
    let gb = grad(&[with.mul(&gy).unwrap().sum_all().unwrap()], std::slice::from_ref(&b), false)
        .unwrap()
        .remove(0);
    let want = gy.sum(&[0, 2, 3], false).unwrap();
    assert_values("bias gradient", &values(&gb), gb.shape(), &values(&want), want.shape(), CONV);
}

/// A weight's packed layout is reused between calls and rebuilt after the weight changes,
/// in place (an optimizer step) or by assignment, and after its bias changes: every result
/// equals a convolution with a fresh copy of the same values, whose packing is new.
#[test]
fn packed_weights_are_reused_only_while_the_weight_is_unchanged() {
    use gantry::ops::conv2d::Conv2d;
    use gantry::optim::{Sgd, SgdConfig};
    let d = crate::common::device();
    let x = Tensor::uniform(&d, &[2, 8, 6, 6], -1.0, 1.0).unwrap();
    let w = Tensor::uniform(&d, &[8, 8, 3, 3], -0.5, 0.5).unwrap().requires_grad_();
    let b = Tensor::uniform(&d, &[8], -0.5, 0.5).unwrap().requires_grad_();
    let opts = Conv2d::default().padding(1);
    // Uncached: copies of the values, never seen before.
    let fresh = |w: &Tensor, b: &Tensor| {
        x.conv2d(&w.detach().copy().unwrap(), Some(&b.detach().copy().unwrap()), opts)
            .unwrap()
            .to_vec()
            .unwrap()
    };
    let same = |what: &str, a: Vec<f32>, e: Vec<f32>| {
        assert!(a.iter().zip(&e).all(|(p, q)| (p - q).abs() < 1e-5), "{what}");
    };
    same("first call", x.conv2d(&w, Some(&b), opts).unwrap().to_vec().unwrap(), fresh(&w, &b));
    same("second call", x.conv2d(&w, Some(&b), opts).unwrap().to_vec().unwrap(), fresh(&w, &b));
    // The input gradient uses the other layout of the same weight.
    let xi = x.detach().requires_grad_();
    xi.conv2d(&w, Some(&b), opts).unwrap().sum_all().unwrap().backward().unwrap();
    let gx = xi.grad().unwrap().to_vec().unwrap();
    let xj = x.detach().requires_grad_();
    xj.conv2d(&w.detach().copy().unwrap(), None, opts).unwrap().sum_all().unwrap().backward().unwrap();
    same("input gradient", gx, xj.grad().unwrap().to_vec().unwrap());
    // An in-place optimizer step changes the weight and the bias.
    let mut sgd = Sgd::new(vec![w.clone(), b.clone()], SgdConfig::new(0.5));
    sgd.step().unwrap();
    same("after an in-place step", x.conv2d(&w, Some(&b), opts).unwrap().to_vec().unwrap(), fresh(&w, &b));
    // Only the bias changes.
    b.set_grad(None);
    w.set_grad(None);
    b.set_grad(Some(Tensor::ones(&d, &[8]).unwrap()));
    let mut bias_only = Sgd::new(vec![b.clone()], SgdConfig::new(0.25));
    bias_only.step().unwrap();
    same("after a bias step", x.conv2d(&w, Some(&b), opts).unwrap().to_vec().unwrap(), fresh(&w, &b));
    // Assignment.
    w.assign(&Tensor::uniform(&d, &[8, 8, 3, 3], -0.5, 0.5).unwrap()).unwrap();
    same("after an assignment", x.conv2d(&w, Some(&b), opts).unwrap().to_vec().unwrap(), fresh(&w, &b));
    // Without the bias, then with it again.
    same("without the bias", x.conv2d(&w, None, opts).unwrap().to_vec().unwrap(), {
        x.conv2d(&w.detach().copy().unwrap(), None, opts).unwrap().to_vec().unwrap()
    });
    same("with it again", x.conv2d(&w, Some(&b), opts).unwrap().to_vec().unwrap(), fresh(&w, &b));
}

/// The CPU kernels' packed weight, against the layout written out on the host: both
/// layouts, one and two groups, row counts that need padding, 1×1 and 3×3 taps, with and
/// without a bias (padded with zeros).
#[test]
fn packed_weight_matches_its_layout() {
    use gantry::ops::conv2d_pack::pack_weight;
    let d = crate::common::device();
    for (c_out, cin_g, kh, kw, groups) in
        [(6, 5, 3, 3, 1), (8, 3, 1, 1, 2), (5, 7, 1, 2, 1), (12, 2, 3, 3, 3)]
    {
        let w = Tensor::uniform(&d, &[c_out, cin_g, kh, kw], -1.0, 1.0).unwrap();
        let wv = w.to_vec().unwrap();
        let (cout_g, taps) = (c_out / groups, kh * kw);
        for rows_are_outputs in [true, false] {
            let (lanes, rows) = if rows_are_outputs { (cin_g, cout_g) } else { (cout_g, cin_g) };
            let bias_len = if rows_are_outputs { c_out } else { cin_g * groups };
            let b = Tensor::uniform(&d, &[bias_len], -1.0, 1.0).unwrap();
            let bv = b.to_vec().unwrap();
            let rp = rows.next_multiple_of(4);
            let mut want = vec![0.0f32; groups * taps * lanes * rp];
            for g in 0..groups {
                for t in 0..taps {
                    for lane in 0..lanes {
                        for row in 0..rows {
                            let (o, i) = if rows_are_outputs { (row, lane) } else { (lane, row) };
                            want[((g * taps + t) * lanes + lane) * rp + row] =
                                wv[((g * cout_g + o) * cin_g + i) * taps + t];
                        }
                    }
                }
            }
            let case =
                format!("{c_out}x{cin_g}x{kh}x{kw}, {groups} groups, rows are outputs: {rows_are_outputs}");
            assert_eq!(
                pack_weight(&w, groups, rows_are_outputs, None).unwrap().to_vec().unwrap(),
                want,
                "{case}"
            );
            want.extend(&bv);
            want.resize(want.len() + bias_len.next_multiple_of(4) - bias_len, 0.0);
            let got = pack_weight(&w, groups, rows_are_outputs, Some(&b)).unwrap().to_vec().unwrap();
            assert_eq!(got, want, "{case}, with a bias");
        }
    }
    let w = Tensor::zeros(&d, &[6, 2, 3]).unwrap();
    assert!(pack_weight(&w, 1, true, None).unwrap_err().to_string().contains("[6, 2, 3]"));
}
