//! How an image becomes a tensor's values. CycleGAN and pix2pix, as the reference's
//! `get_transform` does it: the `--preprocess` mode at randomly drawn positions, an
//! optional horizontal flip, and the conversion to CHW values in [-1, 1] (one channel is
//! PIL's luma). StarGAN v1: [`CenterCropResize`].

use super::rng::HostRng;
use crate::error::{Error, Result};
use crate::io::image::{read_rgb, resize_to};
use crate::io::resize::{resize, Filter};
use image::RgbImage;
use std::path::Path;

/// `--preprocess`, with the reference's size rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PreprocessMode {
    /// Resize to load × load (bicubic), then a random crop × crop (the default).
    #[value(name = "resize_and_crop")]
    ResizeAndCrop,
    /// A random crop × crop of the image as it is.
    Crop,
    /// Width to the load size, height in proportion but at least the crop size.
    #[value(name = "scale_width")]
    ScaleWidth,
    /// `scale_width`, then a random crop × crop.
    #[value(name = "scale_width_and_crop")]
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

impl Preprocess {
    /// The same transform for B's side (its channel count).
    pub fn for_b(&self) -> Preprocess {
        Preprocess { channels: self.output_channels, ..*self }
    }
}

/// Where a crop lands (as fractions of the free room) and whether to flip, drawn once per
/// image, or once per pair so both halves agree.
#[derive(Clone, Copy, Debug)]
pub struct Draw {
    fx: f64,
    fy: f64,
    flip: bool,
}

impl Draw {
    pub fn new(p: &Preprocess, rng: &mut HostRng) -> Draw {
        let unit = |r: &mut HostRng| r.below(1 << 20) as f64 / f64::from(1u32 << 20);
        Draw { fx: unit(rng), fy: unit(rng), flip: p.flip && rng.below(2) == 1 }
    }
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

/// One preprocessed image: CHW values in [-1, 1] and its height and width.
pub type Prepared = (Vec<f32>, [usize; 2]);

/// The `--preprocess` mode at drawn positions, the flip, and the conversion to CHW in
/// [-1, 1]. The error says what does not fit.
pub fn transform(img: RgbImage, p: &Preprocess, at: Draw) -> std::result::Result<Prepared, String> {
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

/// StarGAN v1's transform (`data_loader.get_loader`): in training a random horizontal
/// flip, then torchvision's `CenterCrop(crop)`, `Resize(image_size)` with PIL's bilinear
/// filter, `ToTensor` and `Normalize(0.5, 0.5)`; in testing the same without the flip. The
/// flip comes before the crop, which matters when the crop is off centre by half a pixel.
/// A crop larger than the image is not an error: as torchvision does, the short sides are
/// padded with black first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CenterCropResize {
    crop: u32,
    image_size: u32,
    flip: bool,
}

impl CenterCropResize {
    /// The transform for a `crop` (`--celeba-crop-size` 178, `--rafd-crop-size` 256) and
    /// an `image_size` (128); `flip` for training. Errors when either size is 0.
    pub fn new(crop: u32, image_size: u32, flip: bool) -> Result<CenterCropResize> {
        if crop == 0 || image_size == 0 {
            let msg = format!("the crop size ({crop}) and --image-size ({image_size}) must be at least 1");
            return Err(Error::Invalid { op: "stargan transform", msg });
        }
        Ok(CenterCropResize { crop, image_size, flip })
    }

    /// Whether to flip the next image: one draw of `rng` in training, none in testing.
    pub fn draw_flip(&self, rng: &mut HostRng) -> bool {
        self.flip && rng.below(2) == 1
    }

    /// The transform with the flip decided: CHW values in [-1, 1], image_size square.
    pub fn apply(&self, img: &RgbImage, flip: bool) -> Prepared {
        let cropped = if flip {
            center_crop(&image::imageops::flip_horizontal(img), self.crop)
        } else {
            center_crop(img, self.crop)
        };
        let size = self.image_size;
        let img = resize(&cropped, size, size, Filter::Bilinear)
            .expect("both sizes are at least 1 (checked by new)");
        let n = size as usize;
        let mut out = vec![0f32; 3 * n * n];
        for (x, y, px) in img.enumerate_pixels() {
            for (c, v) in px.0.into_iter().enumerate() {
                // ToTensor, then Normalize: in float32, the operations torch performs.
                out[(c * n + y as usize) * n + x as usize] = (f32::from(v) / 255.0 - 0.5) / 0.5;
            }
        }
        (out, [n, n])
    }

    /// Reads the image at `path` and transforms it, the flip drawn from `rng`; a file that
    /// cannot be read is named in the error.
    pub fn load(&self, path: &Path, rng: &mut HostRng) -> Result<Prepared> {
        let img = read_rgb(path)?;
        Ok(self.apply(&img, self.draw_flip(rng)))
    }
}

/// torchvision's `CenterCrop(size)` of a PIL image. A side shorter than the crop is first
/// padded with black, (size - side) / 2 before it (rounded down) and the rest after; then
/// the crop starts at round((side - size) / 2) on each axis, with Python's round (half to
/// even: offsets 4.5 and 5.5 both become even).
fn center_crop(img: &RgbImage, size: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (pad_w, pad_h) = (size.saturating_sub(w), size.saturating_sub(h));
    let padded;
    let img = if pad_w > 0 || pad_h > 0 {
        let mut canvas = RgbImage::new(w + pad_w, h + pad_h);
        image::imageops::replace(&mut canvas, img, i64::from(pad_w / 2), i64::from(pad_h / 2));
        padded = canvas;
        &padded
    } else {
        img
    };
    let offset = |side: u32| (f64::from(side - size) / 2.0).round_ties_even() as u32;
    let (w, h) = img.dimensions();
    image::imageops::crop_imm(img, offset(w), offset(h), size, size).to_image()
}
