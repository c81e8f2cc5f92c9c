//! LPIPS (VGG, v0.1), FastGAN's perceptual loss, against the plain-torch re-implementation
//! in tests/reference/make_lpips.py: weights at 1/8 of VGG16's width, read from files in the
//! formats users have (torchvision's zip .pth, lpips's legacy .pth).

use crate::common::{assert_values, device, temp, REDUCTION};
use gantry::io::{load_any, load_safetensors, save_host_safetensors, HostTensor, NamedTensors};
use gantry::nn::lpips::VGG16_WIDTHS;
use gantry::nn::{Lpips, ModuleExt};
use gantry::{grad, no_grad, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lpips").join(name)
}

fn gold() -> HashMap<String, HostTensor> {
    load_safetensors(fixture("expected.safetensors")).unwrap().into_iter().collect()
}

fn load_fixture_net() -> Lpips {
    Lpips::load(&device(), fixture("vgg16.pth"), fixture("lin.pth")).unwrap()
}

/// Compares after dividing both sides by the golden's largest magnitude: the gradients are
/// ~1e-3 and below, where REDUCTION's atol of 1e-4 alone would accept almost anything.
fn close_relative_to_max(what: &str, actual: &Tensor, expected: &HostTensor) {
    let want = expected.to_f32();
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: the golden is all zeros");
    let got: Vec<f32> = actual.to_vec().unwrap().iter().map(|v| v / scale).collect();
    let want: Vec<f32> = want.iter().map(|v| v / scale).collect();
    assert_values(what, &got, actual.shape(), &want, &expected.shape, REDUCTION);
}

/// Distances and the gradients of their sum w.r.t. both images, against the goldens
/// `{prefix}distance`, `{prefix}grad_pred` and, where written, `{prefix}grad_target`.
fn check_against(net: &Lpips, gold: &HashMap<String, HostTensor>, prefix: &str) {
    let d = device();
    let target = gold["target"].to_tensor(&d).unwrap().requires_grad_();
    let pred = gold["pred"].to_tensor(&d).unwrap().requires_grad_();
    let dist = net.forward(&target, &pred).unwrap();
    let want = &gold[&format!("{prefix}distance")];
    assert_values(
        &format!("{prefix}distance"),
        &dist.to_vec().unwrap(),
        dist.shape(),
        &want.to_f32(),
        &want.shape,
        REDUCTION,
    );
    let grads = grad(&[dist.sum_all().unwrap()], &[pred, target], false).unwrap();
    close_relative_to_max(&format!("{prefix}grad_pred"), &grads[0], &gold[&format!("{prefix}grad_pred")]);
    if let Some(want) = gold.get(&format!("{prefix}grad_target")) {
        close_relative_to_max(&format!("{prefix}grad_target"), &grads[1], want);
    }
}

#[test]
fn loads_both_files_and_matches_pytorch() {
    let net = load_fixture_net();
    assert_eq!(net.widths(), [8, 16, 32, 64, 64], "widths come from the file's shapes");
    check_against(&net, &gold(), "");
}

/// relu5_3 all zero: every channel vector at that tap has norm 0, where a naive sqrt
/// gradient is 0/0; PyTorch's gradients stay finite and ours must match them.
#[test]
fn a_tap_of_zeros_keeps_gradients_finite() {
    let net = load_fixture_net();
    let bias = net.state_dict().into_iter().find(|(k, _)| k == "features.28.bias").unwrap().1;
    no_grad(|| bias.assign(&Tensor::full(&device(), bias.shape(), -1000.0).unwrap())).unwrap();
    check_against(&net, &gold(), "dead.");
}

#[test]
fn names_match_the_files_and_weights_are_frozen() {
    let d = device();
    let full = Lpips::new(&d).unwrap();
    assert_eq!(full.widths(), VGG16_WIDTHS);
    // torchvision's vgg16().features has 14,714,688 parameters; the lins add Σ C_k.
    assert_eq!(full.parameter_count(), 14_714_688 + 64 + 128 + 256 + 512 + 512);
    drop(full);

    let net = Lpips::with_widths(&d, [2, 3, 4, 5, 6]).unwrap();
    let names: Vec<String> = net.state_dict().into_iter().map(|(k, _)| k).collect();
    let convs = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
    let mut want: Vec<String> =
        convs.iter().flat_map(|i| [format!("features.{i}.weight"), format!("features.{i}.bias")]).collect();
    want.extend((0..5).map(|k| format!("lin{k}.model.1.weight")));
    assert_eq!(names, want);
    assert!(net.parameters().iter().all(|p| !p.requires_grad()), "LPIPS's weights are frozen");

    let target = Tensor::rand(&d, &[1, 3, 16, 17]).unwrap();
    let pred = Tensor::rand(&d, &[1, 3, 16, 17]).unwrap().requires_grad_();
    let dist = net.forward(&target, &pred).unwrap();
    assert_eq!(dist.shape(), &[1, 1, 1, 1]);
    dist.sum_all().unwrap().backward().unwrap();
    assert!(pred.grad().is_some());
    assert!(net.parameters().iter().all(|p| p.grad().is_none()), "no weight gradient is computed");

    let small = Tensor::rand(&d, &[1, 3, 15, 32]).unwrap();
    let err = net.forward(&small, &small).unwrap_err().to_string();
    assert!(err.contains("h, w >= 16"), "{err}");
    let err = net.forward(&target, &Tensor::rand(&d, &[1, 3, 16, 18]).unwrap()).unwrap_err().to_string();
    assert!(err.contains("[1, 3, 16, 17]") && err.contains("[1, 3, 16, 18]"), "{err}");
}

/// Writes `tensors`, edited by `edit`, as a safetensors file in `dir`.
fn edited(
    dir: &Path,
    name: &str,
    mut tensors: NamedTensors,
    edit: impl FnOnce(&mut NamedTensors),
) -> PathBuf {
    edit(&mut tensors);
    let path = dir.join(name);
    save_host_safetensors(&path, &tensors).unwrap();
    path
}

fn load_err(vgg: &Path, lin: &Path) -> String {
    match Lpips::load(&device(), vgg, lin) {
        Ok(_) => panic!("{} and {} should not load", vgg.display(), lin.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_or_misshaped_keys_name_the_file_and_the_key() {
    let dir = temp("lpips-keys");
    std::fs::create_dir_all(&dir).unwrap();
    let (vgg, lin) = (fixture("vgg16.pth"), fixture("lin.pth"));
    let vgg_tensors = load_any(&vgg, None).unwrap();
    let lin_tensors = load_any(&lin, None).unwrap();

    let no_conv = edited(&dir, "no_conv.safetensors", vgg_tensors.clone(), |t| {
        t.retain(|(k, _)| k != "features.2.weight")
    });
    let err = load_err(&no_conv, &lin);
    assert!(err.contains("no_conv.safetensors") && err.contains("features.2.weight [8, 8, 3, 3]"), "{err}");

    let no_stage =
        edited(&dir, "no_stage.safetensors", vgg_tensors, |t| t.retain(|(k, _)| k != "features.17.weight"));
    let err = load_err(&no_stage, &lin);
    assert!(err.contains("no_stage.safetensors") && err.contains("features.17.weight is missing"), "{err}");

    let reshaped = edited(&dir, "reshaped.safetensors", lin_tensors.clone(), |t| {
        let (_, w) = t.iter_mut().find(|(k, _)| k == "lin2.model.1.weight").unwrap();
        *w = HostTensor {
            shape: vec![1, 31, 1, 1],
            dtype: "F32".into(),
            data: gantry::io::HostData::F32(vec![0.5; 31]),
        };
    });
    let err = load_err(&vgg, &reshaped);
    assert!(
        err.contains("reshaped.safetensors")
            && err.contains("lin2.model.1.weight (file [1, 31, 1, 1], model [1, 32, 1, 1])")
            && err.contains("weights/v0.1/vgg.pth"),
        "{err}"
    );

    let no_lin =
        edited(&dir, "no_lin.safetensors", lin_tensors, |t| t.retain(|(k, _)| k != "lin4.model.1.weight"));
    let err = load_err(&vgg, &no_lin);
    assert!(err.contains("no_lin.safetensors") && err.contains("lin4.model.1.weight [1, 64, 1, 1]"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn swapped_or_foreign_files_say_so() {
    let (vgg, lin) = (fixture("vgg16.pth"), fixture("lin.pth"));
    let err = load_err(&lin, &vgg);
    assert!(err.contains("lin.pth") && err.contains("swapped"), "{err}");

    let other = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pth/linear.pth");
    let err = load_err(&other, &lin);
    assert!(err.contains("linear.pth") && err.contains("has no features.0.weight"), "{err}");
    let err = load_err(&vgg, &other);
    assert!(err.contains("linear.pth") && err.contains("has no lin0.model.1.weight"), "{err}");
}
