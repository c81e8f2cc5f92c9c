//! `gantry train fastgan` and `gantry sample fastgan` as a person types them: sampling from
//! the reference's checkpoints and from our own, codes from a .npy file, a short run on a
//! folder, a resume from the reference's all_N.pth, and bad input named in the error.

use super::fastgan::path as fixture;
use crate::common::temp;
use std::path::Path;

pub fn gantry(args: &[&str]) -> gantry::Result<()> {
    gantry::cli::run(std::iter::once("gantry").chain(args.iter().copied()).map(String::from).collect())
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A .npy file of float32 codes with the given shape.
pub fn write_npy(path: &Path, shape: &[usize]) {
    let count: usize = shape.iter().product();
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    while (header.len() + 11) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    for i in 0..count {
        bytes.extend(((i as f32 * 0.37).sin()).to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn sample_writes_numbered_images_from_reference_checkpoints_and_npy_codes() {
    let out = temp("fastgan-sample");
    let all = fixture("all_2.pth");
    gantry(&[
        "sample",
        "fastgan",
        "--weights",
        s(&all),
        "--output",
        s(&out),
        "--n-sample",
        "3",
        "--batch",
        "2",
    ])
    .unwrap();
    for i in 0..3 {
        let img = image::open(out.join(format!("{i}.png"))).unwrap();
        assert_eq!((img.width(), img.height()), (256, 256));
    }
    assert!(!out.join("3.png").exists());
    let codes = out.join("z.npy");
    write_npy(&codes, &[2, 16]);
    let out2 = out.join("from_npy");
    let n_pth = fixture("2.pth");
    gantry(&[
        "sample",
        "fastgan",
        "--weights",
        s(&n_pth),
        "--output",
        s(&out2),
        "--noise",
        s(&codes),
        "--eval",
    ])
    .unwrap();
    assert!(out2.join("1.png").exists() && !out2.join("2.png").exists(), "one image per row of the .npy");
    write_npy(&codes, &[2, 7]);
    let err =
        gantry(&["sample", "fastgan", "--weights", s(&n_pth), "--output", s(&out2), "--noise", s(&codes)])
            .unwrap_err()
            .to_string();
    assert!(err.contains("z.npy") && err.contains("[2, 7]") && err.contains("[rows, 16]"), "{err}");
    let not_g = out.join("0.png");
    let err =
        gantry(&["sample", "fastgan", "--weights", s(&not_g), "--output", s(&out2)]).unwrap_err().to_string();
    assert!(err.contains("0.png") && err.contains("PNG"), "{err}");
}

/// Writes `n` small images into `dir` (FastGAN resizes them to --im-size).
fn images(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let img = image::RgbImage::from_fn(40, 30, |x, y| {
            image::Rgb([(x * 6) as u8, (y * 8) as u8, (i * 60) as u8])
        });
        img.save(dir.join(format!("{i}.png"))).unwrap();
    }
}

const TINY: [&str; 12] =
    ["--im-size", "256", "--ngf", "2", "--ndf", "4", "--nz", "8", "--dec-nf", "2", "--batch-size", "2"];

#[test]
fn a_short_run_on_a_folder_saves_a_generator_that_samples() {
    let root = temp("fastgan-train");
    let data = root.join("flowers");
    images(&data, 3);
    let ckpts = root.join("checkpoints");
    let mut args =
        vec!["train", "fastgan", "--path", s(&data), "--checkpoints-dir", s(&ckpts), "--iter", "2"];
    args.extend(TINY);
    gantry(&args).unwrap();
    let run = ckpts.join("experiment");
    let opts = std::fs::read_to_string(run.join("train_opt.txt")).unwrap();
    assert!(opts.contains("L1 (fallback"), "the saved options say which reconstruction loss: {opts}");
    let log = std::fs::read_to_string(run.join("loss_log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 2);
    let weights = run.join("latest_net_G_ema.safetensors");
    let out = root.join("samples");
    gantry(&["sample", "fastgan", "--weights", s(&weights), "--output", s(&out), "--n-sample", "2"]).unwrap();
    assert!(out.join("1.png").exists());
}

#[test]
fn ckpt_continues_a_reference_run_from_its_iteration() {
    let root = temp("fastgan-ckpt");
    let data = root.join("data");
    images(&data, 2);
    let ckpt = fixture("all_2.pth");
    let ckpts = root.join("checkpoints");
    let args = |name: &'static str, ngf: &'static str| {
        let mut a =
            vec!["train", "fastgan", "--path", s(&data), "--checkpoints-dir", s(&ckpts), "--name", name];
        a.extend(["--ckpt", s(&ckpt), "--iter", "4", "--im-size", "256", "--ngf", ngf, "--ndf", "4"]);
        a.extend(["--nz", "16", "--dec-nf", "4", "--batch-size", "2"]);
        a
    };
    gantry(&args("experiment", "4")).unwrap();
    let log = std::fs::read_to_string(ckpts.join("experiment").join("loss_log.jsonl")).unwrap();
    // all_2.pth was saved after iteration 2; train.py starts again at iteration 2 (index 2),
    // so two iterations remain of four.
    assert_eq!(log.lines().count(), 2, "{log}");
    assert!(log.lines().next().unwrap().contains("\"step\":3"), "{log}");
    // A generator of another width is named in the error.
    let err = gantry(&args("wrong", "8")).unwrap_err().to_string();
    assert!(err.contains("all_2.pth") && err.contains("shape"), "{err}");
}

#[test]
fn bad_options_and_folders_are_named() {
    let root = temp("fastgan-errors");
    let ckpts = root.join("c");
    let run = |extra: &[&str]| {
        let mut args = vec!["train", "fastgan", "--checkpoints-dir", s(&ckpts)];
        args.extend(extra);
        gantry(&args).unwrap_err().to_string()
    };
    let err = run(&["--im-size", "128"]);
    assert!(err.contains("--im-size 128") && err.contains("256, 512 or 1024"), "{err}");
    let empty = root.join("empty");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    images(&empty.join("sub"), 1);
    let err = run(&["--path", s(&empty)]);
    assert!(err.contains("empty") && err.contains("no .jpg") && err.contains("subfolder"), "{err}");
    let err = run(&["--path", s(&root.join("missing"))]);
    assert!(err.contains("missing") && err.contains("not a folder"), "{err}");
    let err = run(&["--policy", "color,zoom"]);
    assert!(err.contains("zoom") && err.contains("translation"), "{err}");
    let err = run(&["--ckpt", "x.pth", "--continue-train"]);
    assert!(err.contains("--ckpt") && err.contains("--continue-train"), "{err}");
    let err = run(&["--lpips-vgg", "vgg.pth"]);
    assert!(err.contains("--lpips-lin"), "{err}");
    let err = run(&["--ngf", "4", "--im-size", "1024"]);
    assert!(err.contains("--ngf 4") && err.contains("at least 8"), "{err}");
}

/// The built-in run (about eight minutes on lavapipe in release): the generator's images
/// match more of the flower set's statistics than before training, and have not collapsed.
#[test]
#[ignore]
fn demo_fewshot_flowers_are_learned() {
    use gantry::models::fastgan::{demo, FastGan, Reconstruction};
    use gantry::nn::ModuleExt;
    let d = crate::common::device();
    let root = temp("fastgan-demo");
    gantry(&["train", "fastgan", "--checkpoints-dir", s(&root)]).unwrap();
    let run = root.join("experiment");
    let args = demo_options();
    d.manual_seed(1);
    let fresh = FastGan::build(&d, args.clone(), Reconstruction::L1, 1).unwrap();
    let before = demo::score(&d, &fresh, &run).unwrap();
    let trained = FastGan::build(&d, args, Reconstruction::L1, 1).unwrap();
    let weights = gantry::io::load_any(run.join("latest_net_G.safetensors"), None).unwrap();
    trained.g.load_state_dict(&weights).unwrap();
    let after = demo::score(&d, &trained, &run).unwrap();
    eprintln!("{before:?} -> {after:?}");
    assert!(after.matched >= before.matched + DEMO_GAIN, "statistics matched {before:?} -> {after:?}");
    assert!(after.diversity >= 0.3 * after.real_diversity, "collapsed: {after:?}");
    std::fs::remove_dir_all(&root).unwrap();
}

/// The built-in run's model options (as `gantry train fastgan` with no options picks them).
fn demo_options() -> gantry::models::fastgan::FastGanOptions {
    use gantry::models::fastgan::demo;
    gantry::models::fastgan::FastGanOptions {
        im_size: demo::SIZE,
        ngf: demo::WIDTH,
        ndf: demo::WIDTH,
        dec_nf: demo::DEC_NF,
        iter: demo::ITERATIONS,
        ..Default::default()
    }
}

/// Observed on lavapipe (seed 1): statistics matched 0.37 before, 0.43 after 120 iterations;
/// the bar leaves room for other drivers' rounding.
const DEMO_GAIN: f64 = 0.03;
