//! A norm with its activation (and AdaIN's per-image scale and shift) in the norm's own
//! kernel equals the norm, the affine step and the activation as separate ops: values,
//! gradients on both backward paths (the fused kernel, and tensor ops under create_graph),
//! a second-order gradient, running statistics, and `Sequential`'s fusing of a norm layer
//! with the activation after it.

use crate::common::{assert_values, device, Tol};
use gantry::nn::{Activation, Layer, Module, Norm, Sequential};
use gantry::ops::norm::{NormAct, NormKind, RunningStats};
use gantry::Tensor;

/// The same formula in one kernel and in several: rounding apart only.
const SAME: Tol = Tol { atol: 2e-5, rtol: 1e-4 };

type F = Box<dyn Fn(&[Tensor]) -> gantry::Result<Tensor>>;

fn assert_same(what: &str, a: &Tensor, e: &Tensor) {
    assert_values(what, &a.to_vec().unwrap(), a.shape(), &e.to_vec().unwrap(), e.shape(), SAME);
}

/// Forward, first-order gradients of every input with and without create_graph, and the
/// gradient of ‖∂loss/∂x‖² (a penalty through the norm) of `fused` against `composite`.
fn assert_twins(case: &str, inputs: &[Tensor], fused: F, composite: F) {
    let xs: Vec<Tensor> = inputs.iter().map(|t| t.detach().requires_grad_()).collect();
    let (y, ye) = (fused(&xs).unwrap(), composite(&xs).unwrap());
    assert_same(&format!("{case}: forward"), &y, &ye);
    let w = Tensor::uniform(&device(), y.shape(), -1.0, 1.0).unwrap();
    let loss = |f: &F| f(&xs).unwrap().mul(&w).unwrap().sum_all().unwrap();
    for create_graph in [false, true] {
        let got = gantry::grad(&[loss(&fused)], &xs, create_graph).unwrap();
        let want = gantry::grad(&[loss(&composite)], &xs, create_graph).unwrap();
        for (i, (g, e)) in got.iter().zip(&want).enumerate() {
            assert_same(&format!("{case}: gradient {i}, create_graph {create_graph}"), g, e);
        }
    }
    let penalty = |f: &F| {
        let gx = gantry::grad(&[loss(f)], &xs[..1], true).unwrap().remove(0);
        gantry::grad(&[gx.mul(&gx).unwrap().sum_all().unwrap()], &xs, false).unwrap()
    };
    for (i, (g, e)) in penalty(&fused).iter().zip(&penalty(&composite)).enumerate() {
        assert_same(&format!("{case}: second-order gradient {i}"), g, e);
    }
}

fn act(a: NormAct) -> impl Fn(Tensor) -> gantry::Result<Tensor> {
    move |z| a.apply(&z)
}

#[test]
fn norm_with_its_activation_equals_the_norm_then_the_activation() {
    let d = device();
    let x = Tensor::randn(&d, &[3, 4, 5, 6]).unwrap();
    let (w, b) =
        (Tensor::uniform(&d, &[4], 0.5, 1.5).unwrap(), Tensor::uniform(&d, &[4], -0.5, 0.5).unwrap());
    for kind in [NormKind::Instance, NormKind::Batch] {
        for a in [NormAct::RELU, NormAct::LeakyRelu(0.2), NormAct::None] {
            let norm = move |x: &[Tensor]| match kind {
                NormKind::Instance => x[0].instance_norm(Some(&x[1]), Some(&x[2]), None, true, 1e-5),
                NormKind::Batch => x[0].batch_norm(Some(&x[1]), Some(&x[2]), None, true, 1e-5),
            };
            assert_twins(
                &format!("{kind:?} {a:?}"),
                &[x.clone(), w.clone(), b.clone()],
                Box::new(move |x| x[0].norm_act(kind, Some(&x[1]), Some(&x[2]), None, true, 1e-5, a)),
                Box::new(move |x| norm(x).and_then(act(a))),
            );
        }
    }
    // Without affine parameters (CycleGAN's InstanceNorm → ReLU).
    assert_twins(
        "instance, no affine, ReLU",
        std::slice::from_ref(&x),
        Box::new(|x| x[0].norm_act(NormKind::Instance, None, None, None, true, 1e-5, NormAct::RELU)),
        Box::new(|x| x[0].instance_norm(None, None, None, true, 1e-5)?.relu()),
    );
}

#[test]
fn running_statistics_and_eval_mode_are_those_of_the_plain_norm() {
    let d = device();
    let x = Tensor::randn(&d, &[4, 3, 5, 5]).unwrap().affine(2.0, 0.5).unwrap();
    let a = NormAct::LeakyRelu(0.2);
    for kind in [NormKind::Instance, NormKind::Batch] {
        let stats = || [Tensor::zeros(&d, &[3]).unwrap(), Tensor::ones(&d, &[3]).unwrap()];
        let (fused, plain) = (stats(), stats());
        let run = |s: &[Tensor; 2], training: bool, fuse: bool| {
            let r = Some(RunningStats { mean: &s[0], var: &s[1], momentum: 0.1 });
            if fuse {
                x.norm_act(kind, None, None, r, training, 1e-5, a).unwrap()
            } else {
                let n = match kind {
                    NormKind::Instance => x.instance_norm(None, None, r, training, 1e-5),
                    NormKind::Batch => x.batch_norm(None, None, r, training, 1e-5),
                };
                a.apply(&n.unwrap()).unwrap()
            }
        };
        for training in [true, false] {
            assert_same(
                &format!("{kind:?}, training {training}"),
                &run(&fused, training, true),
                &run(&plain, training, false),
            );
            assert_same(&format!("{kind:?}: running mean"), &fused[0], &plain[0]);
            assert_same(&format!("{kind:?}: running var"), &fused[1], &plain[1]);
        }
        assert_ne!(fused[0].to_vec().unwrap(), [0.0; 3], "{kind:?}: train mode updated the mean");
    }
}

#[test]
fn modulated_instance_norm_equals_adain_as_separate_ops() {
    let d = device();
    let x = Tensor::randn(&d, &[2, 3, 4, 5]).unwrap();
    let scale = Tensor::uniform(&d, &[2, 3], 0.5, 1.5).unwrap();
    let shift = Tensor::uniform(&d, &[2, 3], -0.5, 0.5).unwrap();
    for a in [NormAct::LeakyRelu(0.2), NormAct::None] {
        assert_twins(
            &format!("AdaIN {a:?}"),
            &[x.clone(), scale.clone(), shift.clone()],
            Box::new(move |x| x[0].modulated_instance_norm(&x[1], &x[2], 1e-5, a)),
            Box::new(move |x| {
                let normed = x[0].instance_norm(None, None, None, true, 1e-5)?;
                let z = normed.mul(&x[1].reshape(&[2, 3, 1, 1])?)?.add(&x[2].reshape(&[2, 3, 1, 1])?)?;
                a.apply(&z)
            }),
        );
    }
    let wrong = x.modulated_instance_norm(&Tensor::ones(&d, &[3]).unwrap(), &shift, 1e-5, NormAct::None);
    let msg = wrong.unwrap_err().to_string();
    assert!(msg.contains("modulated_instance_norm") && msg.contains("[3]"), "{msg}");
}

/// `Sequential` runs a norm layer and the ReLU / LeakyReLU after it as one op: the same
/// outputs and gradients as running the layers one at a time.
#[test]
fn sequential_fuses_a_norm_with_the_activation_after_it() {
    let d = device();
    let net = Sequential::new()
        .push(Norm::instance(&d, 4, true, false).unwrap())
        .push(Activation::Relu)
        .push(Norm::batch(&d, 4).unwrap())
        .push(Activation::LeakyRelu(0.2))
        .push(Activation::Tanh);
    let mut params = Vec::new();
    net.visit(&mut |_, t, role| {
        if role == gantry::nn::Role::Parameter {
            params.push(t.clone());
        }
    });
    for p in &params {
        p.assign(&Tensor::uniform(&d, p.shape(), 0.5, 1.5).unwrap()).unwrap();
    }
    let x = Tensor::randn(&d, &[2, 4, 3, 3]).unwrap().requires_grad_();
    let mut inputs = vec![x.clone()];
    inputs.extend(params.iter().cloned());
    for training in [true, false] {
        net.set_training(training);
        let fused = net.forward(&x).unwrap();
        let one_by_one = net.layers.iter().try_fold(x.clone(), |h, l| l.forward(&h)).unwrap();
        assert_same(&format!("training {training}: forward"), &fused, &one_by_one);
        let g = gantry::grad(&[fused.sum_all().unwrap()], &inputs, false).unwrap();
        let e = gantry::grad(&[one_by_one.sum_all().unwrap()], &inputs, false).unwrap();
        for (i, (g, e)) in g.iter().zip(&e).enumerate() {
            assert_same(&format!("training {training}: gradient {i}"), g, e);
        }
    }
}
