//! The unaligned layout CycleGAN trains on: `<root>/trainA/` and `<root>/trainB/`. An epoch
//! is max(|A|, |B|) images; A is visited in order and B at random, as the reference does.
//! Images are decoded and preprocessed on a background thread, so the GPU never waits on
//! decoding; batches arrive through a bounded channel.

use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::io::image::{image_files, read_rgb, resize_to};
use crate::tensor::Tensor;
use image::RgbImage;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};

/// `--preprocess resize_and_crop` (resize to the load size, random crop), random
/// horizontal flip unless disabled, 1 or 3 channels.
#[derive(Clone, Copy, Debug)]
pub struct Preprocess {
    pub load_size: u32,
    pub crop_size: u32,
    pub flip: bool,
    pub channels: usize,
    /// Skip unreadable images with a warning instead of stopping (`--skip-bad-images`).
    pub skip_bad_images: bool,
}

pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as usize) % n.max(1)
    }
}

/// A random crop position and flip, drawn once per image (or pair).
pub(crate) fn draw(p: &Preprocess, rng: &mut Rng) -> (u32, u32, bool) {
    let span = (p.load_size - p.crop_size) as usize;
    (rng.below(span + 1) as u32, rng.below(span + 1) as u32, p.flip && rng.below(2) == 1)
}

/// Decodes and preprocesses one image into CHW values in [-1, 1].
fn prepare(path: &Path, p: &Preprocess, rng: &mut Rng) -> Result<Vec<f32>> {
    let at = draw(p, rng);
    Ok(transform(read_rgb(path)?, p, at))
}

/// resize_and_crop at a drawn position, the flip, and the conversion to CHW in [-1, 1].
pub(crate) fn transform(img: RgbImage, p: &Preprocess, (x0, y0, flip): (u32, u32, bool)) -> Vec<f32> {
    let img = resize_to(img, p.load_size, p.load_size);
    let mut img: RgbImage = image::imageops::crop_imm(&img, x0, y0, p.crop_size, p.crop_size).to_image();
    if flip {
        image::imageops::flip_horizontal_in_place(&mut img);
    }
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut out = vec![0f32; p.channels * w * h];
    for (x, y, px) in img.enumerate_pixels() {
        let i = y as usize * w + x as usize;
        let [r, g, b] = px.0.map(u32::from);
        if p.channels == 1 {
            out[i] = ((r * 299 + g * 587 + b * 114 + 500) / 1000) as f32 / 127.5 - 1.0;
        } else {
            for (c, v) in [r, g, b].into_iter().enumerate() {
                out[c * w * h + i] = v as f32 / 127.5 - 1.0;
            }
        }
    }
    out
}

pub(crate) type Batch = (Vec<f32>, Vec<f32>);

/// Batches of (A, B) from an unaligned folder pair.
pub struct UnalignedLoader {
    rx: Receiver<Result<Batch>>,
    pub epoch_len: usize,
    batch: usize,
    pre: Preprocess,
}

impl UnalignedLoader {
    /// Starts the background loader over `<root>/<phase>A` and `<root>/<phase>B`.
    pub fn new(
        root: &Path,
        phase: &str,
        pre: Preprocess,
        batch: usize,
        seed: u64,
    ) -> Result<UnalignedLoader> {
        if pre.crop_size > pre.load_size || pre.crop_size == 0 {
            return Err(Error::Invalid {
                op: "preprocess",
                msg: format!("crop size {} must be in 1..=load size {}", pre.crop_size, pre.load_size),
            });
        }
        let folder = |side: &str| -> Result<Vec<PathBuf>> {
            let dir = root.join(format!("{phase}{side}"));
            if !dir.is_dir() {
                return Err(Error::File {
                    path: dir.display().to_string(),
                    msg: "is missing: the unaligned layout needs trainA/ and trainB/".into(),
                });
            }
            image_files(&dir)
        };
        let (a, b) = (folder("A")?, folder("B")?);
        let epoch_len = a.len().max(b.len());
        let (tx, rx) = sync_channel(4);
        std::thread::spawn(move || {
            let mut rng = Rng(seed.max(1) ^ 0xA5A5_5A5A_DEAD_BEEF);
            let mut index = 0usize;
            loop {
                let mut batch_a = Vec::new();
                let mut batch_b = Vec::new();
                let (mut filled, mut skipped) = (0, 0);
                while filled < batch {
                    let pa = &a[index % a.len()];
                    let pb = &b[rng.below(b.len())];
                    index += 1;
                    let item =
                        prepare(pa, &pre, &mut rng).and_then(|x| Ok((x, prepare(pb, &pre, &mut rng)?)));
                    match item {
                        Ok((x, y)) => {
                            batch_a.extend(x);
                            batch_b.extend(y);
                            filled += 1;
                        }
                        // A bounded number of skips, so a folder of nothing but bad files
                        // still ends in an error rather than a silent loop.
                        Err(e) if pre.skip_bad_images && skipped < 1000 => {
                            eprintln!("\nwarning: skipping {e}");
                            skipped += 1;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
                if tx.send(Ok((batch_a, batch_b))).is_err() {
                    return; // the trainer is gone
                }
            }
        });
        Ok(UnalignedLoader { rx, epoch_len, batch, pre })
    }

    /// The next batch as tensors [batch, c, crop, crop] on `device`.
    pub fn next(&self, device: &Device) -> Result<(Tensor, Tensor)> {
        receive(&self.rx, device, self.batch, &self.pre)
    }
}

/// Uploads the next batch a loading thread sent.
pub(crate) fn receive(
    rx: &Receiver<Result<Batch>>,
    device: &Device,
    batch: usize,
    pre: &Preprocess,
) -> Result<(Tensor, Tensor)> {
    let (a, b) = rx
        .recv()
        .map_err(|_| Error::Invalid { op: "loader", msg: "the loading thread stopped".into() })??;
    let s = pre.crop_size as usize;
    let shape = [batch, pre.channels, s, s];
    Ok((Tensor::from_slice(device, &a, &shape)?, Tensor::from_slice(device, &b, &shape)?))
}

/// What the trainer needs of a loader.
pub trait PairLoader {
    /// Images per epoch.
    fn epoch_len(&self) -> usize;
    /// The next (A, B) batch on `device`.
    fn next_pair(&self, device: &Device) -> Result<(Tensor, Tensor)>;
}

impl PairLoader for UnalignedLoader {
    fn epoch_len(&self) -> usize {
        self.epoch_len
    }
    fn next_pair(&self, device: &Device) -> Result<(Tensor, Tensor)> {
        self.next(device)
    }
}
