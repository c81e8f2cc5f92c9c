//! The built-in synthetic set for StarGAN v2: three domains of small scenes, each one
//! object on a lightly tinted grey background, drawn so that what a translation must
//! change, what it may vary and what it must keep are all measurable without a learned
//! model:
//!
//! | what    | drawn as                                                      | measured by   |
//! |---------|---------------------------------------------------------------|---------------|
//! | domain  | the object's hue family: blue (230°), green (120°), red (0°)  | [`domain_of`] |
//! | style   | hue within ±20° of the family's, saturation, brightness,      | [`diversity`] |
//! |         | stripes (none, across, down, diagonal; period, depth), and    |               |
//! |         | the background's grey level and tint                          |               |
//! | content | the object's shape (disc or square), centre and size          | [`object_iou`]|
//!
//! The object is the only saturated thing in a scene (saturation at least 0.55 against
//! the background's 0.24 at most), so its pixels are found by colour alone.

use super::rng::HostRng;
use crate::error::{Error, Result};
use image::{Rgb, RgbImage};
use std::path::Path;

/// The domains in folder (sorted) order; a domain's index is its label.
pub const DOMAINS: [&str; 3] = ["blue", "green", "red"];
/// Each domain's central hue, in degrees.
const HUES: [f64; 3] = [230.0, 120.0, 0.0];
/// How far a drawn hue strays from its domain's (a style), and how far [`domain_of`]
/// accepts: the families lie 110° or more apart.
const HUE_SPREAD: f64 = 20.0;
const HUE_ACCEPT: f64 = 45.0;
/// A pixel is object when its saturation and its chroma (max − min channel, in grey
/// levels) reach these: the background's tint gives at most 0.24 and 24, the object's
/// darkest stripe at least 0.55 and 38.
const OBJECT_SATURATION: f64 = 0.4;
const OBJECT_CHROMA: f64 = 30.0;
/// [`domain_of`] wants at least this share of object pixels (a drawn object covers 8% or
/// more) and object hues this concentrated (the length of their mean unit vector).
const MIN_OBJECT_SHARE: f64 = 0.03;
const MIN_HUE_AGREEMENT: f64 = 0.8;

/// RGB in grey levels from hue (degrees), saturation and value in [0, 1].
fn hsv(h: f64, s: f64, v: f64) -> [f64; 3] {
    let f = |n: f64| {
        let k = (n + h.rem_euclid(360.0) / 60.0) % 6.0;
        255.0 * (v - v * s * k.min(4.0 - k).clamp(0.0, 1.0))
    };
    [f(5.0), f(3.0), f(1.0)]
}

/// The hue (degrees) of a pixel that counts as object, or None.
fn object_hue(p: &Rgb<u8>) -> Option<f64> {
    let [r, g, b] = p.0.map(f64::from);
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let chroma = max - min;
    if chroma < OBJECT_CHROMA || chroma / max < OBJECT_SATURATION {
        return None;
    }
    let sector = if max == r {
        ((g - b) / chroma).rem_euclid(6.0)
    } else if max == g {
        (b - r) / chroma + 2.0
    } else {
        (r - g) / chroma + 4.0
    };
    Some(sector * 60.0)
}

/// One scene of `size` pixels in `domain` (an index into [`DOMAINS`]); every draw comes
/// from `rng`.
pub fn draw_scene(rng: &mut HostRng, size: u32, domain: usize) -> RgbImage {
    let s = f64::from(size);
    // Content: shape, centre, half-extent.
    let square = rng.below(2) == 1;
    let (cx, cy) = (rng.range(0.3, 0.7) * s, rng.range(0.3, 0.7) * s);
    let r = rng.range(0.16, 0.28) * s;
    // Style: the object's colour and stripes, the background's grey and tint.
    let hue = HUES[domain] + rng.range(-HUE_SPREAD, HUE_SPREAD);
    let (sat, val) = (rng.range(0.55, 1.0), rng.range(0.5, 1.0));
    let stripes = rng.below(4);
    let period = (rng.range(0.12, 0.25) * s).max(3.0);
    let (depth, phase) = (rng.range(0.55, 0.8), rng.uniform());
    let grey = rng.range(90.0, 170.0);
    let tint: [f64; 3] = std::array::from_fn(|_| rng.range(-12.0, 12.0));
    let (light, dark) = (hsv(hue, sat, val), hsv(hue, sat, val * depth));
    let background = Rgb(tint.map(|t| (grey + t).round() as u8));
    let to_u8 = |c: [f64; 3]| Rgb(c.map(|v| v.round().clamp(0.0, 255.0) as u8));
    RgbImage::from_fn(size, size, |px, py| {
        let (x, y) = (f64::from(px) + 0.5, f64::from(py) + 0.5);
        let (dx, dy) = (x - cx, y - cy);
        let inside = if square { dx.abs() < r && dy.abs() < r } else { dx * dx + dy * dy < r * r };
        if !inside {
            return background;
        }
        let along = match stripes {
            1 => y,
            2 => x,
            3 => (x + y) / std::f64::consts::SQRT_2,
            _ => return to_u8(light),
        };
        if (along / period + phase).fract() < 0.5 {
            to_u8(light)
        } else {
            to_u8(dark)
        }
    })
}

/// Writes the set under `out`: `train/<domain>/NNNN.png` (`per_domain` images each) and
/// `val/<domain>/NNNN.png` (per_domain / 5, at least 4), `size` pixels square.
pub fn write_domains(out: &Path, per_domain: usize, size: u32, seed: u64) -> Result<()> {
    if size < 16 || per_domain == 0 {
        return Err(Error::Invalid {
            op: "synthetic domains",
            msg: format!(
                "{per_domain} images of {size} pixels per domain: need at least 1 image of 16 pixels"
            ),
        });
    }
    let mut rng = HostRng::new(seed.max(1) ^ 0x6A09_E667_F3BC_C909);
    for (split, count) in [("train", per_domain), ("val", (per_domain / 5).max(4))] {
        for (domain, name) in DOMAINS.iter().enumerate() {
            let folder = out.join(split).join(name);
            std::fs::create_dir_all(&folder)
                .map_err(|e| Error::File { path: folder.display().to_string(), msg: e.to_string() })?;
            for i in 0..count {
                let path = folder.join(format!("{i:04}.png"));
                draw_scene(&mut rng, size, domain)
                    .save(&path)
                    .map_err(|e| Error::File { path: path.display().to_string(), msg: e.to_string() })?;
            }
        }
    }
    Ok(())
}

/// The domain (index into [`DOMAINS`]) of a scene, read from its object's hue: None when
/// less than 3% of the image is saturated, when the saturated pixels disagree on their
/// hue, or when their mean hue is more than 45° from every family's.
pub fn domain_of(img: &RgbImage) -> Option<usize> {
    let (mut x, mut y, mut n) = (0.0f64, 0.0f64, 0usize);
    for h in img.pixels().filter_map(object_hue) {
        let rad = h.to_radians();
        x += rad.cos();
        y += rad.sin();
        n += 1;
    }
    let total = (img.width() as usize * img.height() as usize).max(1);
    if (n as f64) < MIN_OBJECT_SHARE * total as f64 || x.hypot(y) < MIN_HUE_AGREEMENT * n as f64 {
        return None;
    }
    let hue = y.atan2(x).to_degrees();
    let gap = |centre: f64| ((hue - centre).rem_euclid(360.0)).min((centre - hue).rem_euclid(360.0));
    (0..HUES.len()).find(|&d| gap(HUES[d]) <= HUE_ACCEPT)
}

/// Which pixels (row-major) of a scene belong to its object.
pub fn object_mask(img: &RgbImage) -> Vec<bool> {
    img.pixels().map(|p| object_hue(p).is_some()).collect()
}

/// How well `output` kept the object of `input` in place: the intersection over union of
/// their object masks, 1 when both have none (or the sizes differ and neither has one).
/// A translation to another domain should score near 1.
pub fn object_iou(input: &RgbImage, output: &RgbImage) -> f64 {
    let (a, b) = (object_mask(input), object_mask(output));
    if a.len() != b.len() {
        return if a.iter().chain(&b).any(|&m| m) { 0.0 } else { 1.0 };
    }
    let both = a.iter().zip(&b).filter(|(p, q)| **p && **q).count();
    let either = a.iter().zip(&b).filter(|(p, q)| **p || **q).count();
    if either == 0 {
        1.0
    } else {
        both as f64 / either as f64
    }
}

/// The mean over all pairs of images of their mean absolute pixel difference, in [0, 1]
/// (1 is white against black): 0 for copies of one image, higher the more a set varies.
/// A pair of images of different sizes counts as 1. Fewer than two images give 0. Costs
/// n² / 2 image comparisons.
pub fn diversity(images: &[RgbImage]) -> f64 {
    let (mut sum, mut pairs) = (0.0f64, 0usize);
    for (i, a) in images.iter().enumerate() {
        for b in &images[i + 1..] {
            pairs += 1;
            sum += if a.dimensions() != b.dimensions() {
                1.0
            } else {
                let diff: u64 =
                    a.as_raw().iter().zip(b.as_raw()).map(|(p, q)| u64::from(p.abs_diff(*q))).sum();
                diff as f64 / (255.0 * a.as_raw().len().max(1) as f64)
            };
        }
    }
    if pairs == 0 {
        0.0
    } else {
        sum / pairs as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::image::read_rgb;

    #[test]
    fn every_written_image_reads_back_its_domain() {
        let dir = std::env::temp_dir().join(format!("gantry-synth-domains-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        write_domains(&dir, 20, 32, 5).unwrap();
        let mut all = Vec::new();
        for (split, count) in [("train", 20), ("val", 4)] {
            for (d, name) in DOMAINS.iter().enumerate() {
                let folder = dir.join(split).join(name);
                let files = crate::io::image::image_files(&folder).unwrap();
                assert_eq!(files.len(), count, "{split}/{name}");
                let images: Vec<RgbImage> = files.iter().map(|f| read_rgb(f).unwrap()).collect();
                for (f, img) in files.iter().zip(&images) {
                    assert_eq!(domain_of(img), Some(d), "{}", f.display());
                    assert_eq!(object_iou(img, img), 1.0);
                }
                // Styles vary within a domain, not only content.
                assert!(diversity(&images) > 0.05, "{split}/{name}: {}", diversity(&images));
                all.extend(images);
            }
        }
        let d = diversity(&all);
        assert!(d > 0.05 && d < 0.5, "diversity {d}");
        assert_eq!(diversity(&vec![all[0].clone(); 5]), 0.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_size_and_many_draws_read_back() {
        let mut rng = HostRng::new(11);
        for size in [16, 24, 64] {
            for k in 0..300 {
                let img = draw_scene(&mut rng, size, k % 3);
                assert_eq!(domain_of(&img), Some(k % 3), "size {size}, draw {k}");
            }
        }
    }

    #[test]
    fn non_scenes_are_rejected() {
        assert_eq!(domain_of(&RgbImage::from_pixel(32, 32, Rgb([128, 128, 128]))), None, "grey");
        assert_eq!(domain_of(&RgbImage::from_pixel(32, 32, Rgb([140, 128, 120]))), None, "a tinted grey");
        // Saturated, but half red and half blue: the hues disagree.
        let split =
            RgbImage::from_fn(32, 32, |x, _| if x < 16 { Rgb([220, 20, 20]) } else { Rgb([20, 40, 220]) });
        assert_eq!(domain_of(&split), None, "red and blue");
        // Saturated and uniform, but yellow (60°) and magenta (300°) are no family's.
        assert_eq!(domain_of(&RgbImage::from_pixel(32, 32, Rgb([220, 220, 20]))), None, "yellow");
        assert_eq!(domain_of(&RgbImage::from_pixel(32, 32, Rgb([220, 20, 220]))), None, "magenta");
        // A speck of colour too small to be an object.
        let mut speck = RgbImage::from_pixel(32, 32, Rgb([128, 128, 128]));
        speck.put_pixel(3, 3, Rgb([220, 20, 20]));
        assert_eq!(domain_of(&speck), None, "a speck");
    }

    #[test]
    fn a_recoloured_scene_keeps_its_object_and_changes_domain() {
        let img = draw_scene(&mut HostRng::new(3), 32, 2);
        // Swap red and blue: the hue moves from the red family to the blue one.
        let swapped = RgbImage::from_fn(32, 32, |x, y| {
            let [r, g, b] = img.get_pixel(x, y).0;
            Rgb([b, g, r])
        });
        assert_eq!(domain_of(&img), Some(2));
        assert_eq!(domain_of(&swapped), Some(0));
        assert_eq!(object_iou(&img, &swapped), 1.0);
        let moved = RgbImage::from_fn(32, 32, |x, y| *img.get_pixel((x + 8) % 32, y));
        assert!(object_iou(&img, &moved) < 0.7, "a moved object scores {}", object_iou(&img, &moved));
    }
}
