//! CycleGAN/pix2pix networks: reference-layout checkpoints (torch.save) load strictly and
//! give PyTorch's outputs; full-size parameter counts match the reference.

use crate::common::temp;
use crate::common::{assert_values, device, Tol};
use crate::train::trainer::tiny;
use gantry::data::synth::write_colors;
use gantry::io::{load_pth, load_safetensors, HostData, HostTensor};
use gantry::models::image2image::nets::{
    nlayer_discriminator, pixel_discriminator, resnet_generator, unet_generator, Net, NetConfig, NormKind,
};
use gantry::nn::{Layer, Module, ModuleExt};
use gantry::ops::pad::PadMode;
use gantry::Device;
use std::collections::HashMap;
use std::path::PathBuf;

/// Deep stacks of convolutions and norms in f32.
pub const NETS: Tol = Tol { atol: 2e-4, rtol: 2e-4 };

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cyclegan")
}

fn cfg(input_nc: usize, output_nc: usize, width: usize, norm: NormKind, dropout: bool) -> NetConfig {
    NetConfig { input_nc, output_nc, width, norm, dropout }
}

fn build(d: &Device, name: &str) -> Net {
    use NormKind::*;
    match name {
        "resnet_instance" => resnet_generator(d, cfg(3, 3, 8, Instance, false), 6, PadMode::Reflect),
        "resnet_batch_dropout_eval" => resnet_generator(d, cfg(3, 3, 8, Batch, true), 3, PadMode::Replicate),
        "resnet_none_zero" => resnet_generator(d, cfg(1, 3, 4, None, false), 2, PadMode::Zeros),
        "unet128_batch_train" => unet_generator(d, cfg(3, 3, 4, Batch, false), 7),
        "unet128_dropout_eval" => unet_generator(d, cfg(3, 2, 4, Batch, true), 7),
        "unet256_instance" => unet_generator(d, cfg(3, 3, 2, Instance, false), 8),
        "nlayer_basic_instance" => nlayer_discriminator(d, cfg(3, 1, 8, Instance, false), 3),
        "nlayer2_batch" => nlayer_discriminator(d, cfg(6, 1, 8, Batch, false), 2),
        "pixel_batch" => pixel_discriminator(d, cfg(3, 1, 8, Batch, false)),
        "resnet6_gray" => resnet_generator(d, cfg(1, 3, 4, Instance, false), 6, PadMode::Reflect),
        other => panic!("no network {other}"),
    }
    .unwrap()
}

#[test]
fn reference_checkpoints_load_and_match_pytorch() {
    let d = device();
    let expected: HashMap<String, HostTensor> =
        load_safetensors(dir().join("expected.safetensors")).unwrap().into_iter().collect();
    let train = |name: &str| !name.ends_with("_eval");
    for name in [
        "resnet_instance",
        "resnet_batch_dropout_eval",
        "resnet_none_zero",
        "unet128_batch_train",
        "unet128_dropout_eval",
        "unet256_instance",
        "nlayer_basic_instance",
        "nlayer2_batch",
        "pixel_batch",
        "resnet6_gray",
    ] {
        let net = build(&d, name);
        net.load_state_dict(&load_pth(dir().join(format!("{name}.pth"))).unwrap().tensors())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        net.set_training(train(name));
        let x = expected[&format!("{name}.x")].to_tensor(&d).unwrap();
        let y = gantry::no_grad(|| net.forward(&x)).unwrap();
        let want = &expected[&format!("{name}.y")];
        assert_values(name, &y.to_vec().unwrap(), y.shape(), &want.to_f32(), &want.shape, NETS);
    }
}

#[test]
fn full_size_parameter_counts_match_the_reference() {
    let d = device();
    let expected: HashMap<String, HostTensor> =
        load_safetensors(dir().join("expected.safetensors")).unwrap().into_iter().collect();
    let count = |k: &str| match &expected[&format!("count.{k}")].data {
        HostData::I64(v) => v[0] as usize,
        _ => unreachable!("counts are integers"),
    };
    use NormKind::*;
    let resnet = resnet_generator(&d, cfg(3, 3, 64, Instance, false), 9, PadMode::Reflect).unwrap();
    assert_eq!(resnet.parameter_count(), count("resnet_9blocks"));
    assert_eq!(resnet.parameter_count(), 11_378_179);
    let unet = unet_generator(&d, cfg(3, 3, 64, Batch, true), 8).unwrap();
    assert_eq!(unet.parameter_count(), 54_413_955);
    assert_eq!(unet.parameter_count(), count("unet_256"));
    assert_eq!(
        nlayer_discriminator(&d, cfg(3, 1, 64, Instance, false), 3).unwrap().parameter_count(),
        2_764_737
    );
    assert_eq!(
        nlayer_discriminator(&d, cfg(6, 1, 64, Batch, false), 3).unwrap().parameter_count(),
        2_768_705
    );
    let names: Vec<String> = resnet.state_dict().into_iter().map(|(n, _)| n).take(3).collect();
    assert_eq!(names, ["model.1.weight", "model.1.bias", "model.4.weight"]);
    let unet_names: Vec<String> = unet.state_dict().into_iter().map(|(n, _)| n).take(3).collect();
    // With batch norm the down convolutions have no bias (the reference's bias rule).
    assert_eq!(
        unet_names,
        ["model.model.0.weight", "model.model.1.model.1.weight", "model.model.1.model.2.weight"]
    );
}

fn png(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgb8();
    (img.width(), img.height(), img.into_raw())
}

/// `gantry translate` on a reference-format checkpoint: the PNG it writes matches the one
/// the reference pipeline writes (±1 where float rounding straddles a level).
#[test]
fn translate_cli_matches_the_reference_pipeline() {
    let out = std::env::temp_dir().join(format!("gantry-translate-{}", std::process::id()));
    let gantry = env!("CARGO_BIN_EXE_gantry");
    let run = |args: &[&str], weights: &str, input: &str| {
        let status = std::process::Command::new(gantry)
            .args(["translate", "--model", "cyclegan", "--weights"])
            .arg(dir().join(weights))
            .arg("--input")
            .arg(dir().join("translate_in").join(input))
            .arg("--output")
            .arg(&out)
            .args(args)
            .status()
            .unwrap();
        assert!(status.success());
    };
    run(
        &["--netG", "resnet_6blocks", "--ngf", "8", "--load-size", "32", "--crop-size", "32"],
        "resnet_instance.pth",
        "rgb.png",
    );
    // No architecture flags: --netG resnet_6blocks --ngf 4 --input-nc 1 are read from the file.
    run(&["--load-size", "16", "--crop-size", "16"], "resnet6_gray.pth", "gray_source.png");
    for (written, expected) in
        [("rgb.png", "translate_rgb_expected.png"), ("gray_source.png", "translate_gray_expected.png")]
    {
        let (w, h, ours) = png(&out.join(written));
        let (we, he, theirs) = png(&dir().join(expected));
        assert_eq!((w, h), (we, he));
        let worst = ours.iter().zip(&theirs).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        assert!(worst <= 1, "{written}: pixels differ by up to {worst}");
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn pixel_discriminators_and_channel_counts() {
    let d = device();
    let root = temp("netd");
    let data = root.join("data");
    write_colors(&data, 1, 36, 6).unwrap();
    assert!(tiny(&root, &data, &["--netD", "pixel"])
        .run(&d)
        .unwrap()
        .losses
        .iter()
        .all(|(_, v)| v.is_finite()));
    // Gray A, colour B: the identity loss cannot compare them, as in the reference.
    let err = tiny(&root, &data, &["--netD", "pixel", "--input-nc", "1"]).run(&d).unwrap_err().to_string();
    assert!(err.contains("--lambda-identity 0"), "{err}");
    if let Err(e) =
        tiny(&root, &data, &["--netD", "pixel", "--input-nc", "1", "--lambda-identity", "0", "--overwrite"])
            .run(&d)
    {
        panic!("gray A to colour B: {e}");
    }
    std::fs::remove_dir_all(&root).unwrap();
}

/// The generator a checkpoint holds, read from its keys and shapes.
#[test]
fn a_checkpoint_tells_which_generator_it_holds() {
    use gantry::models::image2image::infer::{infer, Inferred};
    use gantry::models::image2image::{NetG, NormKind};
    let read = |f: &str| infer(&load_pth(dir().join(f)).unwrap().tensors());
    let g = |net_g, ngf, norm, input_nc, output_nc| Some(Inferred { net_g, ngf, norm, input_nc, output_nc });
    assert_eq!(read("resnet_instance.pth"), g(NetG::Resnet6, 8, NormKind::Instance, 3, 3));
    assert_eq!(read("resnet6_gray.pth"), g(NetG::Resnet6, 4, NormKind::Instance, 1, 3));
    assert_eq!(read("unet128_batch_train.pth"), g(NetG::Unet128, 4, NormKind::Batch, 3, 3));
    assert_eq!(read("unet256_instance.pth"), g(NetG::Unet256, 2, NormKind::Instance, 3, 3));
    // Three residual blocks is no generator the options can build: nothing is claimed.
    assert_eq!(read("resnet_batch_dropout_eval.pth"), None);
    assert_eq!(read("nlayer_basic_instance.pth"), None, "a discriminator");
}
