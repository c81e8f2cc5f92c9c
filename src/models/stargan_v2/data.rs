//! StarGAN v2's data, as clovaai/stargan-v2's `core/data_loader.py` builds it: one folder
//! per domain (`root/<domain>/**/*.{png,jpg,jpeg}`), domains in sorted order.
//!
//! Training (`get_train_loader`) runs two independent class-balanced samplers with
//! replacement (`WeightedRandomSampler`, weights 1/count: each draw picks a domain
//! uniformly, then one of its images uniformly). The source sampler gives (x_src, y_src);
//! the reference sampler gives x_ref of domain y_ref and a second image x_ref2 of the same
//! domain, a different file whenever the domain has more than one (the reference pairs each
//! file with a partner from one fixed shuffle, which may be the file itself; here the
//! partner is drawn per item). Every image goes through the train transform with its own
//! draws: with probability `randcrop_prob` torchvision's `RandomResizedCrop(s, scale (0.8,
//! 1), ratio (0.9, 1.1))`, then `Resize([s, s])`, a random horizontal flip and the scaling
//! to [-1, 1]. Item k of the run (one source image and one reference pair) is a pure
//! function of (seed, k), so a resumed run continues exactly where it stopped.
//!
//! Evaluation (`get_test_loader`): `Resize([s, s])` with PIL's bilinear filter, [-1, 1].

use crate::data::image_folder::{class_images, list};
use crate::data::loader::{receive, spawn, stack, Fetched, Loader};
use crate::data::rng::HostRng;
use crate::data::transforms::Prepared;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::image::read_rgb;
use crate::io::resize::{resize, Filter};
use crate::tensor::Tensor;
use image::RgbImage;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

/// The extensions the reference's `listdir` globs for (it spells out `png`, `jpg`, `jpeg`
/// and `JPG`); here in any case.
const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// `RandomResizedCrop`'s range of the crop's area, as a fraction of the image's.
pub const CROP_SCALE: (f64, f64) = (0.8, 1.0);
/// `RandomResizedCrop`'s range of the crop's aspect ratio (width / height).
pub const CROP_RATIO: (f64, f64) = (0.9, 1.1);
/// How many boxes torchvision draws before it falls back to a central crop.
pub const CROP_ATTEMPTS: usize = 10;

/// The streams of `HostRng::for_item` that item k's file choices and transform draws use.
const PICK_STREAM: u64 = 0x5A2_0001;
const DRAW_STREAM: u64 = 0x5A2_0002;
const VAL_STREAM: u64 = 0x5A2_0003;

fn is_domain_image(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    ext.is_some_and(|e| EXTENSIONS.contains(&e.as_str()))
}

/// The domains under `root` in sorted order, each with its images (found recursively,
/// in torchvision's `ImageFolder` order). Errors when `root` is not a folder, when the
/// number of subfolders is not `num_domains`, and when a domain folder holds no images.
pub fn domain_folders(root: &Path, num_domains: usize) -> Result<Vec<(String, Vec<PathBuf>)>> {
    let error = |msg: String| Error::File { path: root.display().to_string(), msg };
    if num_domains == 0 {
        return Err(Error::Invalid { op: "stargan-v2 data", msg: "--num-domains must be at least 1".into() });
    }
    if !root.is_dir() {
        return Err(error(
            "is not a folder: StarGAN v2 needs one subfolder of images per domain (<root>/<domain>/…)".into(),
        ));
    }
    let (mut dirs, _) = list(root)?;
    dirs.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    let names: Vec<String> = dirs.iter().map(|d| d.to_string_lossy().into_owned()).collect();
    if names.len() != num_domains {
        let found = match names.len() {
            0 => "no subfolders".to_string(),
            n => format!("{n} domain folder(s) ({})", names.join(", ")),
        };
        return Err(error(format!(
            "has {found} but --num-domains is {num_domains}: one domain per subfolder, so the two must be equal"
        )));
    }
    let (mut domains, mut empty) = (Vec::with_capacity(num_domains), Vec::new());
    for (dir, name) in dirs.iter().zip(names) {
        let images: Vec<PathBuf> =
            class_images(&root.join(dir))?.into_iter().filter(|p| is_domain_image(p)).collect();
        if images.is_empty() {
            empty.push(name.clone());
        }
        domains.push((name, images));
    }
    if !empty.is_empty() {
        return Err(error(format!(
            "domain folder(s) {} hold no images (.png, .jpg or .jpeg, searched recursively)",
            empty.join(", ")
        )));
    }
    Ok(domains)
}

/// The random draws of one image's train transform, made before the image is seen (so
/// every image takes the same number of draws) or supplied by a test.
#[derive(Clone, Debug, PartialEq)]
pub struct CropDraw {
    /// Whether the random resized crop is taken (the reference's `random() < prob`).
    pub crop: bool,
    /// torchvision's attempts, in order: the area fraction (uniform in `CROP_SCALE`) and
    /// the aspect ratio (log-uniform in `CROP_RATIO`).
    pub attempts: [(f64, f64); CROP_ATTEMPTS],
    /// Where a drawn box lands, as fractions in [0, 1) of the `free + 1` offsets that
    /// `torch.randint(0, free + 1)` chooses among: rows, then columns.
    pub top: f64,
    pub left: f64,
    /// Whether the image is flipped left to right (`RandomHorizontalFlip`, p = 0.5).
    pub flip: bool,
}

impl CropDraw {
    /// The draws for one image, the crop taken with probability `randcrop_prob`.
    pub fn new(rng: &mut HostRng, randcrop_prob: f64) -> CropDraw {
        let crop = rng.uniform() < randcrop_prob;
        let (lo, hi) = (CROP_RATIO.0.ln(), CROP_RATIO.1.ln());
        let attempts = std::array::from_fn(|_| {
            let scale = rng.range(CROP_SCALE.0, CROP_SCALE.1);
            (scale, rng.range(lo, hi).exp())
        });
        let (top, left) = (rng.uniform(), rng.uniform());
        CropDraw { crop, attempts, top, left, flip: rng.below(2) == 1 }
    }
}

/// torchvision's `RandomResizedCrop.get_params` with its draws given: the box (top, left,
/// height, width) in a `width` × `height` image. The first attempt whose rounded sides fit
/// is taken at the drawn offsets; when none fits, a central crop of the whole image
/// clamped to the ratio range.
pub fn crop_box(width: u32, height: u32, draw: &CropDraw) -> (u32, u32, u32, u32) {
    let area = f64::from(width) * f64::from(height);
    let offset = |u: f64, choices: u32| ((u * f64::from(choices)) as u32).min(choices - 1);
    for &(scale, aspect) in &draw.attempts {
        // Python's round (half to even), in the order torchvision computes.
        let target = area * scale;
        let w = (target * aspect).sqrt().round_ties_even();
        let h = (target / aspect).sqrt().round_ties_even();
        if w > 0.0 && w <= f64::from(width) && h > 0.0 && h <= f64::from(height) {
            let (w, h) = (w as u32, h as u32);
            return (offset(draw.top, height - h + 1), offset(draw.left, width - w + 1), h, w);
        }
    }
    let in_ratio = f64::from(width) / f64::from(height);
    let (w, h) = if in_ratio < CROP_RATIO.0 {
        (width, (f64::from(width) / CROP_RATIO.0).round_ties_even() as u32)
    } else if in_ratio > CROP_RATIO.1 {
        ((f64::from(height) * CROP_RATIO.1).round_ties_even() as u32, height)
    } else {
        (width, height)
    };
    ((height - h) / 2, (width - w) / 2, h, w)
}

/// PIL pixels to CHW values in [-1, 1]: `ToTensor` then `Normalize(0.5, 0.5)`, in f32 as
/// torch computes them.
fn to_chw(img: &RgbImage) -> Prepared {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut out = vec![0f32; 3 * w * h];
    for (x, y, px) in img.enumerate_pixels() {
        for (c, v) in px.0.into_iter().enumerate() {
            out[(c * h + y as usize) * w + x as usize] = (f32::from(v) / 255.0 - 0.5) / 0.5;
        }
    }
    (out, [h, w])
}

/// The reference's train transform with its draws given: the crop (taken or not), resized
/// to `img_size` square with PIL's bilinear filter (the following `Resize([s, s])` then
/// changes nothing), the flip, and CHW values in [-1, 1].
pub fn train_transform(img: &RgbImage, img_size: u32, draw: &CropDraw) -> Result<Prepared> {
    let crop = draw.crop.then(|| crop_box(img.width(), img.height(), draw));
    crop_resize_flip(img, img_size, crop, draw.flip)
}

/// The train transform with its outcome given: torchvision's `resized_crop` of the box
/// (top, left, height, width) when there is one, else `Resize([s, s])`; then the flip and
/// the scaling to [-1, 1].
pub fn crop_resize_flip(
    img: &RgbImage,
    img_size: u32,
    crop: Option<(u32, u32, u32, u32)>,
    flip: bool,
) -> Result<Prepared> {
    let mut out = match crop {
        Some((top, left, h, w)) => {
            if top + h > img.height() || left + w > img.width() {
                let msg = format!(
                    "the box of {w}x{h} at ({left}, {top}) does not fit in a {}x{} image",
                    img.width(),
                    img.height()
                );
                return Err(Error::Invalid { op: "resized_crop", msg });
            }
            let cropped = image::imageops::crop_imm(img, left, top, w, h).to_image();
            resize(&cropped, img_size, img_size, Filter::Bilinear)?
        }
        None => resize(img, img_size, img_size, Filter::Bilinear)?,
    };
    if flip {
        image::imageops::flip_horizontal_in_place(&mut out);
    }
    Ok(to_chw(&out))
}

/// The files item k of the run uses: the source image (domain, index in the domain) and
/// the reference pair (one domain, two indices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick {
    pub y_src: usize,
    pub src: usize,
    pub y_ref: usize,
    pub reference: usize,
    pub reference2: usize,
}

impl Pick {
    /// Item `index`'s files among domains of `counts` images each: two independent
    /// balanced draws, and a second reference image different from the first when the
    /// domain has another.
    pub fn draw(counts: &[usize], seed: u64, index: u64) -> Pick {
        let mut rng = HostRng::for_item(seed, PICK_STREAM, index);
        let y_src = rng.below(counts.len());
        let src = rng.below(counts[y_src]);
        let y_ref = rng.below(counts.len());
        let n = counts[y_ref];
        let reference = rng.below(n);
        let reference2 = match n {
            1 => reference,
            _ => (reference + 1 + rng.below(n - 1)) % n,
        };
        Pick { y_src, src, y_ref, reference, reference2 }
    }
}

/// One training batch: source images with their domains, reference pairs with theirs.
/// Images are [n, 3, s, s] in [-1, 1] on the device.
pub struct V2Batch {
    pub x_src: Tensor,
    pub y_src: Vec<usize>,
    pub x_ref: Tensor,
    pub x_ref2: Tensor,
    pub y_ref: Vec<usize>,
    /// The latent codes z and z₂ [n, latent_dim] of the step: None from the loader (the
    /// model draws them); a parity test supplies PyTorch's.
    pub z: Option<(Tensor, Tensor)>,
}

/// One item as it leaves the loading thread.
struct Item {
    src: Prepared,
    y_src: usize,
    reference: Prepared,
    reference2: Prepared,
    y_ref: usize,
}

/// Batches of source images and reference pairs, read on a background thread.
pub struct V2Loader {
    rx: Receiver<Result<Fetched<Item>>>,
    per_epoch: usize,
    position: u64,
    description: String,
}

impl V2Loader {
    /// Starts loading `domains` (from [`domain_folders`]) at item `start` of the run,
    /// `batch` items at a time, images `img_size` square, the crop taken with probability
    /// `randcrop_prob`. Every image's header is checked first (see `data::scan`); with
    /// `skip_bad`, unreadable images are passed over with a warning instead of stopping.
    pub fn new(
        domains: Vec<(String, Vec<PathBuf>)>,
        img_size: u32,
        batch: usize,
        randcrop_prob: f64,
        seed: u64,
        start: u64,
        skip_bad: bool,
    ) -> Result<V2Loader> {
        let invalid = |msg: String| Err(Error::Invalid { op: "stargan-v2 loader", msg });
        if batch == 0 {
            return invalid("--batch-size must be at least 1".into());
        }
        if img_size == 0 {
            return invalid("--img-size must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&randcrop_prob) {
            return invalid(format!("--randcrop-prob {randcrop_prob} must lie in [0, 1]"));
        }
        if domains.is_empty() {
            return invalid("there are no domains".into());
        }
        if let Some((name, _)) = domains.iter().find(|(_, files)| files.is_empty()) {
            return invalid(format!("domain {name} has no images"));
        }
        let (mut sizes, mut files) = (Vec::with_capacity(domains.len()), Vec::with_capacity(domains.len()));
        for (name, paths) in domains {
            let readable = crate::data::scan::keep_readable_files(paths, skip_bad)?;
            if readable.is_empty() {
                return invalid(format!("domain {name} has no readable images"));
            }
            sizes.push(format!("{name} {}", readable.len()));
            files.push(readable);
        }
        let counts: Vec<usize> = files.iter().map(Vec::len).collect();
        let description = format!("{} domains: {} images", files.len(), sizes.join(", "));
        let per_epoch = (counts.iter().sum::<usize>() / batch).max(1);
        let rx = spawn(start, batch, skip_bad, move |k| {
            let p = Pick::draw(&counts, seed, k);
            let mut rng = HostRng::for_item(seed, DRAW_STREAM, k);
            let mut load = |path: &PathBuf| -> Result<Prepared> {
                let draw = CropDraw::new(&mut rng, randcrop_prob);
                train_transform(&read_rgb(path)?, img_size, &draw)
            };
            Ok(Item {
                src: load(&files[p.y_src][p.src])?,
                y_src: p.y_src,
                reference: load(&files[p.y_ref][p.reference])?,
                reference2: load(&files[p.y_ref][p.reference2])?,
                y_ref: p.y_ref,
            })
        });
        Ok(V2Loader { rx, per_epoch, position: start, description })
    }
}

impl Loader for V2Loader {
    type Batch = V2Batch;

    /// The reference's epoch: all images once, in batches, the last partial one dropped.
    fn steps_per_epoch(&self) -> usize {
        self.per_epoch
    }

    fn next_batch(&mut self, device: &Device) -> Result<V2Batch> {
        let Fetched { items, next } = receive(&self.rx)?;
        self.position = next;
        let n = items.len();
        let (mut src, mut reference, mut reference2) = (Vec::new(), Vec::new(), Vec::new());
        let (mut y_src, mut y_ref) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for item in items {
            src.push(item.src);
            reference.push(item.reference);
            reference2.push(item.reference2);
            y_src.push(item.y_src);
            y_ref.push(item.y_ref);
        }
        Ok(V2Batch {
            x_src: stack(device, src, 3)?,
            y_src,
            x_ref: stack(device, reference, 3)?,
            x_ref2: stack(device, reference2, 3)?,
            y_ref,
            z: None,
        })
    }

    fn position(&self) -> u64 {
        self.position
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

/// The images at `paths` as the reference's test transform gives them: `Resize([s, s])`
/// (PIL bilinear) of each, [n, 3, s, s] in [-1, 1] on `device`.
pub fn load_images(device: &Device, paths: &[PathBuf], img_size: u32) -> Result<Tensor> {
    if paths.is_empty() || img_size == 0 {
        let msg = format!("{} images of size {img_size}: need at least one, of size 1 or more", paths.len());
        return Err(Error::Invalid { op: "load_images", msg });
    }
    let mut images = Vec::with_capacity(paths.len());
    for path in paths {
        images.push(to_chw(&resize(&read_rgb(path)?, img_size, img_size, Filter::Bilinear)?));
    }
    stack(device, images, 3)
}

/// `n` images of the domain folders under `root` for debug samples, with their domains:
/// image k comes from domain k mod D, the domains' images taken in an order drawn from
/// `seed` (repeating only when a domain runs out). Deterministic, so every sample grid of
/// a run shows the same inputs.
pub fn val_batch(
    device: &Device,
    root: &Path,
    num_domains: usize,
    n: usize,
    img_size: u32,
    seed: u64,
) -> Result<(Tensor, Vec<usize>)> {
    let domains = domain_folders(root, num_domains)?;
    let orders: Vec<Vec<usize>> = (0..domains.len() as u64)
        .map(|d| HostRng::for_item(seed, VAL_STREAM, d).permutation(domains[d as usize].1.len()))
        .collect();
    let (mut paths, mut labels) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for k in 0..n {
        let d = k % domains.len();
        let order = &orders[d];
        paths.push(domains[d].1[order[(k / domains.len()) % order.len()]].clone());
        labels.push(d);
    }
    Ok((load_images(device, &paths, img_size)?, labels))
}
