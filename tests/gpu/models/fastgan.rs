//! FastGAN against odegeasslbc/FastGAN-pytorch re-declared in PyTorch
//! (tests/reference/make_fastgan.py): the networks' names and full-size parameter counts,
//! G at 256 and 512 pixels in train and eval mode, D with its reconstructions, SLE alone.

use crate::common::{assert_values, device, Tol};
use gantry::io::{load_safetensors, HostTensor, NamedTensors};
use gantry::models::fastgan::{Discriminator, Generator};
use gantry::nn::{Layer, Module, ModuleExt, Sle};
use gantry::{Device, Tensor};
use std::collections::HashMap;
use std::path::PathBuf;

pub type Gold = HashMap<String, HostTensor>;

/// The fixtures' widths: ngf = ndf = 4, nz 16, decoders of base width 4.
pub const NGF: usize = 4;
pub const NZ: usize = 16;
pub const DEC: usize = 4;

/// A forward through a few dozen layers, each a sum of up to a few hundred products.
pub const FORWARD: Tol = Tol { atol: 2e-5, rtol: 1e-4 };

pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fastgan").join(name)
}

pub fn gold(name: &str) -> Gold {
    load_safetensors(path(name)).unwrap().into_iter().collect()
}

/// The entries of `gold` under `prefix`, named without it.
pub fn under(gold: &Gold, prefix: &str) -> NamedTensors {
    gold.iter().filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.clone()))).collect()
}

pub fn check(what: &str, actual: &Tensor, want: &HostTensor, tol: Tol) {
    assert_values(what, &actual.to_vec().unwrap(), actual.shape(), &want.to_f32(), &want.shape, tol);
}

/// Every `k`-th pixel, as the fixtures store big images.
pub fn every(x: &Tensor, k: usize) -> Tensor {
    let pick = |n: usize| (0..n).step_by(k).collect::<Vec<_>>();
    x.index_select(2, &pick(x.shape()[2])).unwrap().index_select(3, &pick(x.shape()[3])).unwrap()
}

/// A coarse fixture tensor enlarged by nearest resizing to `side`, as the script does.
pub fn fine(d: &Device, t: &HostTensor, side: usize) -> Tensor {
    t.to_tensor(d).unwrap().resize_nearest(side, side).unwrap()
}

/// The noise maps of one generator forward, from the fixture's coarse maps `{prefix}map{k}`.
pub fn maps(d: &Device, gold: &Gold, prefix: &str, im_size: usize) -> Vec<Tensor> {
    let mut sides = vec![8, 8, 32, 32, 128, 128];
    if im_size > 256 {
        sides.extend([512, 512]);
    }
    sides.iter().enumerate().map(|(k, &s)| fine(d, &gold[&format!("{prefix}map{k}")], s)).collect()
}

/// Every state-dict entry of `net` against `{prefix}{entry}`.
pub fn check_state(what: &str, net: &dyn Module, gold: &Gold, prefix: &str, tol: Tol) {
    let entries = net.state_dict();
    assert_eq!(entries.len(), under(gold, prefix).len(), "{what}: entry count");
    for (name, t) in entries {
        check(&format!("{what} {name}"), &t, &gold[&format!("{prefix}{name}")], tol);
    }
}

#[test]
fn networks_have_the_reference_names_and_full_size_parameter_counts() {
    let d = device();
    let gold = gold("nets.safetensors");
    let g = Generator::new(&d, NGF, NZ, 256).unwrap();
    let names: Vec<String> = g.state_dict().into_iter().map(|(n, _)| n).collect();
    let want: Vec<String> = under(&gold, "g256.init.").into_iter().map(|(n, _)| n).collect();
    let mut sorted = names.clone();
    sorted.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(sorted, want_sorted);
    assert!(names.starts_with(&["init.init.0.weight_orig".to_string()]), "{names:?}");
    assert!(names.contains(&"feat_8.2.weight".to_string()), "noise injection weight");
    for size in [256, 512, 1024] {
        let g = Generator::new(&d, 64, 256, size).unwrap();
        assert_eq!(g.parameter_count() as f32, gold[&format!("count.G{size}")].to_f32()[0], "G at {size}");
        drop(g);
        let disc = Discriminator::new(&d, 64, size, 32).unwrap();
        assert_eq!(disc.parameter_count() as f32, gold[&format!("count.D{size}")].to_f32()[0], "D at {size}");
    }
    let err = Generator::new(&d, 64, 256, 128).err().unwrap().to_string();
    assert!(err.contains("--im-size 128") && err.contains("256, 512 or 1024"), "{err}");
    assert!(Discriminator::new(&d, 64, 300, 32).is_err());
}

fn generator_case(im_size: usize) {
    let d = device();
    let gold = gold("nets.safetensors");
    let p = format!("g{im_size}.");
    let g = Generator::new(&d, NGF, NZ, im_size).unwrap();
    g.load_state_dict(&under(&gold, &format!("{p}init."))).unwrap();
    let z = gold[&format!("{p}z")].to_tensor(&d).unwrap();
    let stride = im_size / 64;
    for mode in ["train", "eval"] {
        g.set_training(mode == "train");
        let (big, small) = g.forward_with_noise(&z, maps(&d, &gold, &p, im_size)).unwrap();
        assert_eq!(big.shape()[2..], [im_size, im_size]);
        check(
            &format!("G{im_size} {mode} big"),
            &every(&big, stride),
            &gold[&format!("{p}{mode}.big")],
            FORWARD,
        );
        check(
            &format!("G{im_size} {mode} small"),
            &every(&small, 2),
            &gold[&format!("{p}{mode}.small")],
            FORWARD,
        );
        if mode == "train" {
            // The power iteration's vectors and BatchNorm's running statistics moved.
            check_state(&format!("G{im_size} after"), &g, &gold, &format!("{p}after."), FORWARD);
        }
    }
}

#[test]
fn generator_256_matches_pytorch_in_train_and_eval_mode() {
    generator_case(256);
}

#[test]
fn generator_512_matches_pytorch_in_train_and_eval_mode() {
    generator_case(512);
}

#[test]
fn discriminator_matches_pytorch_with_its_reconstructions() {
    let d = device();
    let gold = gold("nets.safetensors");
    let disc = Discriminator::new(&d, NGF, 256, DEC).unwrap();
    disc.load_state_dict(&under(&gold, "d256.init.")).unwrap();
    let x = fine(&d, &gold["d256.x"], 256);
    let (big, small) = disc.real_inputs(&x).unwrap();
    let out = disc.forward(&big, &small, Some(1)).unwrap();
    check("D logits", &out.logits, &gold["d256.logits"], FORWARD);
    for (k, rec) in out.recs.unwrap().iter().enumerate() {
        check(&format!("D reconstruction {k}"), &every(rec, 2), &gold[&format!("d256.rec{k}")], FORWARD);
    }
    check_state("D after", &disc, &gold, "d256.after.", FORWARD);
}

#[test]
fn sle_gates_the_big_map_and_passes_gradients_to_both() {
    let d = device();
    let gold = gold("nets.safetensors");
    let se = Sle::new(&d, 6, 5).unwrap();
    se.load_state_dict(&under(&gold, "sle.init.")).unwrap();
    let small = gold["sle.small"].to_tensor(&d).unwrap().requires_grad_();
    let big = gold["sle.big"].to_tensor(&d).unwrap().requires_grad_();
    let y = se.forward(&small, &big).unwrap();
    check("SLE", &y, &gold["sle.out"], FORWARD);
    let w = gold["sle.w"].to_tensor(&d).unwrap();
    y.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
    check("SLE grad small", &small.grad().unwrap(), &gold["sle.grad_small"], FORWARD);
    check("SLE grad big", &big.grad().unwrap(), &gold["sle.grad_big"], FORWARD);
    check_state("SLE after", &se, &gold, "sle.after.", FORWARD);
    assert!(se.main.forward(&small).unwrap().shape() == [2, 5, 1, 1]);
}
