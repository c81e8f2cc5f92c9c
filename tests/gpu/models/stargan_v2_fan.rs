//! StarGAN v2's FAN and its face masks against tests/reference/fan_torch.py (checked there
//! against the reference's wing.py): a width-16 network read from a wing.ckpt-format file,
//! `get_heatmap` end to end, `preprocess` alone on exact inputs, and the loader's errors.

use crate::common::{assert_values, device, read_fixtures, temp, Fixture, Tol, EXACTISH};
use gantry::io::{load_pth, save_host_safetensors, NamedTensors};
use gantry::models::stargan_v2::fan::{preprocess, Fan, LANDMARKS};
use gantry::nn::{Module, ModuleExt};
use gantry::Tensor;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stargan_v2").join(name)
}

fn gold() -> &'static HashMap<String, Fixture> {
    static GOLD: OnceLock<HashMap<String, Fixture>> = OnceLock::new();
    GOLD.get_or_init(|| read_fixtures("stargan_v2/fan.safetensors", "make_stargan_v2_fan.py"))
}

fn golden(name: &str) -> &'static Fixture {
    gold()
        .get(name)
        .unwrap_or_else(|| panic!("{name} is missing: run tests/reference/make_stargan_v2_fan.py"))
}

fn tensor(name: &str) -> Tensor {
    let (shape, data) = golden(name);
    Tensor::from_slice(&device(), data, shape).unwrap()
}

fn check(name: &str, actual: &Tensor, tol: Tol) {
    let (shape, data) = golden(name);
    assert_values(name, &actual.to_vec().unwrap(), actual.shape(), data, shape, tol);
}

/// Each mask's sum over its pixels, [n, 2].
fn mask_sums(masks: &[Tensor; 2]) -> Tensor {
    let sums: Vec<Tensor> =
        masks.iter().map(|m| m.sum(&[1, 2, 3], false).unwrap().unsqueeze(1).unwrap()).collect();
    Tensor::concat(&sums, 1).unwrap()
}

/// Sums of 65,536 mask values (up to ~1e4) in another order than PyTorch's float64 sums.
const SUMS: Tol = Tol { atol: 1e-3, rtol: 1e-5 };
/// Some thirty convolutions and BatchNorms in f32, then a division by each map's range
/// (observed: 8e-7 on the heatmaps, 2e-6 on the pooled masks).
const NETWORK: Tol = Tol { atol: 1e-5, rtol: 1e-4 };

#[test]
fn get_heatmap_matches_pytorch() {
    let fan = Fan::load(&device(), fixture("wing_w16.ckpt")).unwrap();
    assert_eq!(fan.width(), 16);
    let x = tensor("e2e.x").requires_grad_();

    let x01 = x.resize_bilinear(256, 256).unwrap().affine(0.5, 0.5).unwrap();
    let heatmaps = gantry::no_grad(|| fan.forward(&x01)).unwrap();
    assert_eq!(heatmaps.shape(), &[2, LANDMARKS + 1, 64, 64]);
    let channels: Vec<usize> = golden("e2e.heatmap_channels").1.iter().map(|&c| c as usize).collect();
    check("e2e.heatmaps", &heatmaps.index_select(1, &channels).unwrap(), NETWORK);
    check("e2e.heatmap_sums", &heatmaps.sum(&[2, 3], false).unwrap(), SUMS);

    let masks = fan.get_heatmap(&x).unwrap();
    for m in &masks {
        assert_eq!(m.shape(), &[2, 1, 256, 256]);
        assert!(!m.requires_grad(), "the reference computes the masks under no_grad");
    }
    check("e2e.mask1_pool4", &masks[0].avg_pool2d(4, 4).unwrap(), NETWORK);
    check("e2e.mask2_pool4", &masks[1].avg_pool2d(4, 4).unwrap(), NETWORK);
    check("e2e.mask_sums", &mask_sums(&masks), SUMS);
}

/// The heatmaps both sides compute from `post.params`: blobs b + a / (1 + d² / s²) in f64,
/// rounded to f32 (the same bits as PyTorch's, so no value can fall on the other side of
/// the truncation threshold).
fn blob_heatmaps() -> Tensor {
    let (shape, params) = golden("post.params");
    let (n, size) = (shape[0], 256);
    let mut out = Vec::with_capacity(n * LANDMARKS * size * size);
    for p in params.chunks_exact(5) {
        let [cy, cx, s, a, b] = [p[0], p[1], p[2], p[3], p[4]].map(f64::from);
        for h in 0..size {
            let dy = h as f64 - cy;
            for w in 0..size {
                let dx = w as f64 - cx;
                out.push((b + a / (1.0 + (dy * dy + dx * dx) / (s * s))) as f32);
            }
        }
    }
    Tensor::from_slice(&device(), &out, &[n, LANDMARKS, size, size]).unwrap()
}

#[test]
fn preprocess_matches_pytorch() {
    let masks = preprocess(&blob_heatmaps()).unwrap();
    check("post.mask1_pool2", &masks[0].avg_pool2d(2, 2).unwrap(), EXACTISH);
    check("post.mask2_pool2", &masks[1].avg_pool2d(2, 2).unwrap(), EXACTISH);
    check("post.mask_sums", &mask_sums(&masks), SUMS);

    let err = preprocess(&Tensor::zeros(&device(), &[1, 97, 8, 8]).unwrap()).unwrap_err().to_string();
    assert!(err.contains("[n, 98, h, w]") && err.contains("[1, 97, 8, 8]"), "{err}");
}

#[test]
fn resize_with_aligned_corners_matches_pytorch() {
    let x = tensor("resize.x");
    check("resize.out_9x13", &x.resize_bilinear_align_corners(9, 13).unwrap(), EXACTISH);
    check("resize.out_3x4", &x.resize_bilinear_align_corners(3, 4).unwrap(), EXACTISH);
}

#[test]
fn names_sizes_and_frozen_eval_mode() {
    let d = device();
    let full = Fan::new(&d, 256).unwrap();
    // The reference prints 6,333,603 parameters for FAN (clovaai/stargan-v2#29).
    assert_eq!(full.parameter_count(), 6_333_603);
    drop(full);

    let fan = Fan::new(&d, 16).unwrap();
    let names: Vec<String> = fan.state_dict().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names.len(), golden("fan_keys").1[0] as usize);
    let file = load_pth(fixture("wing_w16.ckpt")).unwrap();
    let in_file: Vec<String> =
        file.get("state_dict").unwrap().tensors().into_iter().map(|(k, _)| k).collect();
    let missing: Vec<&String> = names.iter().filter(|k| !in_file.contains(k)).collect();
    assert!(missing.is_empty(), "keys the reference's FAN lacks: {missing:?}");
    for key in [
        "conv1.conv.weight",
        "m0.coordconv.conv.bias",
        "m0.b2_plus_1.conv3.weight",
        "conv2.downsample.2.weight",
    ] {
        assert!(names.iter().any(|k| k == key), "{key}");
    }
    assert!(fan.parameters().iter().all(|p| !p.requires_grad()), "FAN is frozen");

    // Eval mode stays whatever a caller asks: the same input gives the same raw heatmaps.
    let x = Tensor::rand(&d, &[1, 3, 256, 256]).unwrap();
    let before = fan.forward(&x).unwrap().to_vec().unwrap();
    fan.set_training(true);
    let after = fan.forward(&x).unwrap().to_vec().unwrap();
    assert_eq!(before, after, "set_training(true) must leave FAN in eval mode");

    let err = Fan::new(&d, 12).err().unwrap().to_string();
    assert!(err.contains("width 12") && err.contains("multiple of 8"), "{err}");
    let err = fan.get_heatmap(&Tensor::zeros(&d, &[1, 1, 8, 8]).unwrap()).unwrap_err().to_string();
    assert!(err.contains("[1, 1, 8, 8]"), "{err}");
}

/// Every loader error is one line naming the file.
fn load_error(path: &std::path::Path) -> String {
    let err = Fan::load(&device(), path).err().expect("loading must fail").to_string();
    assert!(err.contains(&path.display().to_string()) && !err.contains('\n'), "{err}");
    err
}

#[test]
fn bad_files_error_clearly() {
    let dir = temp("stargan-v2-fan");
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a checkpoint").unwrap();
    assert!(load_error(&text).contains("not a checkpoint"));

    // A torch.save file of something else (lpips's lin weights, a flat dict without l0).
    let other = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lpips/lin.pth");
    let err = load_error(&other);
    assert!(err.contains("not a FAN checkpoint") && err.contains("state_dict"), "{err}");

    let state: NamedTensors =
        load_pth(fixture("wing_w16.ckpt")).unwrap().get("state_dict").unwrap().tensors();
    let save = |name: &str, edit: &dyn Fn(&mut NamedTensors)| {
        let mut t = state.clone();
        edit(&mut t);
        let path = dir.join(name);
        save_host_safetensors(&path, &t).unwrap();
        path
    };
    // A flat state dict loads (here as safetensors), and the extra keys are ignored.
    let fan = Fan::load(&device(), save("flat.safetensors", &|_| {})).unwrap();
    assert_eq!(fan.width(), 16);

    let path = save("missing.safetensors", &|t| t.retain(|(k, _)| k != "m0.b3_2.bn2.running_var"));
    let err = load_error(&path);
    assert!(err.contains("m0.b3_2.bn2.running_var") && err.contains("missing"), "{err}");

    let path = save("no_l0.safetensors", &|t| t.retain(|(k, _)| !k.starts_with("l0.")));
    assert!(load_error(&path).contains("not a FAN checkpoint"));

    let path = save("landmarks.safetensors", &|t| {
        let l0 = t.iter_mut().find(|(k, _)| k == "l0.weight").unwrap();
        l0.1.shape = vec![69, 16, 1, 1];
        l0.1.data = gantry::io::HostData::F32(vec![0.0; 69 * 16]);
    });
    let err = load_error(&path);
    assert!(err.contains("[69, 16, 1, 1]") && err.contains("[99, width, 1, 1]"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
