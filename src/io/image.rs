//! Images in and out, as the reference repos convert them: pixels scaled to [0, 1] and
//! normalised to [-1, 1]; outputs written back as ((x + 1) / 2 · 255) truncated to u8
//! (`tensor2im`), one-channel outputs tiled to RGB.

use super::resize::{resize, Filter};
use super::{file_error, write_atomic};
use crate::error::{Error, Result};
use crate::gpu::Device;
use crate::tensor::Tensor;
use image::RgbImage;
use std::path::Path;

/// Decodes an image as RGB, naming the file on failure.
pub fn read_rgb(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
    decode_rgb(&bytes).map_err(|e| file_error(path, e))
}

/// The most bytes a decoded image may take, before and after its conversion to RGB: the
/// `image` crate's default allocation limit.
const MAX_IMAGE_BYTES: u64 = 512 << 20;

/// Decodes an image held in memory as RGB, its format told by content (PNG or JPEG); the
/// error says what is wrong. A header declaring more pixels than fit in 512 MiB as RGB is
/// refused before anything is decoded: a few damaged bytes must not cost gigabytes.
pub fn decode_rgb(bytes: &[u8]) -> std::result::Result<RgbImage, String> {
    let reader = || image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format();
    let unreadable = |e: image::ImageError| format!("not a readable image: {e}");
    let guessed = reader().map_err(|e| e.to_string())?;
    let format = guessed.format();
    let (w, h) = guessed.into_dimensions().map_err(unreadable)?;
    if u64::from(w) * u64::from(h) * 3 > MAX_IMAGE_BYTES {
        return Err(format!("a {w}x{h} image is too large: as RGB it would take more than 512 MiB"));
    }
    // zune-jpeg counts a grey image's 8-pixel blocks as (side + 7) / 8 in u16, which
    // overflows (a panic in debug builds) for sides over 65528.
    if format == Some(image::ImageFormat::Jpeg) && w.max(h) > 65528 {
        return Err(format!("a {w}x{h} JPEG: sides over 65528 pixels are not supported"));
    }
    let img = reader().map_err(|e| e.to_string())?.decode().map_err(unreadable)?;
    Ok(img.to_rgb8())
}

/// Resizes with PIL's bicubic filter, antialiased when shrinking, as the reference
/// CycleGAN and pix2pix pipelines do (`transforms.Resize(..., Image.BICUBIC)`); the same
/// size returns the image as it is. A zero target size or an empty source gives a black
/// image of the requested size, never a panic; [`resize`] reports those as errors.
pub fn resize_to(img: RgbImage, width: u32, height: u32) -> RgbImage {
    if img.dimensions() == (width, height) {
        return img;
    }
    resize(&img, width, height, Filter::Bicubic).unwrap_or_else(|_| RgbImage::new(width, height))
}

/// An image as a [1, channels, h, w] tensor in [-1, 1]; one channel is PIL's
/// `convert('L')` luma, L = (299 R + 587 G + 114 B) / 1000.
pub fn to_tensor(device: &Device, img: &RgbImage, channels: usize) -> Result<Tensor> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let norm = |v: f32| v / 255.0 * 2.0 - 1.0;
    let mut data = vec![0f32; channels * h * w];
    for (x, y, p) in img.enumerate_pixels() {
        let i = y as usize * w + x as usize;
        match channels {
            1 => {
                let [r, g, b] = p.0.map(u32::from);
                // PIL rounds the luma with integer arithmetic.
                data[i] = norm(((r * 299 + g * 587 + b * 114 + 500) / 1000) as f32);
            }
            3 => {
                for c in 0..3 {
                    data[c * h * w + i] = norm(f32::from(p.0[c]));
                }
            }
            n => {
                return Err(Error::Invalid {
                    op: "to_tensor",
                    msg: format!("images have 1 or 3 channels, not {n}"),
                })
            }
        }
    }
    Tensor::from_slice(device, &data, &[1, channels, h, w])
}

/// A [1, c, h, w] or [c, h, w] tensor in [-1, 1] as an RGB image (c = 1 or 3; one channel
/// is tiled to grey).
pub fn to_rgb(t: &Tensor) -> Result<RgbImage> {
    let shape = t.shape();
    let (c, h, w) = match *shape {
        [1, c, h, w] | [c, h, w] if c == 1 || c == 3 => (c, h, w),
        _ => {
            return Err(Error::Rank {
                op: "to_rgb",
                expected: "[1, c, h, w] or [c, h, w] with c = 1 or 3".into(),
                shape: shape.to_vec(),
            })
        }
    };
    let v = t.to_vec()?;
    let mut img = RgbImage::new(w as u32, h as u32);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let i = y as usize * w + x as usize;
        for k in 0..3 {
            let src = if c == 1 { 0 } else { k };
            // (x + 1) / 2 · 255, truncated as numpy's astype(uint8) does.
            p.0[k] = ((v[src * h * w + i] + 1.0) / 2.0 * 255.0).clamp(0.0, 255.0) as u8;
        }
    }
    Ok(img)
}

/// Writes a [1, c, h, w] or [c, h, w] tensor in [-1, 1] as a PNG (c = 1 or 3).
pub fn save_png(path: &Path, t: &Tensor) -> Result<()> {
    let img = to_rgb(t)?;
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| file_error(path, e.to_string()))?;
    write_atomic(path, &bytes)
}

/// The image files of a folder (png, jpg, jpeg), sorted by name, or the file itself.
pub fn image_files(path: &Path) -> Result<Vec<std::path::PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| file_error(path, e.to_string()))?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(file_error(path, "holds no .png, .jpg or .jpeg images"));
    }
    Ok(files)
}
