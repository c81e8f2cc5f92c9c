//! The command line as a person types it: options parsed by clap for the per-model
//! subcommands (helpers the other tests use), and bad options named in one-line errors.

use crate::common::temp;
use clap::Parser;
use gantry::models::{cyclegan, pix2pix};

#[derive(Parser)]
struct CycleGanCli {
    #[command(flatten)]
    args: cyclegan::train::TrainArgs,
}

#[derive(Parser)]
struct Pix2PixCli {
    #[command(flatten)]
    args: pix2pix::train::TrainArgs,
}

/// `gantry train cyclegan <args>` as parsed options.
pub fn cyclegan_args(args: &[&str]) -> cyclegan::train::TrainArgs {
    CycleGanCli::try_parse_from(std::iter::once("cyclegan").chain(args.iter().copied())).unwrap().args
}

/// `gantry train pix2pix <args>` as parsed options.
pub fn pix2pix_args(args: &[&str]) -> pix2pix::train::TrainArgs {
    Pix2PixCli::try_parse_from(std::iter::once("pix2pix").chain(args.iter().copied())).unwrap().args
}

/// Bad options are one-line errors naming the option, never a panic.
#[test]
fn bad_training_options_name_the_option() {
    let data = temp("bad-options");
    gantry::data::synth::write_colors(&data, 1, 36, 1).unwrap();
    let gantry = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gantry")).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        assert_ne!(out.status.code(), Some(101), "{args:?} panicked");
        String::from_utf8(out.stderr).unwrap()
    };
    let dr = data.to_str().unwrap();
    let first_line = |s: String| s.lines().next().unwrap_or("").to_string();
    for (args, wanted) in [
        (vec!["train", "cyclegan", "--nonsense"], "--nonsense"),
        (vec!["train", "cyclegan", "--norm", "foo"], "--norm"),
        (vec!["train", "cyclegan", "--batch-size", "0"], "--batch-size"),
        (vec!["train", "cyclegan", "--ngf", "0"], "--ngf"),
        (vec!["train", "cyclegan", "--ndf", "0"], "--ndf"),
        (vec!["train", "cyclegan", "--input-nc", "0", "--lambda-identity", "0"], "--input-nc"),
        (vec!["train", "cyclegan", "--print-freq", "0"], "--print-freq"),
        (vec!["train", "cyclegan", "--netD", "patch"], "--netD"),
        (vec!["train", "pix2pix", "--input-nc", "2"], "--input-nc"),
        (
            vec!["train", "cyclegan", "--dataroot", dr, "--crop-size", "30"],
            "--crop-size 30: resnet_9blocks needs a multiple of 4",
        ),
        (vec!["train", "cyclegan", "--dataroot", dr, "--crop-size", "4"], "at least 8"),
        (
            vec!["train", "pix2pix", "--dataroot", dr, "--load-size", "128", "--crop-size", "128"],
            "unet_256 needs a multiple of 256",
        ),
        (
            vec![
                "train",
                "cyclegan",
                "--dataroot",
                dr,
                "--netG",
                "unet_128",
                "--load-size",
                "128",
                "--crop-size",
                "128",
                "--netD",
                "n_layers",
                "--n-layers-d",
                "6",
            ],
            "PatchGAN discriminator with 6 layers needs at least 192",
        ),
        (
            vec!["train", "cyclegan", "--dataroot", dr, "--n-epochs", "0", "--n-epochs-decay", "0"],
            "nothing to train",
        ),
        (
            vec![
                "train",
                "cyclegan",
                "--dataroot",
                dr,
                "--load-size",
                "30",
                "--crop-size",
                "32",
                "--checkpoints-dir",
                dr,
            ],
            "--crop-size 32 is larger than --load-size 30",
        ),
        (
            vec![
                "translate",
                "cyclegan",
                "--weights",
                "x",
                "--input",
                dr,
                "--output",
                dr,
                "--load-size",
                "8",
                "--crop-size",
                "16",
            ],
            "--crop-size 16 is larger than --load-size 8",
        ),
    ] {
        let err = first_line(gantry(&args));
        assert!(err.contains(wanted), "{args:?}: {err}");
    }
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["train", "cyclegan", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(
        help.contains("--lambda-identity")
            && help.contains("[default: 0.5]")
            && !help.contains("--lambda-L1"),
        "{help}"
    );
    std::fs::remove_dir_all(&data).unwrap();
}

/// Starts `gantry train stargan` on a tiny built-in set under `dir` and waits until it has
/// logged `steps` iterations in all.
fn training_process(dir: &std::path::Path, extra: &[&str], steps: usize) -> std::process::Child {
    let mut args = vec!["train", "stargan", "--checkpoints-dir", dir.to_str().unwrap()];
    args.extend([
        "--builtin-images",
        "8",
        "--batch-size",
        "2",
        "--num-iters",
        "100000",
        "--image-size",
        "16",
    ]);
    args.extend(["--d-repeat-num", "3", "--g-repeat-num", "1"]);
    args.extend(extra);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = dir.join("experiment").join("loss_log.jsonl");
    let start = std::time::Instant::now();
    while std::fs::read_to_string(&log).map_or(0, |s| s.lines().count()) < steps {
        assert!(start.elapsed().as_secs() < 300, "no training progress within 300 s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child
}

fn signal(child: &std::process::Child, name: &str) {
    let status = std::process::Command::new("kill").args([name, &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// SIGTERM (as Ctrl-C) is acknowledged, the run stops after the current iteration with a
/// checkpoint and exits 130; a second signal aborts at once without saving, also 130.
#[test]
fn a_signal_saves_and_stops_and_a_second_one_aborts() {
    let dir = temp("signals");
    let child = training_process(&dir, &[], 2);
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("stopping after this iteration") && stderr.contains("stopped after step"),
        "{stderr}"
    );
    let saved = gantry::train::generation::newest(&dir.join("experiment")).unwrap().expect("a saved set");

    let child = training_process(&dir, &["--continue-train"], 4);
    signal(&child, "-INT");
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    // The two signals leave within a millisecond, an iteration takes far longer; should
    // the iteration end between them anyway, the run has saved and stopped instead.
    if stderr.contains("aborted without saving") {
        let now = gantry::train::generation::newest(&dir.join("experiment")).unwrap();
        assert_eq!(now, Some(saved), "the abort must not save");
    } else {
        assert!(stderr.contains("stopped after step"), "{stderr}");
    }
}
