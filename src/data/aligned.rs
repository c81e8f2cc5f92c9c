//! The aligned layout pix2pix trains on: `<root>/<phase>/` holds images with A on the left
//! half and B on the right. Both halves get the same crop position and flip;
//! `--direction BtoA` swaps them. Images come in a fresh random order each epoch, decoded
//! on a background thread.

use super::unaligned::{
    draw, receive, spawn_batches, transform, Batch, PairLoader, Prepared, Preprocess, Rng,
};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::image::{image_files, read_rgb};
use crate::tensor::Tensor;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

/// Splits an A|B image and preprocesses both halves alike.
fn prepare(path: &Path, p: &Preprocess, rng: &mut Rng, b_to_a: bool) -> Result<(Prepared, Prepared)> {
    let ab = read_rgb(path)?;
    let (w, h) = ab.dimensions();
    if w < 2 {
        return Err(Error::File {
            path: path.display().to_string(),
            msg: "is too narrow to hold A and B side by side".into(),
        });
    }
    let half = w / 2;
    let a = image::imageops::crop_imm(&ab, 0, 0, half, h).to_image();
    let b = image::imageops::crop_imm(&ab, half, 0, half, h).to_image();
    let at = draw(p, rng);
    let named = |msg: String| Error::File { path: path.display().to_string(), msg };
    // A is the input (input_nc channels) after the direction is applied.
    let (first, second) = if b_to_a { (b, a) } else { (a, b) };
    let pre_b = Preprocess { channels: p.output_channels, ..*p };
    Ok((transform(first, p, at).map_err(named)?, transform(second, &pre_b, at).map_err(named)?))
}

pub struct AlignedLoader {
    rx: Receiver<Result<Batch>>,
    epoch_len: usize,
    batch: usize,
    pre: Preprocess,
}

impl AlignedLoader {
    pub fn new(
        root: &Path,
        phase: &str,
        pre: Preprocess,
        batch: usize,
        b_to_a: bool,
        seed: u64,
    ) -> Result<AlignedLoader> {
        let dir = root.join(phase);
        if !dir.is_dir() {
            return Err(Error::File {
                path: dir.display().to_string(),
                msg: format!("is missing: the aligned layout needs {phase}/ with A|B images"),
            });
        }
        let files: Vec<PathBuf> = image_files(&dir)?;
        let epoch_len = files.len();
        let mut rng = Rng(seed.max(1) ^ 0x5151_A1A1_0F0F_F0F0);
        let mut order: Vec<usize> = Vec::new();
        let rx = spawn_batches(batch, pre.skip_bad_images, move || {
            // A fresh random order each epoch.
            if order.is_empty() {
                order = (0..files.len()).collect();
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.below(i + 1));
                }
            }
            let file = &files[order.pop().expect("refilled above")];
            prepare(file, &pre, &mut rng, b_to_a)
        });
        Ok(AlignedLoader { rx, epoch_len, batch, pre })
    }
}

impl PairLoader for AlignedLoader {
    fn epoch_len(&self) -> usize {
        self.epoch_len
    }
    fn next_pair(&self, device: &Device) -> Result<(Tensor, Tensor)> {
        receive(&self.rx, device, self.batch, &self.pre)
    }
}
