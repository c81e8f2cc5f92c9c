//! The unaligned layout CycleGAN trains on: `<root>/<phase>A/` and `<root>/<phase>B/`.
//! An epoch is max(|A|, |B|) items in a fresh random order; item k takes A's image
//! k mod |A| and a random image of B, as the reference's `UnalignedDataset` under a
//! shuffling loader does.

use super::loader::{receive, spawn, stack, EpochOrder, Fetched, Loader};
use super::rng::HostRng;
use super::transforms::{transform, Draw, Prepared, Preprocess};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::image::{image_files, read_rgb};
use crate::tensor::Tensor;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

/// A batch of images of A, [n, input_nc, h, w], and of B, [n, output_nc, h, w].
pub struct UnalignedBatch {
    pub a: Tensor,
    pub b: Tensor,
}

/// Decodes and preprocesses one image with its own draws; errors name the file.
pub(crate) fn prepare(path: &Path, p: &Preprocess, rng: &mut HostRng) -> Result<Prepared> {
    let at = Draw::new(p, rng);
    transform(read_rgb(path)?, p, at).map_err(|msg| Error::File { path: path.display().to_string(), msg })
}

/// Checks what a loader cannot work without, before any thread starts.
pub(crate) fn check(pre: &Preprocess, batch: usize) -> Result<()> {
    use super::transforms::PreprocessMode as M;
    let invalid = |msg: String| Err(Error::Invalid { op: "loader", msg });
    if batch == 0 {
        return invalid("--batch-size must be at least 1".into());
    }
    for (flag, c) in [("--input-nc", pre.channels), ("--output-nc", pre.output_channels)] {
        if c != 1 && c != 3 {
            return invalid(format!("{flag} {c}: images have 1 (grey) or 3 (RGB) channels"));
        }
    }
    let crops = !matches!(pre.mode, M::None | M::ScaleWidth);
    if crops && pre.crop_size == 0 {
        return invalid("--crop-size must be at least 1".into());
    }
    if pre.mode == M::ResizeAndCrop && pre.crop_size > pre.load_size {
        return invalid(format!(
            "--crop-size {} is larger than --load-size {}: the crop is taken from the resized image",
            pre.crop_size, pre.load_size
        ));
    }
    if !crops && pre.load_size == 0 {
        return invalid("--load-size must be at least 1".into());
    }
    Ok(())
}

/// The readable image files of a dataset folder that must exist (see `scan`); the error
/// names the layout.
pub(crate) fn folder(dir: PathBuf, layout: &str, skip_bad: bool) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(Error::File { path: dir.display().to_string(), msg: format!("is missing: {layout}") });
    }
    super::scan::keep_readable_files(image_files(&dir)?, skip_bad)
}

/// Batches of (A, B) from an unaligned folder pair, read on a background thread.
pub struct UnalignedLoader {
    rx: Receiver<Result<Fetched<(Prepared, Prepared)>>>,
    epoch_len: usize,
    batch: usize,
    position: u64,
    pre: Preprocess,
    /// Images in A and in B.
    sizes: (usize, usize),
}

impl UnalignedLoader {
    /// Starts reading `<root>/<phase>A` and `<root>/<phase>B` at item `start`.
    pub fn new(
        root: &Path,
        phase: &str,
        pre: Preprocess,
        batch: usize,
        seed: u64,
        start: u64,
    ) -> Result<UnalignedLoader> {
        check(&pre, batch)?;
        let layout = format!("the unaligned layout needs {phase}A/ and {phase}B/");
        let a = folder(root.join(format!("{phase}A")), &layout, pre.skip_bad_images)?;
        let b = folder(root.join(format!("{phase}B")), &layout, pre.skip_bad_images)?;
        let epoch_len = a.len().max(b.len());
        let sizes = (a.len(), b.len());
        let mut order = EpochOrder::new(seed, epoch_len);
        let rx = spawn(start, batch, pre.skip_bad_images, move |i| {
            let k = order.at(i);
            let mut rng = HostRng::for_item(seed, 0xA11, i);
            let pb = &b[rng.below(b.len())];
            Ok((prepare(&a[k % a.len()], &pre, &mut rng)?, prepare(pb, &pre.for_b(), &mut rng)?))
        });
        Ok(UnalignedLoader { rx, epoch_len, batch, position: start, pre, sizes })
    }
}

/// Uploads a fetched batch of (A, B) items.
pub(crate) fn upload(
    device: &Device,
    fetched: Fetched<(Prepared, Prepared)>,
    pre: &Preprocess,
) -> Result<(Tensor, Tensor, u64)> {
    let (a, b): (Vec<Prepared>, Vec<Prepared>) = fetched.items.into_iter().unzip();
    Ok((stack(device, a, pre.channels)?, stack(device, b, pre.output_channels)?, fetched.next))
}

impl Loader for UnalignedLoader {
    type Batch = UnalignedBatch;
    fn describe(&self) -> String {
        format!("{} images in A, {} in B", self.sizes.0, self.sizes.1)
    }

    fn steps_per_epoch(&self) -> usize {
        self.epoch_len.div_ceil(self.batch)
    }
    fn next_batch(&mut self, device: &Device) -> Result<UnalignedBatch> {
        let (a, b, next) = upload(device, receive(&self.rx)?, &self.pre)?;
        self.position = next;
        Ok(UnalignedBatch { a, b })
    }
    fn position(&self) -> u64 {
        self.position
    }
}
