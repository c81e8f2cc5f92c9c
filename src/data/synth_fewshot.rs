//! The built-in few-shot set for FastGAN: about a hundred 256×256 flowers, each one
//! centred on a pale sky gradient, with five to eight petals in one hue family (pinks,
//! magentas, reds), a yellow-orange heart with darker seeds, a green stem to the bottom
//! edge and sometimes a leaf. Size, position, petal count, rotation and shades vary per
//! image, so the set has real diversity within one kind of object.
//!
//! Two scores need no learned model. [`realism`] asks whether generated images share the
//! statistics a person would use to describe the set (sky colour, flower colour, how much
//! of the frame the flower fills and where, contrast, edges); [`diversity`] asks whether
//! they differ from each other, which realism alone cannot tell (a collapsed generator
//! that repeats one good flower scores full realism). Calling `diversity` on the real set
//! gives the value to aim for.

use super::rng::HostRng;
use crate::error::{Error, Result};
use crate::io::image::{image_files, read_rgb};
use image::{Rgb, RgbImage};
use std::path::Path;

/// FastGAN's smallest image size, and the size the demo writes.
pub const SIZE: u32 = 256;

/// The side the statistics are measured at: images are box-filtered down to it first, so
/// the edge statistic means the same at any output size, and measuring stays cheap.
const MEASURE: usize = 64;
/// The side of the thumbnails [`diversity`] compares.
const THUMB: usize = 32;
/// How far (Euclidean, in [-1, 1] units) a colour must be from the border's to count as
/// object: the sky gradient stays within about 0.15 of its median.
const OBJECT_DISTANCE: f64 = 0.35;
/// How large a step between neighbours (summed over channels, [-1, 1] units) is an edge.
const EDGE_STEP: f64 = 0.3;

/// The number of statistics in [`Features::stats`].
pub const STATS: usize = 12;
/// What each statistic is, in order; colours are means in [-1, 1], positions fractions.
pub const STAT_NAMES: [&str; STATS] = [
    "border red",
    "border green",
    "border blue",
    "object red",
    "object green",
    "object blue",
    "object area",
    "object centre x",
    "object centre y",
    "object spread",
    "centre contrast",
    "edge density",
];

/// What the scores read from one image.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    /// The statistics named by [`STAT_NAMES`].
    pub stats: [f64; STATS],
    /// A THUMB×THUMB box-filtered copy (CHW, [-1, 1]) for [`diversity`].
    thumb: Vec<f32>,
}

/// A colour from hue (degrees), saturation and value in [0, 1], as RGB in [0, 1].
fn hsv(h: f64, s: f64, v: f64) -> [f64; 3] {
    let f = |n: f64| {
        let k = (n + h.rem_euclid(360.0) / 60.0) % 6.0;
        v - v * s * k.min(4.0 - k).clamp(0.0, 1.0)
    };
    [f(5.0), f(3.0), f(1.0)]
}

/// How much of a pixel a shape covers, from the signed distance to its edge (negative
/// inside) in pixels: a one-pixel ramp, so edges come out anti-aliased.
fn coverage(distance_px: f64) -> f64 {
    (0.5 - distance_px).clamp(0.0, 1.0)
}

fn blend(p: &mut [f64; 3], colour: [f64; 3], alpha: f64) {
    (0..3).for_each(|c| p[c] += (colour[c] - p[c]) * alpha);
}

/// One flower of `size` pixels; every draw comes from `rng`.
fn flower(rng: &mut HostRng, size: u32) -> RgbImage {
    let sky = rng.range(-0.04, 0.04);
    let top = [0.64 + sky, 0.78 + sky, 0.91].map(|c| c + rng.range(-0.02, 0.02));
    let bottom = [0.77 + sky, 0.86 + sky, 0.93].map(|c| c + rng.range(-0.02, 0.02));
    let (cx, cy) = (0.5 + rng.range(-0.08, 0.08), 0.42 + rng.range(-0.06, 0.06));
    let radius = rng.range(0.2, 0.3);
    let petals = 5.0 + rng.below(4) as f64;
    let phase = rng.range(0.0, std::f64::consts::TAU);
    let petal = hsv(rng.range(320.0, 375.0), rng.range(0.5, 0.85), rng.range(0.8, 0.95));
    let heart = hsv(rng.range(35.0, 55.0), rng.range(0.75, 0.95), rng.range(0.9, 1.0));
    let seed = heart.map(|c| c * 0.55);
    let heart_radius = radius * rng.range(0.22, 0.32);
    let stem = hsv(rng.range(95.0, 130.0), rng.range(0.55, 0.75), rng.range(0.45, 0.6));
    let (bend, stem_half) = (rng.range(-0.08, 0.08), rng.range(0.009, 0.015));
    // A leaf: an ellipse beside the stem, tilted away from it (absent three times in ten).
    let leaf_at = rng.range(0.45, 0.75);
    let leaf_side = if rng.below(2) == 0 { -1.0 } else { 1.0 };
    let leaf = rng.uniform() < 0.7;
    let leaf_y = cy + (1.0 - cy) * leaf_at;
    let leaf_x = cx + bend * leaf_at * leaf_at + leaf_side * 0.06;
    let (leaf_cos, leaf_sin) = (0.8f64, -0.6 * leaf_side);
    let px = 1.0 / f64::from(size);
    RgbImage::from_fn(size, size, |x, y| {
        let (u, v) = ((f64::from(x) + 0.5) * px, (f64::from(y) + 0.5) * px);
        let mut p: [f64; 3] = std::array::from_fn(|c| top[c] + (bottom[c] - top[c]) * v);
        if v > cy {
            let t = (v - cy) / (1.0 - cy);
            let d = (u - cx - bend * t * t).abs() - stem_half;
            blend(&mut p, stem, coverage(d / px));
        }
        if leaf {
            let (dx, dy) = (u - leaf_x, v - leaf_y);
            let (a, b) = (dx * leaf_cos + dy * leaf_sin, -dx * leaf_sin + dy * leaf_cos);
            let d = ((a / 0.08).powi(2) + (b / 0.03).powi(2)).sqrt() - 1.0;
            blend(&mut p, stem.map(|c| c * 1.15), coverage(d * 0.03 / px));
        }
        let (dx, dy) = (u - cx, v - cy);
        let r = dx.hypot(dy);
        // n petals: the outline's radius swings between 0.35 and 1 times `radius`.
        let swing = (petals * (dy.atan2(dx) - phase) / 2.0).cos().abs().powf(0.6);
        let outline = radius * (0.35 + 0.65 * swing);
        let shade = 0.7 + 0.3 * (r / outline).min(1.0);
        blend(&mut p, petal.map(|c| c * shade), coverage((r - outline) / px));
        let seeds = (dx * 180.0).sin() * (dy * 180.0).sin() > 0.6;
        blend(&mut p, if seeds { seed } else { heart }, coverage((r - heart_radius) / px));
        Rgb(p.map(|c| (c * 255.0).round().clamp(0.0, 255.0) as u8))
    })
}

/// Writes `count` flowers of `size` pixels into `dir` as `0000.png`, `0001.png`, …; the
/// same seed writes the same images, and image `i` does not depend on `count`.
pub fn write_fewshot(dir: &Path, count: usize, size: u32, seed: u64) -> Result<()> {
    if size < 16 {
        return Err(Error::Invalid {
            op: "synthetic few-shot set",
            msg: format!("images of {size} pixels are too small to draw a flower (16 at least)"),
        });
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::File { path: dir.display().to_string(), msg: e.to_string() })?;
    for i in 0..count {
        let path = dir.join(format!("{i:04}.png"));
        flower(&mut HostRng::for_item(seed, 0xF10E, i as u64), size)
            .save(&path)
            .map_err(|e| Error::File { path: path.display().to_string(), msg: e.to_string() })?;
    }
    Ok(())
}

/// An RGB image as CHW f32 in [-1, 1], the way the model sees it.
fn to_chw(img: &RgbImage) -> Vec<f32> {
    let plane = (img.width() * img.height()) as usize;
    let mut out = vec![0f32; 3 * plane];
    for (i, p) in img.pixels().enumerate() {
        (0..3).for_each(|c| out[c * plane + i] = f32::from(p.0[c]) / 127.5 - 1.0);
    }
    out
}

/// Box-filters a CHW image of side `size` down to side `target` (output pixel i averages
/// source pixels i·size/target up to (i+1)·size/target); no smaller side is ever enlarged.
fn shrink(chw: &[f32], size: usize, target: usize) -> (Vec<f32>, usize) {
    if target >= size {
        return (chw.to_vec(), size);
    }
    let span = |i: usize| i * size / target..(i + 1) * size / target;
    let mut out = vec![0f32; 3 * target * target];
    for c in 0..3 {
        for (oy, ox) in (0..target).flat_map(|y| (0..target).map(move |x| (y, x))) {
            let (rows, cols) = (span(oy), span(ox));
            let n = (rows.len() * cols.len()) as f32;
            let sum: f32 = rows
                .flat_map(|y| cols.clone().map(move |x| (y, x)))
                .map(|(y, x)| chw[(c * size + y) * size + x])
                .sum();
            out[(c * target + oy) * target + ox] = sum / n;
        }
    }
    (out, target)
}

/// Measures one image given as CHW f32 (clamped to [-1, 1] first), `size` pixels square:
/// at MEASURE pixels, the border's median colour; the object (pixels over OBJECT_DISTANCE
/// from that colour): mean colour, area fraction, centroid and spread (RMS distance from
/// the centroid, as a fraction of the side); the distance between the central quarter's
/// mean colour and the border's; and the share of pixels that step by over EDGE_STEP to a
/// neighbour. With no object pixels its colour is the border's and its centre the middle.
/// NaN counts as grey, so a diverged generator cannot pass. `rgb` must hold 3·size²
/// values, size ≥ 1 (a broken caller invariant panics).
pub fn features(rgb: &[f32], size: usize) -> Features {
    let clamped: Vec<f32> = rgb.iter().map(|v| if v.is_nan() { 0.0 } else { v.clamp(-1.0, 1.0) }).collect();
    let (img, n) = shrink(&clamped, size, MEASURE);
    let (thumb, _) = shrink(&img, n, THUMB);
    let at = |c: usize, y: usize, x: usize| f64::from(img[(c * n + y) * n + x]);
    let border: Vec<(usize, usize)> = (0..n).flat_map(|i| [(0, i), (n - 1, i), (i, 0), (i, n - 1)]).collect();
    let bg: [f64; 3] = std::array::from_fn(|c| {
        let mut v: Vec<f64> = border.iter().map(|&(y, x)| at(c, y, x)).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    });
    let colour = |y, x| -> [f64; 3] { std::array::from_fn(|c| at(c, y, x)) };
    let dist = |a: [f64; 3], b: [f64; 3]| (0..3).map(|c| (a[c] - b[c]).powi(2)).sum::<f64>().sqrt();
    let (mut sum, mut count, mut sx, mut sy, mut sxx, mut edges) = ([0.0; 3], 0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut centre, mut centre_n) = ([0.0; 3], 0.0f64);
    for (y, x) in (0..n).flat_map(|y| (0..n).map(move |x| (y, x))) {
        let (p, (fx, fy)) = (colour(y, x), ((x as f64 + 0.5) / n as f64, (y as f64 + 0.5) / n as f64));
        if dist(p, bg) > OBJECT_DISTANCE {
            (0..3).for_each(|c| sum[c] += p[c]);
            (count, sx, sy, sxx) = (count + 1.0, sx + fx, sy + fy, sxx + fx * fx + fy * fy);
        }
        if (0.25..0.75).contains(&fx) && (0.25..0.75).contains(&fy) {
            (0..3).for_each(|c| centre[c] += p[c]);
            centre_n += 1.0;
        }
        let step = |q: [f64; 3]| (0..3).map(|c| (p[c] - q[c]).abs()).sum::<f64>();
        let right = if x + 1 < n { step(colour(y, x + 1)) } else { 0.0 };
        let down = if y + 1 < n { step(colour(y + 1, x)) } else { 0.0 };
        edges += f64::from(u8::from(right.max(down) > EDGE_STEP));
    }
    let object = if count > 0.0 { sum.map(|s| s / count) } else { bg };
    let (mx, my) = if count > 0.0 { (sx / count, sy / count) } else { (0.5, 0.5) };
    let spread = if count > 0.0 { (sxx / count - mx * mx - my * my).max(0.0).sqrt() } else { 0.0 };
    let contrast = dist(centre.map(|s| s / centre_n.max(1.0)), bg);
    let area = count / (n * n) as f64;
    let edges = edges / (n * n) as f64;
    Features {
        stats: [bg[0], bg[1], bg[2], object[0], object[1], object[2], area, mx, my, spread, contrast, edges],
        thumb,
    }
}

/// Reads every image in `dir` (sorted by name), box-filters it down to `size` pixels when
/// it is larger, and measures it: the reference for [`realism`] and [`diversity`] at the
/// size the generator outputs.
pub fn reference_features(dir: &Path, size: usize) -> Result<Vec<Features>> {
    image_files(dir)?
        .iter()
        .map(|path| {
            let img = read_rgb(path)?;
            let (w, h) = img.dimensions();
            if w != h {
                return Err(Error::File {
                    path: path.display().to_string(),
                    msg: format!("a {w}x{h} image is not square"),
                });
            }
            let (chw, side) = shrink(&to_chw(&img), w as usize, size);
            Ok(features(&chw, side))
        })
        .collect()
}

/// The linearly interpolated `q`-quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    sorted[i] + (sorted[(i + 1).min(sorted.len() - 1)] - sorted[i]) * frac
}

/// How well each statistic of each generated image fits the reference, each in [0, 1]. A
/// statistic fits fully inside the reference's range from its 2nd to its 98th percentile
/// widened by 10 % of that range's width w (w at least 0.02) on each side; beyond, its fit
/// falls linearly to zero over another w / 2. Empty when either set is empty.
fn fits(reference: &[Features], generated: &[Features]) -> Vec<[f64; STATS]> {
    if reference.is_empty() {
        return Vec::new();
    }
    let bounds: Vec<(f64, f64, f64)> = (0..STATS)
        .map(|s| {
            let mut v: Vec<f64> = reference.iter().map(|f| f.stats[s]).collect();
            v.sort_by(f64::total_cmp);
            let (lo, hi) = (quantile(&v, 0.02), quantile(&v, 0.98));
            let w = (hi - lo).max(0.02);
            (lo - 0.1 * w, hi + 0.1 * w, w)
        })
        .collect();
    generated
        .iter()
        .map(|f| {
            std::array::from_fn(|s| {
                let (lo, hi, w) = bounds[s];
                let x = f.stats[s];
                (1.0 - (lo - x).max(x - hi).max(0.0) / (0.5 * w)).max(0.0)
            })
        })
        .collect()
}

/// In [0, 1]: the mean over generated images of the product, over the statistics, of how
/// well each one fits the reference (see `fits`). The product makes every statistic count
/// (a grey image with the right edge density is still wrong) while the ramp gives partial
/// credit to a generator that is close; held-out real images score about one. 0 when
/// either set is empty.
pub fn realism(reference: &[Features], generated: &[Features]) -> f64 {
    let fits = fits(reference, generated);
    if fits.is_empty() {
        return 0.0;
    }
    fits.iter().map(|f| f.iter().product::<f64>()).sum::<f64>() / fits.len() as f64
}

/// In [0, 1]: the mean over generated images and statistics of how well each statistic fits
/// the reference (see `fits`): the share of the set's description a generator has learned
/// so far (sky colour before flower shape, say), where `realism` only credits images that
/// get everything right. Held-out real images score about one. 0 when either set is empty.
pub fn matched(reference: &[Features], generated: &[Features]) -> f64 {
    let fits = fits(reference, generated);
    if fits.is_empty() {
        return 0.0;
    }
    fits.iter().map(|f| f.iter().sum::<f64>() / STATS as f64).sum::<f64>() / fits.len() as f64
}

/// The mean, over pairs of images, of the RMS difference between their 32×32 thumbnails
/// in [-1, 1] units (so between 0 and 2): 0 when all images are the same. The real set's
/// own value is the target for a generator; 0 for fewer than two images. Compare images of
/// one size of 32 pixels or more (a smaller image is its own thumbnail).
pub fn diversity(generated: &[Features]) -> f64 {
    let (mut total, mut pairs) = (0.0, 0.0);
    for (i, a) in generated.iter().enumerate() {
        for b in &generated[i + 1..] {
            let sq: f64 = a.thumb.iter().zip(&b.thumb).map(|(x, y)| f64::from(x - y).powi(2)).sum();
            total += (sq / a.thumb.len().max(1) as f64).sqrt();
            pairs += 1.0;
        }
    }
    if pairs > 0.0 {
        total / pairs
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `count` flowers of `size` pixels drawn with `seed`, as write_fewshot draws them.
    fn drawn(seed: u64, count: usize, size: u32) -> Vec<RgbImage> {
        (0..count).map(|i| flower(&mut HostRng::for_item(seed, 0xF10E, i as u64), size)).collect()
    }

    fn measured(images: &[RgbImage]) -> Vec<Features> {
        images.iter().map(|img| features(&to_chw(img), img.width() as usize)).collect()
    }

    /// Other kinds of picture, each as CHW at `n` pixels: flat grey (an untrained
    /// generator), uniform noise, a real flower with inverted colours, and vertical stripes
    /// in a real flower's sky colour and a petal pink (the right palette, the wrong layout).
    fn impostors(n: usize) -> Vec<(&'static str, Vec<Vec<f32>>)> {
        let mut rng = HostRng::new(11);
        let noise = (0..20).map(|_| (0..3 * n * n).map(|_| rng.range(-1.0, 1.0) as f32).collect()).collect();
        let flowers: Vec<Vec<f32>> = drawn(5, 20, n as u32).iter().map(to_chw).collect();
        let inverted = flowers.iter().map(|f| f.iter().map(|v| -v).collect()).collect();
        let pink = hsv(340.0, 0.7, 0.9).map(|c| c as f32 * 2.0 - 1.0);
        let stripe = |f: &Vec<f32>, i: usize| {
            let c = i / (n * n);
            if ((i % n) / 6).is_multiple_of(2) {
                f[c * n * n + n + 1]
            } else {
                pink[c]
            }
        };
        let stripes = flowers.iter().map(|f| (0..3 * n * n).map(|i| stripe(f, i)).collect()).collect();
        vec![
            ("grey", vec![vec![0.0; 3 * n * n]; 20]),
            ("noise", noise),
            ("inverted", inverted),
            ("stripes", stripes),
        ]
    }

    #[test]
    fn held_out_flowers_are_real_and_other_pictures_are_not() {
        let reference = measured(&drawn(1, 100, 64));
        let held_out = realism(&reference, &measured(&drawn(2, 50, 64)));
        assert!(held_out >= 0.9, "held-out realism {held_out}");
        eprintln!("realism: held-out flowers {held_out:.3}");
        let held_out_matched = matched(&reference, &measured(&drawn(2, 50, 64)));
        assert!(held_out_matched >= 0.95, "held-out matched {held_out_matched}");
        for (name, images) in impostors(64) {
            let measured: Vec<Features> = images.iter().map(|img| features(img, 64)).collect();
            let (score, share) = (realism(&reference, &measured), matched(&reference, &measured));
            eprintln!("realism: {name} {score:.3}, statistics matched {share:.3}");
            assert!(score <= 0.1, "{name} realism {score}");
            // The stripes keep the sky's colour and the inverted flowers the layout, by
            // construction: partial credit is what `matched` is for, but well below real.
            let bar = if matches!(name, "grey" | "noise") { 0.4 } else { 0.7 };
            assert!(share <= bar, "{name} matched {share}");
        }
        assert_eq!(features(&[f32::NAN; 3 * 64 * 64], 64), features(&[0.0; 3 * 64 * 64], 64));
        assert_eq!(realism(&reference, &[]), 0.0);
        assert_eq!(realism(&[], &reference), 0.0);
        assert_eq!(matched(&reference, &[]), 0.0);
    }

    #[test]
    fn diversity_is_zero_for_copies_and_clearly_positive_for_the_set() {
        let real = measured(&drawn(1, 40, 64));
        let target = diversity(&real);
        eprintln!("diversity: 40 real flowers {target:.3}");
        assert!(target > 0.15, "real-set diversity {target}");
        let copies = vec![real[0].clone(); 10];
        assert_eq!(diversity(&copies), 0.0);
        assert_eq!(diversity(&vec![features(&vec![0.0; 3 * 64 * 64], 64); 4]), 0.0);
        assert_eq!(diversity(&real[..1]), 0.0);
        // A collapsed generator repeating a real flower passes realism; diversity catches it.
        assert!(realism(&real, &copies) > 0.9);
    }

    #[test]
    fn written_set_is_deterministic_and_reads_back_at_any_size() {
        let dir = std::env::temp_dir().join(format!("gantry-fewshot-{}", std::process::id()));
        write_fewshot(&dir, 3, SIZE, 9).unwrap();
        let first = std::fs::read(dir.join("0002.png")).unwrap();
        write_fewshot(&dir, 3, SIZE, 9).unwrap();
        assert_eq!(std::fs::read(dir.join("0002.png")).unwrap(), first);
        // Measured at 256 (shrunk inside `features`) or read back at 128, the written
        // flowers fit a reference drawn at 64 pixels.
        let reference = measured(&drawn(1, 100, 64));
        for size in [256, 128] {
            let back = reference_features(&dir, size).unwrap();
            assert_eq!(back.len(), 3);
            let score = realism(&reference, &back);
            assert!(score >= 0.9, "written at 256, read at {size}: realism {score}");
        }
        assert!(write_fewshot(&dir, 1, 8, 9).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hsv_and_shrink_are_right() {
        assert_eq!(hsv(0.0, 1.0, 1.0), [1.0, 0.0, 0.0]);
        assert_eq!(hsv(120.0, 1.0, 1.0), [0.0, 1.0, 0.0]);
        assert_eq!(hsv(360.0 + 240.0, 1.0, 0.5), [0.0, 0.0, 0.5]);
        let chw: Vec<f32> = (0..3 * 16).map(|i| i as f32).collect();
        let (small, side) = shrink(&chw, 4, 2);
        assert_eq!(side, 2);
        assert_eq!(&small[..4], &[2.5, 4.5, 10.5, 12.5]);
        assert_eq!(shrink(&chw, 4, 8), (chw.clone(), 4));
    }
}
