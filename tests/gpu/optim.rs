//! Optimizers over five steps, schedules over a run, and EMA, against PyTorch.

use crate::common::{assert_close, assert_values, golden, load, Tol};
use gantry::optim::{cosine, cyclegan_linear, ema_update, step_lr, Adam, AdamConfig, Sgd, SgdConfig};
use gantry::Tensor;

/// Five dependent f32 updates; Adam divides by sqrt(v) + eps.
const OPTIM: Tol = Tol { atol: 1e-6, rtol: 1e-5 };

enum Opt {
    Adam(Adam),
    Sgd(Sgd),
}

fn run(case: &str, make: impl Fn(Vec<Tensor>) -> Opt) {
    let params: Vec<Tensor> = (0..2).map(|i| load(&format!("{case}.p{i}")).requires_grad_()).collect();
    let mut opt = make(params.clone());
    for step in 0..5 {
        for (i, p) in params.iter().enumerate() {
            p.set_grad(Some(load(&format!("{case}.step{step}.g{i}"))));
        }
        match &mut opt {
            Opt::Adam(a) => a.step().unwrap(),
            Opt::Sgd(s) => s.step().unwrap(),
        }
        for (i, p) in params.iter().enumerate() {
            assert_close(p, &format!("{case}.step{step}.p{i}"), OPTIM);
        }
    }
}

#[test]
fn adam_with_and_without_weight_decay() {
    run("adam", |ps| Opt::Adam(Adam::new(ps, AdamConfig::new(0.01).betas(0.5, 0.999))));
    run("adam_wd", |ps| Opt::Adam(Adam::new(ps, AdamConfig::new(0.003).weight_decay(0.1))));
}

/// Parameters whose length divides by 4 take Adam four elements per invocation
/// (`adam_step4`; the goldens' 35 and 3 take one): the same values, step for step.
#[test]
fn adam_four_at_a_time_equals_one_at_a_time() {
    let d = crate::common::device();
    for config in [AdamConfig::new(0.01).betas(0.5, 0.999), AdamConfig::new(0.003).weight_decay(0.1)] {
        let p4 = Tensor::uniform(&d, &[1028], -1.0, 1.0).unwrap().requires_grad_();
        let p1 = p4.narrow(0, 0, 1027).unwrap().detach().requires_grad_();
        let (mut a4, mut a1) = (Adam::new(vec![p4.clone()], config), Adam::new(vec![p1.clone()], config));
        for _ in 0..3 {
            let g4 = Tensor::uniform(&d, &[1028], -1.0, 1.0).unwrap();
            p4.set_grad(Some(g4.clone()));
            p1.set_grad(Some(g4.narrow(0, 0, 1027).unwrap()));
            a4.step().unwrap();
            a1.step().unwrap();
            assert_eq!(p4.to_vec().unwrap()[..1027], p1.to_vec().unwrap()[..]);
        }
    }
}

#[test]
fn sgd_momentum_nesterov_dampening() {
    run("sgd_momentum", |ps| Opt::Sgd(Sgd::new(ps, SgdConfig::new(0.05).momentum(0.9))));
    run("sgd_nesterov_wd", |ps| {
        Opt::Sgd(Sgd::new(ps, SgdConfig::new(0.05).momentum(0.9).nesterov(true).weight_decay(0.01)))
    });
    run("sgd_dampening", |ps| Opt::Sgd(Sgd::new(ps, SgdConfig::new(0.05).momentum(0.9).dampening(0.1))));
}

#[test]
fn adam_state_round_trips_and_resumes_identically() {
    let case = "adam";
    let fresh =
        || -> Vec<Tensor> { (0..2).map(|i| load(&format!("{case}.p{i}")).requires_grad_()).collect() };
    let config = AdamConfig::new(0.01).betas(0.5, 0.999);
    let (a, b) = (fresh(), fresh());
    let mut first = Adam::new(a.clone(), config);
    for step in 0..2 {
        for (i, p) in a.iter().enumerate() {
            p.set_grad(Some(load(&format!("{case}.step{step}.g{i}"))));
        }
        first.step().unwrap();
    }
    // A second optimizer restored from the first's state, over parameters with the same
    // values, continues exactly where the first left off.
    for (pb, pa) in b.iter().zip(&a) {
        pb.assign(&pa.copy().unwrap()).unwrap();
    }
    let mut resumed = Adam::new(b.clone(), config);
    resumed.load_state_dict(&first.state_dict().unwrap()).unwrap();
    for step in 2..5 {
        for (i, p) in b.iter().enumerate() {
            p.set_grad(Some(load(&format!("{case}.step{step}.g{i}"))));
        }
        resumed.step().unwrap();
    }
    for (i, p) in b.iter().enumerate() {
        assert_close(p, &format!("{case}.step4.p{i}"), OPTIM);
    }
    assert!(a[0].to_vec().unwrap() != b[0].to_vec().unwrap(), "the optimizers own separate parameters");
}

#[test]
fn sgd_state_round_trips_and_resumes_identically() {
    let case = "sgd_momentum";
    let fresh =
        || -> Vec<Tensor> { (0..2).map(|i| load(&format!("{case}.p{i}")).requires_grad_()).collect() };
    let config = SgdConfig::new(0.05).momentum(0.9);
    let (a, b) = (fresh(), fresh());
    let mut first = Sgd::new(a.clone(), config);
    let feed = |ps: &[Tensor], step: usize| {
        for (i, p) in ps.iter().enumerate() {
            p.set_grad(Some(load(&format!("{case}.step{step}.g{i}"))));
        }
    };
    for step in 0..2 {
        feed(&a, step);
        first.step().unwrap();
    }
    for (pb, pa) in b.iter().zip(&a) {
        pb.assign(&pa.copy().unwrap()).unwrap();
    }
    let mut resumed = Sgd::new(b.clone(), config);
    resumed.load_state_dict(&first.state_dict().unwrap()).unwrap();
    for step in 2..5 {
        feed(&b, step);
        resumed.step().unwrap();
    }
    for (i, p) in b.iter().enumerate() {
        assert_close(p, &format!("{case}.step4.p{i}"), OPTIM);
    }
}

#[test]
fn schedules_match_pytorch_schedulers() {
    let check = |name: &str, f: &dyn Fn(usize) -> f32| {
        let (shape, expected) = golden(name);
        let actual: Vec<f32> = (0..expected.len()).map(f).collect();
        assert_values(name, &actual, shape, expected, shape, Tol { atol: 1e-10, rtol: 1e-6 });
    };
    check("sched.linear", &|e| 2e-4 * cyclegan_linear(e, 1, 10, 15));
    check("sched.step", &|e| step_lr(2e-4, e, 7, 0.1));
    check("sched.cosine", &|e| cosine(2e-4, e, 20, 0.0));
    assert_eq!(gantry::optim::linear_decay(1.0, 50, 100), 0.5);
    assert_eq!(gantry::optim::linear_decay(1.0, 150, 100), 0.0);
}

#[test]
fn ema_is_the_references_lerp() {
    let (p, e) = (load("ema.p"), load("ema.e"));
    ema_update(std::slice::from_ref(&e), std::slice::from_ref(&p), 0.999).unwrap();
    assert_close(&e, "ema.out", Tol { atol: 1e-6, rtol: 1e-6 });
}

/// The fused EMA update equals the composite θ + β(θ_ema − θ), and leaves alone a tensor
/// the average shares its storage with.
#[test]
fn fused_ema_equals_the_composite_and_touches_nothing_else() {
    let d = crate::common::device();
    let shapes: [&[usize]; 3] = [&[5], &[3, 7], &[2, 3, 4, 5]];
    let params: Vec<Tensor> = shapes.iter().map(|s| Tensor::uniform(&d, s, -1.0, 1.0).unwrap()).collect();
    let ema: Vec<Tensor> = shapes.iter().map(|s| Tensor::uniform(&d, s, -1.0, 1.0).unwrap()).collect();
    let source = Tensor::uniform(&d, shapes[0], -1.0, 1.0).unwrap();
    ema[0].assign(&source).unwrap(); // shares source's storage now
    let before_source = source.to_vec().unwrap();
    let want: Vec<Vec<f32>> = ema
        .iter()
        .zip(&params)
        .map(|(e, p)| p.add(&e.sub(p).unwrap().mul_scalar(0.9).unwrap()).unwrap().to_vec().unwrap())
        .collect();
    ema_update(&ema, &params, 0.9).unwrap();
    for (k, (e, w)) in ema.iter().zip(&want).enumerate() {
        for (a, b) in e.to_vec().unwrap().iter().zip(w) {
            assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "tensor {k}: {a} vs {b}");
        }
    }
    assert_eq!(source.to_vec().unwrap(), before_source, "the shared tensor is untouched");
    assert!(ema_update(&ema[..1], &params, 0.9).is_err(), "counts must match");
}
