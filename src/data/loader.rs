//! The background loading thread every layout shares. Item `i` of a dataset is a pure
//! function of (seed, i): its file and its random draws come from `HostRng::for_item`, so
//! the thread may read ahead freely and a resumed run restarts at the exact item it
//! stopped at. Batches travel down a bounded channel with the position after them.

use super::transforms::Prepared;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::Device;
use std::sync::mpsc::{sync_channel, Receiver};

/// What the trainer needs of a dataset.
pub trait Loader {
    type Batch;
    /// Batches in one epoch (the last may be short of images in the reference; here it
    /// wraps into the next epoch's), the unit of epoch-based schedules.
    fn steps_per_epoch(&self) -> usize;
    /// The next batch, uploaded to `device`.
    fn next_batch(&mut self, device: &Device) -> Result<Self::Batch>;
    /// Items consumed so far, skipped ones included: a loader built with this start
    /// position continues exactly where this one stands.
    fn position(&self) -> u64;
    /// The data in a few words for the run's banner (`trainA 64 images, trainB 64 images`).
    fn describe(&self) -> String {
        String::new()
    }
}

/// A batch of items as they left the thread, and the position after its last item.
pub(crate) struct Fetched<T> {
    pub items: Vec<T>,
    pub next: u64,
}

/// Starts a thread that makes item `start`, `start + 1`, … with `make` and sends them in
/// batches of `batch`. With `skip_bad`, items whose `make` fails are passed over with a
/// warning, at most 1000 times, so a folder of nothing but bad files still ends in an
/// error. The thread stops when the receiver is dropped or after an error it sends.
pub(crate) fn spawn<T: Send + 'static>(
    start: u64,
    batch: usize,
    skip_bad: bool,
    mut make: impl FnMut(u64) -> Result<T> + Send + 'static,
) -> Receiver<Result<Fetched<T>>> {
    let (tx, rx) = sync_channel(4);
    std::thread::spawn(move || {
        let (mut index, mut skipped) = (start, 0);
        loop {
            let mut items = Vec::with_capacity(batch);
            while items.len() < batch {
                let made = make(index);
                index += 1;
                match made {
                    Ok(item) => items.push(item),
                    Err(e) if skip_bad && skipped < 1000 => {
                        eprintln!("\nwarning: skipping {e}");
                        skipped += 1;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
            if tx.send(Ok(Fetched { items, next: index })).is_err() {
                return; // the trainer is gone
            }
        }
    });
    rx
}

/// Waits for the next batch from a loading thread.
pub(crate) fn receive<T>(rx: &Receiver<Result<Fetched<T>>>) -> Result<Fetched<T>> {
    rx.recv().map_err(|_| Error::Invalid { op: "loader", msg: "the loading thread stopped".into() })?
}

/// Stacks prepared images of one size into a [n, c, h, w] tensor; images of different
/// sizes cannot share a batch, and the error says which option allows them.
pub(crate) fn stack(device: &Device, images: Vec<Prepared>, channels: usize) -> Result<Tensor> {
    let n = images.len();
    let hw = images.first().map(|(_, hw)| *hw).unwrap_or([0, 0]);
    let mut values = Vec::with_capacity(n * channels * hw[0] * hw[1]);
    for (v, size) in images {
        if size != hw {
            return Err(Error::Invalid {
                op: "loader",
                msg: format!(
                    "images of {}x{} and {}x{} cannot share a batch: use --batch-size 1 with --preprocess scale_width or none",
                    hw[1], hw[0], size[1], size[0]
                ),
            });
        }
        values.extend(v);
    }
    Tensor::from_slice(device, &values, &[n, channels, hw[0], hw[1]])
}

/// Which of `len` items the `i`-th draw of a shuffling loader takes: each epoch is a
/// fresh permutation, a pure function of (seed, epoch).
pub(crate) struct EpochOrder {
    seed: u64,
    epoch: u64,
    order: Vec<usize>,
}

impl EpochOrder {
    pub fn new(seed: u64, len: usize) -> EpochOrder {
        EpochOrder { seed, epoch: u64::MAX, order: vec![0; len] }
    }

    pub fn at(&mut self, i: u64) -> usize {
        let len = self.order.len() as u64;
        if self.epoch != i / len {
            self.epoch = i / len;
            self.order =
                super::rng::HostRng::for_item(self.seed, 0xE90C, self.epoch).permutation(len as usize);
        }
        self.order[(i % len) as usize]
    }
}
