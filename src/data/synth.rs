//! Built-in synthetic datasets, drawn procedurally so that success is measurable without a
//! learned metric. `colors` (unaligned, for CycleGAN): both domains show the same kind of
//! scene, discs and bars on a grey background; domain A paints them in warm colours (red
//! over blue), domain B in cool ones (blue over red). A translation A → B succeeds when the
//! shapes turn cool and the background stays grey, which `domain_score` measures.

use super::rng::HostRng;
use crate::error::{Error, Result};
use image::{Rgb, RgbImage};
use std::path::Path;

/// The grey every scene is painted on.
const BACKGROUND: [u8; 3] = [128, 128, 128];

/// One scene of `size` pixels in the warm (`cool` false) or cool palette.
fn scene(rng: &mut HostRng, size: u32, cool: bool) -> RgbImage {
    if cool {
        painted(rng, size, 2, 0)
    } else {
        painted(rng, size, 0, 2)
    }
}

/// One scene whose shapes have channel `strong` high and channel `weak` low (the third in
/// between): (0, 2) is the warm palette, (2, 0) the cool one.
fn painted(rng: &mut HostRng, size: u32, strong_channel: usize, weak_channel: usize) -> RgbImage {
    let mut img = RgbImage::from_pixel(size, size, Rgb(BACKGROUND));
    let s = f64::from(size);
    for _ in 0..1 + (rng.uniform() * 3.0) as usize {
        let strong = rng.range(170.0, 250.0) as u8;
        let weak = rng.range(10.0, 70.0) as u8;
        let mid = rng.range(30.0, 150.0) as u8;
        let mut colour = Rgb([mid; 3]);
        colour.0[strong_channel] = strong;
        colour.0[weak_channel] = weak;
        let (cx, cy, r) = (rng.range(0.15, 0.85) * s, rng.range(0.15, 0.85) * s, rng.range(0.08, 0.25) * s);
        let bar = rng.uniform() < 0.4;
        for (x, y, p) in img.enumerate_pixels_mut() {
            let (dx, dy) = (f64::from(x) + 0.5 - cx, f64::from(y) + 0.5 - cy);
            let inside =
                if bar { dx.abs() < r * 1.6 && dy.abs() < r * 0.45 } else { dx * dx + dy * dy < r * r };
            if inside {
                *p = colour;
            }
        }
    }
    img
}

/// Writes the `colors` dataset: trainA/, trainB/ (`n` images each) and testA/, testB/
/// (`n / 4` each), `size` pixels square, under `out`.
pub fn write_colors(out: &Path, n: usize, size: u32, seed: u64) -> Result<()> {
    let mut rng = HostRng::new(seed.max(1) ^ 0x9E37_79B9_7F4A_7C15);
    for (dir, count, cool) in [
        ("trainA", n, false),
        ("trainB", n, true),
        ("testA", n.div_ceil(4), false),
        ("testB", n.div_ceil(4), true),
    ] {
        let folder = out.join(dir);
        std::fs::create_dir_all(&folder)
            .map_err(|e| Error::File { path: folder.display().to_string(), msg: e.to_string() })?;
        for i in 0..count {
            let path = folder.join(format!("{i:04}.png"));
            scene(&mut rng, size, cool)
                .save(&path)
                .map_err(|e| Error::File { path: path.display().to_string(), msg: e.to_string() })?;
        }
    }
    Ok(())
}

/// Writes the `pairs` dataset for pix2pix: train/ (`n` images) and test/ (`n / 4`), each
/// an A|B image `2 · size` wide: A is a scene's silhouette (white shapes on black), B the
/// scene itself in the warm palette.
pub fn write_pairs(out: &Path, n: usize, size: u32, seed: u64) -> Result<()> {
    let mut rng = HostRng::new(seed.max(1) ^ 0x7F4A_7C15_9E37_79B9);
    for (dir, count) in [("train", n), ("test", n.div_ceil(4))] {
        let folder = out.join(dir);
        std::fs::create_dir_all(&folder)
            .map_err(|e| Error::File { path: folder.display().to_string(), msg: e.to_string() })?;
        for i in 0..count {
            let b = scene(&mut rng, size, false);
            let mut ab = RgbImage::new(2 * size, size);
            for (x, y, p) in b.enumerate_pixels() {
                let mask = if p.0 == BACKGROUND { 0 } else { 255 };
                ab.put_pixel(x, y, Rgb([mask; 3]));
                ab.put_pixel(x + size, y, *p);
            }
            let path = folder.join(format!("{i:04}.png"));
            ab.save(&path)
                .map_err(|e| Error::File { path: path.display().to_string(), msg: e.to_string() })?;
        }
    }
    Ok(())
}

/// The classes of the `classes` dataset, in ImageFolder order, and the channel each one's
/// shapes are strongest in.
pub const CLASSES: [(&str, usize); 3] = [("blue", 2), ("green", 1), ("red", 0)];

/// Writes the `classes` dataset for StarGAN, one folder per class as torchvision's
/// ImageFolder reads it: train/<class>/ (`n` images each) and test/<class>/ (`n / 4`),
/// scenes whose shapes are painted mostly blue, green or red.
pub fn write_classes(out: &Path, n: usize, size: u32, seed: u64) -> Result<()> {
    let mut rng = HostRng::new(seed.max(1) ^ 0x3C6E_F372_FE94_F82B);
    for (split, count) in [("train", n), ("test", n.div_ceil(4))] {
        for (class, channel) in CLASSES {
            let folder = out.join(split).join(class);
            std::fs::create_dir_all(&folder)
                .map_err(|e| Error::File { path: folder.display().to_string(), msg: e.to_string() })?;
            for i in 0..count {
                let path = folder.join(format!("{i:04}.png"));
                painted(&mut rng, size, channel, (channel + 1) % 3)
                    .save(&path)
                    .map_err(|e| Error::File { path: path.display().to_string(), msg: e.to_string() })?;
            }
        }
    }
    Ok(())
}

/// How well `output` recolours the scene `input` into the class whose shapes are
/// strongest in `channel`: the share of the input's shape pixels that came out off-grey
/// with that channel highest, and the share of its background that stayed grey.
pub fn recolour_score(input: &RgbImage, output: &RgbImage, channel: usize) -> (f32, f32) {
    score_by(input, output, |p| off_grey(p) && (0..3).all(|c| c == channel || p.0[c] < p.0[channel]))
}

fn off_grey(p: &Rgb<u8>) -> bool {
    let [r, g, b] = p.0.map(i32::from);
    (r - 128).abs() + (g - 128).abs() + (b - 128).abs() > 60
}

fn cool(p: &Rgb<u8>) -> bool {
    off_grey(p) && p.0[2] > p.0[0]
}

/// How well `output` translates the domain-A scene `input` into domain B, as two shares:
/// of the input's shape pixels, those that came out cool (blue above red); and of its
/// background pixels, those that stayed grey. A perfect translation scores (1, 1); the
/// input itself scores (0, 1); noise scores low on the second.
pub fn translation_score(input: &RgbImage, output: &RgbImage) -> (f32, f32) {
    score_by(input, output, cool)
}

/// Shares of the input's shape pixels whose output passes `good`, and of its background
/// pixels that stayed grey.
fn score_by(input: &RgbImage, output: &RgbImage, good: impl Fn(&Rgb<u8>) -> bool) -> (f32, f32) {
    let (mut shape, mut shape_ok, mut back, mut back_ok) = (0u32, 0u32, 0u32, 0u32);
    for (i, o) in input.pixels().zip(output.pixels()) {
        if off_grey(i) {
            shape += 1;
            shape_ok += u32::from(good(o));
        } else {
            back += 1;
            back_ok += u32::from(!off_grey(o));
        }
    }
    let share = |ok: u32, n: u32| if n == 0 { 1.0 } else { ok as f32 / n as f32 };
    (share(shape_ok, shape), share(back_ok, back))
}

/// Writes a built-in set into a temporary folder beside `root` and renames it into place
/// once complete, so that a run killed while writing leaves no half-written set behind
/// (its temporary folder is removed the next time). Returns whether a set was written
/// (false: `root` was already there).
pub fn write_complete(root: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<bool> {
    if root.is_dir() {
        return Ok(false);
    }
    let name = root.file_name().map_or("synthetic".into(), |n| n.to_string_lossy().into_owned());
    let parent = root.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| Error::File { path: parent.display().to_string(), msg: e.to_string() })?;
    let prefix = format!(".{name}.tmp");
    for e in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    let tmp = parent.join(format!("{prefix}{}", std::process::id()));
    write(&tmp)?;
    std::fs::rename(&tmp, root)
        .map_err(|e| Error::File { path: root.display().to_string(), msg: e.to_string() })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_appears_only_complete_and_leftovers_are_removed() {
        let parent = std::env::temp_dir().join(format!("gantry-write-complete-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&parent);
        let root = parent.join("synthetic");
        // A writer that fails half way (as a killed run would stop) leaves no set behind.
        let failed = write_complete(&root, |tmp| {
            std::fs::create_dir_all(tmp).unwrap();
            std::fs::write(tmp.join("half.png"), b"").unwrap();
            Err(Error::Invalid { op: "test", msg: "stopped".into() })
        });
        assert!(failed.is_err() && !root.exists());
        // The next attempt removes the leftover and writes the whole set.
        assert!(write_complete(&root, |tmp| write_colors(tmp, 1, 8, 1)).unwrap());
        assert!(root.join("testB").is_dir());
        let leftovers = std::fs::read_dir(&parent).unwrap().count();
        assert_eq!(leftovers, 1, "only the finished set remains");
        assert!(!write_complete(&root, |_| panic!("an existing set is not written again")).unwrap());
        std::fs::remove_dir_all(&parent).unwrap();
    }
}
