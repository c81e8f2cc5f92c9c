//! StarGAN v2's data layer: the domain-folder layout and its errors, the train transform
//! against torchvision (fixtures written by tests/reference/make_stargan_v2_data.py), the
//! balanced samplers, and the loader's batches and exact resume. One test opens the
//! shared device to upload batches; the rest are host-only.

use gantry::data::loader::Loader;
use gantry::data::rng::HostRng;
use gantry::io::image::read_rgb;
use gantry::models::stargan_v2::data::{
    crop_box, crop_resize_flip, domain_folders, load_images, train_transform, val_batch, CropDraw, Pick,
    V2Loader, CROP_ATTEMPTS,
};
use gantry::{Device, Tensor};
use image::{Rgb, RgbImage};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stargan_v2").join(name)
}

/// The records of data.txt, each split into words, comments dropped.
fn records() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(fixture("data.txt"))
        .unwrap_or_else(|e| panic!("data.txt: {e}; run tests/reference/make_stargan_v2_data.py"));
    text.lines().filter(|l| !l.starts_with('#')).map(|l| l.split(' ').map(str::to_string).collect()).collect()
}

fn num<T: std::str::FromStr>(word: &str) -> T {
    word.parse().unwrap_or_else(|_| panic!("{word:?} is not a number"))
}

/// A fresh folder under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("gantry-v2data-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// Saves a uniform 6x5 image of `colour` at `rel` (the format from the extension).
    fn image(&self, rel: &str, colour: [u8; 3]) {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let format = image::ImageFormat::Png; // every test file is a PNG, whatever its name
        RgbImage::from_pixel(6, 5, Rgb(colour)).save_with_format(&path, format).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn relative(root: &Path, files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|f| f.strip_prefix(root).unwrap().display().to_string()).collect()
}

#[test]
fn domain_folders_sort_find_recursively_and_name_what_is_wrong() {
    let dir = TempDir::new("folders");
    for rel in ["b_dog/z.png", "b_dog/a.JPG", "b_dog/sub/c.jpeg", "a_cat/x.Png", "c_wild/w.jpg"] {
        dir.image(rel, [1, 2, 3]);
    }
    std::fs::write(dir.0.join("b_dog/notes.txt"), b"").unwrap();
    dir.image("b_dog/skip.bmp", [0, 0, 0]); // torchvision would take it; the reference's listdir does not
    std::fs::write(dir.0.join("readme.md"), b"").unwrap(); // a file beside the domains is no domain
    let domains = domain_folders(&dir.0, 3).unwrap();
    let names: Vec<&str> = domains.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a_cat", "b_dog", "c_wild"]);
    assert_eq!(relative(&dir.0, &domains[1].1), ["b_dog/a.JPG", "b_dog/z.png", "b_dog/sub/c.jpeg"]);

    let err = domain_folders(&dir.0, 2).unwrap_err().to_string();
    assert!(err.contains("a_cat, b_dog, c_wild") && err.contains("--num-domains is 2"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
    let err = domain_folders(&dir.0.join("missing"), 3).unwrap_err().to_string();
    assert!(err.contains("missing") && err.contains("not a folder"), "{err}");
    std::fs::create_dir_all(dir.0.join("d_empty/inner")).unwrap();
    std::fs::write(dir.0.join("d_empty/inner/only.txt"), b"").unwrap();
    let err = domain_folders(&dir.0, 4).unwrap_err().to_string();
    assert!(err.contains("d_empty") && err.contains("no images"), "{err}");
    assert!(!err.contains("a_cat"), "only the empty domain is named: {err}");
}

/// The torchvision outputs of data.txt as values in [-1, 1], through its normalize table.
fn expected_values(normalize: &[f32], png: &str) -> (Vec<f32>, [usize; 2]) {
    let img = read_rgb(&fixture(png)).unwrap();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut out = vec![0f32; 3 * w * h];
    for (x, y, p) in img.enumerate_pixels() {
        for c in 0..3 {
            out[(c * h + y as usize) * w + x as usize] = normalize[p.0[c] as usize];
        }
    }
    (out, [h, w])
}

#[test]
fn train_transform_matches_torchvision() {
    let recs = records();
    let normalize: Vec<f32> =
        recs.iter().find(|r| r[0] == "normalize").unwrap()[1..].iter().map(|v| num(v)).collect();
    assert_eq!(normalize.len(), 256);
    let input = read_rgb(&fixture("input.png")).unwrap();
    assert_eq!(input.dimensions(), (40, 30));
    let mut cases = 0;
    for r in &recs {
        let (crop, size, flip, png) = match r[0].as_str() {
            "crop" => {
                let b: Vec<u32> = r[1..5].iter().map(|v| num(v)).collect();
                (Some((b[0], b[1], b[2], b[3])), num(&r[5]), &r[6] == "1", &r[7])
            }
            "plain" => (None, num(&r[1]), &r[2] == "1", &r[3]),
            _ => continue,
        };
        let ours = crop_resize_flip(&input, size, crop, flip).unwrap();
        let theirs = expected_values(&normalize, png);
        assert_eq!(ours.1, theirs.1, "{png}");
        let worst = ours.0.iter().zip(&theirs.0).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        // PIL's bilinear filter is reproduced exactly, and the scaling is torch's in f32.
        assert!(worst <= 1e-6, "{png}: max abs error {worst}");
        cases += 1;
    }
    assert_eq!(cases, 14);
    let err = crop_resize_flip(&input, 16, Some((20, 0, 11, 11)), false).unwrap_err().to_string();
    assert!(err.contains("does not fit"), "{err}");
}

#[test]
fn crop_sampling_replays_torchvision_draws() {
    let mut cases = 0;
    for r in records().iter().filter(|r| r[0] == "params") {
        let v: Vec<u32> = r[1..7].iter().map(|w| num(w)).collect();
        let (width, height, want) = (v[0], v[1], (v[2], v[3], v[4], v[5]));
        let n: usize = num(&r[7]);
        // Attempts past the last one drawn are never reached; fill them with boxes that fail.
        let mut attempts = [(4.0, 1.0); CROP_ATTEMPTS];
        for (k, slot) in attempts.iter_mut().enumerate().take(n) {
            *slot = (num(&r[8 + 2 * k]), num(&r[9 + 2 * k]));
        }
        let (top, left): (i64, i64) = (num(&r[8 + 2 * n]), num(&r[9 + 2 * n]));
        // A fraction that lands on torch.randint's choice among free + 1 offsets.
        let at = |k: i64, free: u32| if k < 0 { 0.5 } else { (k as f64 + 0.5) / f64::from(free + 1) };
        let draw = CropDraw {
            crop: true,
            attempts,
            top: at(top, height - want.2),
            left: at(left, width - want.3),
            flip: false,
        };
        assert_eq!(crop_box(width, height, &draw), want, "{width}x{height}: {r:?}");
        cases += 1;
    }
    assert_eq!(cases, 24);
    // Every attempt failing on an image within the ratio range gives the whole image.
    let never =
        CropDraw { crop: true, attempts: [(4.0, 1.0); CROP_ATTEMPTS], top: 0.9, left: 0.1, flip: false };
    assert_eq!(crop_box(50, 48, &never), (0, 0, 48, 50));
}

#[test]
fn drawn_crops_stay_within_the_scale_and_ratio_bounds() {
    let mut rng = HostRng::new(42);
    let (mut taken, mut flipped, mut area_sum, mut n) = (0, 0, 0.0, 0);
    for (width, height) in [(256u32, 256u32), (300, 280), (280, 300), (64, 64), (500, 499)] {
        let (mut lowest, mut highest) = (u32::MAX, 0);
        for _ in 0..400 {
            let draw = CropDraw::new(&mut rng, 0.5);
            taken += usize::from(draw.crop);
            flipped += usize::from(draw.flip);
            let (top, left, h, w) = crop_box(width, height, &draw);
            assert!(top + h <= height && left + w <= width && h > 0 && w > 0);
            let (wf, hf, area) = (f64::from(w), f64::from(h), f64::from(width * height));
            // Rounding each side moves the area by up to (w + h) / 2 and the ratio by ~1/h.
            let slack = (wf + hf) / area;
            assert!((0.8 - slack..=1.0 + slack).contains(&(wf * hf / area)), "{width}x{height}: {w}x{h}");
            assert!((0.9 - 1.1 / hf..=1.1 + 1.1 / hf).contains(&(wf / hf)), "{width}x{height}: {w}x{h}");
            area_sum += wf * hf / area;
            n += 1;
            (lowest, highest) = (lowest.min(top), highest.max(top + h));
        }
        assert!(lowest == 0 && highest == height, "offsets span the free rows");
    }
    let share = |k: usize| k as f64 / n as f64;
    assert!((share(taken) - 0.5).abs() < 0.05 && (share(flipped) - 0.5).abs() < 0.05);
    // Not 0.9, the middle of the range: large boxes overflow a side more often and are
    // redrawn, so torchvision's crops lean small.
    let mean = area_sum / n as f64;
    assert!((0.85..0.9).contains(&mean), "mean area {mean}");
    // Extreme shapes fall back to a central crop clamped to the ratio range.
    let draw = CropDraw::new(&mut rng, 1.0);
    assert_eq!(crop_box(10, 100, &draw), (44, 0, 11, 10));
    assert_eq!(crop_box(100, 10, &draw), (0, 44, 10, 11));
    assert!((0..100).all(|_| !CropDraw::new(&mut rng, 0.0).crop));
}

#[test]
fn samplers_are_class_balanced_and_reference_pairs_differ() {
    let dir = TempDir::new("balanced");
    for (domain, count) in [("a", 1), ("b", 12), ("c", 4)] {
        for i in 0..count {
            dir.image(&format!("{domain}/{i:02}.png"), [0, 0, 0]);
        }
    }
    let counts: Vec<usize> = domain_folders(&dir.0, 3).unwrap().iter().map(|(_, f)| f.len()).collect();
    assert_eq!(counts, [1, 12, 4]);
    let draws = 30_000;
    let (mut src, mut refs, mut in_b) = ([0usize; 3], [0usize; 3], [0usize; 12]);
    for k in 0..draws {
        let p = Pick::draw(&counts, 9, k);
        assert_eq!(p, Pick::draw(&counts, 9, k), "a pure function of (seed, item)");
        src[p.y_src] += 1;
        refs[p.y_ref] += 1;
        assert!(p.src < counts[p.y_src] && p.reference < counts[p.y_ref] && p.reference2 < counts[p.y_ref]);
        assert_eq!(p.reference != p.reference2, counts[p.y_ref] > 1, "{p:?}");
        if p.y_src == 1 {
            in_b[p.src] += 1;
        }
    }
    for (what, freq) in [("source", src), ("reference", refs)] {
        for f in freq {
            let share = f as f64 / draws as f64;
            assert!((share - 1.0 / 3.0).abs() < 0.015, "{what} domain shares {freq:?}");
        }
    }
    let per_image = src[1] as f64 / 12.0;
    assert!(in_b.iter().all(|&c| (c as f64 - per_image).abs() < 0.2 * per_image), "{in_b:?}");
}

/// The colour of image `i` of domain `d` in the loader test: red tells the domain, green
/// the image, so a batch's pixels say which file each came from.
fn colour(d: usize, i: usize) -> [u8; 3] {
    [40 + 60 * d as u8, 30 + 20 * i as u8, 200]
}

/// The (domain, image) of each image of a [n, 3, s, s] batch of uniform images.
fn files_of(t: &Tensor) -> Vec<(usize, usize)> {
    let (shape, v) = (t.shape().to_vec(), t.to_vec().unwrap());
    let plane = shape[2] * shape[3];
    (0..shape[0])
        .map(|k| {
            let level = |c: usize| ((v[(k * 3 + c) * plane] + 1.0) * 127.5).round() as usize;
            ((level(0) - 40) / 60, (level(1) - 30) / 20)
        })
        .collect()
}

#[test]
fn loader_batches_label_their_files_and_resume_exactly() {
    let device = Device::shared().expect("tests need a GPU adapter; on a CPU install mesa-vulkan-drivers");
    let dir = TempDir::new("loader");
    for (d, count) in [(0, 3), (1, 1), (2, 2)] {
        for i in 0..count {
            dir.image(&format!("d{d}/{i}.png"), colour(d, i));
        }
    }
    let domains = domain_folders(&dir.0, 3).unwrap();
    let mut loader = V2Loader::new(domains.clone(), 8, 4, 0.5, 3, 0, false).unwrap();
    assert_eq!(loader.describe(), "3 domains: d0 3, d1 1, d2 2 images");
    assert_eq!(loader.steps_per_epoch(), 1);
    let batches: Vec<_> = (0..3).map(|_| loader.next_batch(&device).unwrap()).collect();
    assert_eq!(loader.position(), 12);
    for b in &batches {
        assert_eq!(b.x_src.shape(), [4, 3, 8, 8]);
        let (src, r1, r2) = (files_of(&b.x_src), files_of(&b.x_ref), files_of(&b.x_ref2));
        for k in 0..4 {
            assert_eq!(src[k].0, b.y_src[k], "x_src comes from domain y_src");
            assert_eq!((r1[k].0, r2[k].0), (b.y_ref[k], b.y_ref[k]), "both references share y_ref");
            let only_one = b.y_ref[k] == 1;
            assert_eq!(r1[k] == r2[k], only_one, "the second reference is another file when there is one");
        }
    }
    let mut resumed = V2Loader::new(domains.clone(), 8, 4, 0.5, 3, 4, false).unwrap();
    let next = resumed.next_batch(&device).unwrap();
    assert_eq!(resumed.position(), 8);
    for (ours, theirs) in [
        (&next.x_src, &batches[1].x_src),
        (&next.x_ref, &batches[1].x_ref),
        (&next.x_ref2, &batches[1].x_ref2),
    ] {
        assert_eq!(ours.to_vec().unwrap(), theirs.to_vec().unwrap());
    }
    assert_eq!((&next.y_src, &next.y_ref), (&batches[1].y_src, &batches[1].y_ref));
    let other_seed = V2Loader::new(domains, 8, 4, 0.5, 4, 4, false).unwrap().next_batch(&device).unwrap();
    assert_ne!(other_seed.x_src.to_vec().unwrap(), next.x_src.to_vec().unwrap());

    let (x, y) = val_batch(&device, &dir.0, 3, 5, 6, 1).unwrap();
    assert_eq!((x.shape(), y.as_slice()), ([5, 3, 6, 6].as_slice(), [0, 1, 2, 0, 1].as_slice()));
    let files = files_of(&x);
    assert!(files.iter().zip(&y).all(|(f, d)| f.0 == *d));
    assert_ne!(files[0], files[3], "a domain's images are taken in turn");
    assert_eq!(val_batch(&device, &dir.0, 3, 5, 6, 1).unwrap().0.to_vec().unwrap(), x.to_vec().unwrap());
    let one = load_images(&device, &[dir.0.join("d2/1.png")], 4).unwrap();
    assert_eq!((one.shape(), files_of(&one)), ([1, 3, 4, 4].as_slice(), vec![(2, 1)]));
    assert!(load_images(&device, &[], 4).is_err());
    let err =
        V2Loader::new(vec![("x".into(), vec![dir.0.join("d9.png")])], 8, 1, 0.5, 1, 0, false).err().unwrap();
    assert!(err.to_string().contains("d9.png"), "{err}");
}

#[test]
fn the_train_transform_uses_its_draws() {
    let img = RgbImage::from_fn(20, 14, |x, y| Rgb([(x * 12) as u8, (y * 18) as u8, 7]));
    let mut draw = CropDraw::new(&mut HostRng::new(1), 0.0);
    let plain = train_transform(&img, 10, &draw).unwrap();
    assert_eq!(plain, crop_resize_flip(&img, 10, None, draw.flip).unwrap());
    draw.crop = true;
    let cropped = train_transform(&img, 10, &draw).unwrap();
    let b = crop_box(20, 14, &draw);
    assert_eq!(cropped, crop_resize_flip(&img, 10, Some(b), draw.flip).unwrap());
    assert_ne!(cropped, plain);
    draw.flip = !draw.flip;
    assert_ne!(train_transform(&img, 10, &draw).unwrap(), cropped);
}
