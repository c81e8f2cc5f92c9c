//! The trainer end to end, driven by the arguments a person types: checkpoints,
//! resuming, stopping on a NaN with the last good checkpoint intact, pix2pix in either
//! direction, a gradient penalty, and the (ignored, slow) demo that must learn.

use crate::cli::{cyclegan_args, pix2pix_args};
use crate::common::{device, temp};
use crate::data::preprocess;
use gantry::data::loader::Loader;
use gantry::data::synth::write_colors;
use gantry::data::Preprocess;
use gantry::models::cyclegan;
use std::path::Path;

/// A tiny CycleGAN run on `data` under `root/tiny`: resnet_6blocks, ngf and ndf 4.
pub fn tiny(root: &Path, data: &Path, extra: &[&str]) -> cyclegan::train::TrainArgs {
    let (root, data) = (root.to_str().unwrap(), data.to_str().unwrap());
    let mut args = vec![
        "--dataroot",
        data,
        "--checkpoints-dir",
        root,
        "--name",
        "tiny",
        "--netG",
        "resnet_6blocks",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--load-size",
        "36",
        "--crop-size",
        "32",
        "--n-epochs",
        "1",
        "--n-epochs-decay",
        "0",
        "--display-freq",
        "2",
        "--save-epoch-freq",
        "1",
        "--seed",
        "9",
    ];
    args.extend_from_slice(extra);
    cyclegan_args(&args)
}

#[test]
fn trainer_checkpoints_resumes_and_stops_on_nan() {
    let d = device();
    let root = temp("train");
    let data = root.join("data");
    write_colors(&data, 2, 36, 7).unwrap();
    let run = root.join("tiny");
    let log = || std::fs::read_to_string(run.join("loss_log.jsonl")).unwrap();

    // Nothing saved yet: --continue-train names the files it looked for and the way out.
    let err = tiny(&root, &data, &["--continue-train"]).run(&d).unwrap_err().to_string();
    assert!(err.contains("latest_net_G_A.safetensors") && err.contains("drop --continue-train"), "{err}");
    tiny(&root, &data, &[]).run(&d).unwrap();
    for f in ["latest_net_G_A", "latest_net_G_B", "latest_net_D_A", "latest_net_D_B", "1_net_G_A"] {
        assert!(run.join(format!("{f}.safetensors")).is_file(), "{f}");
    }
    let (set, step) = gantry::train::generation::newest(&run).unwrap().expect("a saved generation");
    assert_eq!(step, 2);
    assert!(set.join("state.safetensors").is_file() && set.join("net_G_A.safetensors").is_file());
    let opts = std::fs::read_to_string(run.join("train_opt.txt")).unwrap();
    assert!(opts.contains("netG: resnet_6blocks") && opts.contains("ngf: 4"), "{opts}");
    assert_eq!(log().lines().count(), 2);
    assert!(std::fs::read_dir(run.join("web/images")).unwrap().count() >= 1, "a sample grid was written");
    let page = std::fs::read_to_string(run.join("web/index.html")).unwrap();
    assert!(page.contains("cycle_A") && page.contains("images/epoch001"), "{page}");

    // Resuming runs epoch 2 only, from the saved networks and optimizer state.
    let mut resume = tiny(&root, &data, &["--continue-train"]);
    resume.n_epochs = Some(2);
    assert_eq!(resume.run(&d).unwrap().steps, 4);
    assert_eq!(log().lines().count(), 4);
    assert!(log().lines().last().unwrap().starts_with("{\"step\":4,\"epoch\":2"), "{}", log());

    // A raised stop flag (what Ctrl-C does) saves a checkpoint after one step and
    // returns cleanly.
    let mut stopped = tiny(&root, &data, &["--continue-train"]);
    stopped.n_epochs = Some(3);
    stopped.run.stop = Some(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)));
    let outcome = stopped.run(&d).unwrap();
    assert!(outcome.interrupted && outcome.steps == 5);
    assert_eq!(log().lines().count(), 5, "one more step ran");
    // A NaN learning rate poisons the parameters: training stops naming the loss and the
    // step, and the last good checkpoint is left as it was.
    let before = std::fs::read(run.join("latest_net_G_A.safetensors")).unwrap();
    let mut broken = tiny(&root, &data, &["--continue-train", "--lr", "NaN"]);
    broken.n_epochs = Some(4);
    let err = broken.run(&d).unwrap_err().to_string();
    assert!(err.contains("not finite after step 6") && err.contains("last good checkpoint"), "{err}");
    assert!(std::fs::read(run.join("latest_net_G_A.safetensors")).unwrap() == before, "checkpoint kept");
    // A fresh run under the same name is refused unless --overwrite says to start again.
    broken.run.continue_train = false;
    let err = broken.run(&d).unwrap_err().to_string();
    assert!(err.contains("already holds a run") && err.contains("--overwrite"), "{err}");
    assert!(run.join("latest_net_G_A.safetensors").is_file(), "nothing was removed");
    // Losses that are NaN stop training too, naming the loss and the step.
    broken.run.overwrite = true;
    let err = broken.run(&d).unwrap_err().to_string();
    assert!(err.contains("became NaN") && err.contains("step 2"), "{err}");
    std::fs::remove_dir_all(&root).unwrap();
}

/// The README's main command learns: the built-in CycleGAN run (resnet_6blocks, ngf 16,
/// 32-pixel crops, 2 + 2 epochs of 64 images) turns most shape pixels of the test images
/// cool while keeping most of the background grey. Several minutes on lavapipe, so
/// ignored in CI: `cargo test --release --test gpu -- --ignored demo`.
#[test]
#[ignore]
fn demo_translation_is_learned() {
    let d = device();
    let root = temp("demo");
    let args = cyclegan_args(&["--checkpoints-dir", root.to_str().unwrap(), "--display-freq", "1000"]);
    args.run(&d).unwrap();
    let (identity, learned) = args.score(&d, &root.join("experiment/synthetic")).unwrap();
    assert!(identity.0 < 0.01, "untranslated shapes are warm");
    assert!(learned.0 >= DEMO_SHAPES, "shapes turned cool: {:.2}", learned.0);
    assert!(learned.1 >= DEMO_BACKGROUND, "background kept grey: {:.2}", learned.1);
    std::fs::remove_dir_all(&root).unwrap();
}

/// Observed on lavapipe (seed 1): 0.76 of shape pixels cool, 0.91 of the background grey;
/// untranslated images score 0.00 and 1.00. The bars leave room for other drivers' rounding.
const DEMO_SHAPES: f32 = 0.6;

const DEMO_BACKGROUND: f32 = 0.8;

#[test]
fn pix2pix_trains_on_aligned_pairs_in_either_direction() {
    use gantry::data::aligned::AlignedLoader;
    let d = device();
    let root = temp("pix2pix");
    let data = root.join("data");
    gantry::data::synth::write_pairs(&data, 2, 32, 4).unwrap();
    // A|B halves come out in order, or swapped with BtoA: A is a black-and-white silhouette.
    let pre = Preprocess { flip: false, ..preprocess(32, 32) };
    let is_silhouette = |t: &gantry::Tensor| t.to_vec().unwrap().iter().all(|&v| v == -1.0 || v == 1.0);
    let batch = AlignedLoader::new(&data, "train", pre, 1, false, 1, 0).unwrap().next_batch(&d).unwrap();
    assert!(is_silhouette(&batch.a) && !is_silhouette(&batch.b));
    let batch = AlignedLoader::new(&data, "train", pre, 1, true, 1, 0).unwrap().next_batch(&d).unwrap();
    assert!(!is_silhouette(&batch.a) && is_silhouette(&batch.b));

    let (r, dr) = (root.to_str().unwrap(), data.to_str().unwrap());
    let args = pix2pix_args(&[
        "--dataroot",
        dr,
        "--checkpoints-dir",
        r,
        "--name",
        "tiny",
        "--netG",
        "unet_128",
        "--ngf",
        "2",
        "--ndf",
        "4",
        "--load-size",
        "136",
        "--crop-size",
        "128",
        "--n-epochs",
        "1",
        "--n-epochs-decay",
        "0",
    ]);
    let losses = args.run(&d).unwrap().losses;
    let names: Vec<&str> = losses.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["G_GAN", "G_L1", "D_real", "D_fake"]);
    for f in ["latest_net_G", "latest_net_D"] {
        assert!(root.join("tiny").join(format!("{f}.safetensors")).is_file(), "{f}");
    }
    assert!(gantry::train::generation::newest(&root.join("tiny")).unwrap().is_some());
    let (learned, blank) = args.score(&d, &data).unwrap();
    assert!(learned.is_finite() && blank > 0.0, "scores {learned} {blank}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_gradient_penalty_trains_the_discriminators() {
    let d = device();
    let root = temp("gp");
    let data = root.join("data");
    write_colors(&data, 1, 36, 2).unwrap();
    let losses = tiny(&root, &data, &["--gan-mode", "wgangp", "--lambda-gp", "10"]).run(&d).unwrap().losses;
    let d_a = losses.iter().find(|(n, _)| *n == "D_A").unwrap().1;
    assert!(d_a.is_finite());
    std::fs::remove_dir_all(&root).unwrap();
}
