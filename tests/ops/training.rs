//! The data pipeline and the trainer: synthetic data and its score, the loaders, and
//! `gantry train` runs end to end (checkpoints, resuming, stopping on a NaN with the last
//! good checkpoint intact), driven by the same arguments a person types.

use crate::common::device;
use clap::Parser;
use gantry::data::loader::Loader;
use gantry::data::synth::{translation_score, write_colors};
use gantry::data::unaligned::UnalignedLoader;
use gantry::data::{Preprocess, PreprocessMode};
use gantry::models::{cyclegan, pix2pix};
use std::path::{Path, PathBuf};

pub fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gantry-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

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

/// A tiny CycleGAN run on `data` under `root/tiny`: resnet_6blocks, ngf and ndf 4.
fn tiny(root: &Path, data: &Path, extra: &[&str]) -> cyclegan::train::TrainArgs {
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

fn preprocess(load: u32, crop: u32) -> Preprocess {
    Preprocess {
        mode: PreprocessMode::ResizeAndCrop,
        load_size: load,
        crop_size: crop,
        flip: true,
        channels: 3,
        output_channels: 3,
        skip_bad_images: false,
    }
}

#[test]
fn synthetic_colors_and_their_score() {
    let dir = temp("synth");
    write_colors(&dir, 8, 36, 3).unwrap();
    for (sub, n) in [("trainA", 8), ("trainB", 8), ("testA", 2), ("testB", 2)] {
        assert_eq!(std::fs::read_dir(dir.join(sub)).unwrap().count(), n, "{sub}");
    }
    let a = image::open(dir.join("trainA/0000.png")).unwrap().to_rgb8();
    // Swapping red and blue turns every warm shape cool and leaves the grey alone.
    let mut swapped = a.clone();
    swapped.pixels_mut().for_each(|p| p.0.swap(0, 2));
    assert_eq!(translation_score(&a, &a), (0.0, 1.0));
    assert_eq!(translation_score(&a, &swapped), (1.0, 1.0));
    let mut noise = a.clone();
    noise.pixels_mut().enumerate().for_each(|(i, p)| p.0 = [(i * 37 % 256) as u8, 10, 250]);
    assert!(translation_score(&a, &noise).1 < 0.05, "noise does not keep the background");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unaligned_loader_batches_and_names_bad_input() {
    let d = device();
    let dir = temp("loader");
    write_colors(&dir, 3, 36, 5).unwrap();
    let pre = preprocess(36, 32);
    let mut loader = UnalignedLoader::new(&dir, "train", pre, 2, 1, 0).unwrap();
    assert_eq!(loader.steps_per_epoch(), 2, "3 images in batches of 2");
    let batch = loader.next_batch(&d).unwrap();
    assert_eq!(batch.a.shape(), [2, 3, 32, 32]);
    assert_eq!(batch.b.shape(), [2, 3, 32, 32]);
    assert_eq!(loader.position(), 2);
    assert!(batch.a.to_vec().unwrap().iter().all(|v| (-1.0..=1.0).contains(v)));
    // Items are a pure function of (seed, position): a loader started at 2 gives the
    // same third and fourth items as one that read the first two.
    let next = loader.next_batch(&d).unwrap().a.to_vec().unwrap();
    let restarted = UnalignedLoader::new(&dir, "train", pre, 2, 1, 2).unwrap().next_batch(&d).unwrap();
    assert_eq!(restarted.a.to_vec().unwrap(), next);

    let Err(err) = UnalignedLoader::new(&dir, "val", pre, 1, 1, 0) else { panic!("there is no valA folder") };
    assert!(err.to_string().contains("valA"), "{err}");
    let Err(err) = UnalignedLoader::new(&dir, "train", preprocess(30, 32), 1, 1, 0) else {
        panic!("a crop larger than the load size")
    };
    assert!(err.to_string().contains("--crop-size 32 is larger than --load-size 30"), "{err}");
    std::fs::write(dir.join("trainA/0000.png"), b"not an image").unwrap();
    let mut loader = UnalignedLoader::new(&dir, "train", pre, 3, 1, 0).unwrap();
    let Err(err) = loader.next_batch(&d) else { panic!("a corrupt image must be an error") };
    assert!(err.to_string().contains("0000.png"), "{err}");
    // With --skip-bad-images the corrupt file is passed over and batches keep coming.
    let mut skipping =
        UnalignedLoader::new(&dir, "train", Preprocess { skip_bad_images: true, ..pre }, 2, 1, 0).unwrap();
    for _ in 0..3 {
        assert_eq!(skipping.next_batch(&d).unwrap().a.shape(), [2, 3, 32, 32]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn trainer_checkpoints_resumes_and_stops_on_nan() {
    let d = device();
    let root = temp("train");
    let data = root.join("data");
    write_colors(&data, 2, 36, 7).unwrap();
    let run = root.join("tiny");
    let log = || std::fs::read_to_string(run.join("loss_log.jsonl")).unwrap();

    tiny(&root, &data, &[]).run(&d).unwrap();
    for f in ["latest_net_G_A", "latest_net_G_B", "latest_net_D_A", "latest_net_D_B", "1_net_G_A"] {
        assert!(run.join(format!("{f}.safetensors")).is_file(), "{f}");
    }
    assert!(run.join("latest_state.safetensors").is_file());
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
    // Losses that are NaN stop training too, naming the loss and the step.
    broken.run.continue_train = false;
    let err = broken.run(&d).unwrap_err().to_string();
    assert!(err.contains("became NaN") && err.contains("step 2"), "{err}");
    std::fs::remove_dir_all(&root).unwrap();
}

/// The README's main command learns: the built-in CycleGAN run (resnet_6blocks, ngf 16,
/// 32-pixel crops, 2 + 2 epochs of 64 images) turns most shape pixels of the test images
/// cool while keeping most of the background grey. Several minutes on lavapipe, so
/// ignored in CI: `cargo test --release --test ops -- --ignored demo`.
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
    for f in ["latest_net_G", "latest_net_D", "latest_state"] {
        assert!(root.join("tiny").join(format!("{f}.safetensors")).is_file(), "{f}");
    }
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

#[test]
fn every_preprocess_mode_gives_the_references_sizes() {
    let d = device();
    let dir = temp("modes");
    for side in ["trainA", "trainB"] {
        std::fs::create_dir_all(dir.join(side)).unwrap();
        image::RgbImage::from_pixel(40, 30, image::Rgb([200, 10, 10]))
            .save(dir.join(side).join("x.png"))
            .unwrap();
    }
    let base = preprocess(48, 32);
    for (mode, crop, shape) in [
        (PreprocessMode::ResizeAndCrop, 32, [1, 3, 32, 32]),
        // the image as it is: 40 x 30 holds a 24-pixel crop
        (PreprocessMode::Crop, 24, [1, 3, 24, 24]),
        // width 40 -> 48, height 30 -> 36 (in proportion, at least the crop size)
        (PreprocessMode::ScaleWidth, 32, [1, 3, 36, 48]),
        (PreprocessMode::ScaleWidthAndCrop, 32, [1, 3, 32, 32]),
        // 40 x 30 rounded to multiples of 4: 40 x 32
        (PreprocessMode::None, 32, [1, 3, 32, 40]),
    ] {
        let mut loader =
            UnalignedLoader::new(&dir, "train", Preprocess { mode, crop_size: crop, ..base }, 1, 1, 0)
                .unwrap();
        let batch = loader.next_batch(&d).unwrap();
        assert_eq!(batch.a.shape(), shape, "{mode:?}");
        assert_eq!(batch.b.shape(), shape, "{mode:?}");
    }
    // A crop larger than the image is an error naming the file.
    let crop36 = Preprocess { mode: PreprocessMode::Crop, crop_size: 36, ..base };
    let Err(err) = UnalignedLoader::new(&dir, "train", crop36, 1, 1, 0).unwrap().next_batch(&d) else {
        panic!("a 36-pixel crop of a 30-pixel-high image")
    };
    assert!(
        err.to_string().contains("x.png") && err.to_string().contains("smaller than the crop size"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
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
        tiny(&root, &data, &["--netD", "pixel", "--input-nc", "1", "--lambda-identity", "0"]).run(&d)
    {
        panic!("gray A to colour B: {e}");
    }
    std::fs::remove_dir_all(&root).unwrap();
}
