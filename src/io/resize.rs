//! Image resizing that reproduces PIL's `Image.resize` for 8-bit RGB images, pixel for
//! pixel, so that a pipeline fed by our loader sees what the reference repos' torchvision
//! `Resize` (which calls `Image.resize`) gives them.
//!
//! Bilinear and bicubic follow PIL's separable resampler: for each output pixel along an
//! axis, the filter is centred on the pixel's centre mapped into the source, widened by the
//! scale factor when shrinking (so every source pixel contributes: antialiasing), sampled at
//! the source pixel centres it covers and normalised to sum 1. The weights are turned into
//! fixed point with 22 fraction bits; one pass per axis accumulates in integers, rounds half
//! up and clips to 0..=255. Every floating-point step below is the same operation in the
//! same order as PIL's, so the weights, and thus the pixels, agree exactly; which pass runs
//! first follows Pillow 13 (see [`resize`]). Nearest maps each output pixel centre into the
//! source and truncates.

use crate::error::{Error, Result};
use image::RgbImage;
use std::ops::Range;

/// A resampling filter, named as PIL names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// `Image.NEAREST`: the source pixel under each output pixel's centre.
    Nearest,
    /// `Image.BILINEAR`: a triangle filter (support 1), widened when shrinking.
    Bilinear,
    /// `Image.BICUBIC`: Keys' cubic convolution with a = -0.5 (support 2), widened when
    /// shrinking.
    Bicubic,
}

/// Fraction bits of the fixed-point weights: 32 bits less 8 for the pixel and 2 for the
/// headroom that negative lobes and overshoot need.
const PRECISION_BITS: u32 = 22;

/// Resizes `img` to `width` × `height` as PIL's `img.resize((width, height), filter)` does.
/// A size that does not change returns a copy. Errors when either image would be empty.
///
/// Pillow 13 runs the vertical pass first when the height loses more than twice as many
/// pixels as the width does; Pillow 12 and earlier always ran the horizontal pass first.
/// Each pass rounds and clips, so the order shows in the output (bicubic cases differ by up
/// to 22 grey levels near hard edges); this follows Pillow 13.
pub fn resize(img: &RgbImage, width: u32, height: u32, filter: Filter) -> Result<RgbImage> {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 || width == 0 || height == 0 {
        return Err(Error::Invalid {
            op: "resize",
            msg: format!("cannot resize a {w}×{h} image to {width}×{height}: both sizes must be positive"),
        });
    }
    if (w, h) == (width, height) {
        return Ok(img.clone());
    }
    Ok(match filter {
        Filter::Nearest => nearest(img, width, height),
        Filter::Bilinear => resample(img, width, height, bilinear, 1.0),
        Filter::Bicubic => resample(img, width, height, bicubic, 2.0),
    })
}

/// The triangle filter.
fn bilinear(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        1.0 - x
    } else {
        0.0
    }
}

/// Keys' cubic with a = -0.5, written as PIL evaluates it:
/// (a + 2)|x|³ - (a + 3)|x|² + 1 inside 1, a(|x|³ - 5|x|² + 8|x| - 4) inside 2.
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// The fixed-point weights of one output pixel along one axis: source indices
/// `start..start + weights.len()`.
struct Taps {
    start: usize,
    weights: Vec<i32>,
}

/// The taps of every output pixel along an axis of `in_size` source pixels resampled to
/// `out_size`, for a filter of half-width `support` (at scale 1).
fn taps(in_size: u32, out_size: u32, filter: fn(f64) -> f64, support: f64) -> Vec<Taps> {
    // PIL passes the source extent as a float box; a size converts as it does there.
    let scale = f64::from(in_size as f32) / f64::from(out_size);
    let filter_scale = scale.max(1.0);
    let support = support * filter_scale;
    let inv_filter_scale = 1.0 / filter_scale;
    (0..out_size)
        .map(|i| {
            let center = (f64::from(i) + 0.5) * scale;
            // The source pixels the filter reaches, its ends rounded as PIL rounds them:
            // add 0.5 and truncate (a negative start is clamped to 0 either way).
            let first = ((center - support + 0.5) as i64).max(0);
            let end = ((center + support + 0.5) as i64).min(i64::from(in_size));
            let raw: Vec<f64> =
                (first..end).map(|x| filter((x as f64 - center + 0.5) * inv_filter_scale)).collect();
            let total: f64 = raw.iter().sum();
            let weights = raw
                .iter()
                .map(|&k| {
                    let k = if total != 0.0 { k / total } else { k };
                    // Round half away from zero, as PIL's fixed-point conversion does.
                    let fixed = k * f64::from(1u32 << PRECISION_BITS);
                    (if fixed < 0.0 { fixed - 0.5 } else { fixed + 0.5 }) as i32
                })
                .collect();
            Taps { start: first as usize, weights }
        })
        .collect()
}

/// One output sample: the weighted sum of the source samples `at(0)`, `at(1)`, ... under
/// the taps, rounded half up and clipped to 0..=255.
fn blend(t: &Taps, at: impl Fn(usize) -> u8) -> u8 {
    let acc = t
        .weights
        .iter()
        .enumerate()
        .fold(1i64 << (PRECISION_BITS - 1), |acc, (k, &wt)| acc + i64::from(at(k)) * i64::from(wt));
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// The two-pass resampler; an axis whose size does not change is not resampled. The pass
/// order is Pillow 13's (see [`resize`]).
fn resample(img: &RgbImage, width: u32, height: u32, filter: fn(f64) -> f64, support: f64) -> RgbImage {
    let (w, h) = img.dimensions();
    let horizontal = (width != w).then(|| taps(w, width, filter, support));
    let vertical = (height != h).then(|| taps(h, height, filter, support));
    let shrink_y = i64::from(h) - i64::from(height);
    let vertical_first = shrink_y > 0 && shrink_y > 2 * (i64::from(w) - i64::from(width));
    let (w, width, h) = (w as usize, width as usize, h as usize);
    let src = img.as_raw();
    let out = match (&horizontal, &vertical) {
        (Some(across), Some(down)) if vertical_first => {
            horizontal_pass(&vertical_pass(src, w, 0, down), w, 0..height as usize, across)
        }
        (Some(across), Some(down)) => {
            // Only the source rows that the vertical taps read.
            let last = &down[down.len() - 1];
            let rows = down[0].start..last.start + last.weights.len();
            vertical_pass(&horizontal_pass(src, w, rows.clone(), across), width, rows.start, down)
        }
        (Some(across), None) => horizontal_pass(src, w, 0..h, across),
        (None, Some(down)) => vertical_pass(src, w, 0, down),
        (None, None) => src.clone(),
    };
    RgbImage::from_raw(width as u32, height, out).expect("the passes fill width × height RGB pixels")
}

/// Resamples `rows` of an RGB image `w` pixels wide along x, one output pixel per tap set.
fn horizontal_pass(src: &[u8], w: usize, rows: Range<usize>, taps: &[Taps]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * taps.len() * 3);
    for y in rows {
        for t in taps {
            for c in 0..3 {
                out.push(blend(t, |k| src[(y * w + t.start + k) * 3 + c]));
            }
        }
    }
    out
}

/// Resamples an RGB image `w` pixels wide along y, one output row per tap set; the rows of
/// `src` start at source row `row0`.
fn vertical_pass(src: &[u8], w: usize, row0: usize, taps: &[Taps]) -> Vec<u8> {
    let mut out = Vec::with_capacity(taps.len() * w * 3);
    for t in taps {
        for x in 0..w {
            for c in 0..3 {
                out.push(blend(t, |k| src[((t.start - row0 + k) * w + x) * 3 + c]));
            }
        }
    }
    out
}

/// Source indices of nearest-neighbour sampling along one axis: the output pixel centres
/// stepped through the source by repeated addition, then truncated, as PIL's affine
/// scaling does.
fn nearest_indices(in_size: u32, out_size: u32) -> Vec<usize> {
    let step = f64::from(in_size as f32) / f64::from(out_size);
    let mut pos = step * 0.5;
    (0..out_size)
        .map(|_| {
            // PIL leaves a pixel that lands past the edge black; the accumulated rounding
            // cannot carry a position that far for any image that fits in memory, and the
            // clamp keeps the index in bounds regardless.
            let i = (pos as usize).min(in_size as usize - 1);
            pos += step;
            i
        })
        .collect()
}

/// Nearest-neighbour resizing: each output pixel copies the source pixel under its centre.
fn nearest(img: &RgbImage, width: u32, height: u32) -> RgbImage {
    let xs = nearest_indices(img.width(), width);
    let ys = nearest_indices(img.height(), height);
    RgbImage::from_fn(width, height, |x, y| *img.get_pixel(xs[x as usize] as u32, ys[y as usize] as u32))
}
