//! The data pipeline and the trainer: synthetic data and its score, the unaligned loader,
//! checkpoints, resuming, and stopping on a NaN with the last good checkpoint intact.

use crate::common::device;
use gantry::data::synth::{translation_score, write_colors};
use gantry::data::unaligned::{Preprocess, PreprocessMode, UnalignedLoader};
use gantry::models::cyclegan::CycleGanOptions;
use gantry::models::pix2pix::Pix2PixOptions;
use gantry::models::translate::{GeneratorOptions, ModelKind};
use gantry::train::{train, TrainOptions};
use std::path::{Path, PathBuf};

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gantry-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
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
    let pre = Preprocess {
        mode: PreprocessMode::ResizeAndCrop,
        load_size: 36,
        crop_size: 32,
        flip: true,
        channels: 3,
        output_channels: 3,
        skip_bad_images: false,
    };
    let loader = UnalignedLoader::new(&dir, "train", pre, 2, 1).unwrap();
    assert_eq!(loader.epoch_len, 3);
    let (a, b) = loader.next(&d).unwrap();
    assert_eq!(a.shape(), [2, 3, 32, 32]);
    assert_eq!(b.shape(), [2, 3, 32, 32]);
    assert!(a.to_vec().unwrap().iter().all(|v| (-1.0..=1.0).contains(v)));

    let Err(err) = UnalignedLoader::new(&dir, "val", pre, 1, 1) else { panic!("there is no valA folder") };
    let err = err.to_string();
    assert!(err.contains("valA"), "{err}");
    std::fs::write(dir.join("trainA/0000.png"), b"not an image").unwrap();
    let loader = UnalignedLoader::new(&dir, "train", pre, 1, 1).unwrap();
    let Err(err) = loader.next(&d) else { panic!("a corrupt image must be an error") };
    let err = err.to_string();
    assert!(err.contains("0000.png"), "{err}");
    // With --skip-bad-images the corrupt file is passed over and batches keep coming.
    let skipping =
        UnalignedLoader::new(&dir, "train", Preprocess { skip_bad_images: true, ..pre }, 2, 1).unwrap();
    for _ in 0..3 {
        assert_eq!(skipping.next(&d).unwrap().0.shape(), [2, 3, 32, 32]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn options(root: &Path, data: &Path, epochs: usize) -> TrainOptions {
    let mut generator = GeneratorOptions::defaults(ModelKind::CycleGan);
    generator.net_g = "resnet_6blocks".into();
    generator.ngf = 4;
    TrainOptions {
        dataroot: data.to_path_buf(),
        name: "tiny".into(),
        checkpoints_dir: root.to_path_buf(),
        generator,
        ndf: 4,
        net_d: "basic".into(),
        n_layers_d: 3,
        n_epochs: epochs,
        n_epochs_decay: 0,
        batch_size: 1,
        preprocess: Preprocess {
            mode: PreprocessMode::ResizeAndCrop,
            load_size: 36,
            crop_size: 32,
            flip: true,
            channels: 3,
            output_channels: 3,
            skip_bad_images: false,
        },
        kind: ModelKind::CycleGan,
        model: CycleGanOptions::default(),
        pix2pix: Pix2PixOptions::default(),
        b_to_a: false,
        display_freq: 2,
        save_epoch_freq: 1,
        continue_train: false,
        seed: 9,
        stop: None,
    }
}

#[test]
fn trainer_checkpoints_resumes_and_stops_on_nan() {
    let d = device();
    let root = temp("train");
    let data = root.join("data");
    write_colors(&data, 2, 36, 7).unwrap();
    let run = root.join("tiny");
    let log_lines = || std::fs::read_to_string(run.join("loss_log.jsonl")).unwrap().lines().count();

    train(&d, &options(&root, &data, 1)).unwrap();
    for f in ["latest_net_G_A", "latest_net_G_B", "latest_net_D_A", "latest_net_D_B", "1_net_G_A"] {
        assert!(run.join(format!("{f}.safetensors")).is_file(), "{f}");
    }
    assert!(run.join("latest_state.safetensors").is_file() && run.join("train_opt.txt").is_file());
    assert_eq!(log_lines(), 2);
    assert!(std::fs::read_dir(run.join("web/images")).unwrap().count() >= 1, "a sample grid was written");
    let page = std::fs::read_to_string(run.join("web/index.html")).unwrap();
    assert!(
        page.contains("loss.png") && page.contains("cycle_A") && page.contains("images/epoch001"),
        "{page}"
    );
    let plot = image::open(run.join("web/loss.png")).unwrap().to_rgb8();
    assert!(plot.pixels().any(|p| p.0 == [31, 119, 180]), "the first loss is drawn in its legend colour");

    // Resuming runs epoch 2 only, starting from the saved networks and optimizer state.
    let mut resume = options(&root, &data, 2);
    resume.continue_train = true;
    train(&d, &resume).unwrap();
    assert_eq!(log_lines(), 4);
    assert!(std::fs::read_to_string(run.join("loss_log.jsonl"))
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .starts_with("{\"epoch\":2"));

    // A raised stop flag (what Ctrl-C does) saves a checkpoint after one iteration and
    // returns cleanly.
    let mut stopped = options(&root, &data, 3);
    stopped.continue_train = true;
    stopped.stop = Some(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)));
    train(&d, &stopped).unwrap();
    assert_eq!(log_lines(), 5, "one more iteration ran");
    // A NaN learning rate poisons the parameters: training stops naming the loss and the
    // iteration, and the last good checkpoint is left as it was.
    let before = std::fs::read(run.join("latest_net_G_A.safetensors")).unwrap();
    let mut broken = options(&root, &data, 3);
    broken.continue_train = true;
    broken.model.lr = f32::NAN;
    let err = train(&d, &broken).unwrap_err().to_string();
    assert!(err.contains("became NaN") && err.contains("iteration"), "{err}");
    assert_eq!(std::fs::read(run.join("latest_net_G_A.safetensors")).unwrap(), before);
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
    let data = root.join("data");
    write_colors(&data, 64, 36, 1).unwrap();
    let mut o = options(&root, &data, 2);
    o.n_epochs_decay = 2;
    o.generator.ngf = 16;
    o.ndf = 16;
    o.display_freq = 1000;
    o.seed = 1;
    train(&d, &o).unwrap();
    let (identity, learned) = gantry::train::colors_score(&d, &o).unwrap();
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
    use gantry::data::unaligned::PairLoader;
    let d = device();
    let root = temp("pix2pix");
    let data = root.join("data");
    gantry::data::synth::write_pairs(&data, 2, 32, 4).unwrap();
    // A|B halves come out in order, or swapped with BtoA: A is a black-and-white silhouette.
    let pre = Preprocess {
        mode: PreprocessMode::ResizeAndCrop,
        load_size: 32,
        crop_size: 32,
        flip: false,
        channels: 3,
        output_channels: 3,
        skip_bad_images: false,
    };
    let is_silhouette = |t: &gantry::Tensor| t.to_vec().unwrap().iter().all(|&v| v == -1.0 || v == 1.0);
    let (a, b) = AlignedLoader::new(&data, "train", pre, 1, false, 1).unwrap().next_pair(&d).unwrap();
    assert!(is_silhouette(&a) && !is_silhouette(&b));
    let (a, b) = AlignedLoader::new(&data, "train", pre, 1, true, 1).unwrap().next_pair(&d).unwrap();
    assert!(!is_silhouette(&a) && is_silhouette(&b));

    let mut o = options(&root, &data, 1);
    o.kind = ModelKind::Pix2Pix;
    o.generator = GeneratorOptions::defaults(ModelKind::Pix2Pix);
    o.generator.net_g = "unet_128".into();
    o.generator.ngf = 2;
    o.preprocess = Preprocess {
        mode: PreprocessMode::ResizeAndCrop,
        load_size: 136,
        crop_size: 128,
        flip: true,
        channels: 3,
        output_channels: 3,
        skip_bad_images: false,
    };
    let losses = train(&d, &o).unwrap();
    let names: Vec<&str> = losses.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["G_GAN", "G_L1", "D_real", "D_fake"]);
    for f in ["latest_net_G", "latest_net_D", "latest_state"] {
        assert!(root.join("tiny").join(format!("{f}.safetensors")).is_file(), "{f}");
    }
    let (learned, blank) = gantry::train::pairs_score(&d, &o).unwrap();
    assert!(learned.is_finite() && blank > 0.0, "scores {learned} {blank}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_gradient_penalty_trains_the_discriminators() {
    let d = device();
    let root = temp("gp");
    let data = root.join("data");
    write_colors(&data, 1, 36, 2).unwrap();
    let mut o = options(&root, &data, 1);
    o.model.gan_mode = gantry::models::losses::GanMode::Wgangp;
    o.model.lambda_gp = 10.0;
    let with_gp = train(&d, &o).unwrap();
    let d_a = with_gp.iter().find(|(n, _)| *n == "D_A").unwrap().1;
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
    let base = Preprocess {
        mode: PreprocessMode::ResizeAndCrop,
        load_size: 48,
        crop_size: 32,
        flip: true,
        channels: 3,
        output_channels: 3,
        skip_bad_images: false,
    };
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
        let loader =
            UnalignedLoader::new(&dir, "train", Preprocess { mode, crop_size: crop, ..base }, 1, 1).unwrap();
        let (a, b) = loader.next(&d).unwrap();
        assert_eq!(a.shape(), shape, "{mode:?}");
        assert_eq!(b.shape(), shape, "{mode:?}");
    }
    // A crop larger than the image is an error naming the file.
    let loader = UnalignedLoader::new(
        &dir,
        "train",
        Preprocess { mode: PreprocessMode::Crop, crop_size: 36, ..base },
        1,
        1,
    )
    .unwrap();
    let Err(err) = loader.next(&d) else { panic!("a 36-pixel crop of a 30-pixel-high image") };
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
    let mut o = options(&root, &data, 1);
    o.net_d = "pixel".into();
    assert!(train(&d, &o).unwrap().iter().all(|(_, v)| v.is_finite()));
    // Gray A, colour B: the identity loss cannot compare them, as in the reference.
    o.generator.input_nc = 1;
    o.preprocess.channels = 1;
    let err = train(&d, &o).unwrap_err().to_string();
    assert!(err.contains("--lambda-identity 0"), "{err}");
    o.model.lambda_identity = 0.0;
    if let Err(e) = train(&d, &o) {
        panic!("gray A to colour B: {e}");
    }
    o.net_d = "patch".into();
    assert!(train(&d, &o).unwrap_err().to_string().contains("unknown discriminator"));
    std::fs::remove_dir_all(&root).unwrap();
}
