//! What a run shows a person: a loss-curve plot (PNG) and `web/index.html` with the plot,
//! a colour legend, and the sample grids newest first, like the reference's web page.

use crate::error::{Error, Result};
use image::{Rgb, RgbImage};
use std::path::Path;

/// Loss values by iteration.
pub type History = Vec<(usize, Vec<(String, f32)>)>;

const PALETTE: [[u8; 3]; 8] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [23, 190, 207],
];

fn line(img: &mut RgbImage, (x0, y0): (i64, i64), (x1, y1): (i64, i64), c: Rgb<u8>) {
    let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
    for s in 0..=steps {
        let x = x0 + (x1 - x0) * s / steps;
        let y = y0 + (y1 - y0) * s / steps;
        if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
            img.put_pixel(x as u32, y as u32, c);
        }
    }
}

/// Draws every loss series over iterations, scaled to the largest value (0 at the bottom).
pub fn plot(history: &History, path: &Path) -> Result<()> {
    let (w, h, m) = (800i64, 320i64, 20i64);
    let mut img = RgbImage::from_pixel(w as u32, h as u32, Rgb([255, 255, 255]));
    for k in 0..=4 {
        let y = m + (h - 2 * m) * k / 4;
        line(&mut img, (m, y), (w - m, y), Rgb([225, 225, 225]));
    }
    let Some(last) = history.last() else { return Ok(()) };
    let first = history[0].0;
    let span = (last.0 - first).max(1) as f32;
    let top = history
        .iter()
        .flat_map(|(_, l)| l.iter().map(|(_, v)| *v))
        .filter(|v| v.is_finite())
        .fold(1e-6f32, f32::max);
    let at = |it: usize, v: f32| {
        let x = m + ((it - first) as f32 / span * (w - 2 * m) as f32) as i64;
        let y = h - m - (v.max(0.0) / top * (h - 2 * m) as f32) as i64;
        (x, y)
    };
    for (k, (name, _)) in last.1.iter().enumerate() {
        let colour = Rgb(PALETTE[k % PALETTE.len()]);
        let points: Vec<(i64, i64)> = history
            .iter()
            .filter_map(|(it, l)| l.iter().find(|(n, _)| n == name).map(|(_, v)| at(*it, *v)))
            .collect();
        for pair in points.windows(2) {
            line(&mut img, pair[0], pair[1], colour);
        }
    }
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| Error::File { path: path.display().to_string(), msg: e.to_string() })?;
    crate::io::write_atomic(path, &bytes)
}

/// Writes `<dir>/web/index.html`: the legend, the plot, and every sample grid, newest first.
pub fn html(dir: &Path, name: &str, history: &History) -> Result<()> {
    let web = dir.join("web");
    let mut grids: Vec<String> = std::fs::read_dir(web.join("images"))
        .map(|rd| rd.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    grids.sort_unstable_by(|a, b| b.cmp(a));
    let legend: String = history
        .last()
        .map(|(_, l)| {
            l.iter()
                .enumerate()
                .map(|(k, (n, v))| {
                    let [r, g, b] = PALETTE[k % PALETTE.len()];
                    format!("<span style=\"color:rgb({r},{g},{b})\">&#9632; {n} {v:.3}</span> ")
                })
                .collect()
        })
        .unwrap_or_default();
    let images: String = grids
        .iter()
        .map(|g| {
            format!("<p>{g}</p><img src=\"images/{g}\" style=\"image-rendering:pixelated;width:768px\">\n")
        })
        .collect();
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{name}</title><meta http-equiv=\"refresh\" content=\"60\"></head>\n<body><h1>{name}</h1>\n<p>{legend}</p>\n<img src=\"loss.png\">\n<h2>Samples (newest first)</h2>\n{images}</body></html>\n"
    );
    crate::io::write_atomic(&web.join("index.html"), page.as_bytes())
}
