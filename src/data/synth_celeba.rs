//! The built-in synthetic set in CelebA's layout, for StarGAN v1: an image folder and a
//! `list_attr_celeba.txt`, with CelebA's five default attributes drawn so that each one
//! can be read back from any image without a learned model:
//!
//! | attribute                          | drawn as                                        |
//! |------------------------------------|-------------------------------------------------|
//! | Black_Hair, Blond_Hair, Brown_Hair | the colour of a band at the top (exactly one)   |
//! | Male                               | the head's shape: a square (male) or a disc     |
//! | Young                              | the head's brightness: light (young) or dark    |
//!
//! on a grey background with a small mark of a random colour beside the head, which a good
//! translation keeps. Shades vary per image within each attribute value. Since the
//! reference keeps the first 1,999 shuffled lines for testing, the set holds 1,999 test
//! images on top of the training images asked for.

use super::rng::HostRng;
use crate::error::{Error, Result};
use image::{Rgb, RgbImage};
use std::path::Path;

/// The attributes drawn, in the file's column order (CelebA's order, and the default
/// `--selected-attrs`).
pub const ATTRIBUTES: [&str; 5] = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"];

/// The reference's test split size: the shuffled file's first 1,999 lines.
const TEST_IMAGES: usize = 1999;

const BACKGROUND: [f64; 3] = [128.0, 128.0, 128.0];
/// Hair colours, in the order of the first three attributes.
const HAIR: [[f64; 3]; 3] = [[35.0, 30.0, 30.0], [225.0, 195.0, 100.0], [135.0, 75.0, 35.0]];
const SKIN_YOUNG: [f64; 3] = [235.0, 210.0, 190.0];
const SKIN_OLD: [f64; 3] = [150.0, 120.0, 105.0];

/// Where things are drawn, as fractions of the side: the hair band's rows and columns,
/// the head's centre and half-extent, and the mark's possible places.
const HAIR_ROWS: (f64, f64) = (0.06, 0.30);
const HAIR_COLS: (f64, f64) = (0.20, 0.80);
const HEAD: (f64, f64, f64) = (0.5, 0.62, 0.27);
const MARK_SIDE: f64 = 0.12;

/// One image's attribute values, in `ATTRIBUTES` order.
fn draw_attributes(rng: &mut HostRng) -> [bool; 5] {
    let hair = rng.below(3);
    [hair == 0, hair == 1, hair == 2, rng.below(2) == 1, rng.below(2) == 1]
}

fn shade(rng: &mut HostRng, colour: [f64; 3], spread: f64) -> Rgb<u8> {
    let offset = rng.range(-spread, spread);
    Rgb(colour.map(|c| (c + offset + rng.range(-4.0, 4.0)).clamp(0.0, 255.0) as u8))
}

fn in_head(x: f64, y: f64, male: bool) -> bool {
    let (dx, dy, r) = (x - HEAD.0, y - HEAD.1, HEAD.2);
    if male {
        dx.abs() < r && dy.abs() < r
    } else {
        dx * dx + dy * dy < r * r
    }
}

fn in_hair(x: f64, y: f64) -> bool {
    (HAIR_ROWS.0..HAIR_ROWS.1).contains(&y) && (HAIR_COLS.0..HAIR_COLS.1).contains(&x)
}

/// Whether a pixel centre lies in the part of the image an attribute may change: the hair
/// band or the head's bounding square (with a pixel of margin for edges).
fn attribute_region(x: f64, y: f64, size: f64) -> bool {
    let m = 1.0 / size;
    let near_hair =
        (HAIR_ROWS.0 - m..HAIR_ROWS.1 + m).contains(&y) && (HAIR_COLS.0 - m..HAIR_COLS.1 + m).contains(&x);
    let near_head = (x - HEAD.0).abs() < HEAD.2 + m && (y - HEAD.1).abs() < HEAD.2 + m;
    near_hair || near_head
}

/// One image of `size` pixels with the given attributes.
fn face(rng: &mut HostRng, size: u32, attrs: [bool; 5]) -> RgbImage {
    let hair = shade(rng, HAIR[attrs.iter().position(|&a| a).unwrap_or(0)], 15.0);
    let skin = shade(rng, if attrs[4] { SKIN_YOUNG } else { SKIN_OLD }, 12.0);
    let mark = Rgb([0, 0, 0].map(|_: u8| rng.range(0.0, 255.0) as u8));
    let mark_x = if rng.below(2) == 0 { rng.range(0.0, 0.1) } else { rng.range(0.78, 0.88) };
    let mark_y = rng.range(0.4, 0.85);
    let background = Rgb(BACKGROUND.map(|c| c as u8));
    let s = f64::from(size);
    RgbImage::from_fn(size, size, |px, py| {
        let (x, y) = ((f64::from(px) + 0.5) / s, (f64::from(py) + 0.5) / s);
        if in_hair(x, y) {
            hair
        } else if in_head(x, y, attrs[3]) {
            skin
        } else if (mark_x..mark_x + MARK_SIDE).contains(&x) && (mark_y..mark_y + MARK_SIDE).contains(&y) {
            mark
        } else {
            background
        }
    })
}

/// Writes the set under `out`: `images/000001.png …` (1,999 test images plus `train`),
/// `size` pixels square, and `list_attr_celeba.txt` in CelebA's format (the count, the
/// attribute names, then a line of ±1 values per image).
pub fn write_celeba(out: &Path, train: usize, size: u32, seed: u64) -> Result<()> {
    if size < 16 {
        return Err(Error::Invalid {
            op: "synthetic CelebA",
            msg: format!("images of {size} pixels are too small to draw the attributes (16 at least)"),
        });
    }
    let images = out.join("images");
    std::fs::create_dir_all(&images)
        .map_err(|e| Error::File { path: images.display().to_string(), msg: e.to_string() })?;
    let mut rng = HostRng::new(seed.max(1) ^ 0x2545_F491_4F6C_DD1D);
    let total = TEST_IMAGES + train;
    let mut text = format!("{total}\n{}\n", ATTRIBUTES.join(" "));
    for i in 1..=total {
        let attrs = draw_attributes(&mut rng);
        let name = format!("{i:06}.png");
        let path = images.join(&name);
        face(&mut rng, size, attrs)
            .save(&path)
            .map_err(|e| Error::File { path: path.display().to_string(), msg: e.to_string() })?;
        let values: Vec<&str> = attrs.iter().map(|&a| if a { " 1" } else { "-1" }).collect();
        text.push_str(&format!("{name} {}\n", values.join(" ")));
    }
    crate::io::write_atomic(&out.join("list_attr_celeba.txt"), text.as_bytes())
}

/// The mean colour of the pixels whose centres (as fractions of the side) pass `inside`.
fn mean_colour(img: &RgbImage, inside: impl Fn(f64, f64) -> bool) -> [f64; 3] {
    let (s, mut sum, mut n) = (f64::from(img.width()), [0.0f64; 3], 0.0f64);
    for (px, py, p) in img.enumerate_pixels() {
        if inside((f64::from(px) + 0.5) / s, (f64::from(py) + 0.5) / s) {
            (0..3).for_each(|c| sum[c] += f64::from(p.0[c]));
            n += 1.0;
        }
    }
    sum.map(|v| v / n.max(1.0))
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    (0..3).map(|c| (a[c] - b[c]).powi(2)).sum::<f64>().sqrt()
}

/// Reads the attributes back from an image of the set (or a translation of one), in
/// `ATTRIBUTES` order: the hair colour nearest the band's mean colour; male when the
/// head's corners (outside a disc, inside a square) look like its centre rather than the
/// background; young when the head's centre is nearer the light skin than the dark one.
pub fn measure(img: &RgbImage) -> [bool; 5] {
    let hair = mean_colour(img, |x, y| (0.10..0.26).contains(&y) && (0.30..0.70).contains(&x));
    let nearest =
        (0..3).min_by(|&a, &b| distance(hair, HAIR[a]).total_cmp(&distance(hair, HAIR[b]))).unwrap_or(0);
    let (cx, cy, r) = HEAD;
    let centre = mean_colour(img, |x, y| (x - cx).abs() < 0.1 && (y - cy).abs() < 0.1);
    let corner = r * 0.85;
    let corners = mean_colour(img, |x, y| {
        let (dx, dy) = ((x - cx).abs(), (y - cy).abs());
        (corner - 0.05..corner + 0.05).contains(&dx) && (corner - 0.05..corner + 0.05).contains(&dy)
    });
    let male = distance(corners, centre) < distance(corners, BACKGROUND);
    let young = distance(centre, SKIN_YOUNG) < distance(centre, SKIN_OLD);
    [nearest == 0, nearest == 1, nearest == 2, male, young]
}

/// The share of the pixels outside the hair band and the head that `output` kept from
/// `input` (every channel within 24 grey levels): the background and the mark.
pub fn kept(input: &RgbImage, output: &RgbImage) -> f32 {
    let s = f64::from(input.width());
    let (mut n, mut ok) = (0u32, 0u32);
    for ((px, py, a), b) in input.enumerate_pixels().zip(output.pixels()) {
        if attribute_region((f64::from(px) + 0.5) / s, (f64::from(py) + 0.5) / s, s) {
            continue;
        }
        n += 1;
        ok += u32::from((0..3).all(|c| a.0[c].abs_diff(b.0[c]) <= 24));
    }
    if n == 0 {
        1.0
    } else {
        ok as f32 / n as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drawn_attribute_reads_back() {
        let mut rng = HostRng::new(7);
        for size in [16, 32, 64] {
            for _ in 0..200 {
                let attrs = draw_attributes(&mut rng);
                let img = face(&mut rng, size, attrs);
                assert_eq!(measure(&img), attrs, "size {size}");
                assert_eq!(kept(&img, &img), 1.0);
            }
        }
    }

    #[test]
    fn kept_notices_a_changed_background() {
        let mut rng = HostRng::new(3);
        let img = face(&mut rng, 32, [true, false, false, true, true]);
        let mut other = img.clone();
        other.pixels_mut().for_each(|p| p.0[0] = p.0[0].saturating_add(60));
        assert!(kept(&img, &other) < 0.1);
    }
}
