//! StarGAN v2 against clovaai/stargan-v2 re-declared in PyTorch
//! (tests/reference/make_stargan_v2.py): every network's forward with per-sample domain
//! picks, the generator's mask path, R1 with its second-order gradients, the state-dict
//! names, and the full-size parameter counts.

use super::fastgan::{check, under, Gold};
use crate::common::{device, Tol};
use gantry::io::load_safetensors;
use gantry::models::stargan_v2::losses::r1_reg;
use gantry::models::stargan_v2::reference::load_nets;
use gantry::models::stargan_v2::synthesis::{
    average_of, generate, latent_styles, reference_styles, truncate,
};
use gantry::models::stargan_v2::{
    Discriminator, Generator, MappingNetwork, Nets, StarGanV2Options, StyleEncoder,
};
use gantry::nn::{Module, ModuleExt};
use gantry::{Device, Tensor};
use std::path::PathBuf;

/// The fixtures' sizes: 32 px, widths capped at 16, style 8, latent 4, F 16 wide.
pub const IMG: usize = 32;
pub const MAXC: usize = 16;
pub const STYLE: usize = 8;
pub const LATENT: usize = 4;
pub const HIDDEN: usize = 16;

/// Forwards through a dozen residual blocks, sums of up to a few hundred products each.
pub const FORWARD: Tol = Tol { atol: 3e-5, rtol: 1e-4 };

pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stargan_v2").join(name)
}

pub fn gold(name: &str) -> Gold {
    load_safetensors(path(name)).unwrap().into_iter().collect()
}

/// Domain labels stored as floats.
pub fn labels(gold: &Gold, key: &str) -> Vec<usize> {
    gold[key].to_f32().iter().map(|&v| v as usize).collect()
}

pub fn tensor(d: &Device, gold: &Gold, key: &str) -> Tensor {
    gold[key].to_tensor(d).unwrap()
}

/// The four networks at the fixtures' sizes with `domains` domains.
pub fn small_nets(d: &Device, domains: usize) -> (Generator, MappingNetwork, StyleEncoder, Discriminator) {
    (
        Generator::new(d, IMG, STYLE, MAXC, 0.0).unwrap(),
        MappingNetwork::new(d, LATENT, STYLE, domains, HIDDEN).unwrap(),
        StyleEncoder::new(d, IMG, STYLE, domains, MAXC).unwrap(),
        Discriminator::new(d, IMG, domains, MAXC).unwrap(),
    )
}

fn load(net: &dyn Module, gold: &Gold, prefix: &str) {
    net.load_state_dict(&under(gold, prefix)).unwrap_or_else(|e| panic!("{prefix}: {e}"));
}

#[test]
fn every_network_matches_pytorch_with_per_sample_domains() {
    let d = device();
    let gold = gold("nets.safetensors");
    let (g, f, e, disc) = small_nets(&d, 3);
    load(&g, &gold, "generator.");
    load(&f, &gold, "mapping_network.");
    load(&e, &gold, "style_encoder.");
    load(&disc, &gold, "discriminator.");
    let (x, s, z) = (tensor(&d, &gold, "x"), tensor(&d, &gold, "s"), tensor(&d, &gold, "z"));
    let y = labels(&gold, "y");
    assert_eq!(y, [2, 0, 1]);
    check("G", &g.forward(&x, &s, None).unwrap(), &gold["out.generator"], FORWARD);
    check("F", &f.forward(&z, &y).unwrap(), &gold["out.mapping_network"], FORWARD);
    check("E", &e.forward(&x, &y).unwrap(), &gold["out.style_encoder"], FORWARD);
    check("D", &disc.forward(&x, &y).unwrap(), &gold["out.discriminator"], FORWARD);
    let err = disc.forward(&x, &[0, 3, 1]).unwrap_err().to_string();
    assert!(err.contains("domain 3") && err.contains("3 domains"), "{err}");
    let err = g.forward(&x, &z, None).unwrap_err().to_string();
    assert!(err.contains("styles [n, 8]"), "{err}");
}

#[test]
fn generator_mask_path_matches_pytorch() {
    let d = device();
    let gold = gold("nets.safetensors");
    let g = Generator::new(&d, 64, STYLE, 8, 1.0).unwrap();
    load(&g, &gold, "hpf.generator.");
    let masks = [tensor(&d, &gold, "hpf.mask0"), tensor(&d, &gold, "hpf.mask1")];
    let out = g.forward(&tensor(&d, &gold, "hpf.x"), &tensor(&d, &gold, "hpf.s"), Some(&masks)).unwrap();
    check("G with masks", &out, &gold["hpf.out"], FORWARD);
    assert!(g.state_dict().iter().any(|(n, _)| n == "hpf.filter"), "the filter is a buffer");
    let (plain, _, _, _) = small_nets(&d, 2);
    let err = plain.forward(&tensor(&d, &gold, "x"), &tensor(&d, &gold, "s"), Some(&masks)).unwrap_err();
    assert!(err.to_string().contains("w_hpf 0"), "{err}");
}

#[test]
fn r1_and_its_second_order_gradients_match_pytorch() {
    let d = device();
    let gold = gold("nets.safetensors");
    let disc = Discriminator::new(&d, IMG, 3, MAXC).unwrap();
    load(&disc, &gold, "discriminator.");
    let x = tensor(&d, &gold, "x").requires_grad_();
    let y = labels(&gold, "y");
    let r1 = r1_reg(&disc.forward(&x, &y).unwrap(), &x).unwrap();
    check("R1", &r1.reshape(&[1]).unwrap(), &gold["r1.value"], FORWARD);
    r1.backward().unwrap();
    let mut checked = 0;
    disc.visit(&mut |name, t, _| {
        let want = &gold[&format!("r1.grad.{name}")];
        let got = t.grad().unwrap_or_else(|| Tensor::zeros_like(t).unwrap());
        check(&format!("∂R1/∂{name}"), &got, want, Tol { atol: 1e-4, rtol: 1e-3 });
        checked += 1;
    });
    assert_eq!(checked, under(&gold, "r1.grad.").len());
}

#[test]
fn full_size_parameter_counts_match_the_reference() {
    let d = device();
    let gold = gold("nets.safetensors");
    let count = |key: &str| {
        let v = gold[&format!("count.{key}")].to_f32(); // [thousands, units]
        v[0] as usize * 1000 + v[1] as usize
    };
    // The figures, which the PyTorch script reproduces.
    assert_eq!(count("generator_hpf1"), 43_467_395);
    assert_eq!(count("discriminator"), 20_852_290);
    for (w_hpf, key) in [(1.0, "generator_hpf1"), (0.0, "generator_hpf0")] {
        let g = Generator::new(&d, 256, 64, 512, w_hpf).unwrap();
        assert_eq!(g.parameter_count(), count(key), "G with w_hpf {w_hpf}");
    }
    assert_eq!(MappingNetwork::new(&d, 16, 64, 2, 512).unwrap().parameter_count(), count("mapping_network"));
    assert_eq!(StyleEncoder::new(&d, 256, 64, 2, 512).unwrap().parameter_count(), count("style_encoder"));
    assert_eq!(Discriminator::new(&d, 256, 2, 512).unwrap().parameter_count(), count("discriminator"));
    let err = Generator::new(&d, 48, 64, 512, 0.0).err().unwrap().to_string();
    assert!(err.contains("--img-size 48"), "{err}");
}

#[test]
fn the_reference_ema_file_translates_as_pytorch_does() {
    let d = device();
    let gold = gold("translate.safetensors");
    let o = StarGanV2Options {
        img_size: IMG,
        latent_dim: LATENT,
        hidden_dim: HIDDEN,
        style_dim: STYLE,
        max_conv_dim: MAXC,
        w_hpf: 0.0,
        ..StarGanV2Options::default()
    };
    let nets = Nets::new(&d, &o).unwrap();
    load_nets(&nets, &path("000003_nets_ema.ckpt")).unwrap();
    let (src, y) = (tensor(&d, &gold, "src"), labels(&gold, "y"));
    let s_ref = reference_styles(&nets, &tensor(&d, &gold, "ref"), &y).unwrap();
    check("reference-guided", &generate(&nets, None, &src, &s_ref).unwrap(), &gold["reference"], FORWARD);
    let s_lat = latent_styles(&nets, &tensor(&d, &gold, "z"), &y).unwrap();
    check("latent-guided", &generate(&nets, None, &src, &s_lat).unwrap(), &gold["latent"], FORWARD);
    let s_avg = average_of(&nets, &tensor(&d, &gold, "z_many"), 1).unwrap();
    check("average style", &s_avg, &gold["s_avg1"], FORWARD);
    let s = truncate(&latent_styles(&nets, &tensor(&d, &gold, "z"), &[1, 1]).unwrap(), &s_avg, 0.7).unwrap();
    check("ψ 0.7", &generate(&nets, None, &src, &s).unwrap(), &gold["psi0.7"], FORWARD);
    // A file without the networks named.
    let err = load_nets(&nets, &path("000003_optims.ckpt")).unwrap_err().to_string();
    assert!(err.contains("000003_optims.ckpt"), "{err}");
    let err = latent_styles(&nets, &tensor(&d, &gold, "src"), &y).unwrap_err().to_string();
    assert!(err.contains("[rows, 4]"), "{err}");
}
