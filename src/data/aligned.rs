//! The aligned layout pix2pix trains on: `<root>/<phase>/` holds images with A on the left
//! half and B on the right. Both halves get the same crop position and flip;
//! `--direction BtoA` swaps them. Each epoch visits every image once in a fresh random
//! order.

use super::loader::{receive, spawn, EpochOrder, Fetched, Loader};
use super::rng::HostRng;
use super::transforms::{transform, Draw, Prepared, Preprocess};
use super::unaligned::{check, folder, upload};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::image::read_rgb;
use crate::tensor::Tensor;
use std::path::Path;
use std::sync::mpsc::Receiver;

/// A batch of inputs `a` [n, input_nc, h, w] and their targets `b` [n, output_nc, h, w].
pub struct AlignedBatch {
    pub a: Tensor,
    pub b: Tensor,
}

/// Splits an A|B image and preprocesses both halves alike.
fn prepare(path: &Path, p: &Preprocess, rng: &mut HostRng, b_to_a: bool) -> Result<(Prepared, Prepared)> {
    let ab = read_rgb(path)?;
    let (w, h) = ab.dimensions();
    let named = |msg: String| Error::File { path: path.display().to_string(), msg };
    if w < 2 {
        return Err(named("is too narrow to hold A and B side by side".into()));
    }
    let half = w / 2;
    let a = image::imageops::crop_imm(&ab, 0, 0, half, h).to_image();
    let b = image::imageops::crop_imm(&ab, half, 0, half, h).to_image();
    let at = Draw::new(p, rng);
    // A is the input (input_nc channels) after the direction is applied.
    let (first, second) = if b_to_a { (b, a) } else { (a, b) };
    Ok((transform(first, p, at).map_err(named)?, transform(second, &p.for_b(), at).map_err(named)?))
}

pub struct AlignedLoader {
    rx: Receiver<Result<Fetched<(Prepared, Prepared)>>>,
    epoch_len: usize,
    batch: usize,
    position: u64,
    pre: Preprocess,
}

impl AlignedLoader {
    /// Starts reading `<root>/<phase>/` at item `start`.
    pub fn new(
        root: &Path,
        phase: &str,
        pre: Preprocess,
        batch: usize,
        b_to_a: bool,
        seed: u64,
        start: u64,
    ) -> Result<AlignedLoader> {
        check(&pre, batch)?;
        let layout = format!("the aligned layout needs {phase}/ with A|B images");
        let files = folder(root.join(phase), &layout, pre.skip_bad_images)?;
        let epoch_len = files.len();
        let mut order = EpochOrder::new(seed, epoch_len);
        let rx = spawn(start, batch, pre.skip_bad_images, move |i| {
            let file = &files[order.at(i)];
            prepare(file, &pre, &mut HostRng::for_item(seed, 0xA1, i), b_to_a)
        });
        Ok(AlignedLoader { rx, epoch_len, batch, position: start, pre })
    }
}

impl Loader for AlignedLoader {
    type Batch = AlignedBatch;
    fn describe(&self) -> String {
        format!("{} image pairs", self.epoch_len)
    }

    fn steps_per_epoch(&self) -> usize {
        self.epoch_len.div_ceil(self.batch)
    }
    fn next_batch(&mut self, device: &Device) -> Result<AlignedBatch> {
        let (a, b, next) = upload(device, receive(&self.rx)?, &self.pre)?;
        self.position = next;
        Ok(AlignedBatch { a, b })
    }
    fn position(&self) -> u64 {
        self.position
    }
}
