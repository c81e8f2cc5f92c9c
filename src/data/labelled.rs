//! Images with domain labels, as StarGAN trains on them: CelebA's attribute vectors or an
//! ImageFolder's class indices. Each epoch is a fresh random order (the reference's
//! shuffling DataLoader); item k of the run is a pure function of (seed, k), so a resumed
//! run continues at the exact image it stopped at. Batches are always full: the last
//! batch of an epoch takes its missing images from the next epoch's order, where the
//! reference's `drop_last=False` loader would give one short batch.

use super::loader::{receive, spawn, stack, EpochOrder, Fetched, Loader};
use super::rng::HostRng;
use super::transforms::{CenterCropResize, Prepared};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::tensor::Tensor;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;

/// One image's label.
#[derive(Clone, Debug, PartialEq)]
pub enum Label {
    /// Attribute values, 0 or 1 each (CelebA).
    Attributes(Vec<f32>),
    /// A class index (ImageFolder).
    Class(usize),
}

/// A batch of images, [n, 3, size, size] in [-1, 1], and their labels in order.
pub struct LabelledBatch {
    pub images: Tensor,
    pub labels: Vec<Label>,
}

/// A shuffling loader over labelled image files.
pub struct LabelledLoader {
    rx: Receiver<Result<Fetched<(Prepared, Label)>>>,
    per_epoch: usize,
    position: u64,
    images: usize,
}

impl LabelledLoader {
    /// Starts loading `items` from item `start` of the run, `batch` at a time, each image
    /// through `transform` with its own draws.
    pub fn new(
        items: Vec<(PathBuf, Label)>,
        transform: CenterCropResize,
        batch: usize,
        seed: u64,
        start: u64,
        skip_bad: bool,
    ) -> Result<LabelledLoader> {
        if batch == 0 {
            return Err(Error::Invalid { op: "loader", msg: "--batch-size must be at least 1".into() });
        }
        if items.is_empty() {
            return Err(Error::Invalid { op: "loader", msg: "the dataset has no images".into() });
        }
        let items = super::scan::keep_readable(items, skip_bad)?;
        let per_epoch = items.len().div_ceil(batch);
        let images = items.len();
        let mut order = EpochOrder::new(seed, items.len());
        let rx = spawn(start, batch, skip_bad, move |k| {
            let (path, label) = &items[order.at(k)];
            let mut rng = HostRng::for_item(seed, 0x57A2, k);
            Ok((transform.load(path, &mut rng)?, label.clone()))
        });
        Ok(LabelledLoader { rx, per_epoch, position: start, images })
    }
}

impl Loader for LabelledLoader {
    type Batch = LabelledBatch;

    fn describe(&self) -> String {
        format!("{} labelled images", self.images)
    }

    fn steps_per_epoch(&self) -> usize {
        self.per_epoch
    }

    fn next_batch(&mut self, device: &Device) -> Result<LabelledBatch> {
        let Fetched { items, next } = receive(&self.rx)?;
        self.position = next;
        let (images, labels): (Vec<Prepared>, Vec<Label>) = items.into_iter().unzip();
        Ok(LabelledBatch { images: stack(device, images, 3)?, labels })
    }

    fn position(&self) -> u64 {
        self.position
    }
}
