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

/// `--preprocess`, with the reference's size rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreprocessMode {
    /// Resize to load × load (bicubic), then a random crop × crop (the default).
    ResizeAndCrop,
    /// A random crop × crop of the image as it is.
    Crop,
    /// Width to the load size, height in proportion but at least the crop size.
    ScaleWidth,
    /// `ScaleWidth`, then a random crop × crop.
    ScaleWidthAndCrop,
    /// Each side rounded to a multiple of 4 (bicubic), nothing else.
    None,
}

/// How images become tensors: the `--preprocess` mode and sizes, a random horizontal flip
/// unless disabled, 1 or 3 channels.
#[derive(Clone, Copy, Debug)]
pub struct Preprocess {
    pub mode: PreprocessMode,
    pub load_size: u32,
    pub crop_size: u32,
    pub flip: bool,
    /// Channels of A (`--input-nc`) and of B (`--output-nc`): 1 (PIL's luma) or 3.
    pub channels: usize,
    pub output_channels: usize,
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

/// Where a crop lands (as fractions of the free room) and whether to flip, drawn once per
/// image, or once per pair so both halves agree.
#[derive(Clone, Copy)]
pub(crate) struct Draw {
    fx: f64,
    fy: f64,
    flip: bool,
}

pub(crate) fn draw(p: &Preprocess, rng: &mut Rng) -> Draw {
    let unit = |r: &mut Rng| r.below(1 << 20) as f64 / f64::from(1u32 << 20);
    Draw { fx: unit(rng), fy: unit(rng), flip: p.flip && rng.below(2) == 1 }
}

/// Decodes and preprocesses one image into CHW values in [-1, 1], with its height and width.
fn prepare(path: &Path, p: &Preprocess, rng: &mut Rng) -> Result<(Vec<f32>, [usize; 2])> {
    let at = draw(p, rng);
    transform(read_rgb(path)?, p, at).map_err(|msg| Error::File { path: path.display().to_string(), msg })
}

fn random_crop(img: &RgbImage, size: u32, at: Draw) -> std::result::Result<RgbImage, String> {
    let (w, h) = img.dimensions();
    if w < size || h < size {
        return Err(format!("is {w}x{h}, smaller than the crop size {size}"));
    }
    let x0 = (at.fx * f64::from(w - size + 1)) as u32;
    let y0 = (at.fy * f64::from(h - size + 1)) as u32;
    Ok(image::imageops::crop_imm(img, x0.min(w - size), y0.min(h - size), size, size).to_image())
}

/// The reference's `__scale_width`: width to `target`, height in proportion but at least
/// `crop`; unchanged when the width already fits and the height is tall enough.
fn scale_width(img: RgbImage, target: u32, crop: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    if w == target && h >= crop {
        return img;
    }
    let height = ((u64::from(target) * u64::from(h) / u64::from(w.max(1))) as u32).max(crop);
    resize_to(img, target, height)
}

/// The `--preprocess` mode at drawn positions, the flip, and the conversion to CHW in
/// [-1, 1]. The error says what does not fit.
pub(crate) fn transform(
    img: RgbImage,
    p: &Preprocess,
    at: Draw,
) -> std::result::Result<(Vec<f32>, [usize; 2]), String> {
    let mut img = match p.mode {
        PreprocessMode::ResizeAndCrop => {
            random_crop(&resize_to(img, p.load_size, p.load_size), p.crop_size, at)?
        }
        PreprocessMode::Crop => random_crop(&img, p.crop_size, at)?,
        PreprocessMode::ScaleWidth => scale_width(img, p.load_size, p.crop_size),
        PreprocessMode::ScaleWidthAndCrop => {
            random_crop(&scale_width(img, p.load_size, p.crop_size), p.crop_size, at)?
        }
        PreprocessMode::None => {
            let (w, h) = img.dimensions();
            let round4 = |v: u32| (((f64::from(v) / 4.0).round() as u32) * 4).max(4);
            resize_to(img, round4(w), round4(h))
        }
    };
    if at.flip {
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
    Ok((out, [h, w]))
}

/// A batch of A and B values with each side's height and width.
pub(crate) type Batch = (Vec<f32>, Vec<f32>, [usize; 2], [usize; 2]);

/// One preprocessed image: CHW values and its height and width.
pub(crate) type Prepared = (Vec<f32>, [usize; 2]);

/// Starts a loading thread: `next_pair` prepares one (A, B) pair; batches of `batch` pairs
/// go down a bounded channel until the receiver is dropped or an error is not skipped.
/// With `skip_bad`, unreadable pairs are passed over with a warning, at most 1000 times, so
/// a folder of nothing but bad files still ends in an error.
pub(crate) fn spawn_batches(
    batch: usize,
    skip_bad: bool,
    mut next_pair: impl FnMut() -> Result<(Prepared, Prepared)> + Send + 'static,
) -> Receiver<Result<Batch>> {
    let (tx, rx) = sync_channel(4);
    std::thread::spawn(move || {
        let mut skipped = 0;
        loop {
            let (mut xs, mut ys, mut size_x, mut size_y) = (Vec::new(), Vec::new(), None, None);
            let mut filled = 0;
            while filled < batch {
                let item = next_pair().and_then(|(x, y)| {
                    push(&mut xs, &mut size_x, x)?;
                    push(&mut ys, &mut size_y, y)
                });
                match item {
                    Ok(()) => filled += 1,
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
            let sizes =
                (size_x.expect("a filled batch has a size"), size_y.expect("a filled batch has a size"));
            if tx.send(Ok((xs, ys, sizes.0, sizes.1))).is_err() {
                return; // the trainer is gone
            }
        }
    });
    rx
}

/// Appends one image to a batch, refusing a size that differs from the batch's first.
pub(crate) fn push(
    values: &mut Vec<f32>,
    size: &mut Option<[usize; 2]>,
    (v, hw): (Vec<f32>, [usize; 2]),
) -> Result<()> {
    match size {
        Some(s) if *s != hw => Err(Error::Invalid {
            op: "loader",
            msg: format!(
                "images of {}x{} and {}x{} cannot share a batch: use --batch-size 1 with --preprocess scale_width or none",
                s[1], s[0], hw[1], hw[0]
            ),
        }),
        _ => {
            *size = Some(hw);
            values.extend(v);
            Ok(())
        }
    }
}

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
        let crops = pre.mode != PreprocessMode::None && pre.mode != PreprocessMode::ScaleWidth;
        if pre.crop_size == 0
            || (pre.mode == PreprocessMode::ResizeAndCrop && pre.crop_size > pre.load_size)
            || (!crops && pre.load_size == 0)
        {
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
        let mut rng = Rng(seed.max(1) ^ 0xA5A5_5A5A_DEAD_BEEF);
        let mut index = 0usize;
        let pre_b = Preprocess { channels: pre.output_channels, ..pre };
        let rx = spawn_batches(batch, pre.skip_bad_images, move || {
            let pa = &a[index % a.len()];
            let pb = &b[rng.below(b.len())];
            index += 1;
            Ok((prepare(pa, &pre, &mut rng)?, prepare(pb, &pre_b, &mut rng)?))
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
    let (a, b, [ha, wa], [hb, wb]) = rx
        .recv()
        .map_err(|_| Error::Invalid { op: "loader", msg: "the loading thread stopped".into() })??;
    let (ca, cb) = (pre.channels, pre.output_channels);
    Ok((
        Tensor::from_slice(device, &a, &[batch, ca, ha, wa])?,
        Tensor::from_slice(device, &b, &[batch, cb, hb, wb])?,
    ))
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
