//! DiffAugment's ops and pipelines against tests/fixtures/diffaug.safetensors (written by
//! tests/reference/make_diffaug.py): forward, gradients of sum(out·w), translate's double
//! backward, and errors for bad input.

use crate::common::{assert_values, device, read_fixtures, Fixture, Tol, EXACTISH, REDUCTION};
use gantry::nn::diffaug::{diff_augment, AugmentDraws, Policy};
use gantry::ops::augment::Rect;
use gantry::{Error, Tensor};
use std::collections::HashMap;
use std::sync::OnceLock;

fn fixtures() -> &'static HashMap<String, Fixture> {
    static FIXTURES: OnceLock<HashMap<String, Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| read_fixtures("diffaug.safetensors", "make_diffaug.py"))
}

fn golden(name: &str) -> &'static Fixture {
    fixtures()
        .get(name)
        .unwrap_or_else(|| panic!("fixture {name} is missing: run tests/reference/make_diffaug.py"))
}

fn load(name: &str) -> Tensor {
    let (shape, data) = golden(name);
    Tensor::from_slice(&device(), data, shape).unwrap()
}

fn check(actual: &Tensor, name: &str, tol: Tol) {
    let (shape, data) = golden(name);
    assert_values(name, &actual.to_vec().unwrap(), actual.shape(), data, shape, tol);
}

/// The draws PyTorch used for image shape `tag`.
fn draws(tag: &str) -> AugmentDraws {
    let values = |name: &str| golden(&format!("{tag}.{name}")).1.clone();
    let pairs = |name: &str| values(name).chunks_exact(2).map(|p| (p[0], p[1])).collect::<Vec<_>>();
    AugmentDraws {
        brightness: values("brightness"),
        saturation: values("saturation"),
        contrast: values("contrast"),
        translation: pairs("translation").into_iter().map(|(a, b)| (a as i32, b as i32)).collect(),
        cutout: pairs("cutout").into_iter().map(|(a, b)| (a as usize, b as usize)).collect(),
    }
}

/// Checks `S.case`: out = f(x) and d sum(out·w) / dx.
fn check_case(tag: &str, case: &str, tol: Tol, f: impl Fn(&Tensor) -> gantry::Result<Tensor>) {
    let x = load(&format!("{tag}.x")).requires_grad_();
    let out = f(&x).unwrap();
    check(&out, &format!("{tag}.{case}.out"), tol);
    let loss = out.mul(&load(&format!("{tag}.{case}.w"))).unwrap().sum_all().unwrap();
    let grads = gantry::grad(&[loss], std::slice::from_ref(&x), false).unwrap();
    check(&grads[0], &format!("{tag}.{case}.grad"), tol);
}

/// The image shapes of the fixture: [3, 3, 10, 12] and [2, 3, 9, 7].
const SHAPES: [&str; 2] = ["even", "odd"];

fn x_shape(tag: &str) -> &'static [usize] {
    &golden(&format!("{tag}.x")).0
}

#[test]
fn translate_and_cutout_match_pytorch() {
    for tag in SHAPES {
        let d = draws(tag);
        check_case(tag, "translation", EXACTISH, |x| x.translate(&d.translation));
        let (h, w) = (x_shape(tag)[2], x_shape(tag)[3]);
        let rects = gantry::nn::diffaug::cutout_rects(h, w, &d.cutout).unwrap();
        check_case(tag, "cutout", EXACTISH, |x| x.cutout(&rects));
    }
}

#[test]
fn colour_ops_match_pytorch() {
    for tag in SHAPES {
        let d = draws(tag);
        check_case(tag, "brightness", EXACTISH, |x| x.brightness(&d.brightness));
        check_case(tag, "saturation", EXACTISH, |x| x.saturation(&d.saturation));
        // A mean over C·H·W (189 to 360 terms) in f32, in another order than PyTorch's.
        check_case(tag, "contrast", REDUCTION, |x| x.contrast(&d.contrast));
    }
}

#[test]
fn policies_match_pytorch() {
    for tag in SHAPES {
        let d = draws(tag);
        for (case, text) in [
            ("color_translation", "color,translation"),
            ("color_translation_cutout", "color,translation,cutout"),
        ] {
            let policy = Policy::parse(text).unwrap();
            // The contrast's mean over C·H·W, as above.
            check_case(tag, case, REDUCTION, |x| diff_augment(x, &policy, &d));
        }
        let x = load(&format!("{tag}.x"));
        let same = diff_augment(&x, &Policy::parse("").unwrap(), &AugmentDraws::default()).unwrap();
        check(&same, &format!("{tag}.x"), Tol { atol: 0.0, rtol: 0.0 });
    }
}

/// out = translate(x)²: its gradient 2·translate⁻¹(translate(x)·w) depends on x, so the
/// gradient of sum(grad·w2) runs translate's backward rule backwards.
#[test]
fn translate_differentiates_twice() {
    for tag in SHAPES {
        let shifts = draws(tag).translation;
        let case = format!("{tag}.translation_sq");
        let x = load(&format!("{tag}.x")).requires_grad_();
        let t = x.translate(&shifts).unwrap();
        let out = t.mul(&t).unwrap();
        check(&out, &format!("{case}.out"), EXACTISH);
        let loss = out.mul(&load(&format!("{case}.w"))).unwrap().sum_all().unwrap();
        let g = gantry::grad(&[loss], std::slice::from_ref(&x), true).unwrap().remove(0);
        check(&g, &format!("{case}.grad"), EXACTISH);
        assert!(g.requires_grad(), "create_graph keeps the gradient on the tape");
        g.mul(&load(&format!("{case}.w2"))).unwrap().sum_all().unwrap().backward().unwrap();
        check(&x.grad().unwrap(), &format!("{case}.gg"), EXACTISH);
    }
}

fn zeros(shape: &[usize]) -> Tensor {
    Tensor::zeros(&device(), shape).unwrap()
}

#[test]
fn bad_input_is_reported() {
    let x = zeros(&[2, 3, 4, 5]);
    let err = zeros(&[3, 4, 5]).translate(&[(0, 0)]).unwrap_err();
    assert!(matches!(err, Error::Rank { op: "translate", .. }), "{err:?}");
    assert!(matches!(
        zeros(&[6, 5]).brightness(&[0.5; 6]).unwrap_err(),
        Error::Rank { op: "brightness", .. }
    ));

    for (op, err) in [
        ("brightness", x.brightness(&[0.5; 3]).unwrap_err()),
        ("saturation", x.saturation(&[0.5]).unwrap_err()),
        ("contrast", x.contrast(&[]).unwrap_err()),
        ("translate", x.translate(&[(0, 0)]).unwrap_err()),
    ] {
        let msg = err.to_string();
        assert!(matches!(err, Error::Invalid { .. }) && msg.starts_with(op), "{msg}");
        assert!(msg.contains("batch of 2"), "{msg} names both counts");
    }
    assert!(x.brightness(&[0.5; 3]).unwrap_err().to_string().contains("got 3"));

    let err = x.translate(&[(0, 0), (5, 0)]).unwrap_err().to_string();
    assert!(err.contains("sample 1") && err.contains("H = 4"), "{err}");
    assert!(x.translate(&[(0, 6), (0, 0)]).is_err());
    assert!(x.translate(&[(-4, 5), (0, 0)]).is_ok(), "shifts up to the image size are allowed");

    let full = Rect { rows: 0..4, cols: 0..5 };
    assert!(x.cutout(&[full.clone(), full.clone()]).is_ok());
    assert!(x.cutout(std::slice::from_ref(&full)).unwrap_err().to_string().contains("got 1 rectangles"));
    let err = x.cutout(&[full.clone(), Rect { rows: 2..5, cols: 0..1 }]).unwrap_err().to_string();
    assert!(err.contains("sample 1"), "{err}");

    let policy = Policy::parse("cutout").unwrap();
    let bad = AugmentDraws { cutout: vec![(0, 0), (9, 0)], ..AugmentDraws::default() };
    assert!(diff_augment(&x, &policy, &bad).unwrap_err().to_string().contains("out of range"));
    let missing = AugmentDraws::default();
    let err = diff_augment(&x, &Policy::parse("color").unwrap(), &missing).unwrap_err().to_string();
    assert!(err.contains("brightness") && err.contains("got 0"), "{err}");
}
