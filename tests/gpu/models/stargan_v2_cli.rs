//! `gantry train|translate|sample stargan-v2` as a person types them: a short run on domain
//! folders with its debug samples, an exact resume, a continuation of the reference's run
//! from its checkpoint files, synthesis both ways from the reference's _nets_ema.ckpt and
//! from our own run, the reference.jpg grid, and bad input named in the error.

use super::fastgan_cli::{gantry, s, write_npy};
use super::stargan_v2::path as fixture;
use crate::common::temp;
use gantry::data::synth_domains::write_domains;
use std::path::{Path, PathBuf};

/// A domain-folder set of `domains` (2 or 3) colour domains at 32 px, `n` images each.
fn folders(root: &Path, domains: usize, n: usize) -> PathBuf {
    write_domains(root, n, 32, 5).unwrap();
    if domains == 2 {
        for split in ["train", "val"] {
            std::fs::remove_dir_all(root.join(split).join("red")).unwrap();
        }
    }
    root.join("train")
}

/// The fixture checkpoints' networks (32 px, widths 16, style 8, latent 4, F 16 wide).
const FIXTURE_NETS: [&str; 12] = [
    "--img-size",
    "32",
    "--max-conv-dim",
    "16",
    "--style-dim",
    "8",
    "--latent-dim",
    "4",
    "--hidden-dim",
    "16",
    "--w-hpf",
    "0",
];

fn train(extra: &[&str]) -> gantry::Result<()> {
    let mut args = vec!["train", "stargan-v2"];
    args.extend_from_slice(extra);
    gantry(&args)
}

#[test]
fn train_samples_resumes_and_translates_from_its_own_run() {
    let root = temp("v2-train");
    let data = folders(&root.join("data"), 3, 6);
    let ckpt = root.join("runs");
    let common = [
        "--train-img-dir",
        s(&data),
        "--img-size",
        "32",
        "--max-conv-dim",
        "8",
        "--style-dim",
        "8",
        "--latent-dim",
        "4",
        "--hidden-dim",
        "16",
        "--batch-size",
        "2",
        "--val-batch-size",
        "3",
        "--sample-every",
        "1",
        "--save-every",
        "1",
        "--checkpoints-dir",
        s(&ckpt),
        "--name",
        "run",
    ];
    let ok = ["--num-domains", "3", "--w-hpf", "0"];
    let mut args = common.to_vec();
    args.extend(ok);
    args.extend(["--total-iters", "2"]);
    train(&args).unwrap();
    let run = ckpt.join("run");
    for f in ["000001_cycle_consistency.jpg", "000002_latent_psi_0.7.jpg", "000002_reference.jpg"] {
        assert!(run.join("samples").join(f).is_file(), "{f}");
    }
    // The reference grid: a row of sources under a white square, then a row per reference.
    let grid = image::open(run.join("samples/000002_reference.jpg")).unwrap();
    assert_eq!((grid.width(), grid.height()), (4 * 32, 4 * 32));
    let opt = std::fs::read_to_string(run.join("train_opt.txt")).unwrap();
    assert!(opt.contains("lambda_ds") && opt.contains("w_hpf"), "{opt}");
    // Exact resume, then synthesis from the run folder.
    let mut args = common.to_vec();
    args.extend(ok);
    args.extend(["--total-iters", "3", "--continue-train"]);
    train(&args).unwrap();
    assert!(run.join("samples/000003_reference.jpg").is_file());
    let out = root.join("out");
    let src = data.join("blue");
    gantry(&[
        "translate",
        "stargan-v2",
        "--weights",
        s(&run),
        "--input",
        s(&src),
        "--output",
        s(&out),
        "--target-domain",
        "2",
        "--seed",
        "3",
    ])
    .unwrap();
    let first = std::fs::read_dir(&src).unwrap().next().unwrap().unwrap().path();
    let written = out.join(first.file_name().unwrap()).with_extension("png");
    let img = image::open(&written).unwrap();
    assert_eq!((img.width(), img.height()), (32, 32));
    // Bad input: the folder count, the masks, a resume without files, both resumes.
    let mut args = common.to_vec();
    args.extend(["--num-domains", "2", "--w-hpf", "0", "--overwrite"]);
    let err = train(&args).unwrap_err().to_string();
    assert!(err.contains("3") && err.contains("blue") && err.contains("--num-domains"), "{err}");
    let mut args = common.to_vec();
    args.extend(["--num-domains", "3", "--w-hpf", "1", "--overwrite"]);
    let err = train(&args).unwrap_err().to_string();
    assert!(err.contains("--wing-path"), "{err}");
    let mut args = common.to_vec();
    args.extend(ok);
    args.extend(["--resume-iter", "7", "--total-iters", "8", "--overwrite"]);
    let err = train(&args).unwrap_err().to_string();
    assert!(err.contains("000007_nets_ema.ckpt"), "{err}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn train_continues_the_reference_run_from_its_checkpoint_files() {
    let root = temp("v2-resume");
    let data = folders(&root.join("data"), 2, 4);
    let refs = root.join("reference");
    std::fs::create_dir_all(&refs).unwrap();
    for kind in ["nets", "nets_ema", "optims"] {
        let name = format!("000003_{kind}.ckpt");
        std::fs::copy(fixture(&name), refs.join(&name)).unwrap();
    }
    let mut args = vec![
        "--train-img-dir",
        s(&data),
        "--num-domains",
        "2",
        "--batch-size",
        "2",
        "--total-iters",
        "4",
        "--resume-iter",
        "3",
        "--checkpoint-dir",
        s(&refs),
        "--checkpoints-dir",
        s(&root),
        "--name",
        "go-on",
        "--sample-every",
        "100",
        "--save-every",
        "1",
    ];
    args.extend(FIXTURE_NETS);
    train(&args).unwrap();
    // One step, the reference's fourth.
    let log = std::fs::read_to_string(root.join("go-on/loss_log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(log.contains("\"step\":4"), "{log}");
    assert!(root.join("go-on/latest_net_generator_ema.safetensors").is_file());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn translate_and_sample_with_the_reference_ema_file() {
    let root = temp("v2-translate");
    let data = folders(&root.join("data"), 2, 4);
    let ema = fixture("000003_nets_ema.ckpt");
    let src = data.join("blue");
    let out = root.join("ref");
    let first = std::fs::read_dir(data.join("green")).unwrap().next().unwrap().unwrap().path();
    gantry(&[
        "translate",
        "stargan-v2",
        "--weights",
        s(&ema),
        "--input",
        s(&src),
        "--output",
        s(&out),
        "--ref",
        s(&first),
        "--ref-domain",
        "1",
    ])
    .unwrap();
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 4);
    let z = root.join("z.npy");
    write_npy(&z, &[1, 4]);
    let out2 = root.join("latent");
    gantry(&[
        "translate",
        "stargan-v2",
        "--weights",
        s(&ema),
        "--input",
        s(&src),
        "--output",
        s(&out2),
        "--latent",
        s(&z),
        "--target-domain",
        "0",
        "--psi",
        "0.7",
    ])
    .unwrap();
    assert_eq!(std::fs::read_dir(&out2).unwrap().count(), 4);
    let grid_dir = root.join("grid");
    gantry(&[
        "sample",
        "stargan-v2",
        "--weights",
        s(&ema),
        "--src-dir",
        s(&data),
        "--ref-dir",
        s(&data),
        "--output",
        s(&grid_dir),
        "--val-batch-size",
        "3",
    ])
    .unwrap();
    let grid = image::open(grid_dir.join("reference.jpg")).unwrap();
    assert_eq!((grid.width(), grid.height()), (4 * 32, 4 * 32));
    // Bad input, each named.
    let bad = |extra: &[&str]| {
        let mut args = vec!["translate", "stargan-v2", "--weights", s(&ema), "--input", s(&src), "--output"];
        args.push(s(&out));
        args.extend_from_slice(extra);
        gantry(&args).unwrap_err().to_string()
    };
    let err = bad(&["--target-domain", "2"]);
    assert!(err.contains("--target-domain 2") && err.contains("2 domains"), "{err}");
    let wrong = root.join("wrong.npy");
    write_npy(&wrong, &[3, 5]);
    let err = bad(&["--latent", s(&wrong), "--target-domain", "0"]);
    assert!(err.contains("wrong.npy") && err.contains("[1, 4]"), "{err}");
    let err = bad(&[]);
    assert!(err.contains("--ref") && err.contains("--target-domain"), "{err}");
    let err = bad(&["--target-domain", "0", "--num-domains", "3"]);
    assert!(err.contains("num-domains 2") && err.contains("--num-domains 3"), "{err}");
    let err = bad(&["--target-domain", "0", "--psi", "1.5"]);
    assert!(err.contains("--psi"), "{err}");
    std::fs::remove_dir_all(&root).unwrap();
}

/// The built-in run (about seven minutes on lavapipe in release): translations land in their
/// target domain far more often than before training, and one source's outputs over 10
/// styles still differ.
#[test]
#[ignore]
fn demo_domains_are_learned() {
    use gantry::models::stargan_v2::{demo, Nets};
    use gantry::nn::ModuleExt;
    let d = crate::common::device();
    let root = temp("v2-demo");
    train(&["--checkpoints-dir", s(&root)]).unwrap();
    let run = root.join("experiment");
    let val = demo::root(&run).join("val");
    let o = demo::options();
    let fresh = Nets::new(&d, &o).unwrap();
    for (_, net) in fresh.named() {
        gantry::models::stargan_v2::nets::he_init(net).unwrap();
    }
    let before = demo::score_nets(&d, &fresh, &val).unwrap();
    let trained = Nets::new(&d, &o).unwrap();
    for (name, net) in trained.named() {
        let weights = gantry::io::load_any(run.join(format!("latest_net_{name}.safetensors")), None).unwrap();
        net.load_state_dict(&weights).unwrap();
    }
    let after = demo::score_nets(&d, &trained, &val).unwrap();
    eprintln!("{before:?} -> {after:?}");
    assert!(after.latent >= before.latent + DEMO_GAIN, "latent-guided {before:?} -> {after:?}");
    assert!(after.reference >= before.reference + DEMO_GAIN, "reference-guided {before:?} -> {after:?}");
    assert!(after.diversity >= 0.2 * after.real_diversity, "collapsed: {after:?}");
    std::fs::remove_dir_all(&root).unwrap();
}

/// Observed on lavapipe (seed 1) after 200 iterations: 0 % → 61 % latent-guided and 0 % → 97 %
/// reference-guided (92 % and 100 % with another pooling kernel's rounding: training is
/// chaotic); the bar leaves room for that.
const DEMO_GAIN: f64 = 0.5;
