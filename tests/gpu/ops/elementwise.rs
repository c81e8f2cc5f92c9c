//! Unary, binary and `where` ops: forward, gradients and second order against PyTorch.

use crate::common::{assert_close, check_case, load, EXACTISH, TRANSCENDENTAL};
use gantry::Tensor;

#[test]
fn unary_ops_match_pytorch() {
    type F = fn(&Tensor) -> gantry::Result<Tensor>;
    let cases: [(&str, F); 15] = [
        ("neg", |x| x.neg()),
        ("abs", |x| x.abs()),
        ("exp", |x| x.exp()),
        ("log", |x| x.log()),
        ("sqrt", |x| x.sqrt()),
        ("rsqrt", |x| x.rsqrt()),
        ("powf_2_5", |x| x.powf(2.5)),
        ("powf_3", |x| x.powf(3.0)),
        ("powf_neg_1_5", |x| x.powf(-1.5)),
        ("relu", |x| x.relu()),
        ("leaky_relu", |x| x.leaky_relu(0.2)),
        ("sigmoid", |x| x.sigmoid()),
        ("tanh", |x| x.tanh()),
        ("clamp", |x| x.clamp(-0.5, 0.7)),
        ("affine", |x| x.affine(1.5, -0.25)),
    ];
    for (case, f) in cases {
        check_case(case, 1, TRANSCENDENTAL, |xs| f(&xs[0]));
    }
}

/// `check_case` takes gradients with `create_graph`, where the activations' rules run as
/// tensor ops; plain gradients take the one-pass kernels (`unary_grad`). These must match
/// the same goldens, and the tensor-op gradients to rounding.
#[test]
fn one_pass_activation_gradients_equal_the_tensor_op_ones() {
    type F = fn(&Tensor) -> gantry::Result<Tensor>;
    let cases: [(&str, F); 6] = [
        ("abs", |x| x.abs()),
        ("relu", |x| x.relu()),
        ("leaky_relu", |x| x.leaky_relu(0.2)),
        ("sigmoid", |x| x.sigmoid()),
        ("tanh", |x| x.tanh()),
        ("clamp", |x| x.clamp(-0.5, 0.7)),
    ];
    for (case, f) in cases {
        let x = load(&format!("{case}.in0")).requires_grad_();
        let loss = || f(&x).unwrap().mul(&load(&format!("{case}.w"))).unwrap().sum_all().unwrap();
        let one_pass = gantry::grad(&[loss()], std::slice::from_ref(&x), false).unwrap().remove(0);
        assert_close(&one_pass, &format!("{case}.grad0"), TRANSCENDENTAL);
        let composite = gantry::grad(&[loss()], std::slice::from_ref(&x), true).unwrap().remove(0);
        let (a, e) = (one_pass.to_vec().unwrap(), composite.to_vec().unwrap());
        assert!(a.iter().zip(&e).all(|(p, q)| (p - q).abs() <= 1e-6 * q.abs().max(1.0)), "{case}");
    }
}

#[test]
fn binary_ops_broadcast_in_every_direction() {
    type F = fn(&Tensor, &Tensor) -> gantry::Result<Tensor>;
    let ops: [(&str, F); 6] = [
        ("add", |a, b| a.add(b)),
        ("sub", |a, b| a.sub(b)),
        ("mul", |a, b| a.mul(b)),
        ("div", |a, b| a.div(b)),
        ("maximum", |a, b| a.maximum(b)),
        ("minimum", |a, b| a.minimum(b)),
    ];
    for pattern in ["same", "both", "left", "scalar"] {
        for (op, f) in ops {
            check_case(&format!("{op}_{pattern}"), 2, EXACTISH, |xs| f(&xs[0], &xs[1]));
        }
    }
}

#[test]
fn comparisons_give_masks() {
    let (a, b) = (load("cmp.a"), load("cmp.b"));
    assert_close(&a.gt(&b).unwrap(), "cmp.gt", EXACTISH);
    assert_close(&a.lt(&b).unwrap(), "cmp.lt", EXACTISH);
    assert_close(&a.ge(&b).unwrap(), "cmp.ge", EXACTISH);
    assert_close(&a.le(&b).unwrap(), "cmp.le", EXACTISH);
    assert_close(&a.eq(&b).unwrap(), "cmp.eq", EXACTISH);
    assert!(!a.clone().requires_grad_().gt(&b).unwrap().requires_grad(), "masks carry no history");
}

#[test]
fn where_broadcasts_all_three_operands() {
    let cond = load("where.cond");
    check_case("where", 2, EXACTISH, |xs| Tensor::where_(&cond, &xs[0], &xs[1]));
}

/// Broadcasting against the host's index arithmetic, over shapes that collapse to one, two
/// or three axes (the grid kernel) and ones that do not, or whose outer axis is longer
/// than a dispatch dimension (the per-element kernel).
#[test]
fn broadcasts_of_every_layout_match_the_host() {
    let d = crate::common::device();
    let cases: [(&[usize], &[usize]); 9] = [
        (&[2, 3, 4, 5], &[1, 3, 1, 1]),
        (&[2, 3, 4, 5], &[2, 1, 4, 1]),
        (&[2, 3, 4, 5], &[5]),
        (&[2, 1, 4, 5], &[3, 1, 1]),
        (&[4, 1], &[1, 6]),
        (&[2, 3, 1, 5], &[2, 1, 4, 1]),
        (&[1], &[1, 1]),
        (&[7, 300], &[7, 1]),
        (&[70000, 2], &[1, 2]),
    ];
    for (sa, sb) in cases {
        let a = Tensor::uniform(&d, sa, -1.0, 1.0).unwrap();
        let b = Tensor::uniform(&d, sb, -1.0, 1.0).unwrap();
        let (av, bv) = (a.to_vec().unwrap(), b.to_vec().unwrap());
        let rank = sa.len().max(sb.len());
        let pad = |s: &[usize]| [vec![1; rank - s.len()], s.to_vec()].concat();
        let (pa, pb) = (pad(sa), pad(sb));
        let out: Vec<usize> = pa.iter().zip(&pb).map(|(x, y)| *x.max(y)).collect();
        let at = |shape: &[usize], idx: &[usize]| {
            idx.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + if n == 1 { 0 } else { i })
        };
        let n: usize = out.iter().product();
        let mut want = Vec::with_capacity(n);
        for flat in 0..n {
            let mut idx = vec![0; rank];
            let mut rest = flat;
            for k in (0..rank).rev() {
                idx[k] = rest % out[k];
                rest /= out[k];
            }
            want.push(av[at(&pa, &idx)] - bv[at(&pb, &idx)]);
        }
        assert_eq!(a.sub(&b).unwrap().to_vec().unwrap(), want, "{sa:?} - {sb:?}");
    }
}

/// Maps over a length divisible by 4 run four elements per invocation (`unary_map4`,
/// `binary_flat4`); over any other length one each. Both give the same values, gradients
/// included (the one-pass activation gradients are binary maps too).
#[test]
fn four_at_a_time_maps_equal_the_one_at_a_time_ones() {
    type F = fn(&Tensor, &Tensor) -> gantry::Result<Tensor>;
    let d = crate::common::device();
    let x4 = Tensor::uniform(&d, &[1028], -2.0, 2.0).unwrap().requires_grad_();
    let z4 = Tensor::uniform(&d, &[1028], 0.5, 2.0).unwrap();
    let x1 = x4.narrow(0, 0, 1027).unwrap().detach().requires_grad_();
    let z1 = z4.narrow(0, 0, 1027).unwrap();
    let cases: [(&str, F); 8] = [
        ("add", |x, z| x.add(z)),
        ("mul", |x, z| x.mul(z)),
        ("div", |x, z| x.div(z)),
        ("maximum", |x, z| x.maximum(z)),
        ("relu", |x, _| x.relu()),
        ("leaky_relu", |x, _| x.leaky_relu(0.2)),
        ("tanh", |x, _| x.tanh()),
        ("sigmoid", |x, _| x.sigmoid()),
    ];
    for (name, f) in cases {
        let (y4, y1) = (f(&x4, &z4).unwrap(), f(&x1, &z1).unwrap());
        let g4 = gantry::grad(&[y4.mul(&z4).unwrap().sum_all().unwrap()], std::slice::from_ref(&x4), false);
        let g1 = gantry::grad(&[y1.mul(&z1).unwrap().sum_all().unwrap()], std::slice::from_ref(&x1), false);
        for (what, a, b) in [("value", y4, y1), ("gradient", g4.unwrap().remove(0), g1.unwrap().remove(0))] {
            let (a, b) = (a.to_vec().unwrap(), b.to_vec().unwrap());
            assert_eq!(a[..1027], b[..], "{name}: {what}");
        }
    }
}

/// Broadcasts whose innermost run divides by 4 (every per-channel scale and bias over an
/// image, a row added to a matrix) take four elements per invocation (`binary_grid4`):
/// every value equals the host's, exactly.
#[test]
fn four_at_a_time_broadcasts_equal_the_host() {
    let d = crate::common::device();
    // (a shape, b shape): b splat along the run, b stepping through it, a broadcast too.
    let cases: [(&[usize], &[usize]); 4] = [
        (&[2, 3, 4, 8], &[1, 3, 1, 1]),
        (&[2, 3, 8], &[2, 1, 8]),
        (&[5, 8], &[8]),
        (&[2, 1, 12], &[1, 3, 12]),
    ];
    for (sa, sb) in cases {
        let a = Tensor::uniform(&d, sa, -2.0, 2.0).unwrap();
        let b = Tensor::uniform(&d, sb, 0.5, 2.0).unwrap();
        let y = a.mul(&b).unwrap().add(&b).unwrap();
        let shape = y.shape().to_vec();
        let (va, vb, vy) = (a.to_vec().unwrap(), b.to_vec().unwrap(), y.to_vec().unwrap());
        // The host's broadcast: each output index read back into a and b.
        let at = |s: &[usize], mut flat: usize| {
            let mut idx = 0;
            let mut stride = 1;
            for k in (0..shape.len()).rev() {
                let c = flat % shape[k];
                flat /= shape[k];
                let dim = (k + s.len()).checked_sub(shape.len()).map(|q| s[q]).unwrap_or(1);
                if dim != 1 {
                    idx += c * stride;
                }
                stride *= dim;
            }
            idx
        };
        for (i, got) in vy.iter().enumerate() {
            let (x, z) = (va[at(sa, i)], vb[at(sb, i)]);
            assert_eq!(*got, x * z + z, "{sa:?} * {sb:?} at {i}");
        }
    }
}
