//! FastGAN's data (operation.py's ImageFolder with train.py's transform): the images
//! directly inside one folder (subfolders ignored), sorted by name, each resized to
//! im_size × im_size with PIL's bilinear filter (the aspect ratio is not kept), flipped
//! with probability ½, in [-1, 1]. The reference samples forever from fresh permutations;
//! here each epoch is a permutation that is a pure function of (seed, epoch), so a resumed
//! run continues at the exact image it stopped at.

use crate::data::loader::{receive, spawn, stack, EpochOrder, Fetched, Loader};
use crate::data::rng::HostRng;
use crate::data::transforms::Prepared;
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::resize::{resize, Filter};
use crate::tensor::Tensor;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

/// The extensions the reference reads (compared without regard to case here).
pub const EXTENSIONS: [&str; 3] = [".jpg", ".png", ".jpeg"];

fn file_error(path: &Path, msg: impl Into<String>) -> Error {
    Error::File { path: path.display().to_string(), msg: msg.into() }
}

/// The image files directly inside `dir`, sorted by name. An empty folder is an error
/// naming it, and saying so when its images sit in subfolders (which FastGAN ignores).
pub fn flat_images(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(file_error(dir, "is not a folder: --path needs a folder of .jpg/.png images"));
    }
    let read = std::fs::read_dir(dir).map_err(|e| file_error(dir, format!("cannot be listed: {e}")))?;
    let (mut images, mut subfolders) = (Vec::new(), 0);
    for entry in read {
        let entry = entry.map_err(|e| file_error(dir, format!("cannot be listed: {e}")))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_lowercase();
        if path.is_dir() {
            subfolders += 1;
        } else if EXTENSIONS.iter().any(|e| name.ends_with(e)) {
            images.push(path);
        }
    }
    if images.is_empty() {
        let hint = if subfolders > 0 {
            format!(" ({subfolders} subfolder(s) are ignored: FastGAN reads only the images directly inside --path)")
        } else {
            String::new()
        };
        return Err(file_error(dir, format!("holds no .jpg, .jpeg or .png images{hint}")));
    }
    images.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(images)
}

/// Resize to `size` × `size` (bilinear, as PIL), flip when `flip`, CHW in [-1, 1].
pub fn prepare(img: &image::RgbImage, size: u32, flip: bool) -> Result<Prepared> {
    let img = resize(img, size, size, Filter::Bilinear)?;
    let img = if flip { image::imageops::flip_horizontal(&img) } else { img };
    let n = size as usize;
    let mut out = vec![0f32; 3 * n * n];
    for (x, y, px) in img.enumerate_pixels() {
        for (c, v) in px.0.into_iter().enumerate() {
            out[(c * n + y as usize) * n + x as usize] = (f32::from(v) / 255.0 - 0.5) / 0.5;
        }
    }
    Ok((out, [n, n]))
}

/// Batches of [n, 3, im_size, im_size] real images, forever.
pub struct FlatLoader {
    rx: Receiver<Result<Fetched<Prepared>>>,
    per_epoch: usize,
    position: u64,
    images: usize,
}

impl FlatLoader {
    /// Loads `files` from item `start` of the run, `batch` at a time.
    pub fn new(
        files: Vec<PathBuf>,
        im_size: u32,
        batch: usize,
        seed: u64,
        start: u64,
        skip_bad: bool,
    ) -> Result<FlatLoader> {
        if batch == 0 {
            return Err(Error::Invalid { op: "loader", msg: "--batch-size must be at least 1".into() });
        }
        let files = crate::data::scan::keep_readable_files(files, skip_bad)?;
        let (images, per_epoch) = (files.len(), files.len().div_ceil(batch));
        let mut order = EpochOrder::new(seed, files.len());
        let rx = spawn(start, batch, skip_bad, move |k| {
            let path = &files[order.at(k)];
            let flip = HostRng::for_item(seed, 0xF1A9, k).below(2) == 1;
            prepare(&crate::io::image::read_rgb(path)?, im_size, flip)
        });
        Ok(FlatLoader { rx, per_epoch, position: start, images })
    }
}

impl Loader for FlatLoader {
    type Batch = Tensor;

    fn describe(&self) -> String {
        format!("{} images", self.images)
    }

    fn steps_per_epoch(&self) -> usize {
        self.per_epoch
    }

    fn next_batch(&mut self, device: &Device) -> Result<Tensor> {
        let Fetched { items, next } = receive(&self.rx)?;
        self.position = next;
        stack(device, items, 3)
    }

    fn position(&self) -> u64 {
        self.position
    }
}
