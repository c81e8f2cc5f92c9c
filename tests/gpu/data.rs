//! The data pipeline: synthetic data and its score, the unaligned loader and its errors,
//! and every preprocess mode's sizes.

use crate::common::{device, temp};
use gantry::data::loader::Loader;
use gantry::data::synth::{translation_score, write_colors};
use gantry::data::unaligned::UnalignedLoader;
use gantry::data::{Preprocess, PreprocessMode};

pub fn preprocess(load: u32, crop: u32) -> Preprocess {
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
    std::fs::write(dir.join("trainA/0009.jpg"), b"").unwrap();
    // Every bad file is named before training starts, not when the loader reaches it.
    let Err(err) = UnalignedLoader::new(&dir, "train", pre, 3, 1, 0) else {
        panic!("corrupt images must be an error")
    };
    let err = err.to_string();
    assert!(err.contains("2 of 4") && err.contains("0009.jpg") && err.contains("--skip-bad-images"), "{err}");
    // A file whose header is sound but whose data is cut short still shows when read.
    std::fs::remove_file(dir.join("trainA/0009.jpg")).unwrap();
    let good = std::fs::read(dir.join("trainA/0001.png")).unwrap();
    std::fs::write(dir.join("trainA/0000.png"), &good[..good.len() / 2]).unwrap();
    let mut loader = UnalignedLoader::new(&dir, "train", pre, 3, 1, 0).unwrap();
    let Err(err) = loader.next_batch(&d) else { panic!("a truncated image must be an error") };
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
